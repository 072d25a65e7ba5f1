//! PDF extraction on `lopdf`: one Markdown page per PDF page.
//!
//! Policy:
//! - A file whose `%%EOF` marker is not within its last 1024 bytes is truncated (the same
//!   rule PDF readers apply) and refused as unreadable, as is anything `lopdf` cannot
//!   parse or any panic inside it.
//! - An encrypted file is opened only if it needs no password (an owner password alone
//!   restricts editing, not reading); otherwise it is refused as encrypted.
//! - The page count is checked against [`Limits::max_pages`] before any page is read; the
//!   characters read are counted against [`Limits::max_chars`] as they are read, and each
//!   compressed stream may inflate to at most [`Limits::max_decompressed_bytes`].
//! - Blank pages are dropped; a document with no text at all (a scan) has no text found.

mod layout;
mod structure;

use std::panic::{AssertUnwindSafe, catch_unwind};

use lopdf::{Document, LoadOptions, Object, ObjectId};
use structure::PageLines;

use crate::markdown::unescape;
use crate::{Extracted, IngestError, Limits, clean_title, paginate};

/// Page tree levels searched for an inherited media box.
const MAX_PAGE_TREE_DEPTH: usize = 32;
/// `%%EOF` must appear within this many bytes of the end of the file.
const EOF_MARKER_WINDOW: usize = 1024;
const EOF_MARKER: &[u8] = b"%%EOF";

/// Extracts a PDF. Never panics: a panic in the parser becomes [`IngestError::Unreadable`].
pub(crate) fn extract(bytes: &[u8], limits: &Limits) -> Result<Extracted, IngestError> {
    guarded(|| extract_unguarded(bytes, limits))
}

/// Runs an extraction, turning a panic into [`IngestError::Unreadable`].
fn guarded<F>(extraction: F) -> Result<Extracted, IngestError>
where
    F: FnOnce() -> Result<Extracted, IngestError>,
{
    catch_unwind(AssertUnwindSafe(extraction)).unwrap_or(Err(IngestError::Unreadable))
}

fn extract_unguarded(bytes: &[u8], limits: &Limits) -> Result<Extracted, IngestError> {
    let doc = load(bytes, limits)?;

    let pages = doc.get_pages();
    if pages.is_empty() {
        return Err(IngestError::Unreadable);
    }
    if pages.len() > limits.max_pages {
        return Err(IngestError::TooLarge);
    }

    let max_inflated = inflate_limit(limits);
    let mut char_budget = limits.max_chars;
    let mut page_lines = Vec::with_capacity(pages.len());
    for page_id in pages.values() {
        let lines = layout::page_lines(&doc, *page_id, &mut char_budget, max_inflated)?;
        page_lines.push(PageLines { lines, bounds: vertical_bounds(&doc, *page_id) });
    }

    let markdown = structure::pages_to_markdown(page_lines);
    let title = info_title(&doc).or_else(|| first_heading(&markdown));

    paginate(title, markdown, limits)
}

/// The bottom and top of a page's media box (which a page may inherit from the tree).
fn vertical_bounds(doc: &Document, page_id: ObjectId) -> Option<(f32, f32)> {
    let mut node = doc.get_dictionary(page_id).ok()?;

    for _ in 0..MAX_PAGE_TREE_DEPTH {
        if let Ok(media_box) = node.get_deref(b"MediaBox", doc).and_then(Object::as_array) {
            let values: Vec<f32> = media_box.iter().filter_map(|v| v.as_float().ok()).collect();
            let [_, y0, _, y1] = values.as_slice() else { return None };
            let (bottom, top) = (y0.min(*y1), y0.max(*y1));
            return (top - bottom > 0.0 && top.is_finite() && bottom.is_finite())
                .then_some((bottom, top));
        }
        let parent = node.get(b"Parent").and_then(Object::as_reference).ok()?;
        node = doc.get_dictionary(parent).ok()?;
    }

    None
}

fn inflate_limit(limits: &Limits) -> usize {
    usize::try_from(limits.max_decompressed_bytes).unwrap_or(usize::MAX)
}

/// Parses the file, decrypting it if that needs no password.
fn load(bytes: &[u8], limits: &Limits) -> Result<Document, IngestError> {
    if !has_eof_marker(bytes) {
        return Err(IngestError::Unreadable);
    }

    let options = LoadOptions {
        max_decompressed_size: Some(inflate_limit(limits)),
        ..LoadOptions::default()
    };
    let doc = Document::load_mem_with_options(bytes, options).map_err(|error| match error {
        lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded { .. }) => {
            IngestError::TooLarge
        }
        lopdf::Error::InvalidPassword | lopdf::Error::Decryption(_) => IngestError::PdfEncrypted,
        _ if declares_encryption(bytes) => IngestError::PdfEncrypted,
        _ => IngestError::Unreadable,
    })?;

    if doc.is_encrypted() {
        return Err(IngestError::PdfEncrypted);
    }

    Ok(doc)
}

fn has_eof_marker(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(EOF_MARKER_WINDOW)..];
    tail.windows(EOF_MARKER.len()).any(|window| window == EOF_MARKER)
}

/// Whether a trailer in the file names an encryption dictionary.
fn declares_encryption(bytes: &[u8]) -> bool {
    bytes.windows(b"/Encrypt".len()).any(|window| window == b"/Encrypt")
}

/// The document's own title from its information dictionary, unless it is a file name
/// or a placeholder.
fn info_title(doc: &Document) -> Option<String> {
    let info = doc.trailer.get_deref(b"Info", doc).ok()?.as_dict().ok()?;
    let raw = lopdf::decode_text_string(info.get_deref(b"Title", doc).ok()?).ok()?;
    let title = clean_title(&raw)?;

    let lowered = title.to_lowercase();
    let placeholder =
        ["untitled", "title", "document", "microsoft word"].iter().any(|p| lowered == *p);
    let file_name =
        [".pdf", ".doc", ".docx", ".odt", ".txt", ".rtf", ".indd", ".tex", ".ps", ".qxd"]
            .iter()
            .any(|extension| lowered.ends_with(extension));

    (!placeholder && !file_name).then_some(title)
}

/// The first level-one heading of the first page with text.
fn first_heading(pages: &[String]) -> Option<String> {
    let page = pages.iter().find(|page| !page.trim().is_empty())?;
    let heading = page.lines().find_map(|line| line.strip_prefix("# "))?;

    clean_title(&unescape(heading))
}

#[cfg(test)]
mod tests;
