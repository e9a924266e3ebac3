//! Cursor pagination: page sizes and opaque, URL-safe keyset cursors.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;
use utoipa::ToSchema;

use super::rule::Rule;

/// The default page size.
pub const DEFAULT_LIMIT: i64 = 20;
/// The largest page size.
pub const MAX_LIMIT: i64 = 100;

/// Why a `?limit=` was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadLimit {
    /// Not a whole number at all (`ten`): a value of the wrong type.
    NotANumber,
    /// A whole number outside 1–100, however many digits it has (`100000000000000000000`).
    Out(Rule),
}

/// Checks `?limit=` (1–100, default 20).
pub fn limit(raw: Option<&str>) -> Result<i64, BadLimit> {
    limit_or(raw, DEFAULT_LIMIT)
}

/// Checks a `?limit=` of 1–100 with this default.
pub fn limit_or(raw: Option<&str>, default: i64) -> Result<i64, BadLimit> {
    let Some(text) = raw else {
        return Ok(default);
    };
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BadLimit::NotANumber);
    }
    // Too many digits for an i64 is out of range like 101 is.
    let n = text.parse::<i64>().unwrap_or(i64::MAX);
    super::text::in_range(n, 1, MAX_LIMIT).map_err(BadLimit::Out)
}

/// A position in an ordered list: the sort key of the last item shown and its id, which breaks
/// ties. Encoded opaque so clients cannot depend on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The sort key, as text (a time in microseconds, a sequence number or a name).
    pub key: String,
    /// The id of the last item shown.
    pub id: String,
}

impl Cursor {
    /// The opaque form.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}\n{}", self.key, self.id))
    }

    /// Reads an opaque cursor; `None` when it was not made by [`Cursor::encode`]: every id a
    /// cursor holds is a UUID, and no sort key (a number or a stored name, which may hold a line
    /// break, so the id is after the last one) holds another control character.
    pub fn decode(raw: &str) -> Option<Cursor> {
        let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (key, id) = text.rsplit_once('\n')?;
        if uuid::Uuid::parse_str(id).is_err() || super::text::has_forbidden_control(key) {
            return None;
        }
        Some(Cursor {
            key: key.to_owned(),
            id: id.to_owned(),
        })
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Pass as `?cursor=` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows: the extra row only says there is more.
    pub fn from_rows<R>(
        mut rows: Vec<R>,
        limit: i64,
        cursor_of: impl Fn(&R) -> Cursor,
        map: impl FnMut(R) -> T,
    ) -> Page<T> {
        let more = rows.len() as i64 > limit;
        rows.truncate(limit.max(0) as usize);
        let next_cursor = if more {
            rows.last().map(|r| cursor_of(r).encode())
        } else {
            None
        };
        Page {
            items: rows.into_iter().map(map).collect(),
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = "0b9c3f6e-2d4a-4f1e-9a7b-5c8d2e1f3a4b";
        let at = |key: &str| Cursor {
            key: key.into(),
            id: id.into(),
        };
        for c in [at("1700000000000000"), at("Tea\nfor two"), at("")] {
            assert_eq!(Cursor::decode(&c.encode()), Some(c));
        }
        let ours = |text: &str| Cursor::decode(&URL_SAFE_NO_PAD.encode(text));
        assert_eq!(Cursor::decode("!!!"), None);
        assert_eq!(ours("no-separator"), None);
        assert_eq!(
            ours("1700000000000000\nabc"),
            None,
            "an id that is not a UUID"
        );
        assert_eq!(ours(&format!("17\u{0}00\n{id}")), None, "a NUL in the key");
        assert_eq!(ours(&format!("1700\n{id}\u{0}")), None, "a NUL in the id");
    }

    #[test]
    fn limits_default_to_20_and_stay_within_1_to_100() {
        assert_eq!(limit(None), Ok(20));
        assert_eq!(limit(Some("100")), Ok(100));
        assert!(limit(Some("0")).is_err());
        assert!(limit(Some("101")).is_err());
        assert!(matches!(
            limit(Some("100000000000000000000")),
            Err(BadLimit::Out(_))
        ));
        assert!(matches!(
            limit(Some("-100000000000000000000")),
            Err(BadLimit::Out(_))
        ));
        assert_eq!(limit(Some("ten")), Err(BadLimit::NotANumber));
    }

    #[test]
    fn a_page_says_whether_more_follow() {
        let page = Page::from_rows(
            vec![1, 2, 3],
            2,
            |n| Cursor {
                key: n.to_string(),
                id: String::new(),
            },
            |n| n,
        );
        assert_eq!(page.items, vec![1, 2]);
        assert!(page.next_cursor.is_some());
        let last = Page::from_rows(
            vec![1, 2],
            2,
            |n| Cursor {
                key: n.to_string(),
                id: String::new(),
            },
            |n| n,
        );
        assert_eq!(last.next_cursor, None);
    }
}
