//! Rules of activities (filled in by its issue).
