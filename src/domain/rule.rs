//! The rules a request value can break, as data: `messages.rs` renders each in the caller's
//! language, so no English sentence is built here.

/// One broken rule of a field (the `message` of a 422's `errors` entry, before rendering).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// An empty (or all-space) text.
    Empty,
    /// A text shorter than this many characters.
    MinChars(usize),
    /// A text longer than this many characters.
    MaxChars(usize),
    /// A text holding a control character other than a line break or a tab.
    ControlCharacter,
    /// A number outside `min..=max`.
    Between { min: i64, max: i64 },
    /// A text that is not a whole number in `min..=max` (a spreadsheet cell: `12.0`, `1,000`).
    WholeNumberBetween { min: i64, max: i64 },
    /// A phone number that is not 11 digits starting with 1.
    Phone,
    /// A code that is not 6 digits.
    SixDigits,
    /// `points_per_hour` outside 1–1000.
    PointsPerHour,
    /// `fixed_points` outside 1–10000.
    FixedPoints,
    /// Both or neither of `points_per_hour` and `fixed_points`.
    OnePointsRule,
    /// An end not after `starts_at`.
    AfterStart,
    /// An end more than 7 days after `starts_at`.
    WithinSevenDays,
    /// A `to` not after `from`.
    AfterFrom,
    /// A time outside years 2000–2099.
    TimeOutOfRange,
    /// A text that is not an RFC 3339 time.
    NotATime,
    /// A latitude outside -90–90.
    Latitude,
    /// A longitude outside -180–180.
    Longitude,
    /// A restock of a reward whose stock is unlimited.
    StockUnlimited,
    /// A restock that would pass the largest stock.
    StockAbove(i64),
    /// Points differing from the proposal without a note.
    NoteRequired,
    /// Points differing from the wish's points without a note.
    WishNoteRequired,
    /// A team role other than `member` or `leader`.
    TeamRole,
    /// An import row whose phone an earlier row of the same file has.
    EarlierRow,
    /// An import file whose header row names no `phone` or no `name` column.
    PhoneAndNameColumns,
    /// An import file whose header row names one of its columns twice (which one holds the
    /// value?).
    RepeatedColumn(&'static str),
    /// An import file that is not CSV.
    NotCsv,
    /// An import file that is neither UTF-8 nor GB18030.
    NotUtf8OrGb18030,
    /// An import file with a quoted cell, opened on this line, that is never closed (it would
    /// swallow every row after it).
    UnclosedQuote(u64),
    /// An opening balance other than the one already recorded for this volunteer (at most one
    /// per volunteer ever).
    OpeningAlreadySet(i64),
}
