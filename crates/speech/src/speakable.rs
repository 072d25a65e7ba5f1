//! Markdown to the text a voice reads aloud.
//!
//! Policy: the listener hears the words a reader would read, nothing that only makes sense on
//! a screen.
//! - Link text is read; link destinations are not. A link whose text is its own URL (an
//!   autolink, or `[https://x.org](https://x.org)`) is dropped whole.
//! - Images are skipped together with their alt text; code blocks, HTML blocks and inline
//!   HTML are skipped. Inline code is read, since it is usually a single word.
//! - Headings, list items and table rows end as sentences, so the voice pauses after them;
//!   table cells are separated by commas.
//! - Block quotes and footnote definitions are read as ordinary paragraphs; footnote
//!   references and task-list check boxes are dropped.
//! - Paragraphs are separated by one blank line and all other whitespace collapses to single
//!   spaces. Characters are never rewritten (no smart punctuation), so emoji, CJK and
//!   right-to-left text pass through unchanged.

use pulldown_cmark::{Event, LinkType, Options, Parser, Tag, TagEnd};

/// Characters after which a block already ends as a sentence.
const SENTENCE_ENDS: &[char] =
    &['.', '!', '?', ':', ';', '…', '‽', '。', '！', '？', '：', '；', '؟', '।'];

/// Characters that may close a sentence after its end mark, as in `"Stop."` or `(see below.)`.
const CLOSERS: &[char] = &['"', '\'', ')', ']', '}', '”', '’', '»', '›', '」', '』', '）'];

/// What a paragraph break looks like in the output.
const PARAGRAPH_BREAK: &str = "\n\n";

/// Turns a page's Markdown into plain text to be read aloud.
///
/// See the module documentation for what is kept and what is dropped.
pub fn speakable_text(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_GFM;

    let mut reader = Reader::default();
    for event in Parser::new_ext(markdown, options) {
        reader.event(event);
    }

    reader.finish()
}

/// Text of the block being read, with whitespace collapsed as it arrives.
#[derive(Debug, Default)]
struct Line {
    text: String,
    pending_space: bool,
}

impl Line {
    /// Appends text, turning every whitespace run into one space between words.
    fn push_str(&mut self, text: &str) {
        for c in text.chars() {
            if c.is_whitespace() {
                self.pending_space = true;
                continue;
            }

            if self.pending_space && !self.text.is_empty() {
                self.text.push(' ');
            }
            self.pending_space = false;
            self.text.push(c);
        }
    }

    /// Marks a word boundary without adding a character yet.
    fn space(&mut self) {
        self.pending_space = true;
    }

    /// Takes the text read so far, leaving the line empty.
    fn take(&mut self) -> String {
        self.pending_space = false;
        std::mem::take(&mut self.text)
    }
}

/// A link being read: where its text starts, so the text can be dropped if it is a URL.
#[derive(Debug)]
struct OpenLink {
    start: usize,
    pending_space: bool,
    drop_text: DropText,
}

/// Whether a link's text is dropped at the end of the link.
#[derive(Debug)]
enum DropText {
    Always,
    IfEqualTo(String),
    Never,
}

/// Walks the Markdown events and collects speakable blocks.
#[derive(Debug, Default)]
struct Reader {
    blocks: Vec<String>,
    line: Line,
    cells: Vec<String>,
    links: Vec<OpenLink>,
    /// Depth of elements whose text is not read (code blocks, HTML blocks, images).
    hidden: usize,
    /// Depth of elements whose blocks end as sentences (headings, list items).
    sentences: usize,
}

