//! Reading a new document's source from a request: a multipart upload, or JSON with a URL
//! or pasted text.
//!
//! The size limit is enforced while the body streams in; the type comes from the bytes,
//! never from the file name, and a name whose extension contradicts the bytes is refused.
//! The file name is kept only as display metadata.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{HttpRequest, web};
use futures::{StreamExt, TryStreamExt};
use orator_domain::documents::SourceKind;
use orator_ingest::Format;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, ErrorCode, FieldCode};
use crate::state::AppState;

/// Largest `title` form part, in bytes.
const TITLE_PART_MAX_BYTES: usize = 4096;
/// Title of a document created without one and with nothing better to go on.
const UNTITLED: &str = "Untitled";

/// The multipart form of an upload.
#[derive(Debug, ToSchema)]
pub struct UploadForm {
    /// The document: PDF, DOCX, Markdown or plain UTF-8 text.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// Title (1 to 255 characters); defaults to the file name without its extension.
    pub title: Option<String>,
}

/// A document from a web page or from pasted text: exactly one of `url` and `text`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateFromJson {
    /// Title (1 to 255 characters); defaults to the page's own title, or the first line.
    pub title: Option<String>,
    /// An `http` or `https` page to import.
    pub url: Option<String>,
    /// Markdown or plain text.
    pub text: Option<String>,
}

/// What the request brought.
#[derive(Debug)]
pub struct Incoming {
    /// Checked title.
    pub title: String,
    /// Whether the title is a placeholder to replace with one found in the content.
    pub auto_title: bool,
    /// Where the content comes from.
    pub source_kind: SourceKind,
    /// The source bytes to store (uploads and pasted text).
    pub bytes: Option<Vec<u8>>,
    /// The page to import.
    pub url: Option<url::Url>,
    /// Display-safe file name.
    pub filename: Option<String>,
    /// Sniffed media type.
    pub content_type: Option<String>,
}

/// Reads the request body as an upload or as JSON.
pub async fn read(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
) -> ApiResult<Incoming> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();

    if content_type.starts_with("multipart/form-data") {
        return read_multipart(state, req, payload).await;
    }
    if content_type.starts_with("application/json") {
        return read_json(state, payload).await;
    }
    Err(ApiError::new(ErrorCode::UnsupportedMediaType))
}

fn media_type(format: Format) -> &'static str {
    match format {
        Format::Pdf => "application/pdf",
        Format::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Format::Text => "text/markdown; charset=utf-8",
    }
}

/// Whether a file name's extension claims a format other than the sniffed one.
fn name_lies(filename: &str, format: Format) -> bool {
    let extension = filename.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase());
    let claimed = match extension.as_deref() {
        Some("pdf") => Some(Format::Pdf),
        Some("docx") => Some(Format::Docx),
        Some("md" | "markdown" | "txt" | "text") => Some(Format::Text),
        // Extensions of formats Orator does not read are lies whatever the bytes say.
        Some("doc" | "rtf" | "odt" | "exe" | "php" | "html" | "htm" | "js" | "zip") => {
            return true;
        }
        _ => None,
    };

    claimed.is_some_and(|claimed| claimed != format)
}

