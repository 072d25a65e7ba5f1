//! Display names for uploaded files. The client's file name is shown back to users (in
//! lists, in download names), so it is cleaned of anything that could mislead or break
//! that display: directory parts, control characters, bidirectional overrides that make
//! `evil<U+202E>fdp.exe` read as `evilexe.pdf`, NUL bytes smuggled in as `%00`, and names that
//! Windows reserves for devices. It is never used as a path on disk.

/// Longest display name or title, in characters.
pub(crate) const MAX_NAME_CHARS: usize = 255;
/// The name shown when nothing usable is left.
const FALLBACK_NAME: &str = "document";
/// An extension this long or shorter is kept when a long name is shortened.
const MAX_KEPT_EXTENSION_CHARS: usize = 16;

/// Names Windows reserves for devices, with or without an extension.
const RESERVED_DEVICE_NAMES: &[&str] = &[
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

/// A safe name to display for an uploaded file.
///
/// Percent-escapes are decoded (browsers encode `"`, CR and LF that way); the directory
/// part is dropped (after both `/` and `\`); NUL, control characters and bidirectional
/// formatting characters are removed; whitespace runs become one space; leading dots and
/// trailing dots and spaces are trimmed; a Windows device name (`con.txt`) gets a leading
/// underscore; the result is cut to 255 characters, keeping a short extension. An empty
/// result becomes `document`.
pub fn display_filename(raw: &str) -> String {
    let name = sanitized_name(raw);

    if name.is_empty() { FALLBACK_NAME.to_owned() } else { name }
}

/// A title made from a file name: the display name without its extension, or `None` if
/// nothing is left. At most 255 characters.
pub fn title_from_filename(raw: &str) -> Option<String> {
    let name = sanitized_name(raw);
    let stem = match name.rsplit_once('.') {
        Some((stem, _)) if !stem.trim().is_empty() => stem,
        _ => name.as_str(),
    };
    let stem = stem.strip_prefix('_').filter(|s| is_reserved_device_name(s)).unwrap_or(stem);
    let title: String = stem.trim().chars().take(MAX_NAME_CHARS).collect();
    let title = title.trim();

    if title.is_empty() { None } else { Some(title.to_owned()) }
}

/// The shared cleaning; may return an empty string.
fn sanitized_name(raw: &str) -> String {
    let decoded = percent_decode(raw);
    let base = decoded.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned = clean_display_text(base);
    let trimmed = cleaned.trim_start_matches(['.', ' ']).trim_end_matches(['.', ' ']);

    let name =
        if is_reserved_device_name(trimmed) { format!("_{trimmed}") } else { trimmed.to_owned() };

    shorten(&name)
}

/// Removes control and bidirectional formatting characters and collapses whitespace;
/// shared with titles found inside documents.
pub(crate) fn clean_display_text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut pending_space = false;

    for c in raw.chars() {
        if c.is_whitespace() || (c.is_control() && c != '\0') {
            pending_space = !out.is_empty();
            continue;
        }
        if c == '\0' || is_bidi_control(c) || is_invisible(c) {
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }

    out
}

/// Embeddings, overrides, isolates and directional marks.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Characters that show nothing and only confuse a displayed name.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}' | '\u{2060}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}' | '\u{00AD}')
}

fn is_reserved_device_name(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or("").trim_end().to_ascii_lowercase();
    RESERVED_DEVICE_NAMES.contains(&stem.as_str())
}

/// Cuts a name to [`MAX_NAME_CHARS`] characters, keeping a short extension.
fn shorten(name: &str) -> String {
    if name.chars().count() <= MAX_NAME_CHARS {
        return name.to_owned();
    }

    let extension = name.rsplit_once('.').map(|(_, extension)| extension).filter(|e| {
        !e.is_empty() && e.chars().count() <= MAX_KEPT_EXTENSION_CHARS && !e.contains(' ')
    });
    match extension {
        Some(extension) => {
            let keep = MAX_NAME_CHARS - extension.chars().count() - 1;
            let stem: String = name.chars().take(keep).collect();
            format!("{}.{extension}", stem.trim_end_matches(['.', ' ']))
        }
        None => name.chars().take(MAX_NAME_CHARS).collect::<String>().trim_end().to_owned(),
    }
}

