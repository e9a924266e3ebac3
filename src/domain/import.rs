//! The volunteer list a spreadsheet program saves, read and checked row by row: UTF-8 (with or
//! without a byte-order mark) or GB18030 (what spreadsheet programs on Chinese Windows save),
//! detected, never asked.

use std::borrow::Cow;
use std::collections::HashSet;

use serde::Serialize;
use utoipa::ToSchema;

use super::people::{PersonName, Phone, TeamRole};
use super::rule::Rule;
use super::text;
use crate::messages::{self, Lang};

/// A row refused, and why.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RowError {
    /// The file's line (the header is line 1).
    pub line: u64,
    /// The column at fault.
    pub field: String,
    /// `validation-failed`, `duplicate-phone` or `opening-already-set`.
    pub code: String,
    pub message: String,
}

impl RowError {
    /// A `code` error of `field` on `line`: `rule` broken, said in `lang`.
    pub fn new(line: u64, field: &str, code: &str, rule: &Rule, lang: Lang) -> RowError {
        RowError {
            line,
            field: field.to_owned(),
            code: code.to_owned(),
            message: messages::rule(rule, lang),
        }
    }
}

/// One good row.
#[derive(Debug, Clone)]
pub struct Row {
    pub line: u64,
    pub phone: Phone,
    pub name: String,
    pub team: Option<String>,
    pub team_role: TeamRole,
    pub opening_points: i64,
}

/// A file read: its good rows, its bad ones, and how many data rows it had.
#[derive(Debug, Default)]
pub struct Parsed {
    pub rows: u64,
    pub good: Vec<Row>,
    pub errors: Vec<RowError>,
    /// The language its row errors are said in (those found later too).
    pub lang: Lang,
}

/// The file's text: UTF-8 without its byte-order mark, or else GB18030; `None` if it is
/// neither (no character is silently replaced).
pub fn decode(bytes: &[u8]) -> Option<Cow<'_, str>> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => Some(Cow::Borrowed(text)),
        Err(_) => match encoding_rs::GB18030.decode_without_bom_handling(bytes) {
            (_, true) => None,
            (text, false) => Some(text),
        },
    }
}

/// The line on which a quoted cell opens that is never closed, if one does. As the CSV reader
/// reads it: a cell is quoted when it begins with `"`, `""` inside it is a quote, and the next
/// lone `"` closes it; a quote elsewhere is a character like any other.
fn unclosed_quote(text: &str) -> Option<u64> {
    let (mut line, mut opened) = (1u64, None);
    let mut at_cell_start = true;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (opened, c) {
            (Some(_), '"') if chars.peek() == Some(&'"') => {
                chars.next();
            }
            (Some(_), '"') => opened = None,
            (None, '"') if at_cell_start => opened = Some(line),
            _ => {}
        }
        if c == '\n' {
            line += 1;
        }
        at_cell_start = opened.is_none() && matches!(c, ',' | '\n' | '\r');
    }
    opened
}

/// The columns an import reads (any others are ignored).
const COLUMNS: [&str; 5] = ["phone", "name", "team", "team_role", "opening_points"];

