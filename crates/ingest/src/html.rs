//! Web pages: only the main content is kept. A readability pass (`dom_smoothie`) picks the
//! article and drops navigation, headers, footers, sidebars and comments; `htmd` then
//! converts it to Markdown, leaving out scripts, styles, embedded objects, forms and
//! images, and turning links with an unsafe scheme into plain text. When no article can
//! be found, the whole body is converted with the same exclusions plus the usual
//! boilerplate elements.

use dom_smoothie::{Config, Readability};
use htmd::element_handler::{HandlerResult, Handlers};
use htmd::{Element, HtmlToMarkdown};

use crate::markdown::link_destination;
use crate::{Extracted, IngestError, Limits, clean_title, paginate};

/// Elements whose content never reaches the text.
const ALWAYS_SKIPPED: &[&str] = &[
    "script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "canvas", "img",
    "picture", "video", "audio", "source", "track", "map", "form", "button", "input", "select",
    "textarea", "dialog", "head", "title", "meta", "link",
];

/// Boilerplate elements dropped even inside the article readability picked.
const BOILERPLATE: &[&str] = &["nav", "footer", "aside", "menu"];
/// Dropped too when the whole page has to be converted (inside an article, a header
/// holds the article's own title).
const PAGE_HEADER: &[&str] = &["header"];

/// Extracts the main content of an HTML page as Markdown, with the page's title
/// (`og:title`, `<title>` or the first `<h1>`).
pub fn extract_html(html: &str, limits: &Limits) -> Result<Extracted, IngestError> {
    if html.trim().is_empty() {
        return Err(IngestError::NoTextFound);
    }

    let page = read_page(html);
    let (content, whole_page) = match page.article {
        Some(article) => (article, false),
        None => (html.to_owned(), true),
    };

    let markdown = to_markdown(&content, whole_page)?;
    if markdown.chars().count() > limits.max_chars {
        return Err(IngestError::TooLarge);
    }

    paginate(page.title.as_deref().and_then(clean_title), vec![markdown], limits)
}

/// What readability finds in a page.
struct Page {
    /// From `og:title` and similar metadata, else `<title>`, else the first `<h1>`.
    title: Option<String>,
    /// The HTML of the main content.
    article: Option<String>,
}

fn read_page(html: &str) -> Page {
    let Ok(mut readability) = Readability::new(html, None, Some(Config::default())) else {
        return Page { title: None, article: None };
    };
    let non_blank = |text: String| (!text.trim().is_empty()).then_some(text);

    let title = non_blank(readability.get_article_metadata(None).title)
        .or_else(|| non_blank(readability.doc.select("h1").first().text().to_string()));
    let article =
        readability.parse().ok().and_then(|article| non_blank(article.content.to_string()));

    Page { title, article }
}

fn to_markdown(html: &str, whole_page: bool) -> Result<String, IngestError> {
    let mut skipped: Vec<&str> = ALWAYS_SKIPPED.to_vec();
    skipped.extend_from_slice(BOILERPLATE);
    if whole_page {
        skipped.extend_from_slice(PAGE_HEADER);
    }

    let converter = HtmlToMarkdown::builder()
        .skip_tags(skipped)
        .add_handler(vec!["a"], safe_link)
        .scripting_enabled(false)
        .build();
    let markdown = converter.convert(html).map_err(|_| IngestError::Unreadable)?;

    Ok(tidy(&markdown))
}

/// Keeps a link only if its target is http, https, mailto or relative; otherwise keeps
/// its text alone.
fn safe_link(handlers: &dyn Handlers, element: Element<'_>) -> Option<HandlerResult> {
    let href = element
        .attrs
        .iter()
        .find(|attr| &*attr.name.local == "href")
        .map(|attr| attr.value.to_string());
    let safe = match href.as_deref().map(str::trim) {
        None | Some("") => false,
        Some(href) if href.starts_with('#') => false,
        Some(href) => link_destination(href).is_some() || is_relative(href),
    };

    if safe { handlers.fallback(element) } else { Some(handlers.walk_children(element.node)) }
}

/// A relative reference: no scheme before the first `/`, `?` or `#`.
fn is_relative(href: &str) -> bool {
    let head = href.split(['/', '?', '#']).next().unwrap_or("");
    !head.contains(':') && !href.chars().any(char::is_control)
}

