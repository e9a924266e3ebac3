//! Refresh tokens: stored only as hashes, single use, grouped in families (one per sign-in) so
//! that a reused token revokes every token descended from the same sign-in.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use super::schema::refresh_tokens as rt;
use super::DbConnection;
use crate::domain::ids::VolunteerId;
use crate::error::AppError;

/// Stores a new refresh token of `family` for `user`.
pub fn insert(
    conn: &mut DbConnection,
    user: &VolunteerId,
    family: &str,
    hash: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::insert_into(rt::table)
        .values((
            rt::id.eq(Uuid::new_v4().to_string()),
            rt::user_id.eq(user),
            rt::family_id.eq(family),
            rt::token_hash.eq(hash),
            rt::created_at.eq(now),
            rt::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// What presenting a refresh token did.
pub enum Rotation {
    /// The token was live and is now used; the new token continues `family` for `user_id`.
    Rotated {
        user_id: VolunteerId,
        family: String,
    },
    /// The token had been used already: its whole family is now revoked.
    Reused,
    /// Unknown, revoked or expired.
    Invalid,
}

/// Marks a live token used (one conditional UPDATE, so two concurrent presentations cannot both
/// win), or revokes its family if it was used before. Commit the result even when it is a
/// refusal: the revocation must stand.
pub fn rotate(
    conn: &mut DbConnection,
    hash: &str,
    now: NaiveDateTime,
) -> Result<Rotation, AppError> {
    let used = diesel::update(
        rt::table
            .filter(rt::token_hash.eq(hash))
            .filter(rt::used_at.is_null())
            .filter(rt::revoked_at.is_null())
            .filter(rt::expires_at.gt(now)),
    )
    .set(rt::used_at.eq(now))
    .execute(conn)?;
    let row: Option<(VolunteerId, String, Option<NaiveDateTime>)> = rt::table
        .filter(rt::token_hash.eq(hash))
        .select((rt::user_id, rt::family_id, rt::used_at))
        .first(conn)
        .optional()?;
    match (used, row) {
        (1, Some((user_id, family, _))) => Ok(Rotation::Rotated { user_id, family }),
        (_, Some((_, family, Some(_)))) => {
            revoke_family(conn, &family, now)?;
            Ok(Rotation::Reused)
        }
        _ => Ok(Rotation::Invalid),
    }
}

/// Ends the sign-in `token_hash` belongs to (if it is `user`'s).
pub fn logout(
    conn: &mut DbConnection,
    user: &VolunteerId,
    hash: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let family: Option<String> = rt::table
        .filter(rt::token_hash.eq(hash))
        .filter(rt::user_id.eq(user))
        .select(rt::family_id)
        .first(conn)
        .optional()?;
    if let Some(family) = family {
        revoke_family(conn, &family, now)?;
    }
    Ok(())
}

/// Revokes every live token of `user`, except those of the sign-in `keep`.
pub fn revoke_user(
    conn: &mut DbConnection,
    user: &VolunteerId,
    keep: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let mut q = diesel::update(rt::table)
        .filter(rt::user_id.eq(user))
        .filter(rt::revoked_at.is_null())
        .into_boxed();
    if let Some(keep) = keep {
        q = q.filter(rt::family_id.ne(keep));
    }
    q.set(rt::revoked_at.eq(now)).execute(conn)?;
    Ok(())
}

fn revoke_family(
    conn: &mut DbConnection,
    family: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(
        rt::table
            .filter(rt::family_id.eq(family))
            .filter(rt::revoked_at.is_null()),
    )
    .set(rt::revoked_at.eq(now))
    .execute(conn)?;
    Ok(())
}
