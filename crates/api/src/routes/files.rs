//! Serves local-disk objects behind signed, expiring URLs (what S3 presigned URLs are when
//! storage is S3), with `Range` support and the content type the URL was signed for.

use actix_files::NamedFile;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, web};

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::state::AppState;

/// Downloads a stored object through a signed URL.
#[utoipa::path(
    tag = "platform",
    security(()),
    params(
        ("key" = String, Path, description = "Storage key"),
        ("expires" = u64, Query, description = "Expiry, Unix seconds"),
        ("ct" = String, Query, description = "Content type to serve"),
        ("dn" = Option<String>, Query, description = "Download name, for an attachment"),
        ("sig" = String, Query, description = "Signature"),
    ),
    responses(
        (status = 200, description = "The object", content_type = "application/octet-stream"),
        (status = 206, description = "Part of the object, for a `Range` request", content_type = "application/octet-stream"),
        (status = 403, description = "`permission_denied`: the signature is invalid or expired", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/files/{key:.*}")]
pub async fn signed_file(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let Some(local) = state.local_files.as_ref() else {
        return Err(ApiError::new(ErrorCode::NotFound));
    };
    let key = path.into_inner();
    let verified = local
        .verify(&key, req.query_string(), std::time::SystemTime::now())
        .map_err(|_| ApiError::new(ErrorCode::PermissionDenied))?;
    let file_path = local.path_for(&key).map_err(|_| ApiError::new(ErrorCode::NotFound))?;

    let file = NamedFile::open_async(file_path)
        .await
        .map_err(|_| ApiError::new(ErrorCode::NotFound))?
        .use_etag(true)
        .use_last_modified(true)
        .disable_content_disposition();
    let mut response = file.into_response(&req);

    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&verified.content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if let Some(value) = verified.disposition.and_then(|d| HeaderValue::from_str(&d).ok()) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
    Ok(response)
}
