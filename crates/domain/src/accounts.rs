//! Account rules: registration, email verification, password login and reset, sessions and
//! personal API tokens.
//!
//! Every secret handed out (session, CSRF, API and mail tokens) is stored only as a hash.
//! Mail tokens are single-use and expire; a password change or reset revokes every session.
//! Functions here never send mail or touch Redis: they return what the caller must deliver.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::DbError;
use crate::models::{ApiToken, NewUser, Session, User};
use crate::pagination::{Cursor, PageRequest, Slice};
use crate::password::{self, PasswordPolicy, Weakness};
use crate::schema::{api_tokens, email_tokens, sessions, users};
use crate::tokens::{self, API_TOKEN_PREFIX, IssuedToken, SESSION_PREFIX};

/// Longest stored user agent, in characters.
pub const USER_AGENT_MAX_CHARS: usize = 256;

/// Why an account operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Another account already uses the address.
    #[error("email already registered")]
    EmailTaken,
    /// The password does not satisfy the policy.
    #[error("weak password")]
    WeakPassword(Weakness),
    /// Wrong email or password (deliberately the same for both).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The current password given to confirm a change is wrong.
    #[error("wrong current password")]
    WrongPassword,
    /// A mail token is unknown, used or expired.
    #[error("invalid or expired token")]
    InvalidToken,
    /// The user already holds the maximum number of API tokens.
    #[error("too many API tokens")]
    TokenLimitReached,
    /// No such row for this user.
    #[error("not found")]
    NotFound,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Hashing failed (should not happen with valid parameters).
    #[error("password hashing failed")]
    Hashing,
}

impl From<DieselError> for AccountError {
    fn from(err: DieselError) -> Self {
        Self::Db(DbError::Query(err))
    }
}

/// What a mail token proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    /// The user controls the address.
    VerifyEmail,
    /// The user may set a new password.
    PasswordReset,
}

impl TokenPurpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::PasswordReset => "password_reset",
        }
    }
}

/// Lifetimes and limits the account rules need, taken from the boot configuration.
#[derive(Debug, Clone, Copy)]
pub struct AccountSettings {
    /// Password rules.
    pub password: PasswordPolicy,
    /// Idle lifetime of a session.
    pub session_idle: Duration,
    /// Absolute lifetime of a session.
    pub session_max_age: Duration,
    /// Lifetime of a verification link.
    pub verify_email_ttl: Duration,
    /// Lifetime of a reset link.
    pub password_reset_ttl: Duration,
    /// API tokens a user may hold.
    pub max_api_tokens: i64,
}

impl AccountSettings {
    /// Takes the account settings from the boot configuration.
    pub fn from_config(config: &orator_config::Config) -> Self {
        let secs = |value: u64| Duration::seconds(i64::try_from(value).unwrap_or(i64::MAX / 1000));

        Self {
            password: PasswordPolicy {
                min_length: config.password_min_length,
                min_strength: config.password_min_strength,
            },
            session_idle: secs(config.session_idle_timeout_secs),
            session_max_age: secs(config.session_max_age_secs),
            verify_email_ttl: secs(config.verify_email_ttl_secs),
            password_reset_ttl: secs(config.password_reset_ttl_secs),
            max_api_tokens: i64::from(config.max_api_tokens_per_user),
        }
    }
}

/// A new session: the row and the two secrets the client receives.
#[derive(Debug)]
pub struct NewSession {
    /// The stored session.
    pub session: Session,
    /// The session token (cookie value and bearer token).
    pub token: IssuedToken,
    /// The CSRF token (readable cookie, echoed in `X-CSRF-Token`).
    pub csrf: IssuedToken,
}

/// A freshly created personal API token.
#[derive(Debug)]
pub struct NewApiToken {
    /// The stored row.
    pub row: ApiToken,
    /// The token, shown once.
    pub token: IssuedToken,
}

/// How a request proved who it is.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A login session (cookie or bearer).
    Session(Session),
    /// A personal API token.
    ApiToken(ApiToken),
}

/// Trims and lower-cases an email address.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

