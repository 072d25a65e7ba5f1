//! Markdown output shared by the PDF and DOCX converters: the block model, how blocks are
//! written, and how text taken from a document is escaped so that it reads back as the
//! same text (a literal `*` or `#` in a PDF must not become emphasis or a heading).

/// One block of converted text. Inline text is already Markdown (escaped, with emphasis
/// and links), without line breaks other than explicit hard breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Block {
    /// A heading of level 1 to 6.
    Heading {
        /// 1 for `#`, up to 6.
        level: u8,
        /// The heading's inline Markdown.
        text: String,
    },
    /// A paragraph.
    Paragraph(String),
    /// One list item; consecutive items form one list.
    ListItem {
        /// Nesting depth, 0 for the outermost list.
        level: usize,
        /// `Some(n)` for a numbered item, `None` for a bullet.
        number: Option<u32>,
        /// The item's inline Markdown.
        text: String,
    },
    /// A table: the first row is the header; cells are inline Markdown.
    Table(Vec<Vec<String>>),
    /// A code block; its lines are kept as they are.
    Code(Vec<String>),
}

/// Writes blocks as Markdown: blank lines between blocks, list items of one list on
/// consecutive lines, nested items indented under their parent's text.
pub(crate) fn render_blocks(blocks: &[Block]) -> String {
    let mut out = String::new();
    let mut list: Vec<(usize, usize)> = Vec::new();

    for block in blocks {
        let in_list = matches!(block, Block::ListItem { .. });
        if !out.is_empty() {
            out.push_str(if in_list && !list.is_empty() { "\n" } else { "\n\n" });
        }
        if !in_list {
            list.clear();
        }

        match block {
            Block::Heading { level, text } => {
                let level = usize::from((*level).clamp(1, 6));
                out.push_str(&"#".repeat(level));
                out.push(' ');
                out.push_str(&protect_heading_end(text));
            }
            Block::Paragraph(text) => out.push_str(text),
            Block::ListItem { level, number, text } => {
                list.retain(|(item_level, _)| item_level < level);
                let indent: usize = list.iter().map(|(_, width)| width).sum();
                let marker = match number {
                    Some(n) => format!("{n}. "),
                    None => "- ".to_owned(),
                };
                out.push_str(&" ".repeat(indent));
                out.push_str(&marker);
                out.push_str(text);
                list.push((*level, marker.len()));
            }
            Block::Table(rows) => out.push_str(&render_table(rows)),
            Block::Code(lines) => out.push_str(&render_code(lines)),
        }
    }

    out
}

/// A trailing `#` would be read as the heading's closing sequence; escape it.
fn protect_heading_end(text: &str) -> String {
    match text.strip_suffix('#') {
        Some(head) if !head.ends_with('\\') => format!("{head}\\#"),
        _ => text.to_owned(),
    }
}

/// Writes a fenced code block, with a fence longer than any backtick run inside.
fn render_code(lines: &[String]) -> String {
    let longest_run =
        lines.iter().flat_map(|line| line.split(|c| c != '`')).map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run.max(2) + 1);

    format!("{fence}\n{}\n{fence}", lines.join("\n"))
}

/// Writes a pipe table; short rows are padded so every row has the same number of cells.
fn render_table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let mut lines = Vec::with_capacity(rows.len() + 1);

    for (index, row) in rows.iter().enumerate() {
        let mut cells: Vec<&str> = row.iter().map(String::as_str).collect();
        cells.resize(columns, "");
        lines.push(format!("| {} |", cells.join(" | ")));
        if index == 0 {
            lines.push(format!("|{}", " --- |".repeat(columns)));
        }
    }

    lines.join("\n")
}

/// Escapes text so Markdown shows it literally: inline markup characters always, and an
/// entity-like `&name;` so it is not decoded.
pub(crate) fn escape_inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());

    for (index, c) in text.char_indices() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' => {
                out.push('\\');
                out.push(c);
            }
            '&' if looks_like_entity(&text[index + 1..]) => out.push_str("\\&"),
            _ => out.push(c),
        }
    }

    out
}

fn looks_like_entity(after_ampersand: &str) -> bool {
    let name_len = after_ampersand
        .char_indices()
        .take_while(|(_, c)| c.is_ascii_alphanumeric() || *c == '#')
        .count();

    name_len > 0 && after_ampersand[name_len..].starts_with(';')
}

/// Escapes what would make the start of a block something other than a paragraph: a
/// heading `#`, a quote `>`, a list marker, or indentation that would make a code block.
pub(crate) fn escape_block_start(text: &str) -> String {
    let text = text.trim_start();
    let first = text.chars().next();

    match first {
        Some('#' | '>') => return format!("\\{text}"),
        Some('-' | '+' | '*' | '=') => {
            let rest = &text[1..];
            if rest.is_empty()
                || rest.starts_with(' ')
                || rest.starts_with('\t')
                || first == Some('=')
            {
                return format!("\\{text}");
            }
        }
        _ => {}
    }

    let digits = text.len() - text.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits > 0 && digits <= 9 {
        let after = &text[digits..];
        if let Some(delimiter @ ('.' | ')')) = after.chars().next() {
            let rest = &after[1..];
            if rest.is_empty() || rest.starts_with(' ') {
                return format!("{}\\{delimiter}{rest}", &text[..digits]);
            }
        }
    }

    text.to_owned()
}

