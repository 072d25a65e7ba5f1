//! Rows as the rest of the code sees them.

use chrono::{DateTime, Utc};
use diesel::prelude::{Identifiable, Insertable, Queryable, Selectable};
use uuid::Uuid;

use crate::schema::{api_tokens, sessions, users};

/// A person with an account.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct User {
    /// Identifier.
    pub id: Uuid,
    /// Normalized (lower-case) address.
    pub email: String,
    /// When the address was proven to belong to the user.
    pub email_verified_at: Option<DateTime<Utc>>,
    /// Argon2id hash in PHC string format.
    pub password_hash: String,
    /// Name shown to people the user shares with.
    pub display_name: Option<String>,
    /// Voice picked by default when the user asks for audio.
    pub preferred_voice: Option<String>,
    /// Whether people this user shares with may see the address.
    pub show_email_to_sharees: bool,
    /// Staff members reach the dashboard.
    pub is_staff: bool,
    /// Last password change.
    pub password_changed_at: DateTime<Utc>,
    /// Registration time.
    pub created_at: DateTime<Utc>,
    /// Last change to the row.
    pub updated_at: DateTime<Utc>,
}

impl User {
    /// Whether the user has proven ownership of the address.
    pub fn is_verified(&self) -> bool {
        self.email_verified_at.is_some()
    }
}

/// A new user row.
#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    /// Identifier.
    pub id: Uuid,
    /// Normalized address.
    pub email: &'a str,
    /// Argon2id hash.
    pub password_hash: &'a str,
    /// Optional display name.
    pub display_name: Option<&'a str>,
    /// Staff flag.
    pub is_staff: bool,
    /// Set for accounts created already verified (staff created by an operator).
    pub email_verified_at: Option<DateTime<Utc>>,
}

/// A login session.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = sessions, check_for_backend(diesel::pg::Pg))]
pub struct Session {
    /// Identifier.
    pub id: Uuid,
    /// Owner of the session.
    pub user_id: Uuid,
    /// SHA-256 of the session token.
    pub token_hash: Vec<u8>,
    /// SHA-256 of the session's CSRF token.
    pub csrf_hash: Vec<u8>,
    /// Client software, truncated.
    pub user_agent: Option<String>,
    /// Login time.
    pub created_at: DateTime<Utc>,
    /// Last authenticated request (updated at most once a minute).
    pub last_seen_at: DateTime<Utc>,
    /// Absolute expiry.
    pub expires_at: DateTime<Utc>,
    /// Set by logout or a password change.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A personal API token.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = api_tokens, check_for_backend(diesel::pg::Pg))]
pub struct ApiToken {
    /// Identifier.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// Name the user gave it.
    pub name: String,
    /// SHA-256 of the token.
    pub token_hash: Vec<u8>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Optional expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Last use (updated at most once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// Set when the user deletes it.
    pub revoked_at: Option<DateTime<Utc>>,
}