async fn hash_off_thread(password: String) -> Result<String, AccountError> {
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|_| AccountError::Hashing)?
        .map_err(|_| AccountError::Hashing)
}

async fn verify_off_thread(password: String, stored: String) -> bool {
    tokio::task::spawn_blocking(move || password::verify(&password, &stored)).await.unwrap_or(false)
}

/// Creates an account and its email-verification token; the caller mails the token.
pub async fn register(
    conn: &mut AsyncPgConnection,
    settings: &AccountSettings,
    email: &str,
    password: &str,
    display_name: Option<&str>,
    is_staff: bool,
) -> Result<(User, IssuedToken), AccountError> {
    let email = normalize_email(email);
    let context: Vec<&str> = [Some(email.as_str()), display_name].into_iter().flatten().collect();
    settings.password.check(password, &context).map_err(AccountError::WeakPassword)?;

    let password_hash = hash_off_thread(password.to_owned()).await?;
    let verified_at = is_staff.then(Utc::now);
    let new_user = NewUser {
        id: Uuid::now_v7(),
        email: &email,
        password_hash: &password_hash,
        display_name,
        is_staff,
        email_verified_at: verified_at,
    };
    let ttl = settings.verify_email_ttl;

    conn.transaction(async |conn| {
        let user = diesel::insert_into(users::table)
            .values(&new_user)
            .returning(User::as_returning())
            .get_result(conn)
            .await
            .map_err(|err| match err {
                DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                    AccountError::EmailTaken
                }
                other => other.into(),
            })?;

        let token = create_mail_token(conn, user.id, TokenPurpose::VerifyEmail, ttl).await?;

        Ok((user, token))
    })
    .await
}

async fn create_mail_token(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    purpose: TokenPurpose,
    ttl: Duration,
) -> Result<IssuedToken, AccountError> {
    let token = tokens::issue("");
    let now = Utc::now();

    diesel::insert_into(email_tokens::table)
        .values((
            email_tokens::id.eq(Uuid::now_v7()),
            email_tokens::user_id.eq(user_id),
            email_tokens::purpose.eq(purpose.as_str()),
            email_tokens::token_hash.eq(&token.hash),
            email_tokens::created_at.eq(now),
            email_tokens::expires_at.eq(now + ttl),
        ))
        .execute(conn)
        .await?;

    Ok(token)
}

/// Uses up a mail token, returning its user. Concurrent uses: exactly one succeeds.
async fn consume_mail_token(
    conn: &mut AsyncPgConnection,
    purpose: TokenPurpose,
    token: &str,
) -> Result<Uuid, AccountError> {
    let now = Utc::now();

    diesel::update(email_tokens::table)
        .filter(email_tokens::token_hash.eq(tokens::hash(token)))
        .filter(email_tokens::purpose.eq(purpose.as_str()))
        .filter(email_tokens::used_at.is_null())
        .filter(email_tokens::expires_at.gt(now))
        .set(email_tokens::used_at.eq(now))
        .returning(email_tokens::user_id)
        .get_result(conn)
        .await
        .optional()?
        .ok_or(AccountError::InvalidToken)
}

/// Marks the address of the token's user as verified.
pub async fn verify_email(conn: &mut AsyncPgConnection, token: &str) -> Result<User, AccountError> {
    conn.transaction(async |conn| {
        let user_id = consume_mail_token(conn, TokenPurpose::VerifyEmail, token).await?;
        let user = diesel::update(users::table.find(user_id))
            .set((users::email_verified_at.eq(Utc::now()), users::updated_at.eq(diesel::dsl::now)))
            .returning(User::as_returning())
            .get_result(conn)
            .await?;
        crate::shares::activate_invitations(conn, user.id, &user.email).await?;

        Ok(user)
    })
    .await
}

/// Issues a fresh verification token for an unverified user; `None` when already verified.
pub async fn reissue_verification(
    conn: &mut AsyncPgConnection,
    settings: &AccountSettings,
    user: &User,
) -> Result<Option<IssuedToken>, AccountError> {
    if user.is_verified() {
        return Ok(None);
    }

    let token =
        create_mail_token(conn, user.id, TokenPurpose::VerifyEmail, settings.verify_email_ttl)
            .await?;

    Ok(Some(token))
}

