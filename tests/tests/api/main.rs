//! Black-box tests of the HTTP API against real PostgreSQL and Redis.

#![expect(clippy::unwrap_used, reason = "test helpers fail the test loudly on broken setup")]

mod accounts;
mod audio;
mod documents;
mod errors;
mod files;
mod jobs;
mod matrix;
mod platform;
mod queries;
mod schema;
mod sharing;
mod tokens;
