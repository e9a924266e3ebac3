//! Tests of authentication: register, login, tokens, refresh, logout, rate limits.