/// Issues a password-reset token when the address has an account; `None` otherwise.
pub async fn request_password_reset(
    conn: &mut AsyncPgConnection,
    settings: &AccountSettings,
    email: &str,
) -> Result<Option<(User, IssuedToken)>, AccountError> {
    let Some(user) = find_by_email(conn, email).await? else {
        return Ok(None);
    };

    let token =
        create_mail_token(conn, user.id, TokenPurpose::PasswordReset, settings.password_reset_ttl)
            .await?;

    Ok(Some((user, token)))
}

/// Sets a new password from a reset token and revokes every session of the user.
pub async fn confirm_password_reset(
    conn: &mut AsyncPgConnection,
    settings: &AccountSettings,
    token: &str,
    new_password: &str,
) -> Result<User, AccountError> {
    settings.password.check(new_password, &[]).map_err(AccountError::WeakPassword)?;
    let password_hash = hash_off_thread(new_password.to_owned()).await?;

    conn.transaction(async |conn| {
        let user_id = consume_mail_token(conn, TokenPurpose::PasswordReset, token).await?;
        let user = set_password_hash(conn, user_id, &password_hash).await?;

        // Following the link proves the address, too.
        diesel::update(users::table.find(user_id))
            .filter(users::email_verified_at.is_null())
            .set(users::email_verified_at.eq(Utc::now()))
            .execute(conn)
            .await?;
        crate::shares::activate_invitations(conn, user_id, &user.email).await?;

        Ok(user)
    })
    .await
}

async fn set_password_hash(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    password_hash: &str,
) -> Result<User, AccountError> {
    let user = diesel::update(users::table.find(user_id))
        .set((
            users::password_hash.eq(password_hash),
            users::password_changed_at.eq(diesel::dsl::now),
            users::updated_at.eq(diesel::dsl::now),
        ))
        .returning(User::as_returning())
        .get_result(conn)
        .await?;

    revoke_all_sessions(conn, user_id).await?;

    Ok(user)
}

/// Changes the password after checking the current one; revokes every session, and returns
/// a new one for the caller so they stay signed in.
pub async fn change_password(
    conn: &mut AsyncPgConnection,
    settings: &AccountSettings,
    user: &User,
    current_password: &str,
    new_password: &str,
    user_agent: Option<&str>,
) -> Result<NewSession, AccountError> {
    if !verify_off_thread(current_password.to_owned(), user.password_hash.clone()).await {
        return Err(AccountError::WrongPassword);
    }
    let context = [user.email.as_str()];
    settings.password.check(new_password, &context).map_err(AccountError::WeakPassword)?;
    let password_hash = hash_off_thread(new_password.to_owned()).await?;

    conn.transaction(async |conn| {
        set_password_hash(conn, user.id, &password_hash).await?;
        start_session(conn, settings, user.id, user_agent).await
    })
    .await
}

/// Looks an account up by address.
pub async fn find_by_email(
    conn: &mut AsyncPgConnection,
    email: &str,
) -> Result<Option<User>, AccountError> {
    let user = users::table
        .filter(users::email.eq(normalize_email(email)))
        .select(User::as_select())
        .first(conn)
        .await
        .optional()?;

    Ok(user)
}

/// Checks an email and password. An unknown email costs the same time as a wrong password
/// and gives the same error.
pub async fn authenticate(
    conn: &mut AsyncPgConnection,
    email: &str,
    password: &str,
) -> Result<User, AccountError> {
    let user = find_by_email(conn, email).await?;
    let stored = user
        .as_ref()
        .map_or_else(|| password::decoy_hash().to_owned(), |user| user.password_hash.clone());

    let matches = verify_off_thread(password.to_owned(), stored).await;

    match user {
        Some(user) if matches => Ok(user),
        _ => Err(AccountError::InvalidCredentials),
    }
}

