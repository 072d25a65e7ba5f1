//! `Content-Disposition: attachment` values for downloads, after RFC 6266 and RFC 5987.
//!
//! Policy: the download name comes from user data (a document title), so it is cleaned
//! before it reaches a header. Only the last path segment is kept; control characters become
//! spaces; invisible format characters (bidirectional overrides, zero-width marks) are
//! dropped, so a name cannot pretend to have another extension; leading and trailing dots and
//! spaces go; the name is shortened to [`MAX_DOWNLOAD_NAME_BYTES`] keeping a short extension.
//! The result is sent twice: percent-encoded UTF-8 in `filename*`, and as an ASCII fallback in
//! `filename` where anything outside printable ASCII, quotes, backslashes and `%` become `_`.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// The longest download name kept, in UTF-8 bytes (below the 255-byte file name limit of
/// common file systems).
pub const MAX_DOWNLOAD_NAME_BYTES: usize = 200;

/// The longest extension kept when a long name is shortened, in bytes (including the dot).
const MAX_KEPT_EXTENSION_BYTES: usize = 12;

/// The name used when nothing usable is left of the given one.
const DEFAULT_DOWNLOAD_NAME: &str = "download";

/// Everything outside RFC 5987's `attr-char` is percent-encoded.
const NOT_ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// A `Content-Disposition` header value that makes the client save the download as `name`:
/// `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded name>`.
///
/// Safe for any input: the value never contains control characters, unescaped quotes or path
/// separators.
pub fn content_disposition_attachment(name: &str) -> String {
    let cleaned = clean_download_name(name);

    let fallback = ascii_fallback(&cleaned);
    let encoded = utf8_percent_encode(&cleaned, NOT_ATTR_CHAR);

    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

fn clean_download_name(name: &str) -> String {
    let last_segment = name.split(['/', '\\']).rfind(|part| !part.trim().is_empty()).unwrap_or("");

    let visible: String = last_segment
        .chars()
        .filter(|&c| !is_invisible_format_char(c))
        .map(|c| if c.is_control() || c.is_whitespace() { ' ' } else { c })
        .collect();
    let single_spaced = visible.split(' ').filter(|word| !word.is_empty()).collect::<Vec<_>>();
    let joined = single_spaced.join(" ");
    let trimmed = joined.trim_matches(['.', ' ']);

    let shortened = shorten(trimmed);
    if shortened.is_empty() { DEFAULT_DOWNLOAD_NAME.to_owned() } else { shortened }
}

/// Characters that change how text is displayed without being visible: bidirectional
/// embeddings, overrides and isolates, zero-width spaces and joiners, the byte-order mark.
fn is_invisible_format_char(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}')
        || c == '\u{FEFF}'
        || c == '\u{061C}'
}

/// Cuts `name` to [`MAX_DOWNLOAD_NAME_BYTES`] on a character boundary, keeping a short
/// extension such as `.mp3`.
fn shorten(name: &str) -> String {
    if name.len() <= MAX_DOWNLOAD_NAME_BYTES {
        return name.to_owned();
    }

    let extension = name
        .rfind('.')
        .map(|dot| &name[dot..])
        .filter(|ext| ext.len() <= MAX_KEPT_EXTENSION_BYTES && ext.len() > 1)
        .unwrap_or("");
    let stem_budget = MAX_DOWNLOAD_NAME_BYTES - extension.len();
    let mut stem_end = stem_budget;
    while !name.is_char_boundary(stem_end) {
        stem_end -= 1;
    }

    let stem = name[..stem_end].trim_end_matches(['.', ' ']);
    format!("{stem}{extension}")
}

fn ascii_fallback(name: &str) -> String {
    name.chars()
        .map(|c| {
            let plain = c == ' ' || c.is_ascii_graphic();
            if plain && !matches!(c, '"' | '\\' | '%') { c } else { '_' }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(header: &str) -> (String, String) {
        let rest = header.strip_prefix("attachment; filename=\"").unwrap();
        let (fallback, encoded) = rest.split_once("\"; filename*=UTF-8''").unwrap();

        (fallback.to_owned(), encoded.to_owned())
    }

    fn decode(encoded: &str) -> String {
        percent_encoding::percent_decode_str(encoded).decode_utf8().unwrap().into_owned()
    }

    #[test]
    fn plain_names_pass_through_both_parameters() {
        let header = content_disposition_attachment("Chapter 1.mp3");

        assert_eq!(
            header,
            "attachment; filename=\"Chapter 1.mp3\"; filename*=UTF-8''Chapter%201.mp3"
        );
    }

    #[test]
    fn non_ascii_names_are_percent_encoded_with_an_ascii_fallback() {
        let (fallback, encoded) = parts(&content_disposition_attachment("Résumé – 日本.mp3"));

        assert_eq!(decode(&encoded), "Résumé – 日本.mp3");
        assert!(encoded.is_ascii());
        assert!(fallback.is_ascii());
        assert!(fallback.ends_with(".mp3"));
    }

    #[test]
    fn quotes_and_backslashes_cannot_close_the_quoted_fallback() {
        let header = content_disposition_attachment("say \"hi\"; filename=evil.exe");
        let (fallback, encoded) = parts(&header);

        assert_eq!(header.matches('"').count(), 2);
        assert!(!fallback.contains('"') && !fallback.contains('\\'));
        assert_eq!(decode(&encoded), "say \"hi\"; filename=evil.exe");
        assert!(!encoded.contains(';') && !encoded.contains('"') && !encoded.contains(' '));
    }

    #[test]
    fn line_breaks_and_control_characters_never_reach_the_header() {
        let header = content_disposition_attachment("a\r\nSet-Cookie: x=1\u{0}\u{7f}\u{85}b.mp3");
        let (_, encoded) = parts(&header);

        assert!(!header.chars().any(char::is_control));
        assert_eq!(decode(&encoded), "a Set-Cookie: x=1 b.mp3");
    }

    #[test]
    fn path_separators_leave_only_the_last_segment() {
        for name in ["../../etc/passwd", "C:\\Windows\\passwd", "dir/passwd/", "/passwd"] {
            let (fallback, encoded) = parts(&content_disposition_attachment(name));

            assert_eq!(decode(&encoded), "passwd", "{name:?}");
            assert_eq!(fallback, "passwd", "{name:?}");
        }
    }

    #[test]
    fn bidirectional_overrides_are_dropped() {
        let (_, encoded) = parts(&content_disposition_attachment("invoice\u{202E}3pm.exe"));

        assert_eq!(decode(&encoded), "invoice3pm.exe");
    }

    #[test]
    fn names_with_nothing_usable_get_a_default() {
        for name in ["", "   ", "..", "/", "\u{202E}", "\r\n", "..."] {
            let (fallback, encoded) = parts(&content_disposition_attachment(name));

            assert_eq!(fallback, DEFAULT_DOWNLOAD_NAME, "{name:?}");
            assert_eq!(encoded, DEFAULT_DOWNLOAD_NAME, "{name:?}");
        }
    }

    #[test]
    fn long_names_are_shortened_on_a_character_boundary_keeping_the_extension() {
        let name = format!("{}.mp3", "é".repeat(300));

        let (_, encoded) = parts(&content_disposition_attachment(&name));
        let decoded = decode(&encoded);

        assert!(decoded.len() <= MAX_DOWNLOAD_NAME_BYTES);
        assert!(decoded.ends_with(".mp3"));
        assert!(decoded.starts_with("éé"));
    }
}
