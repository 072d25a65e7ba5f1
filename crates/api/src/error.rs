//! The API's error policy.
//!
//! Every failure a client can see is an [`ApiError`]: an HTTP status, a stable snake_case
//! [`ErrorCode`], optional per-field errors, and (for the operator only) the underlying
//! cause. The edge middleware turns it into an RFC 9457 `application/problem+json` body
//! in the caller's language, with the request id; a 5xx body carries nothing else, and its
//! cause is logged there, once.
//!
//! Checks run in one order everywhere: authentication (401), visibility (404), permission
//! (403), input validation (400/422), then state (409).

use std::borrow::Cow;
use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use orator_domain::DbError;
use orator_domain::accounts::AccountError;
use orator_domain::password::Weakness;
use serde::Serialize;
use utoipa::ToSchema;

macro_rules! error_codes {
    ($($(#[doc = $doc:literal])+ $variant:ident = $code:literal, $status:ident;)*) => {
        /// Stable, documented error codes. Clients may branch on them; they never change.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode {
            $($(#[doc = $doc])+ $variant,)*
        }

        impl ErrorCode {
            /// Every code, for catalog checks and documentation.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as it appears in responses.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }

            /// The HTTP status that goes with the code.
            pub fn status(self) -> StatusCode {
                match self {
                    $(ErrorCode::$variant => StatusCode::$status,)*
                }
            }
        }
    };
}

error_codes! {
    /// Something went wrong on the server; the request id identifies it in the logs.
    InternalError = "internal_error", INTERNAL_SERVER_ERROR;
    /// A dependency is unavailable; retry after the `Retry-After` delay.
    ServiceUnavailable = "service_unavailable", SERVICE_UNAVAILABLE;
    /// No valid credential was presented.
    Unauthenticated = "unauthenticated", UNAUTHORIZED;
    /// Wrong email or password.
    InvalidCredentials = "invalid_credentials", UNAUTHORIZED;
    /// A cookie-authenticated unsafe request lacked a valid `X-CSRF-Token`.
    CsrfFailed = "csrf_failed", FORBIDDEN;
    /// The account's email address must be verified first.
    EmailUnverified = "email_unverified", FORBIDDEN;
    /// The caller may see the resource but not do this.
    PermissionDenied = "permission_denied", FORBIDDEN;
    /// The current password given to confirm a change is wrong.
    WrongPassword = "wrong_password", FORBIDDEN;
    /// Registration is closed on this site.
    RegistrationClosed = "registration_closed", FORBIDDEN;
    /// No such resource, or not one the caller may see.
    NotFound = "not_found", NOT_FOUND;
    /// The resource exists but not with this method.
    MethodNotAllowed = "method_not_allowed", METHOD_NOT_ALLOWED;
    /// The request is malformed in a way no more specific code covers.
    BadRequest = "bad_request", BAD_REQUEST;
    /// The body is not well-formed JSON.
    MalformedJson = "malformed_json", BAD_REQUEST;
    /// The JSON body does not have the expected shape (types, fields).
    InvalidBody = "invalid_body", UNPROCESSABLE_ENTITY;
    /// One or more fields are invalid; see `errors`.
    ValidationFailed = "validation_failed", UNPROCESSABLE_ENTITY;
    /// The request's content type is not accepted here.
    UnsupportedMediaType = "unsupported_media_type", UNSUPPORTED_MEDIA_TYPE;
    /// The request body is larger than allowed.
    BodyTooLarge = "body_too_large", PAYLOAD_TOO_LARGE;
    /// A path parameter is malformed (for example, not a UUID).
    InvalidPath = "invalid_path", BAD_REQUEST;
    /// A query parameter is malformed or out of range.
    InvalidQuery = "invalid_query", BAD_REQUEST;
    /// The link or token is unknown, already used, or expired.
    InvalidToken = "invalid_token", BAD_REQUEST;
    /// An account with this email address already exists.
    EmailTaken = "email_taken", CONFLICT;
    /// The user holds the maximum number of API tokens.
    TokenLimitReached = "token_limit_reached", CONFLICT;
    /// Retry was asked for something that has not failed.
    NotFailed = "not_failed", CONFLICT;
    /// The uploaded file is larger than allowed.
    FileTooLarge = "file_too_large", PAYLOAD_TOO_LARGE;
    /// The URL is malformed, not http(s), or points somewhere imports may not reach.
    UrlNotAllowed = "url_not_allowed", UNPROCESSABLE_ENTITY;
    /// A document cannot be shared with its owner or with oneself.
    InvalidShareTarget = "invalid_share_target", UNPROCESSABLE_ENTITY;
    /// Too many requests; retry after the `Retry-After` delay.
    RateLimited = "rate_limited", TOO_MANY_REQUESTS;
    /// Staff have switched audio generation off for the site.
    GenerationDisabled = "generation_disabled", FORBIDDEN;
    /// The voice is not in the speech engine's catalogue (see `GET /voices`).
    UnknownVoice = "unknown_voice", UNPROCESSABLE_ENTITY;
    /// The page already has an active audio with this voice.
    VoiceInUse = "voice_in_use", CONFLICT;
    /// The page has had as many audios as the site allows, deleted ones included.
    AudioQuotaExhausted = "audio_quota_exhausted", CONFLICT;
    /// The page has no text to read aloud.
    PageEmpty = "page_empty", UNPROCESSABLE_ENTITY;
    /// The audio is not ready to be played or downloaded yet (or it failed).
    AudioNotReady = "audio_not_ready", CONFLICT;
    /// The speech engine is not installed or cannot be reached.
    SpeechEngineUnavailable = "speech_engine_unavailable", SERVICE_UNAVAILABLE;
}

/// Codes of individual field errors inside a `validation_failed` problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldCode {
    /// The field is required.
    Required,
    /// Not a valid email address.
    InvalidEmail,
    /// Too short.
    TooShort,
    /// Too long.
    TooLong,
    /// A common or easily guessed password.
    CommonPassword,
    /// Not in the expected format.
    InvalidFormat,
    /// Outside the allowed range.
    OutOfRange,
}

impl FieldCode {
    /// Every field code, for catalog checks.
    pub const ALL: &'static [FieldCode] = &[
        Self::Required,
        Self::InvalidEmail,
        Self::TooShort,
        Self::TooLong,
        Self::CommonPassword,
        Self::InvalidFormat,
        Self::OutOfRange,
    ];

    /// The code as it appears in responses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::InvalidEmail => "invalid_email",
            Self::TooShort => "too_short",
            Self::TooLong => "too_long",
            Self::CommonPassword => "common_password",
            Self::InvalidFormat => "invalid_format",
            Self::OutOfRange => "out_of_range",
        }
    }
}

