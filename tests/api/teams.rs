//! Tests of teams (filled in by its issue).
