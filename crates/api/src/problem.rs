//! RFC 9457 problem documents: the one shape of every error body.

use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorCode, FieldCode};
use crate::i18n::Locale;

/// Media type of error bodies.
pub const CONTENT_TYPE: &str = "application/problem+json";

/// `Retry-After` used when the configured value is not at hand.
pub const DEFAULT_RETRY_AFTER_SECS: u64 = 5;

/// An error response body (RFC 9457), with Orator's `code` and `request_id` members.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem; one per `code`.
    #[schema(example = "urn:orator:problem:not_found")]
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short, human-readable summary, in the caller's language.
    pub title: String,
    /// The HTTP status.
    #[schema(example = 404)]
    pub status: u16,
    /// Human-readable explanation, in the caller's language.
    pub detail: String,
    /// Stable machine-readable code.
    pub code: ErrorCode,
    /// Identifier of the request, also in the `X-Request-Id` header.
    pub request_id: String,
    /// Per-field errors (only for `validation_failed`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
}

/// One invalid field of a request.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemField {
    /// The field's name in the request.
    pub field: String,
    /// Stable code of what is wrong.
    pub code: FieldCode,
    /// Explanation in the caller's language.
    pub message: String,
}

impl Problem {
    /// Builds the localized document for `error`.
    pub fn from_error(error: &ApiError, locale: &Locale, request_id: &str) -> Self {
        let code = error.code.as_str();
        let mut args = Vec::new();
        if let Some(secs) = error.retry_after_secs {
            args.push(("retry_after", secs.to_string()));
        }

        Self {
            problem_type: format!("urn:orator:problem:{code}"),
            title: locale.message(&format!("err-{code}")),
            status: error.status().as_u16(),
            detail: locale.message_with(&format!("err-{code}-detail"), &args),
            code: error.code,
            request_id: request_id.to_owned(),
            errors: error
                .fields
                .iter()
                .map(|field| ProblemField {
                    field: field.field.to_string(),
                    code: field.code,
                    message: locale.message(&format!("field-{}", field.code.as_str())),
                })
                .collect(),
        }
    }
}