/// One invalid field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name in the request.
    pub field: Cow<'static, str>,
    /// What is wrong with it.
    pub code: FieldCode,
}

/// An error the API answers with. See the module documentation.
pub struct ApiError {
    /// The stable code (and with it the status).
    pub code: ErrorCode,
    /// Per-field problems, for `validation_failed`.
    pub fields: Vec<FieldError>,
    /// Seconds for the `Retry-After` header.
    pub retry_after_secs: Option<u64>,
    /// The cause, for the log only.
    pub cause: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ApiError {
    /// An error with just a code.
    pub fn new(code: ErrorCode) -> Self {
        Self { code, fields: Vec::new(), retry_after_secs: None, cause: None }
    }

    /// A server-side failure; `cause` is logged, never shown.
    pub fn internal(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self { cause: Some(cause.into()), ..Self::new(ErrorCode::InternalError) }
    }

    /// A dependency is down: 503 with `Retry-After`.
    pub fn unavailable(
        cause: impl Into<Box<dyn std::error::Error + Send + Sync>>,
        retry_after_secs: u64,
    ) -> Self {
        Self {
            cause: Some(cause.into()),
            retry_after_secs: Some(retry_after_secs),
            ..Self::new(ErrorCode::ServiceUnavailable)
        }
    }

    /// Too many requests: 429 with `Retry-After`.
    pub fn rate_limited(retry_after: std::time::Duration) -> Self {
        let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        Self { retry_after_secs: Some(secs.max(1)), ..Self::new(ErrorCode::RateLimited) }
    }

    /// One invalid field.
    pub fn field(field: impl Into<Cow<'static, str>>, code: FieldCode) -> Self {
        Self::fields(vec![FieldError { field: field.into(), code }])
    }

    /// Several invalid fields.
    pub fn fields(fields: Vec<FieldError>) -> Self {
        Self { fields, ..Self::new(ErrorCode::ValidationFailed) }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.code.status()
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("code", &self.code)
            .field("fields", &self.fields)
            .field("cause", &self.cause.as_ref().map(|cause| cause.to_string()))
            .finish()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code.as_str())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        // The edge middleware replaces this body with the localized problem document; this
        // minimal form only exists for a response that somehow bypasses it.
        HttpResponse::build(self.status())
            .content_type(crate::problem::CONTENT_TYPE)
            .body(format!(r#"{{"code":"{}"}}"#, self.code.as_str()))
    }
}

impl From<DbError> for ApiError {
    fn from(err: DbError) -> Self {
        if err.is_unavailable() {
            return Self::unavailable(err, crate::problem::DEFAULT_RETRY_AFTER_SECS);
        }
        Self::internal(err)
    }
}

impl From<orator_kv::KvError> for ApiError {
    fn from(err: orator_kv::KvError) -> Self {
        Self::unavailable(err, crate::problem::DEFAULT_RETRY_AFTER_SECS)
    }
}

impl From<AccountError> for ApiError {
    fn from(err: AccountError) -> Self {
        match err {
            AccountError::EmailTaken => Self::new(ErrorCode::EmailTaken),
            AccountError::WeakPassword(weakness) => {
                Self::field("password", weakness_code(weakness))
            }
            AccountError::InvalidCredentials => Self::new(ErrorCode::InvalidCredentials),
            AccountError::WrongPassword => Self::new(ErrorCode::WrongPassword),
            AccountError::InvalidToken => Self::new(ErrorCode::InvalidToken),
            AccountError::TokenLimitReached => Self::new(ErrorCode::TokenLimitReached),
            AccountError::NotFound => Self::new(ErrorCode::NotFound),
            AccountError::Db(db) => db.into(),
            AccountError::Hashing => Self::internal(AccountError::Hashing),
        }
    }
}

/// The field code for a refused password.
pub fn weakness_code(weakness: Weakness) -> FieldCode {
    match weakness {
        Weakness::TooShort => FieldCode::TooShort,
        Weakness::TooLong => FieldCode::TooLong,
        Weakness::TooCommon => FieldCode::CommonPassword,
    }
}

impl From<validator::ValidationErrors> for ApiError {
    fn from(errors: validator::ValidationErrors) -> Self {
        let mut fields: Vec<FieldError> = errors
            .field_errors()
            .into_iter()
            .flat_map(|(field, list)| {
                list.iter().map(move |error| FieldError {
                    field: Cow::Owned(field.to_string()),
                    code: field_code(&error.code),
                })
            })
            .collect();
        fields.sort_by(|a, b| a.field.cmp(&b.field));

        Self::fields(fields)
    }
}

fn field_code(validator_code: &str) -> FieldCode {
    match validator_code {
        "email" | "invalid_email" => FieldCode::InvalidEmail,
        "too_short" => FieldCode::TooShort,
        "too_long" => FieldCode::TooLong,
        "required" => FieldCode::Required,
        "range" | "out_of_range" => FieldCode::OutOfRange,
        "common_password" => FieldCode::CommonPassword,
        _ => FieldCode::InvalidFormat,
    }
}

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();

        for code in ErrorCode::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "{text} twice");
            assert!(text.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{text}");
            let serialized = serde_json::to_value(code).unwrap();
            assert_eq!(serialized, text);
        }
    }

    #[test]
    fn field_codes_serialize_as_their_text() {
        for code in FieldCode::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }

    #[test]
    fn unavailable_database_is_503_with_retry_after() {
        let err = ApiError::from(DbError::Unavailable("down".into()));

        assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(err.retry_after_secs.is_some());
    }
}