/// Opens a new session (a new id and new secrets every time).
pub async fn start_session(
    conn: &mut AsyncPgConnection,
    settings: &AccountSettings,
    user_id: Uuid,
    user_agent: Option<&str>,
) -> Result<NewSession, AccountError> {
    let token = tokens::issue(SESSION_PREFIX);
    let csrf = tokens::issue("");
    let now = Utc::now();
    let user_agent: Option<String> =
        user_agent.map(|agent| agent.chars().take(USER_AGENT_MAX_CHARS).collect());

    let session = diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(Uuid::now_v7()),
            sessions::user_id.eq(user_id),
            sessions::token_hash.eq(&token.hash),
            sessions::csrf_hash.eq(&csrf.hash),
            sessions::user_agent.eq(user_agent),
            sessions::created_at.eq(now),
            sessions::last_seen_at.eq(now),
            sessions::expires_at.eq(now + settings.session_max_age),
        ))
        .returning(Session::as_returning())
        .get_result(conn)
        .await?;

    Ok(NewSession { session, token, csrf })
}

/// How often `last_seen_at` / `last_used_at` are written at most, per credential.
const TOUCH_INTERVAL_SECS: i64 = 60;

/// Resolves a presented token (session or API token) to its user and credential.
///
/// `None` for anything unknown, revoked, expired or idle for too long.
pub async fn resolve_token(
    conn: &mut AsyncPgConnection,
    settings: &AccountSettings,
    token: &str,
) -> Result<Option<(User, Credential)>, AccountError> {
    let now = Utc::now();
    let hash = tokens::hash(token);

    if token.starts_with(API_TOKEN_PREFIX) {
        let found: Option<(ApiToken, User)> = api_tokens::table
            .inner_join(users::table)
            .filter(api_tokens::token_hash.eq(&hash))
            .filter(api_tokens::revoked_at.is_null())
            .filter(api_tokens::expires_at.is_null().or(api_tokens::expires_at.gt(now)))
            .select((ApiToken::as_select(), User::as_select()))
            .first(conn)
            .await
            .optional()?;
        let Some((api_token, user)) = found else {
            return Ok(None);
        };

        let stale = api_token
            .last_used_at
            .is_none_or(|used| now - used > Duration::seconds(TOUCH_INTERVAL_SECS));
        if stale {
            diesel::update(api_tokens::table.find(api_token.id))
                .set(api_tokens::last_used_at.eq(now))
                .execute(conn)
                .await?;
        }

        return Ok(Some((user, Credential::ApiToken(api_token))));
    }

    let found: Option<(Session, User)> = sessions::table
        .inner_join(users::table)
        .filter(sessions::token_hash.eq(&hash))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .filter(sessions::last_seen_at.gt(now - settings.session_idle))
        .select((Session::as_select(), User::as_select()))
        .first(conn)
        .await
        .optional()?;
    let Some((session, user)) = found else {
        return Ok(None);
    };

    if now - session.last_seen_at > Duration::seconds(TOUCH_INTERVAL_SECS) {
        diesel::update(sessions::table.find(session.id))
            .set(sessions::last_seen_at.eq(now))
            .execute(conn)
            .await?;
    }

    Ok(Some((user, Credential::Session(session))))
}

/// Ends one session.
pub async fn revoke_session(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
) -> Result<(), AccountError> {
    diesel::update(sessions::table.find(session_id))
        .filter(sessions::revoked_at.is_null())
        .set(sessions::revoked_at.eq(Utc::now()))
        .execute(conn)
        .await?;

    Ok(())
}

/// Ends every session of a user.
pub async fn revoke_all_sessions(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
) -> Result<usize, AccountError> {
    let revoked = diesel::update(sessions::table)
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::revoked_at.is_null())
        .set(sessions::revoked_at.eq(Utc::now()))
        .execute(conn)
        .await?;

    Ok(revoked)
}

/// Changes of a user's own profile; `None` leaves a field alone.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct ProfileChanges {
    /// New display name; `Some(None)` clears it.
    pub display_name: Option<Option<String>>,
    /// New preferred voice; `Some(None)` clears it.
    pub preferred_voice: Option<Option<String>>,
    /// Whether sharees may see the address.
    pub show_email_to_sharees: Option<bool>,
}