async fn read_multipart(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
) -> ApiResult<Incoming> {
    let limit = state.config.upload_max_bytes;
    let mut form = Multipart::new(req.headers(), payload);
    let mut file: Option<(Vec<u8>, Option<String>)> = None;
    let mut title: Option<String> = None;

    while let Some(mut field) = form.try_next().await.map_err(malformed)? {
        let name = field.name().map(str::to_owned).unwrap_or_default();
        match name.as_str() {
            "file" if file.is_none() => {
                let filename = field
                    .content_disposition()
                    .and_then(|disposition| disposition.get_filename())
                    .map(orator_ingest::display_filename);
                let mut bytes = Vec::new();
                while let Some(chunk) = field.next().await {
                    let chunk = chunk.map_err(malformed)?;
                    if bytes.len() + chunk.len() > limit {
                        return Err(ApiError::new(ErrorCode::FileTooLarge));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                file = Some((bytes, filename));
            }
            "title" if title.is_none() => {
                let mut bytes = Vec::new();
                while let Some(chunk) = field.next().await {
                    let chunk = chunk.map_err(malformed)?;
                    if bytes.len() + chunk.len() > TITLE_PART_MAX_BYTES {
                        return Err(ApiError::field("title", FieldCode::TooLong));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                let text = String::from_utf8(bytes)
                    .map_err(|_| ApiError::field("title", FieldCode::InvalidFormat))?;
                title = Some(text);
            }
            _ => return Err(ApiError::field(name, FieldCode::InvalidFormat)),
        }
    }

    let (bytes, filename) = file.ok_or_else(|| ApiError::field("file", FieldCode::Required))?;
    let format = orator_ingest::detect(&bytes)
        .ok_or_else(|| ApiError::new(ErrorCode::UnsupportedMediaType))?;
    if filename.as_deref().is_some_and(|name| name_lies(name, format)) {
        return Err(ApiError::new(ErrorCode::UnsupportedMediaType));
    }

    let (title, auto_title) = match title {
        Some(given) => (crate::routes::documents::checked_title(&given)?, false),
        None => {
            let from_name = filename.as_deref().and_then(orator_ingest::title_from_filename);
            (from_name.unwrap_or_else(|| UNTITLED.to_owned()), false)
        }
    };

    Ok(Incoming {
        title,
        auto_title,
        source_kind: SourceKind::Upload,
        bytes: Some(bytes),
        url: None,
        filename,
        content_type: Some(media_type(format).to_owned()),
    })
}

fn malformed(_: actix_multipart::MultipartError) -> ApiError {
    ApiError::new(ErrorCode::BadRequest)
}

async fn read_json(state: &AppState, mut payload: web::Payload) -> ApiResult<Incoming> {
    let limit = state.config.upload_max_bytes;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::new(ErrorCode::BadRequest))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::new(ErrorCode::FileTooLarge));
        }
        body.extend_from_slice(&chunk);
    }
    let request: CreateFromJson = serde_json::from_slice(&body).map_err(|err| {
        if err.is_data() {
            ApiError::new(ErrorCode::InvalidBody)
        } else {
            ApiError::new(ErrorCode::MalformedJson)
        }
    })?;
    let given_title = match &request.title {
        Some(title) => Some(crate::routes::documents::checked_title(title)?),
        None => None,
    };

    match (request.url, request.text) {
        (Some(url), None) => from_url(state, &url, given_title),
        (None, Some(text)) => from_text(text, given_title),
        (Some(_), Some(_)) => Err(ApiError::field("text", FieldCode::InvalidFormat)),
        (None, None) => Err(ApiError::field("url", FieldCode::Required)),
    }
}

fn from_url(state: &AppState, raw: &str, title: Option<String>) -> ApiResult<Incoming> {
    let url = orator_fetch::check_syntax(raw, &state.fetch_policy)
        .map_err(|_| ApiError::new(ErrorCode::UrlNotAllowed))?;
    let auto_title = title.is_none();
    let placeholder = url.host_str().unwrap_or(UNTITLED).chars().take(255).collect();

    Ok(Incoming {
        title: title.unwrap_or(placeholder),
        auto_title,
        source_kind: SourceKind::Url,
        bytes: None,
        url: Some(url),
        filename: None,
        content_type: None,
    })
}

fn from_text(text: String, title: Option<String>) -> ApiResult<Incoming> {
    if text.trim().is_empty() {
        return Err(ApiError::field("text", FieldCode::Required));
    }
    if text.contains('\0') {
        return Err(ApiError::field("text", FieldCode::InvalidFormat));
    }
    let auto_title = title.is_none();
    let first_line = text
        .lines()
        .map(|line| line.trim_start_matches('#').trim())
        .find(|line| !line.is_empty())
        .map(|line| line.chars().take(255).collect::<String>());

    Ok(Incoming {
        title: title.or(first_line).unwrap_or_else(|| UNTITLED.to_owned()),
        auto_title,
        source_kind: SourceKind::Text,
        bytes: Some(text.into_bytes()),
        url: None,
        filename: None,
        content_type: Some(media_type(Format::Text).to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_contradict_the_bytes_are_lies() {
        assert!(name_lies("report.pdf", Format::Text));
        assert!(name_lies("notes.txt", Format::Pdf));
        assert!(name_lies("shell.php", Format::Text));
        assert!(!name_lies("report.PDF", Format::Pdf));
        assert!(!name_lies("no-extension", Format::Docx));
        assert!(!name_lies("letter.docx", Format::Docx));
    }
}
