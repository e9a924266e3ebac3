//! Keyset pages: where a page starts after its cursor, in the two orders lists are read in
//! (by name, or newest first). Each list orders by the same two columns it passes here, and
//! the id breaks ties, so a page never repeats or skips a row.

use chrono::NaiveDateTime;
use diesel::dsl;
use diesel::expression::Expression;
use diesel::sql_types::{Text, Timestamp};
use diesel::{BoolExpressionMethods, ExpressionMethods};

use crate::domain::page::Cursor;
use crate::error::AppError;

/// The rows after `c` in `(name, id)` ascending order: `name > key OR (name = key AND id > id)`.
pub fn after_by_name<N, I>(name: N, id: I, c: &Cursor) -> AfterByName<N, I>
where
    N: Expression<SqlType = Text> + ExpressionMethods + Copy,
    I: Expression<SqlType = Text> + ExpressionMethods,
{
    name.gt(c.key.clone())
        .or(name.eq(c.key.clone()).and(id.gt(c.id.clone())))
}

/// The rows after `c` in `(at, id)` descending order (newest first):
/// `at < key OR (at = key AND id < id)`; the cursor's key is a time in microseconds (400 if not).
pub fn before_in_time<T, I>(at: T, id: I, c: &Cursor) -> Result<BeforeInTime<T, I>, AppError>
where
    T: Expression<SqlType = Timestamp> + ExpressionMethods + Copy,
    I: Expression<SqlType = Text> + ExpressionMethods,
{
    let key = micros_to_naive(&c.key)?;
    Ok(at.lt(key).or(at.eq(key).and(id.lt(c.id.clone()))))
}

/// What [`after_by_name`] builds.
pub type AfterByName<N, I> =
    dsl::Or<dsl::Gt<N, String>, dsl::And<dsl::Eq<N, String>, dsl::Gt<I, String>>>;

/// What [`before_in_time`] builds.
pub type BeforeInTime<T, I> =
    dsl::Or<dsl::Lt<T, NaiveDateTime>, dsl::And<dsl::Eq<T, NaiveDateTime>, dsl::Lt<I, String>>>;

/// Reads a cursor key made from a time in microseconds.
pub fn micros_to_naive(key: &str) -> Result<NaiveDateTime, AppError> {
    key.parse::<i64>()
        .ok()
        .and_then(chrono::DateTime::from_timestamp_micros)
        .map(|t| t.naive_utc())
        .ok_or_else(|| AppError::BadRequest("the cursor is not valid".to_owned()))
}
