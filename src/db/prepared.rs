//! Statements diesel would send unprepared, prepared once per connection instead.
//!
//! Diesel marks every UPDATE (its changeset may skip `None` fields) and every
//! `ON CONFLICT` insert as unsafe to cache, so PostgreSQL parses and plans them, and SQLite
//! compiles them, on every run. [`Prepared`] wraps a statement whose text is the same on every
//! run and lets diesel's statement cache keep it, keyed by that text (so a statement whose
//! text did vary would still get one cache entry per text, never a wrong one).
//!
//! Run it by value (`load`, `get_result`; an UPDATE or INSERT with `RETURNING`): diesel's
//! `execute` hands the connection a reference, whose check walks the statement itself and finds
//! it unsafe again.

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::{QueryResult, RunQueryDsl};

/// A statement of fixed text, prepared once per connection (see the module).
pub struct Prepared<Q>(pub Q);

impl<Q, DB> QueryFragment<DB> for Prepared<Q>
where
    Q: QueryFragment<DB>,
    DB: Backend,
{
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    // No type id: the cache keys it by its SQL text.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, Conn> RunQueryDsl<Conn> for Prepared<Q> {}