/// Reads the file; row errors are said in `lang`. `Err` when it cannot be read at all: neither
/// UTF-8 nor GB18030, a quoted cell never closed, no `phone` or `name` column, a column named
/// twice, or not CSV.
pub fn parse(bytes: &[u8], lang: Lang) -> Result<Parsed, Rule> {
    let text = decode(bytes).ok_or(Rule::NotUtf8OrGb18030)?;
    if let Some(line) = unclosed_quote(&text) {
        return Err(Rule::UnclosedQuote(line));
    }
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|_| Rule::NotCsv)?.clone();
    let named = |name: &str| {
        headers
            .iter()
            .filter(|h| h.eq_ignore_ascii_case(name))
            .count()
    };
    if let Some(twice) = COLUMNS.into_iter().find(|c| named(c) > 1) {
        return Err(Rule::RepeatedColumn(twice));
    }
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(phone_at), Some(name_at)) = (column("phone"), column("name")) else {
        return Err(Rule::PhoneAndNameColumns);
    };
    let (team_at, role_at, opening_at) = (
        column("team"),
        column("team_role"),
        column("opening_points"),
    );
    let mut parsed = Parsed {
        lang,
        ..Parsed::default()
    };
    let mut phones = HashSet::new();
    // Bytes of the text already counted, and the line ends among them.
    let (mut counted, mut newlines) = (0usize, 0u64);
    for record in reader.records() {
        let record = record.map_err(|_| Rule::NotCsv)?;
        // The line counted from the record's byte offset: the csv crate's own line count is one
        // short after CRLF line ends (what spreadsheet programs write). The offset may point at
        // the previous line's `\n`, so that byte counts too. Counted on from the previous
        // record, so a file is read once, not once per row.
        let start = record.position().map_or(0, |p| p.byte() as usize);
        let end = (start + 1).min(text.len());
        let since = text.as_bytes().get(counted..end).unwrap_or_default();
        newlines += since.iter().filter(|b| **b == b'\n').count() as u64;
        counted = counted.max(end);
        let line = 1 + newlines;
        parsed.rows += 1;
        let cell = |at: Option<usize>| at.and_then(|i| record.get(i)).unwrap_or("");
        let mut errors = Vec::new();
        let mut invalid = |field: &str, rule: Rule| {
            errors.push(RowError::new(line, field, "validation-failed", &rule, lang))
        };
        let phone = Phone::parse(cell(Some(phone_at)))
            .map_err(|m| invalid("phone", m))
            .ok();
        let name = PersonName::parse(cell(Some(name_at)))
            .map_err(|m| invalid("name", m))
            .ok();
        let team = match cell(team_at) {
            "" => None,
            raw => text::bounded(raw, 1, 100)
                .map_err(|m| invalid("team", m))
                .ok(),
        };
        let team_role = match cell(role_at) {
            "" => Some(TeamRole::Member),
            raw => TeamRole::parse(raw).or_else(|| {
                invalid("team_role", Rule::TeamRole);
                None
            }),
        };
        let opening_points = match cell(opening_at) {
            "" => Some(0),
            raw => raw
                .parse::<i64>()
                .ok()
                .filter(|n| (0..=1_000_000).contains(n))
                .or_else(|| {
                    let (min, max) = (0, 1_000_000);
                    invalid("opening_points", Rule::WholeNumberBetween { min, max });
                    None
                }),
        };
        // A phone seen before is a repeat even when the earlier row was refused for another
        // field: only the first row of a phone can ever be applied.
        if phone
            .as_ref()
            .is_some_and(|p| !phones.insert(p.as_str().to_owned()))
        {
            let repeat = RowError::new(line, "phone", "duplicate-phone", &Rule::EarlierRow, lang);
            errors.insert(0, repeat);
        }
        match (phone, name, team_role, opening_points) {
            (Some(phone), Some(name), Some(team_role), Some(opening_points))
                if errors.is_empty() =>
            {
                parsed.good.push(Row {
                    line,
                    phone,
                    name: name.into_inner(),
                    team,
                    team_role,
                    opening_points,
                });
            }
            _ => parsed.errors.extend(errors),
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gb18030_is_detected_and_a_bom_is_dropped() {
        let (gbk, _, _) = encoding_rs::GB18030.encode("phone,name\n13800000000,李阿姨\n");
        assert_eq!(
            decode(&gbk).as_deref(),
            Some("phone,name\n13800000000,李阿姨\n")
        );
        assert_eq!(decode("\u{feff}phone".as_bytes()).as_deref(), Some("phone"));
        assert_eq!(decode(b"phone,name\n13900000241,\xff\xfe\x80\n"), None);
    }

    #[test]
    fn a_quoted_cell_never_closed_is_found_with_its_line() {
        let closed =
            "phone,name\r\n1,\"王,大伯\"\r\n2,\"李\"\"小\"\"红\"\n3,\"两\n行\"\n4,李\"阿姨\n";
        assert_eq!(unclosed_quote(closed), None);
        assert_eq!(unclosed_quote("phone,name\n1,\"未闭合\n2,乙\n"), Some(2));
        assert_eq!(unclosed_quote("phone,name\n1,\"a\"\"\n"), Some(2));
        assert_eq!(
            parse(b"phone,name\n13900000270,\"x\n13900000271,y\n", Lang::En).err(),
            Some(Rule::UnclosedQuote(2))
        );
    }

    #[test]
    fn rows_are_checked_field_by_field_with_their_lines() {
        for end in ["\n", "\r\n"] {
            let file = format!(
                "name,phone,team_role,opening_points{end}李阿姨,13800000000,leader,5{end}\
                 王师傅,12345,boss,-1{end}张同学,13800000000,,{end}"
            );
            let parsed = parse(file.as_bytes(), Lang::En).expect("readable");
            assert_eq!(parsed.rows, 3);
            assert_eq!(parsed.good.len(), 1);
            let fields: Vec<_> = parsed
                .errors
                .iter()
                .map(|e| (e.line, e.field.as_str(), e.code.as_str()))
                .collect();
            assert_eq!(
                fields,
                [
                    (3, "phone", "validation-failed"),
                    (3, "team_role", "validation-failed"),
                    (3, "opening_points", "validation-failed"),
                    (4, "phone", "duplicate-phone"),
                ],
                "{end:?}"
            );
        }
        // The first row of a phone is refused (not a number): the second is still a repeat.
        let parsed = parse(
            b"phone,name,opening_points\n13800000000,a,abc\n13800000000,a,20\n",
            Lang::En,
        )
        .expect("readable");
        assert!(parsed.good.is_empty());
        let codes: Vec<_> = parsed
            .errors
            .iter()
            .map(|e| (e.line, e.code.as_str()))
            .collect();
        assert_eq!(codes, [(2, "validation-failed"), (3, "duplicate-phone")]);
        assert_eq!(
            parsed.errors[0].message,
            "must be a whole number from 0 to 1000000, written without separators"
        );
        assert_eq!(
            parse(b"name,team\nx,y\n", Lang::En).err(),
            Some(Rule::PhoneAndNameColumns)
        );
        assert_eq!(
            parse(b"phone,name,Phone\n13800000001,x,1\n", Lang::En).err(),
            Some(Rule::RepeatedColumn("phone"))
        );
        // A column the import does not read may come twice.
        assert!(parse(b"phone,name,note,note\n13800000001,x,a,b\n", Lang::En).is_ok());
    }
}
