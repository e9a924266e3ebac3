//! People: accounts to sign in with, roles, the staff directory.

use super::keyset::before_in_time;
/// Reads a cursor key made from a time in microseconds (here too for the lists that import it
/// from this module).
use super::schema::users;
use super::DbConnection;
use crate::domain::ids::{Id, VolunteerId};
use crate::domain::page::Cursor;
use crate::domain::people::{Phone, Role};
use crate::domain::text::has_forbidden_control;
use crate::error::{AppError, Conflict};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A stored person.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: VolunteerId,
    pub phone: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub created_at: NaiveDateTime,
}

impl UserRow {
    /// The stored role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The keyset position of this row in the directory.
    pub fn cursor(&self) -> Cursor {
        Cursor {
            key: self.created_at.and_utc().timestamp_micros().to_string(),
            id: self.id.to_string(),
        }
    }
}

/// A person to create.
pub struct NewUser<'a> {
    pub phone: &'a Phone,
    pub name: &'a str,
    pub role: Role,
    pub password_hash: &'a str,
    pub now: NaiveDateTime,
}

/// Creates a person and their points account together; a taken phone is 409 `phone-taken`
/// (the UNIQUE index decides, so concurrent registrations of one phone give one winner).
pub fn create(conn: &mut DbConnection, new: NewUser<'_>) -> Result<UserRow, AppError> {
    create_unless_taken(conn, new)?.ok_or(AppError::Conflict(Conflict::PhoneTaken))
}

/// [`create`], or `None` if the phone is taken, also by a transaction that commits meanwhile
/// (PostgreSQL waits for it): `ON CONFLICT DO NOTHING` leaves the caller's transaction usable.
/// `ON CONFLICT` compiles per backend, not through the multi-backend connection, so the values
/// are bound as plain text.
pub fn create_unless_taken(
    conn: &mut DbConnection,
    new: NewUser<'_>,
) -> Result<Option<UserRow>, AppError> {
    let id = VolunteerId::fresh();
    let insert = diesel::insert_into(users::table)
        .values((
            users::id.eq(id.as_str()),
            users::phone.eq(new.phone.as_str()),
            users::name.eq(new.name),
            users::role.eq(new.role.as_str()),
            users::password_hash.eq(new.password_hash),
            users::created_at.eq(new.now),
        ))
        .on_conflict(users::phone)
        .do_nothing();
    let inserted = match conn {
        DbConnection::Pg(c) => insert.execute(c)?,
        DbConnection::Sqlite(c) => insert.execute(c)?,
    };
    if inserted == 0 {
        return Ok(None);
    }
    super::ledger::open_account(conn, &id, new.now)?;
    find(conn, &id)
}

/// How many people there are (anyone: volunteers, staff, admins).
pub fn count(conn: &mut DbConnection) -> Result<i64, AppError> {
    Ok(users::table.count().get_result(conn)?)
}

/// The person with this id.
pub fn find(conn: &mut DbConnection, id: &VolunteerId) -> Result<Option<UserRow>, AppError> {
    Ok(users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

/// 404 `not-found` unless there is a person with this id.
pub fn require(conn: &mut DbConnection, id: &VolunteerId) -> Result<(), AppError> {
    find(conn, id)?
        .map(|_| ())
        .ok_or(AppError::NotFound("volunteer"))
}

/// The person with this phone.
pub fn find_by_phone(conn: &mut DbConnection, phone: &str) -> Result<Option<UserRow>, AppError> {
    Ok(users::table
        .filter(users::phone.eq(phone))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

/// A directory page, newest first, optionally only names or phones containing `q`;
/// returns up to `limit + 1` rows (the extra one says a next page exists).
pub fn list(
    conn: &mut DbConnection,
    q: Option<&str>,
    limit: i64,
    after: Option<&Cursor>,
) -> Result<Vec<UserRow>, AppError> {
    let mut query = users::table
        .select(UserRow::as_select())
        .order((users::created_at.desc(), users::id.desc()))
        .limit(limit + 1)
        .into_boxed();
    if let Some(q) = q {
        // No name or phone holds such a character (PostgreSQL could not even be asked for a NUL).
        if has_forbidden_control(q) {
            return Ok(Vec::new());
        }
        // LIKE ignores ASCII case on SQLite but not on PostgreSQL: compare lower-cased on both.
        let pattern = format!("%{}%", escape_like(&q.to_lowercase()));
        query = query.filter(
            lower(users::name)
                .like(pattern.clone())
                .escape('\\')
                .or(users::phone.like(pattern).escape('\\')),
        );
    }
    if let Some(c) = after {
        query = query.filter(before_in_time(users::created_at, users::id, c)?);
    }
    Ok(query.load(conn)?)
}

/// Gives a person `role`; `None` if there is no such person. A change revokes their refresh
/// tokens in the same transaction: the role travels in access tokens, and no refresh may mint
/// one with the old role. Setting the role they have changes nothing and signs no one out.
pub fn set_role(
    conn: &mut DbConnection,
    id: &VolunteerId,
    role: Role,
    now: NaiveDateTime,
) -> Result<Option<UserRow>, AppError> {
    let changed = diesel::update(users::table.find(id).filter(users::role.ne(role)))
        .set(users::role.eq(role))
        .execute(conn)?;
    if changed > 0 {
        super::tokens::revoke_user(conn, id, None, now)?;
    }
    find(conn, id)
}

/// A desk reset: replaces the password hash of a volunteer, or of anyone when `admin` (API.md:
/// staff reset volunteers' passwords only). The role is checked by the UPDATE itself, so a
/// promotion committed after the caller looked is 403, never a staff password reset by staff;
/// 404 if there is no such person.
pub fn reset_password(
    conn: &mut DbConnection,
    id: &VolunteerId,
    hash: &str,
    admin: bool,
) -> Result<(), AppError> {
    use diesel::sql_types::Bool;
    let n = diesel::update(
        users::table
            .find(id)
            .filter(users::role.eq(Role::Volunteer).or(admin.into_sql::<Bool>())),
    )
    .set(users::password_hash.eq(hash))
    .execute(conn)?;
    if n > 0 {
        return Ok(());
    }
    match find(conn, id)? {
        None => Err(AppError::NotFound("volunteer")),
        Some(_) => Err(staff_reset_refused()),
    }
}

/// 403: staff resetting a staff or admin password.
pub fn staff_reset_refused() -> AppError {
    AppError::Forbidden("only an admin resets a staff or admin password")
}

/// Replaces a password hash.
pub fn set_password(conn: &mut DbConnection, id: &VolunteerId, hash: &str) -> Result<(), AppError> {
    diesel::update(users::table.find(id))
        .set(users::password_hash.eq(hash))
        .execute(conn)?;
    Ok(())
}

diesel::define_sql_function! {
    /// SQL `lower(text)`, the same on both databases for ASCII.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Escapes `%`, `_` and `\` for a LIKE pattern with `\` as the escape character.
fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
