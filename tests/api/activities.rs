//! Tests of activities (filled in by its issue).
