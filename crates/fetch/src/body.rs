//! Which page bodies are accepted, and how their bytes become text.
//!
//! Only HTML, XHTML and plain text are accepted. The charset named in `Content-Type` is used
//! when it is a WHATWG encoding label; otherwise the body is read as UTF-8 and invalid
//! sequences become U+FFFD. A byte-order mark overrides the declared charset, as browsers do.

use encoding_rs::{Encoding, REPLACEMENT, UTF_8};

/// Media types a page may have.
pub(crate) const ACCEPTED_MEDIA_TYPES: [&str; 3] =
    ["text/html", "application/xhtml+xml", "text/plain"];

/// The parts of a `Content-Type` header that matter here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MediaType {
    /// Lowercase `type/subtype`, without parameters.
    pub(crate) essence: String,
    /// The `charset` parameter, unquoted, if any.
    pub(crate) charset: Option<String>,
}

impl MediaType {
    /// Parses a `Content-Type` value; never fails (unknown shapes yield an empty essence).
    pub(crate) fn parse(raw: &str) -> Self {
        let mut parts = raw.split(';');
        let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();

        let charset = parts.find_map(|param| {
            let (name, value) = param.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("charset")
                .then(|| value.trim().trim_matches(|c| c == '"' || c == '\'').to_ascii_lowercase())
        });

        Self { essence, charset }
    }

    /// Whether a page of this type is accepted.
    pub(crate) fn is_accepted(&self) -> bool {
        ACCEPTED_MEDIA_TYPES.contains(&self.essence.as_str())
    }
}

/// How far into a body a `<meta charset>` declaration is looked for, as browsers do.
const META_PRESCAN_BYTES: usize = 1024;

/// Decodes a body to text using the declared charset when it is known (from `Content-Type`,
/// else from a `<meta charset>` or `http-equiv` declaration near the top), else lossy UTF-8.
pub(crate) fn decode(bytes: &[u8], charset: Option<&str>) -> String {
    let sniffed = if charset.is_none() { meta_charset(bytes) } else { None };
    let encoding = charset
        .or(sniffed.as_deref())
        .and_then(|label| Encoding::for_label(label.as_bytes()))
        .filter(|encoding| *encoding != REPLACEMENT)
        .unwrap_or(UTF_8);

    let (text, _, _) = encoding.decode(bytes);
    text.into_owned()
}

/// The charset named by a `<meta>` tag in the first bytes of an HTML body.
fn meta_charset(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(META_PRESCAN_BYTES)];
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();

    head.split("<meta").skip(1).find_map(|tag| {
        let tag = tag.split('>').next().unwrap_or_default();
        let start = tag.find("charset")? + "charset".len();
        let value = tag[start..].trim_start().strip_prefix('=')?.trim_start();
        let value = value.trim_start_matches(['"', '\'']);
        let label: String = value
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
            .collect();
        (!label.is_empty()).then_some(label)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_charset_is_honoured_without_a_declared_one() {
        let html5 = b"<html><head><meta charset=\"windows-1251\"></head>\xcf\xf0\xe8";
        let http_equiv =
            b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-1\">caf\xe9";

        assert_eq!(decode(html5, None).rsplit('>').next(), Some("При"));
        assert!(decode(http_equiv, None).ends_with("café"));
        assert!(decode(b"<meta charset=utf-8>caf\xe9", Some("iso-8859-1")).ends_with("café"));
    }

    #[test]
    fn content_type_parameters_are_split_off() {
        let parsed = MediaType::parse("Text/HTML; Charset=\"ISO-8859-1\"; foo=bar");

        assert_eq!(parsed.essence, "text/html");
        assert_eq!(parsed.charset.as_deref(), Some("iso-8859-1"));
        assert_eq!(MediaType::parse("text/plain").charset, None);
    }

    #[test]
    fn only_html_xhtml_and_plain_text_are_accepted() {
        for accepted in ["text/html", "application/xhtml+xml; charset=utf-8", "TEXT/PLAIN"] {
            assert!(MediaType::parse(accepted).is_accepted(), "{accepted}");
        }

        for refused in ["image/png", "application/pdf", "text/htmlx", "", "application/json"] {
            assert!(!MediaType::parse(refused).is_accepted(), "{refused}");
        }
    }

    #[test]
    fn declared_latin1_charset_is_decoded() {
        assert_eq!(decode(b"caf\xe9", Some("iso-8859-1")), "café");
        assert_eq!(decode(b"\x93quoted\x94", Some("windows-1252")), "\u{201c}quoted\u{201d}");
    }

    #[test]
    fn declared_legacy_charsets_are_decoded() {
        assert_eq!(decode(b"\xcf\xf0\xe8\xe2\xe5\xf2", Some("windows-1251")), "Привет");
        assert_eq!(decode(b"\x82\xb1\x82\xf1", Some("shift_jis")), "こん");
    }

    #[test]
    fn unknown_or_missing_charset_falls_back_to_lossy_utf8() {
        assert_eq!(decode("naïve".as_bytes(), None), "naïve");
        assert_eq!(decode(b"bad \xff byte", Some("x-made-up")), "bad \u{fffd} byte");
        assert_eq!(decode(b"bad \xff byte", None), "bad \u{fffd} byte");
    }

    #[test]
    fn replacement_labels_do_not_swallow_the_body() {
        assert_eq!(decode(b"plain words", Some("iso-2022-kr")), "plain words");
    }

    #[test]
    fn byte_order_mark_is_removed() {
        assert_eq!(decode(b"\xef\xbb\xbfhello", None), "hello");
    }
}