impl Reader {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) | Event::Code(text) => {
                if self.hidden == 0 {
                    self.line.push_str(&text);
                }
            }
            Event::InlineMath(text) | Event::DisplayMath(text) => {
                if self.hidden == 0 {
                    self.line.push_str(&text);
                }
            }
            Event::InlineHtml(_) => self.line.space(),
            Event::SoftBreak | Event::HardBreak => self.line.space(),
            Event::Rule => self.flush(),
            Event::Html(_) | Event::FootnoteReference(_) | Event::TaskListMarker(_) => {}
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Heading { .. } | Tag::Item => {
                self.flush();
                self.sentences += 1;
            }
            Tag::CodeBlock(_) | Tag::HtmlBlock | Tag::MetadataBlock(_) => {
                self.flush();
                self.hidden += 1;
            }
            Tag::Image { .. } => self.hidden += 1,
            Tag::Link { link_type, dest_url, .. } => {
                let drop_text = match link_type {
                    LinkType::Autolink => DropText::Always,
                    LinkType::Email => DropText::Never,
                    _ => DropText::IfEqualTo(dest_url.into_string()),
                };
                self.links.push(OpenLink {
                    start: self.line.text.len(),
                    pending_space: self.line.pending_space,
                    drop_text,
                });
            }
            Tag::TableHead | Tag::TableRow => {
                self.flush();
                self.cells.clear();
            }
            Tag::Paragraph
            | Tag::BlockQuote(_)
            | Tag::List(_)
            | Tag::FootnoteDefinition(_)
            | Tag::Table(_)
            | Tag::TableCell
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition => self.flush(),
            Tag::Emphasis
            | Tag::Strong
            | Tag::Strikethrough
            | Tag::Superscript
            | Tag::Subscript => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Heading(_) | TagEnd::Item => {
                self.flush();
                self.sentences = self.sentences.saturating_sub(1);
            }
            TagEnd::CodeBlock | TagEnd::HtmlBlock | TagEnd::MetadataBlock(_) | TagEnd::Image => {
                self.hidden = self.hidden.saturating_sub(1);
            }
            TagEnd::Link => self.close_link(),
            TagEnd::TableCell => {
                let cell = self.line.take();
                if !cell.is_empty() {
                    self.cells.push(cell);
                }
            }
            TagEnd::TableHead | TagEnd::TableRow => self.flush_row(),
            TagEnd::Paragraph
            | TagEnd::BlockQuote(_)
            | TagEnd::List(_)
            | TagEnd::FootnoteDefinition
            | TagEnd::Table
            | TagEnd::DefinitionList
            | TagEnd::DefinitionListTitle
            | TagEnd::DefinitionListDefinition => self.flush(),
            TagEnd::Emphasis
            | TagEnd::Strong
            | TagEnd::Strikethrough
            | TagEnd::Superscript
            | TagEnd::Subscript => {}
        }
    }

    /// Drops the text of a link that only repeats its URL.
    fn close_link(&mut self) {
        let Some(link) = self.links.pop() else {
            return;
        };

        let text = self.line.text.get(link.start..).unwrap_or_default().trim();
        let drop = match &link.drop_text {
            DropText::Always => true,
            DropText::IfEqualTo(url) => !text.is_empty() && is_same_url(text, url),
            DropText::Never => false,
        };

        if drop {
            self.line.text.truncate(link.start);
            self.line.pending_space = link.pending_space;
        }
    }

    /// Ends the current block, as a sentence inside headings and list items.
    fn flush(&mut self) {
        let mut text = self.line.take();
        if text.is_empty() {
            return;
        }

        if self.sentences > 0 {
            end_sentence(&mut text);
        }
        self.blocks.push(text);
    }

    /// Ends a table row: its cells joined by commas, read as one sentence.
    fn flush_row(&mut self) {
        let cells = std::mem::take(&mut self.cells);
        let mut row = String::new();
        for cell in cells {
            if !row.is_empty() {
                if !row.ends_with(SENTENCE_ENDS) && !row.ends_with(',') {
                    row.push(',');
                }
                row.push(' ');
            }
            row.push_str(&cell);
        }

        if row.is_empty() {
            return;
        }

        end_sentence(&mut row);
        self.blocks.push(row);
    }

    fn finish(mut self) -> String {
        self.flush();
        self.flush_row();

        self.blocks.join(PARAGRAPH_BREAK)
    }
}

/// Appends a period unless the text already ends as a sentence (closing quotes and brackets
/// after the end mark are allowed).
fn end_sentence(text: &mut String) {
    let core = text.trim_end_matches(CLOSERS);
    if !core.ends_with(SENTENCE_ENDS) {
        text.push('.');
    }
}

/// Whether a link's text is just its destination, with or without the scheme.
fn is_same_url(text: &str, url: &str) -> bool {
    let bare = |s: &str| {
        let s = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://")).unwrap_or(s);
        s.trim_end_matches('/').to_ascii_lowercase()
    };

    !url.is_empty() && bare(text) == bare(url)
}

#[cfg(test)]
mod tests {
    use super::speakable_text;

    #[test]
    fn link_text_is_kept_and_url_dropped() {
        let text = speakable_text("Read [the guide](https://example.org/guide \"Guide\") today.");

        assert_eq!(text, "Read the guide today.");
    }

    #[test]
    fn reference_link_text_is_kept_and_definition_dropped() {
        let text = speakable_text("See [the docs][d] now.\n\n[d]: https://example.org/docs");

        assert_eq!(text, "See the docs now.");
    }

    #[test]
    fn links_whose_text_is_their_url_are_dropped() {
        let markdown = "Visit <https://example.org/a> or [https://example.org](https://example.org/) \
                        or [example.org](http://example.org) soon.";

        assert_eq!(speakable_text(markdown), "Visit or or soon.");
    }

    #[test]
    fn email_autolinks_are_read() {
        assert_eq!(speakable_text("Write to <ada@example.org>."), "Write to ada@example.org.");
    }

    #[test]
    fn images_are_skipped_with_their_alt_text() {
        let markdown = "Before ![a chart of sales](chart.png \"Sales\") after.\n\n\
                        [![logo alt](logo.png)](https://example.org)\n\nEnd.";

        assert_eq!(speakable_text(markdown), "Before after.\n\nEnd.");
    }

    #[test]
    fn code_blocks_are_skipped() {
        let markdown = "Intro.\n\n```rust\nfn main() {}\n```\n\n    indented code\n\nOutro.";

        assert_eq!(speakable_text(markdown), "Intro.\n\nOutro.");
    }