/// Applies profile changes.
pub async fn update_profile(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    changes: &ProfileChanges,
) -> Result<User, AccountError> {
    let unchanged = changes.display_name.is_none()
        && changes.preferred_voice.is_none()
        && changes.show_email_to_sharees.is_none();
    if unchanged {
        return find_user(conn, user_id).await;
    }

    let user = diesel::update(users::table.find(user_id))
        .set((changes, users::updated_at.eq(diesel::dsl::now)))
        .returning(User::as_returning())
        .get_result(conn)
        .await?;

    Ok(user)
}

/// Reads one user.
pub async fn find_user(conn: &mut AsyncPgConnection, user_id: Uuid) -> Result<User, AccountError> {
    users::table
        .find(user_id)
        .select(User::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or(AccountError::NotFound)
}

/// Creates a personal API token.
pub async fn create_api_token(
    conn: &mut AsyncPgConnection,
    settings: &AccountSettings,
    user_id: Uuid,
    name: &str,
    expires_at: Option<DateTime<Utc>>,
) -> Result<NewApiToken, AccountError> {
    let token = tokens::issue(API_TOKEN_PREFIX);

    conn.transaction(async |conn| {
        // Serialize token creation per user so the limit holds under concurrency.
        users::table.find(user_id).select(users::id).for_update().first::<Uuid>(conn).await?;
        let held: i64 = api_tokens::table
            .filter(api_tokens::user_id.eq(user_id))
            .filter(api_tokens::revoked_at.is_null())
            .count()
            .get_result(conn)
            .await?;
        if held >= settings.max_api_tokens {
            return Err(AccountError::TokenLimitReached);
        }

        let row = diesel::insert_into(api_tokens::table)
            .values((
                api_tokens::id.eq(Uuid::now_v7()),
                api_tokens::user_id.eq(user_id),
                api_tokens::name.eq(name),
                api_tokens::token_hash.eq(&token.hash),
                api_tokens::expires_at.eq(expires_at),
            ))
            .returning(ApiToken::as_returning())
            .get_result(conn)
            .await?;

        Ok(NewApiToken { row, token: token.clone() })
    })
    .await
}

/// Lists a user's live API tokens, newest first.
pub async fn list_api_tokens(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    page: PageRequest,
) -> Result<Slice<ApiToken>, AccountError> {
    let mut query = api_tokens::table
        .filter(api_tokens::user_id.eq(user_id))
        .filter(api_tokens::revoked_at.is_null())
        .select(ApiToken::as_select())
        .order((api_tokens::created_at.desc(), api_tokens::id.desc()))
        .limit(page.fetch_limit())
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(crate::after_cursor!(api_tokens::created_at, api_tokens::id, after));
    }

    let rows = query.load(conn).await?;

    Ok(page.finish(rows, |row| Cursor { created_at: row.created_at, id: row.id }))
}

/// Revokes one of the user's API tokens; someone else's token is "not found".
pub async fn revoke_api_token(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    token_id: Uuid,
) -> Result<(), AccountError> {
    let revoked = diesel::update(api_tokens::table.find(token_id))
        .filter(api_tokens::user_id.eq(user_id))
        .filter(api_tokens::revoked_at.is_null())
        .set(api_tokens::revoked_at.eq(Utc::now()))
        .execute(conn)
        .await?;

    if revoked == 0 {
        return Err(AccountError::NotFound);
    }

    Ok(())
}

/// Deletes expired sessions and mail tokens; returns how many rows went.
pub async fn purge_expired(
    conn: &mut AsyncPgConnection,
    settings: &AccountSettings,
) -> Result<usize, AccountError> {
    let now = Utc::now();

    let sessions_gone = diesel::delete(sessions::table)
        .filter(
            sessions::expires_at
                .lt(now)
                .or(sessions::last_seen_at.lt(now - settings.session_idle))
                .or(sessions::revoked_at.lt(now - Duration::days(1))),
        )
        .execute(conn)
        .await?;
    let tokens_gone = diesel::delete(email_tokens::table)
        .filter(email_tokens::expires_at.lt(now - Duration::days(1)))
        .execute(conn)
        .await?;

    Ok(sessions_gone + tokens_gone)
}
