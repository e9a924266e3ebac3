//! Text fields as API.md bounds them: stored trimmed, counted in characters (not bytes).

use super::rule::Rule;

/// Trims `raw` and checks it has `min..=max` characters and no control character but line
/// breaks and tabs (a NUL would cut the text short in SQLite's `length()`, and none belongs in
/// a name or a note).
pub fn bounded(raw: &str, min: usize, max: usize) -> Result<String, Rule> {
    let trimmed = raw.trim_matches(blank);
    if has_forbidden_control(trimmed) {
        return Err(Rule::ControlCharacter);
    }
    let len = trimmed.chars().count();
    if len < min {
        Err(if min == 1 {
            Rule::Empty
        } else {
            Rule::MinChars(min)
        })
    } else if len > max {
        Err(Rule::MaxChars(max))
    } else {
        Ok(trimmed.to_owned())
    }
}

/// Whether `c` shows nothing at either end of a text: white space, and the zero-width
/// characters a copy and paste brings along (zero-width space and joiners, word joiner, byte
/// order mark, soft hyphen, Mongolian vowel separator). A name of only these would look blank,
/// so they are trimmed like spaces; inside a text (an emoji's joiner) they stay.
fn blank(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' | '\u{180E}'
        )
}

/// Whether `text` holds a control character other than a line break or a tab: no stored text
/// does (and PostgreSQL's text cannot even hold a NUL).
pub fn has_forbidden_control(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

/// A name or title: 1–100 characters.
pub fn title(raw: &str) -> Result<String, Rule> {
    bounded(raw, 1, 100)
}

/// A description or location: up to 2,000 characters.
pub fn description(raw: &str) -> Result<String, Rule> {
    bounded(raw, 0, 2000)
}

/// An optional description: up to 2,000 characters; empty (after trimming) means none.
pub fn optional_description(raw: &str) -> Result<Option<String>, Rule> {
    description(raw).map(|s| (!s.is_empty()).then_some(s))
}

/// A reason or note: 1–500 characters.
pub fn reason(raw: &str) -> Result<String, Rule> {
    bounded(raw, 1, 500)
}

/// Checks an integer lies in `min..=max`.
pub fn in_range(value: i64, min: i64, max: i64) -> Result<i64, Rule> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(Rule::Between { min, max })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_width_characters_are_trimmed_like_spaces_but_kept_inside() {
        assert_eq!(bounded("\u{200B}\u{FEFF}\u{2060}", 1, 50), Err(Rule::Empty));
        assert_eq!(
            bounded("\u{200B} 李阿姨\u{00AD}", 1, 50).as_deref(),
            Ok("李阿姨")
        );
        let family = "👩\u{200D}👧";
        assert_eq!(bounded(family, 1, 50).as_deref(), Ok(family));
    }

    #[test]
    fn text_is_trimmed_and_counted_in_characters() {
        assert_eq!(bounded("  蒋姐姐  ", 1, 3), Ok("蒋姐姐".to_owned()));
        assert!(bounded("蒋姐姐助", 1, 3).is_err());
        assert!(bounded("   ", 1, 3).is_err());
        assert_eq!(bounded("", 0, 3), Ok(String::new()));
    }

    #[test]
    fn control_characters_are_refused_but_line_breaks_and_tabs_kept() {
        assert_eq!(bounded("\u{0}Tea", 1, 10), Err(Rule::ControlCharacter));
        assert_eq!(bounded("Te\u{7}a", 1, 10), Err(Rule::ControlCharacter));
        assert_eq!(
            bounded("line\nnext\tcol", 0, 20),
            Ok("line\nnext\tcol".to_owned())
        );
    }

    #[test]
    fn names_and_optional_descriptions_keep_their_bounds() {
        assert!(title("").is_err());
        assert_eq!(title("  咖啡券 "), Ok("咖啡券".to_owned()));
        assert!(title(&"x".repeat(101)).is_err());
        assert_eq!(optional_description("   "), Ok(None));
        assert!(optional_description(&"d".repeat(2001)).is_err());
    }

    #[test]
    fn ranges_are_inclusive() {
        assert!(in_range(1, 1, 10).is_ok());
        assert!(in_range(10, 1, 10).is_ok());
        assert!(in_range(0, 1, 10).is_err());
        assert!(in_range(11, 1, 10).is_err());
    }
}
