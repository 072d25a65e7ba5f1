//! Format sniffing from content only. The file name and the client's media type are never
//! consulted: both are under the uploader's control.

use std::io::Cursor;

use crate::text;

/// What the bytes of a document are, decided from content, never from the file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// A PDF file (starts with `%PDF-`).
    Pdf,
    /// A Word document: a zip archive holding `word/document.xml`.
    Docx,
    /// Plain text or Markdown: valid UTF-8 without NUL or other control bytes.
    Text,
}

const PDF_MAGIC: &[u8] = b"%PDF-";
const ZIP_LOCAL_HEADER: &[u8] = b"PK\x03\x04";
const DOCX_MAIN_PART: &str = "word/document.xml";

/// Sniffs the format of a document from its bytes.
///
/// - PDF: the bytes start with `%PDF-`.
/// - DOCX: a zip archive whose central directory lists `word/document.xml` (the archive
///   is opened; entry order and the first entry's name do not matter).
/// - Text: valid UTF-8 (a leading BOM is fine) with no control characters other than
///   tab, line feed and carriage return.
///
/// Anything else, including other zip archives and legacy binary Office files, is `None`.
pub fn detect(bytes: &[u8]) -> Option<Format> {
    if bytes.starts_with(PDF_MAGIC) {
        return Some(Format::Pdf);
    }

    if bytes.starts_with(ZIP_LOCAL_HEADER) {
        return is_docx(bytes).then_some(Format::Docx);
    }

    text::is_clean_text(bytes).then_some(Format::Text)
}

/// Whether a zip archive's central directory lists the main part of a Word document.
fn is_docx(bytes: &[u8]) -> bool {
    match zip::ZipArchive::new(Cursor::new(bytes)) {
        Ok(archive) => archive.index_for_name(DOCX_MAIN_PART).is_some(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use zip::write::SimpleFileOptions;

    use super::*;

    fn zip_with(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, content) in entries {
            writer.start_file(*name, SimpleFileOptions::default()).unwrap();
            writer.write_all(content).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    #[test]
    fn pdf_is_detected_by_its_magic() {
        assert_eq!(detect(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj"), Some(Format::Pdf));
    }

    #[test]
    fn pdf_magic_elsewhere_is_not_a_pdf() {
        assert_eq!(detect(b"\x00\x01%PDF-1.7"), None);
    }

    #[test]
    fn docx_is_detected_whatever_the_entry_order() {
        let main_first = zip_with(&[("word/document.xml", b"<w:document/>"), ("a.txt", b"x")]);
        let main_last = zip_with(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("docProps/core.xml", b"<x/>"),
            ("word/media/image1.png", b"\x89PNG"),
            ("word/document.xml", b"<w:document/>"),
        ]);

        assert_eq!(detect(&main_first), Some(Format::Docx));
        assert_eq!(detect(&main_last), Some(Format::Docx));
    }

    #[test]
    fn zip_without_word_document_is_unsupported() {
        let odt_like = zip_with(&[("mimetype", b"application/zip"), ("content.xml", b"<x/>")]);

        assert_eq!(detect(&odt_like), None);
    }

    #[test]
    fn broken_zip_is_unsupported() {
        assert_eq!(detect(b"PK\x03\x04garbage that is not an archive"), None);
    }

    #[test]
    fn clean_utf8_is_text() {
        assert_eq!(
            detect("# Title\r\n\tBody — ünïcödé 日本語 🎧\n".as_bytes()),
            Some(Format::Text)
        );
        assert_eq!(detect("\u{FEFF}with a byte order mark".as_bytes()), Some(Format::Text));
    }

    #[test]
    fn text_with_nul_or_control_bytes_is_unsupported() {
        assert_eq!(detect(b"hello\0world"), None);
        assert_eq!(detect(b"bell\x07"), None);
        assert_eq!(detect(b"escape\x1b[31m"), None);
        assert_eq!(detect(b"delete\x7f"), None);
    }

    #[test]
    fn invalid_utf8_is_unsupported() {
        assert_eq!(detect(b"caf\xe9"), None);
        assert_eq!(detect(b"\xff\xd8\xff\xe0JFIF"), None);
    }

    #[test]
    fn legacy_office_files_are_unsupported() {
        assert_eq!(detect(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00\x00"), None);
    }
}
