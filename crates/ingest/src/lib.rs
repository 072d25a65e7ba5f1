//! Document ingestion: turns the bytes of an uploaded document into pages of clean Markdown.
//!
//! The format is decided from the content ([`detect`]), never from the file name. Each
//! extractor ([`extract`] for PDF, DOCX and text, [`extract_html`] for web pages) produces
//! Markdown sections that are then cut into pages of bounded size ([`split_pages`]).
//!
//! This crate knows nothing of HTTP, databases or queues, and every function is synchronous:
//! the worker calls it on a blocking thread under its own time limit. Hostile input is
//! expected: every size the input could inflate is bounded by a field of [`Limits`], and
//! a panic inside a third-party parser is caught and reported as
//! [`IngestError::Unreadable`].
//!
//! With the `fixtures` feature, [`fixtures`] builds sample documents in memory for the tests
//! and benchmarks of other crates.

mod detect;
mod docx;
mod error;
mod filename;
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
mod html;
mod markdown;
mod pdf;
pub mod render;
mod split;
mod text;

pub use detect::{Format, detect};
pub use error::IngestError;
pub use filename::{display_filename, title_from_filename};
pub use html::extract_html;
pub use split::split_pages;
pub use text::normalize_text;

/// The bounds every extraction stays within; the service wires each field to a setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Most pages a document may have, counted both in the source (PDF pages) and in the
    /// result after long pages are split. Default: 2000.
    pub max_pages: usize,
    /// Most characters (Unicode scalar values) of text a document may yield in total.
    /// Default: 5,000,000.
    pub max_chars: usize,
    /// Most bytes the extractor may inflate from compressed parts: the entries of a DOCX
    /// archive (all of them together), and each compressed stream of a PDF.
    /// Default: 200 MiB.
    pub max_decompressed_bytes: u64,
    /// Longest page, in characters; longer pages are split ([`split_pages`]).
    /// Default: 10,000.
    pub page_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_pages: 2000,
            max_chars: 5_000_000,
            max_decompressed_bytes: 200 * 1024 * 1024,
            page_chars: 10_000,
        }
    }
}

/// The text of a document: an optional title and its pages as Markdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// The title the document gives itself (PDF metadata, DOCX properties or Title style,
    /// HTML `<title>`), if any. Callers fall back to [`title_from_filename`].
    pub title: Option<String>,
    /// The pages, in reading order. Never empty, and no page is empty or blank.
    pub pages: Vec<String>,
}

/// Extracts the pages of a document whose format was found by [`detect`].
///
/// PDF gives one page per non-blank PDF page, DOCX one page per section between explicit
/// page breaks, text one page for the whole document; any page longer than
/// [`Limits::page_chars`] is then split.
pub fn extract(format: Format, bytes: &[u8], limits: &Limits) -> Result<Extracted, IngestError> {
    match format {
        Format::Pdf => pdf::extract(bytes, limits),
        Format::Docx => docx::extract(bytes, limits),
        Format::Text => text::extract(bytes, limits),
    }
}

/// Turns Markdown sections into the final pages: splits long ones, drops blank ones and
/// enforces the page and character limits.
pub(crate) fn paginate(
    title: Option<String>,
    sections: Vec<String>,
    limits: &Limits,
) -> Result<Extracted, IngestError> {
    let mut pages = Vec::new();
    let mut chars = 0usize;

    for section in sections {
        for page in split_pages(&section, limits.page_chars) {
            chars = chars.saturating_add(page.chars().count());
            if chars > limits.max_chars || pages.len() >= limits.max_pages {
                return Err(IngestError::TooLarge);
            }
            pages.push(page);
        }
    }

    if pages.is_empty() {
        return Err(IngestError::NoTextFound);
    }

    Ok(Extracted { title, pages })
}

/// Cleans a title found inside a document: whitespace collapsed, control and bidi-override
/// characters removed, at most [`filename::MAX_NAME_CHARS`] characters; `None` when nothing
/// is left.
pub(crate) fn clean_title(raw: &str) -> Option<String> {
    let cleaned = filename::clean_display_text(raw);
    let capped: String = cleaned.chars().take(filename::MAX_NAME_CHARS).collect();
    let trimmed = capped.trim();

    if trimmed.is_empty() { None } else { Some(trimmed.to_owned()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_limits_are_the_documented_ones() {
        let limits = Limits::default();

        assert_eq!(limits.max_pages, 2000);
        assert_eq!(limits.max_chars, 5_000_000);
        assert_eq!(limits.max_decompressed_bytes, 209_715_200);
        assert_eq!(limits.page_chars, 10_000);
    }

    #[test]
    fn paginate_refuses_more_pages_than_allowed() {
        let limits = Limits { max_pages: 2, ..Limits::default() };
        let sections = vec!["one".to_owned(), "two".to_owned(), "three".to_owned()];

        assert_eq!(paginate(None, sections, &limits), Err(IngestError::TooLarge));
    }

    #[test]
    fn paginate_refuses_more_characters_than_allowed() {
        let limits = Limits { max_chars: 5, ..Limits::default() };
        let sections = vec!["abc".to_owned(), "def".to_owned()];

        assert_eq!(paginate(None, sections, &limits), Err(IngestError::TooLarge));
    }

    #[test]
    fn paginate_drops_blank_sections_and_reports_no_text() {
        let sections = vec![" \n\t".to_owned(), String::new()];

        assert_eq!(paginate(None, sections, &Limits::default()), Err(IngestError::NoTextFound));
    }

    #[test]
    fn paginate_splits_long_sections() {
        let limits = Limits { page_chars: 10, ..Limits::default() };
        let sections = vec!["alpha beta gamma delta".to_owned()];

        let extracted = paginate(None, sections, &limits).unwrap();

        assert!(extracted.pages.len() > 1);
        assert!(extracted.pages.iter().all(|page| page.chars().count() <= 10));
    }

    #[test]
    fn clean_title_strips_controls_and_caps_length() {
        assert_eq!(clean_title("  My\u{202E} \t Report\u{0}  "), Some("My Report".to_owned()));
        assert_eq!(clean_title(" \u{200F} "), None);
        assert_eq!(clean_title(&"x".repeat(400)).map(|t| t.chars().count()), Some(255));
    }
}