/// Trims the converter's output and collapses runs of blank lines.
fn tidy(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    let mut blank_run = 0;

    for line in markdown.trim().lines() {
        if line.trim().is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
            out.push('\n');
        } else {
            blank_run = 0;
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }

    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn article_page() -> String {
        let paragraph = "The river flows through the valley and the town grows along its banks. \
            Farmers bring their goods to the market every morning, and the bridge carries them across.";
        format!(
            r#"<!doctype html><html><head>
            <title>River Towns | Example News</title>
            <meta property="og:title" content="River Towns of the Valley">
            <style>.x {{ color: red }} body {{ font: 12px serif }}</style>
            <script>var tracking = "SCRIPT-TEXT";</script>
            </head><body>
            <header><nav><a href="/">Home</a> <a href="/news">NAV-LINK-TEXT</a></nav></header>
            <main><article>
              <h1>River Towns of the Valley</h1>
              <p>{paragraph}</p>
              <h2>The Market</h2>
              <p>{paragraph} See <a href="https://example.com/market">the market page</a>.</p>
              <ul><li>Fish and bread</li><li>Cheese</li></ul>
              <p>{paragraph} <a href="javascript:alert(1)">click here</a> for more.</p>
              <script>document.write("INLINE-SCRIPT")</script>
            </article></main>
            <aside>SIDEBAR-TEXT with <a href="/ads">ads</a></aside>
            <footer>FOOTER-TEXT &copy; 2026</footer>
            </body></html>"#
        )
    }

    #[test]
    fn main_content_is_kept_as_markdown() {
        let extracted = extract_html(&article_page(), &Limits::default()).unwrap();
        let text = extracted.pages.join("\n");

        assert!(text.contains("## The Market"), "{text}");
        assert!(text.contains("The river flows through the valley"));
        assert!(text.contains("[the market page](https://example.com/market)"));
        assert!(text.contains("Fish and bread"));
    }

    #[test]
    fn navigation_footer_sidebar_scripts_and_styles_are_dropped() {
        let extracted = extract_html(&article_page(), &Limits::default()).unwrap();
        let text = extracted.pages.join("\n");

        for boilerplate in [
            "NAV-LINK-TEXT",
            "FOOTER-TEXT",
            "SIDEBAR-TEXT",
            "SCRIPT-TEXT",
            "INLINE-SCRIPT",
            "color: red",
        ] {
            assert!(!text.contains(boilerplate), "{boilerplate} leaked into {text}");
        }
    }

    #[test]
    fn unsafe_links_keep_only_their_text() {
        let extracted = extract_html(&article_page(), &Limits::default()).unwrap();
        let text = extracted.pages.join("\n");

        assert!(text.contains("click here"));
        assert!(!text.contains("javascript:"));
    }

    #[test]
    fn title_comes_from_the_page() {
        let extracted = extract_html(&article_page(), &Limits::default()).unwrap();

        assert_eq!(extracted.title.as_deref(), Some("River Towns of the Valley"));
    }

    #[test]
    fn title_falls_back_to_the_title_element_and_h1() {
        let body = "<p>Some words here that make up a short page of text for reading aloud.</p>";
        let with_title =
            format!("<html><head><title>Plain Title</title></head><body>{body}</body></html>");
        let with_h1 = format!("<html><body><h1>Heading Title</h1>{body}</body></html>");

        let from_title = extract_html(&with_title, &Limits::default()).unwrap();
        let from_h1 = extract_html(&with_h1, &Limits::default()).unwrap();

        assert_eq!(from_title.title.as_deref(), Some("Plain Title"));
        assert_eq!(from_h1.title.as_deref(), Some("Heading Title"));
    }

    #[test]
    fn a_short_page_without_an_article_still_gives_its_text() {
        let html =
            "<html><body><nav>MENU</nav><p>Just one line.</p><footer>FOOT</footer></body></html>";

        let extracted = extract_html(html, &Limits::default()).unwrap();
        let text = extracted.pages.join("\n");

        assert!(text.contains("Just one line."));
        assert!(!text.contains("MENU") && !text.contains("FOOT"), "{text}");
    }

    #[test]
    fn a_page_without_text_has_no_text_found() {
        assert_eq!(extract_html("", &Limits::default()), Err(IngestError::NoTextFound));
        assert_eq!(
            extract_html(
                "<html><head><script>x()</script></head><body><img src=a.png></body></html>",
                &Limits::default()
            ),
            Err(IngestError::NoTextFound)
        );
    }

    #[test]
    fn a_page_over_the_character_limit_is_too_large() {
        let limits = Limits { max_chars: 50, ..Limits::default() };

        assert_eq!(extract_html(&article_page(), &limits), Err(IngestError::TooLarge));
    }

    #[test]
    fn relative_references_are_recognized() {
        assert!(is_relative("/news/today"));
        assert!(is_relative("page.html?a=b:c"));
        assert!(!is_relative("javascript:alert(1)"));
        assert!(!is_relative("vbscript:x"));
    }
}
