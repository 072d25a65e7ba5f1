//! Markdown to HTML for display. Page text is the user's, so the HTML is sanitized:
//! no scripts, no event-handler or style attributes, and links and images only with
//! http, https or mailto targets (or relative ones). Smart punctuation is off, so `'`
//! and `--` are shown as written.

use std::collections::HashSet;
use std::sync::LazyLock;

use pulldown_cmark::{Options, Parser, html};

/// The URL schemes a rendered link or image may use.
const ALLOWED_SCHEMES: &[&str] = &["http", "https", "mailto"];

static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder
        .url_schemes(ALLOWED_SCHEMES.iter().copied().collect::<HashSet<_>>())
        .link_rel(Some("noopener noreferrer nofollow"))
        .strip_comments(true);
    builder
});

/// Renders Markdown (CommonMark with tables and strikethrough) as sanitized HTML.
pub fn markdown_to_html(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let parser = Parser::new_ext(markdown, options);
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut unsafe_html, parser);

    SANITIZER.clean(&unsafe_html).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &[&str] = &[
        "<script>alert(1)</script>",
        "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
        "<img src=x onerror=alert(1)>",
        "<a href=\"javascript:alert(1)\" onclick=\"alert(2)\">x</a>",
        "<div onmouseover=\"alert(1)\">hover</div>",
        "<svg onload=alert(1)><script>alert(2)</script></svg>",
        "<iframe src=\"data:text/html,<script>alert(1)</script>\"></iframe>",
        "<style>body{background:url(javascript:alert(1))}</style>",
        "<p style=\"background:url(javascript:alert(1))\">styled</p>",
        "[link](javascript:alert(1))",
        "[link](JaVaScRiPt:alert(1))",
        "[link](&#106;avascript:alert(1))",
        "[link](java\tscript:alert(1))",
        "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[vb](vbscript:msgbox(1))",
        "![img](javascript:alert(1))",
        "![img](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
        "<javascript:alert(1)>",
        "<vbscript:msgbox(1)>",
        "[ref]\n\n[ref]: javascript:alert(1)",
        "<form action=\"javascript:alert(1)\"><input onfocus=alert(1) autofocus></form>",
        "<a href=\"data:text/html,x\">data link</a>",
        "<object data=\"javascript:alert(1)\"></object>",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>",
    ];

    /// Every attribute value in the HTML (ammonia always writes them double-quoted).
    fn attribute_values(html: &str) -> Vec<String> {
        html.split("=\"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap_or("").to_owned())
            .collect()
    }

    fn assert_safe(html: &str) {
        let lower = html.to_ascii_lowercase();
        assert!(!lower.contains("<script"), "script in {html}");
        assert!(
            !lower.contains("<iframe") && !lower.contains("<object") && !lower.contains("<form"),
            "{html}"
        );
        assert!(!lower.contains("<style"), "style element in {html}");
        assert!(!lower.contains(" style="), "style attribute in {html}");
        let handler = lower.match_indices(" on").any(|(at, _)| {
            let name: String =
                lower[at + 1..].chars().take_while(char::is_ascii_alphabetic).collect();
            lower[at + 1 + name.len()..].starts_with('=')
        });
        assert!(!handler, "event handler attribute in {html}");
        for value in attribute_values(&lower) {
            let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
            for scheme in ["javascript:", "data:", "vbscript:", "&#"] {
                assert!(!compact.starts_with(scheme), "{scheme} attribute in {html}");
            }
        }
    }

    #[test]
    fn hostile_markdown_renders_without_scripts_handlers_or_unsafe_urls() {
        for input in HOSTILE {
            assert_safe(&markdown_to_html(input));
        }

        assert_safe(&markdown_to_html(&HOSTILE.join("\n\n")));
    }

    #[test]
    fn safe_markdown_is_rendered() {
        let html = markdown_to_html(
            "# Title\n\nSome **bold** and *italic* with [a link](https://example.com).\n\n- one\n- two\n\n| a | b |\n| --- | --- |\n| 1 | 2 |",
        );

        assert!(html.contains("<h1>Title</h1>"));
        assert!(html.contains("<strong>bold</strong>"));
        assert!(html.contains("<em>italic</em>"));
        assert!(html.contains("href=\"https://example.com\""));
        assert!(html.contains("rel=\"noopener noreferrer nofollow\""));
        assert!(html.contains("<li>one</li>"));
        assert!(html.contains("<table>"));
    }

    #[test]
    fn punctuation_is_not_made_smart() {
        let html = markdown_to_html("'; DROP TABLE documents; -- \"quoted\" ... it's");

        assert!(html.contains("'; DROP TABLE documents; -- \"quoted\" ... it's"), "{html}");
        assert!(!html.contains('’') && !html.contains('–') && !html.contains('“'));
    }

    #[test]
    fn multilingual_text_is_rendered_as_written() {
        let html = markdown_to_html("😀 日本語 مرحبا שלום");

        assert_eq!(html.trim(), "<p>😀 日本語 مرحبا שלום</p>");
    }
}
