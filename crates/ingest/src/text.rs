//! Plain text and Markdown uploads: the user's text is kept exactly as written. The only
//! change is newline normalization (CRLF and CR become LF) and dropping a leading BOM.

use crate::{Extracted, IngestError, Limits, paginate};

const BOM: char = '\u{FEFF}';

/// Normalizes newlines to `\n` and drops a leading byte order mark; every other character
/// is kept byte for byte.
pub fn normalize_text(text: &str) -> String {
    let text = text.strip_prefix(BOM).unwrap_or(text);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();

    while let Some(c) = chars.next() {
        if c == '\r' {
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            out.push('\n');
        } else {
            out.push(c);
        }
    }

    out
}

/// Whether the bytes are valid UTF-8 with no control characters other than tab, line feed
/// and carriage return.
pub(crate) fn is_clean_text(bytes: &[u8]) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.chars().all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r')),
        Err(_) => false,
    }
}

/// Extracts a text or Markdown upload.
pub(crate) fn extract(bytes: &[u8], limits: &Limits) -> Result<Extracted, IngestError> {
    if !is_clean_text(bytes) {
        return Err(IngestError::Unreadable);
    }

    let text = std::str::from_utf8(bytes).map_err(|_| IngestError::Unreadable)?;

    if text.chars().count() > limits.max_chars {
        return Err(IngestError::TooLarge);
    }

    paginate(None, vec![normalize_text(text)], limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "'; DROP TABLE documents; --\n\nRobert'); DELETE FROM pages;-- \
        <script>alert(1)</script> {{7*7}} ${jndi:x} %s%n \\x00";
    const WORLD: &str = "😀👍🏽 👨‍👩‍👧 🇫🇷\n\n日本語のテキストです。中文文本。한국어\n\n\
        مرحبا بالعالم ‏שלום עולם‏ e\u{301}";

    #[test]
    fn newlines_are_normalized() {
        assert_eq!(normalize_text("a\r\nb\rc\nd\r\n\r\ne"), "a\nb\nc\nd\n\ne");
    }

    #[test]
    fn bom_is_dropped_only_at_the_start() {
        assert_eq!(normalize_text("\u{FEFF}title\u{FEFF}"), "title\u{FEFF}");
    }

    #[test]
    fn everything_else_survives_normalization_byte_for_byte() {
        assert_eq!(normalize_text(HOSTILE), HOSTILE);
        assert_eq!(normalize_text(WORLD), WORLD);
        assert_eq!(
            normalize_text("  trailing spaces  \n\n\n  and tabs\t\t"),
            "  trailing spaces  \n\n\n  and tabs\t\t"
        );
    }

    #[test]
    fn hostile_and_multilingual_text_survives_extraction_byte_for_byte() {
        for input in [HOSTILE, WORLD, "'; DROP TABLE documents; --"] {
            let extracted = extract(input.as_bytes(), &Limits::default()).unwrap();

            assert_eq!(extracted.pages, vec![input.to_owned()]);
            assert_eq!(extracted.title, None);
        }
    }

    #[test]
    fn markdown_is_kept_as_written() {
        let markdown = "# Heading\n\n* item *one*\n* item __two__\n\n> quote\n\n```\ncode  \n```\n";

        let extracted = extract(markdown.as_bytes(), &Limits::default()).unwrap();

        assert_eq!(extracted.pages, vec![markdown.to_owned()]);
    }

    #[test]
    fn crlf_upload_is_normalized() {
        let extracted =
            extract(b"\xEF\xBB\xBFline one\r\nline two\r\n", &Limits::default()).unwrap();

        assert_eq!(extracted.pages, vec!["line one\nline two\n".to_owned()]);
    }

    #[test]
    fn long_text_is_split_into_pages() {
        let paragraph = "word ".repeat(50);
        let text = format!("{paragraph}\n\n{paragraph}\n\n{paragraph}");
        let limits = Limits { page_chars: 300, ..Limits::default() };

        let extracted = extract(text.as_bytes(), &limits).unwrap();

        assert_eq!(extracted.pages.len(), 3);
        assert!(extracted.pages.iter().all(|page| page.chars().count() <= 300));
    }

    #[test]
    fn blank_text_has_no_text() {
        assert_eq!(extract(b"  \n\r\n\t ", &Limits::default()), Err(IngestError::NoTextFound));
        assert_eq!(extract(b"", &Limits::default()), Err(IngestError::NoTextFound));
    }

    #[test]
    fn binary_bytes_are_unreadable() {
        assert_eq!(extract(b"abc\0def", &Limits::default()), Err(IngestError::Unreadable));
        assert_eq!(extract(b"\xff\xfe", &Limits::default()), Err(IngestError::Unreadable));
    }

    #[test]
    fn text_over_the_character_limit_is_too_large() {
        let limits = Limits { max_chars: 10, ..Limits::default() };

        assert_eq!(extract("ééééééééééé".as_bytes(), &limits), Err(IngestError::TooLarge));
        assert!(extract("éééééééééé".as_bytes(), &limits).is_ok());
    }
}