    #[test]
    fn inline_code_keeps_its_text() {
        assert_eq!(speakable_text("Run `cargo` twice."), "Run cargo twice.");
    }

    #[test]
    fn html_blocks_and_inline_html_are_dropped() {
        let markdown = "<div class=\"note\">\n<p>hidden</p>\n</div>\n\n\
                        Line<br>next and <span>kept</span> words.";

        assert_eq!(speakable_text(markdown), "Line next and kept words.");
    }

    #[test]
    fn headings_end_as_sentences() {
        let markdown = "# Chapter one\n\n## Why now?\n\nSetext heading\n---\n\nBody text";

        assert_eq!(
            speakable_text(markdown),
            "Chapter one.\n\nWhy now?\n\nSetext heading.\n\nBody text"
        );
    }

    #[test]
    fn headings_ending_in_any_sentence_mark_get_no_extra_period() {
        let markdown = "# Note:\n\n# Stop!\n\n# Wait;\n\n# Said \"hello.\"\n\n# 目录。";

        assert_eq!(
            speakable_text(markdown),
            "Note:\n\nStop!\n\nWait;\n\nSaid \"hello.\"\n\n目录。"
        );
    }

    #[test]
    fn list_items_end_as_sentences() {
        let markdown = "- milk\n- bread.\n- eggs (brown)\n\n1. first\n2. second";

        assert_eq!(
            speakable_text(markdown),
            "milk.\n\nbread.\n\neggs (brown).\n\nfirst.\n\nsecond."
        );
    }

    #[test]
    fn nested_and_loose_list_items_end_as_sentences() {
        let markdown =
            "- parent\n  - child one\n  - child two\n\n- loose item\n\n  second paragraph";

        assert_eq!(
            speakable_text(markdown),
            "parent.\n\nchild one.\n\nchild two.\n\nloose item.\n\nsecond paragraph."
        );
    }

    #[test]
    fn task_list_markers_are_dropped() {
        assert_eq!(speakable_text("- [x] done\n- [ ] open"), "done.\n\nopen.");
    }

    #[test]
    fn table_cells_are_separated_and_rows_end_as_sentences() {
        let markdown = "| Name | Age |\n|---|---|\n| Ada | 36 |\n| Alan | |\n| Yes. | no |";

        assert_eq!(speakable_text(markdown), "Name, Age.\n\nAda, 36.\n\nAlan.\n\nYes. no.");
    }

    #[test]
    fn block_quotes_are_read_as_text() {
        let markdown = "He wrote:\n\n> To be or not to be.\n>\n> > Nested thought\n\nThen left.";

        assert_eq!(
            speakable_text(markdown),
            "He wrote:\n\nTo be or not to be.\n\nNested thought\n\nThen left."
        );
    }

    #[test]
    fn alert_markers_in_block_quotes_are_not_read() {
        assert_eq!(speakable_text("> [!NOTE]\n> Mind the gap."), "Mind the gap.");
    }

    #[test]
    fn footnote_references_are_dropped() {
        let markdown = "A claim[^1] stands.\n\n[^1]: The source.";

        assert_eq!(speakable_text(markdown), "A claim stands.\n\nThe source.");
    }

    #[test]
    fn paragraphs_are_separated_by_a_blank_line() {
        let markdown = "First paragraph.\n\n\n\nSecond paragraph.\n\n---\n\nThird.";

        assert_eq!(speakable_text(markdown), "First paragraph.\n\nSecond paragraph.\n\nThird.");
    }

    #[test]
    fn whitespace_is_collapsed() {
        let markdown = "  Many   spaces\tand\nsoft\u{2003}breaks  \\\nand a hard break.  ";

        assert_eq!(speakable_text(markdown), "Many spaces and soft breaks and a hard break.");
    }

    #[test]
    fn emphasis_and_strikethrough_keep_their_text() {
        assert_eq!(speakable_text("*Very* **bold** ~~old~~ words."), "Very bold old words.");
    }

    #[test]
    fn punctuation_is_not_rewritten() {
        let markdown = "It's \"quoted\" -- and --- dashed... 'single'.";

        assert_eq!(speakable_text(markdown), markdown);
    }

    #[test]
    fn emoji_cjk_and_rtl_text_pass_through_unchanged() {
        let paragraphs = [
            "Party time 🎉👩‍👩‍👧‍👦 with flags 🇫🇷.",
            "東京は日本の首都です。漢字とかなが混ざります！",
            "שלום עולם, זה טקסט בעברית.",
            "مرحبا بالعالم، هذا نص عربي؟",
        ];

        for paragraph in paragraphs {
            assert_eq!(speakable_text(paragraph), paragraph);
        }
    }

    #[test]
    fn empty_and_code_only_pages_speak_nothing() {
        assert_eq!(speakable_text(""), "");
        assert_eq!(speakable_text("```\nonly code\n```\n\n![img](x.png)"), "");
    }
}
