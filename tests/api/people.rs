//! Tests of people: /me, passwords, the directory, desk registration, roles.