/// Removes backslash escapes, turning escaped inline text back into what it shows.
pub(crate) fn unescape(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    let mut chars = markdown.chars().peekable();

    while let Some(c) = chars.next() {
        match chars.peek() {
            Some(next) if c == '\\' && next.is_ascii_punctuation() => {
                out.push(*next);
                chars.next();
            }
            _ => out.push(c),
        }
    }

    out
}

/// Escapes a table cell: inline escapes plus the cell separator.
pub(crate) fn escape_cell(inline_markdown: &str) -> String {
    inline_markdown.replace('|', "\\|")
}

/// Percent-encodes what would end or break a Markdown link destination, or `None` if the
/// URL's scheme is not one a reader may follow (only http, https and mailto are).
pub(crate) fn link_destination(url: &str) -> Option<String> {
    let url = url.trim();
    let scheme_end = url.find(':')?;
    let scheme = url[..scheme_end].to_ascii_lowercase();
    if !matches!(scheme.as_str(), "http" | "https" | "mailto") {
        return None;
    }

    let mut out = String::with_capacity(url.len());
    for c in url.chars() {
        match c {
            ' ' => out.push_str("%20"),
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            '\\' => out.push_str("%5C"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }

    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render_to_text(markdown: &str) -> String {
        use pulldown_cmark::{Event, Parser};

        Parser::new(markdown)
            .filter_map(|event| match event {
                Event::Text(text) => Some(text.into_string()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn escaped_text_reads_back_literally() {
        let literal = r"5 * 3 = 15, a_b_c, [not a link](x), <b>bold</b>, `code`, \n, &amp;";

        let escaped = escape_inline(literal);

        assert_eq!(render_to_text(&escaped), literal);
    }

    #[test]
    fn unescape_reverses_escape_inline() {
        let literal = r"a*b_c [d] <e> `f` \g \*";

        assert_eq!(unescape(&escape_inline(literal)), literal);
    }

    #[test]
    fn ampersand_is_only_escaped_before_an_entity() {
        assert_eq!(escape_inline("R&D & more"), "R&D & more");
        assert_eq!(escape_inline("&copy; &#169;"), "\\&copy; \\&#169;");
    }

    #[test]
    fn block_start_markers_are_escaped() {
        for text in [
            "# not a heading",
            "> not a quote",
            "- not a list",
            "+ no",
            "* no",
            "1. no",
            "12) no",
            "=== no",
        ] {
            let escaped = escape_block_start(text);
            let parsed: Vec<_> = pulldown_cmark::Parser::new(&escaped).collect();

            assert!(
                matches!(
                    parsed.first(),
                    Some(pulldown_cmark::Event::Start(pulldown_cmark::Tag::Paragraph))
                ),
                "{text:?} became {parsed:?}"
            );
            assert_eq!(render_to_text(&escaped), text);
        }
        assert_eq!(escape_block_start("2024 was a year"), "2024 was a year");
        assert_eq!(escape_block_start("-minus"), "-minus");
    }

    #[test]
    fn lists_nest_under_their_parent_text() {
        let blocks = vec![
            Block::Paragraph("Intro".into()),
            Block::ListItem { level: 0, number: Some(1), text: "one".into() },
            Block::ListItem { level: 1, number: None, text: "inner".into() },
            Block::ListItem { level: 2, number: Some(1), text: "deeper".into() },
            Block::ListItem { level: 0, number: Some(2), text: "two".into() },
            Block::Paragraph("After".into()),
        ];

        let markdown = render_blocks(&blocks);

        assert_eq!(markdown, "Intro\n\n1. one\n   - inner\n     1. deeper\n2. two\n\nAfter");
    }

    #[test]
    fn headings_keep_a_trailing_hash() {
        let markdown = render_blocks(&[Block::Heading { level: 2, text: "Learn C#".into() }]);

        assert_eq!(markdown, "## Learn C\\#");
        assert_eq!(render_to_text(&markdown), "Learn C#");
    }

    #[test]
    fn code_blocks_use_a_fence_longer_than_their_content() {
        let plain = render_blocks(&[Block::Code(vec!["let x = 1;".into(), "  *y".into()])]);
        let with_fence = render_blocks(&[Block::Code(vec!["```".into(), "inner".into()])]);

        assert_eq!(plain, "```\nlet x = 1;\n  *y\n```");
        assert_eq!(with_fence, "````\n```\ninner\n````");
    }

    #[test]
    fn tables_are_padded_pipe_tables() {
        let rows = vec![vec!["A".into(), "B".into()], vec!["1".into()]];

        assert_eq!(render_blocks(&[Block::Table(rows)]), "| A | B |\n| --- | --- |\n| 1 |  |");
    }

    #[test]
    fn only_safe_link_schemes_are_kept() {
        assert_eq!(
            link_destination("https://example.com/a b(c)"),
            Some("https://example.com/a%20b%28c%29".into())
        );
        assert_eq!(link_destination("mailto:a@example.com"), Some("mailto:a@example.com".into()));
        assert_eq!(link_destination("javascript:alert(1)"), None);
        assert_eq!(link_destination(" JavaScript:alert(1)"), None);
        assert_eq!(link_destination("data:text/html,x"), None);
        assert_eq!(link_destination("file:///etc/passwd"), None);
        assert_eq!(link_destination("no scheme"), None);
    }
}
