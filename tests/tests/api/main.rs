//! Black-box tests of the HTTP API against real PostgreSQL and Redis.

mod accounts;
mod errors;
mod jobs;
mod platform;
mod schema;
mod tokens;