/// Decodes `%XX` escapes when the result is valid UTF-8; otherwise keeps the text as is.
fn percent_decode(raw: &str) -> String {
    if !raw.contains('%') {
        return raw.to_owned();
    }

    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escape = (bytes[index] == b'%')
            .then(|| bytes.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escape {
            Some(byte) => {
                out.push(byte);
                index += 3;
            }
            None => {
                out.push(bytes[index]);
                index += 1;
            }
        }
    }

    String::from_utf8(out).unwrap_or_else(|_| raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_parts_are_stripped() {
        assert_eq!(display_filename("../../etc/passwd"), "passwd");
        assert_eq!(display_filename("C:\\Users\\x\\evil.docx"), "evil.docx");
        assert_eq!(display_filename("/var/tmp/../report.pdf"), "report.pdf");
        assert_eq!(display_filename("..%2F..%2Fetc%2Fshadow"), "shadow");
        assert_eq!(display_filename("..%5C..%5Cboot.ini"), "boot.ini");
    }

    #[test]
    fn percent_encoded_nul_never_becomes_a_nul() {
        let name = display_filename("shell.php%00.txt");

        assert!(!name.contains('\0'));
        assert_eq!(name, "shell.php.txt");
        assert_eq!(display_filename("shell.php\0.txt"), "shell.php.txt");
    }

    #[test]
    fn control_characters_are_removed() {
        assert_eq!(display_filename("line\r\nbreak\t\u{7}\u{1b}[31m.txt"), "line break [31m.txt");
        assert_eq!(display_filename("a%0Ab%0D.pdf"), "a b .pdf");
    }

    #[test]
    fn bidi_overrides_and_isolates_are_removed() {
        assert_eq!(display_filename("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
        for c in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{2066}', '\u{2067}', '\u{2068}',
            '\u{2069}', '\u{200E}', '\u{200F}',
        ] {
            let name = display_filename(&format!("re{c}port.pdf"));
            assert_eq!(name, "report.pdf", "{c:?} survived");
        }
    }

    #[test]
    fn rtl_scripts_themselves_are_kept() {
        assert_eq!(display_filename("تقرير سنوي.pdf"), "تقرير سنوي.pdf");
        assert_eq!(display_filename("דוח.docx"), "דוח.docx");
    }

    #[test]
    fn whitespace_is_collapsed_and_trimmed() {
        assert_eq!(
            display_filename("  my \t  annual\u{3000}report  .pdf  "),
            "my annual report .pdf"
        );
    }

    #[test]
    fn windows_device_names_are_defused() {
        assert_eq!(display_filename("con.txt"), "_con.txt");
        assert_eq!(display_filename("NUL"), "_NUL");
        assert_eq!(display_filename("Lpt1.tar.gz"), "_Lpt1.tar.gz");
        assert_eq!(display_filename("console.txt"), "console.txt");
    }

    #[test]
    fn long_names_are_cut_to_255_characters_keeping_the_extension() {
        let long = format!("{}.pdf", "a".repeat(300));
        let name = display_filename(&long);

        assert_eq!(name.chars().count(), 255);
        assert!(name.ends_with("a.pdf"));

        let wide = "日".repeat(300);
        assert_eq!(display_filename(&wide).chars().count(), 255);
        assert!(display_filename(&wide).chars().all(|c| c == '日'));
    }

    #[test]
    fn empty_or_hidden_names_fall_back_to_document() {
        for raw in ["", "   ", "../", "C:\\", "\u{202E}\u{200F}", "...", "%00", "dir/"] {
            assert_eq!(display_filename(raw), "document", "{raw:?}");
        }
    }

    #[test]
    fn invalid_percent_escapes_are_kept_literally() {
        assert_eq!(display_filename("50%off.pdf"), "50%off.pdf");
        assert_eq!(display_filename("100%.txt"), "100%.txt");
        assert_eq!(display_filename("%ff%fe.txt"), "%ff%fe.txt");
    }

    #[test]
    fn title_is_the_display_name_without_extension() {
        assert_eq!(
            title_from_filename("../Quarterly Report.final.pdf").as_deref(),
            Some("Quarterly Report.final")
        );
        assert_eq!(title_from_filename("notes").as_deref(), Some("notes"));
        assert_eq!(title_from_filename(".bashrc").as_deref(), Some("bashrc"));
        assert_eq!(title_from_filename("con.txt").as_deref(), Some("con"));
        assert_eq!(title_from_filename("  \u{202E} .pdf"), Some("pdf".to_owned()));
        assert_eq!(title_from_filename(""), None);
        assert_eq!(title_from_filename("../"), None);
    }

    #[test]
    fn title_is_at_most_255_characters() {
        let title = title_from_filename(&format!("{}.docx", "b".repeat(400))).unwrap();

        assert!(title.chars().count() <= 255);
        assert!(!title.is_empty());
    }
}
