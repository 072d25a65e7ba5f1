//! Orator's domain: the database schema and models, the account rules, and the job outbox.
//!
//! Nothing here knows about HTTP or about the queue: the API and the worker call into this
//! crate and translate its errors for their own audiences.

pub mod access;
pub mod accounts;
pub mod audios;
pub mod db;
pub mod documents;
pub mod jobs;
pub mod models;
pub mod pagination;
pub mod password;
/// Table definitions, generated from the migrations by `diesel print-schema`.
#[expect(missing_docs, reason = "generated from the migrations by diesel print-schema")]
pub mod schema;
pub mod settings;
pub mod shares;
pub mod tokens;

pub use db::{DbConn, DbError, DbPool};
