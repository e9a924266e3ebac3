//! Tests of rewards (filled in by its issue).
