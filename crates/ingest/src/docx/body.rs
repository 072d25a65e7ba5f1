//! Converts `word/document.xml` into Markdown sections (pages between explicit breaks).
//!
//! What is kept: paragraph text, headings (Title and Heading 1–6 styles, or an outline
//! level), bold and italic runs, bulleted and numbered lists nested by level, tables as
//! pipe tables (a table inside a cell is flattened into the cell), and hyperlinks whose
//! target is http, https or mailto. What is dropped: deleted revisions, field codes,
//! drawings and text boxes, comments and footnote references. A line break inside a
//! paragraph becomes a space.

use std::collections::HashMap;

use quick_xml::events::{BytesStart, Event};

use super::parts::{
    Numbering, Styles, attribute, is_on, local_name, resolve_reference, xml_reader,
};
use crate::markdown::{
    Block, escape_block_start, escape_cell, escape_inline, link_destination, render_blocks,
};
use crate::{IngestError, clean_title};

/// The counters of lists made by style names alone (no numbering id can contain a NUL).
const NAMED_LIST: &str = "\u{0}named";

/// Word lists have levels 0 to 8; a larger level in a file is taken as the deepest.
pub(super) const MAX_LIST_LEVEL: usize = 8;

/// Elements whose whole content is left out.
const SKIPPED: &[&str] = &[
    "del",
    "moveFrom",
    "delText",
    "instrText",
    "drawing",
    "pict",
    "object",
    "AlternateContent",
    "txbxContent",
    "sdtPr",
    "fldData",
    "pPrChange",
    "rPrChange",
    "sectPrChange",
    "tblPrChange",
    "trPrChange",
    "tcPrChange",
    "numberingChange",
    "footnoteReference",
    "endnoteReference",
    "commentReference",
];

/// The parts that give meaning to the main document.
pub(super) struct Context<'a> {
    pub styles: &'a Styles,
    pub numbering: &'a Numbering,
    pub links: &'a HashMap<String, String>,
}

/// The converted document.
pub(super) struct Converted {
    /// Markdown of each section between explicit page breaks.
    pub sections: Vec<String>,
    /// The text of the first Title-style paragraph, else of the first level-1 heading.
    pub title: Option<String>,
}

/// A run of text with its formatting.
#[derive(Debug, Clone, PartialEq)]
struct Segment {
    text: String,
    bold: bool,
    italic: bool,
    link: Option<String>,
}

/// The paragraph being read.
#[derive(Debug, Default)]
struct Paragraph {
    style: Option<String>,
    numbering: Option<(String, usize)>,
    outline_level: Option<u8>,
    break_before: bool,
    break_after: bool,
    segments: Vec<Segment>,
}

/// Properties of the run being read.
#[derive(Debug, Default, Clone, Copy)]
struct RunFormat {
    bold: bool,
    italic: bool,
}

/// Where in the document the reader is.
#[derive(Debug, Default)]
struct Position {
    in_paragraph_properties: bool,
    in_run: bool,
    in_run_properties: bool,
    in_text: bool,
    in_numbering_properties: bool,
    in_section_properties: bool,
}

/// A table being read; rows of cells of inline Markdown.
#[derive(Debug, Default)]
struct Table {
    rows: Vec<Vec<String>>,
}

struct Converter<'a> {
    context: &'a Context<'a>,
    sections: Vec<String>,
    blocks: Vec<Block>,
    paragraphs: Vec<Paragraph>,
    tables: Vec<Table>,
    format: RunFormat,
    link: Option<String>,
    position: Position,
    skip_depth: usize,
    counters: HashMap<String, Vec<Option<u32>>>,
    chars: usize,
    max_chars: usize,
    title: Option<String>,
    first_heading: Option<String>,
}

/// Converts the main document part.
pub(super) fn convert(
    xml: &str,
    context: &Context<'_>,
    max_chars: usize,
) -> Result<Converted, IngestError> {
    let mut converter = Converter {
        context,
        sections: Vec::new(),
        blocks: Vec::new(),
        paragraphs: Vec::new(),
        tables: Vec::new(),
        format: RunFormat::default(),
        link: None,
        position: Position::default(),
        skip_depth: 0,
        counters: HashMap::new(),
        chars: 0,
        max_chars,
        title: None,
        first_heading: None,
    };

    let mut reader = xml_reader(xml);
    loop {
        match reader.read_event().map_err(|_| IngestError::Unreadable)? {
            Event::Start(element) => converter.start(&element)?,
            Event::End(element) => converter.end(element.name().local_name().into_inner())?,
            Event::Text(text) => {
                let text = text.xml10_content();
                converter.text(&text)?;
            }
            Event::CData(text) => {
                let text = text.xml10_content();
                converter.text(&text)?;
            }
            Event::GeneralRef(reference) => {
                let text = resolve_reference(&reference).ok_or(IngestError::Unreadable)?;
                converter.text(&text)?;
            }
            Event::Eof => break,
            _ => {}
        }
    }

    converter.flush_section();
    let title = converter.title.or(converter.first_heading);

    Ok(Converted { sections: converter.sections, title })
}

impl Converter<'_> {
    fn start(&mut self, element: &BytesStart<'_>) -> Result<(), IngestError> {
        let name = local_name(element);
        if self.skip_depth > 0 || SKIPPED.contains(&name.as_str()) {
            self.skip_depth += 1;
            return Ok(());
        }

        match name.as_str() {
            "p" => self.paragraphs.push(Paragraph::default()),
            "pPr" => self.position.in_paragraph_properties = true,
            "pStyle" if self.position.in_paragraph_properties => {
                if let Some(paragraph) = self.paragraphs.last_mut() {
                    paragraph.style = attribute(element, "val");
                }
            }
            "numPr" if self.position.in_paragraph_properties => {
                self.position.in_numbering_properties = true
            }
            "ilvl" | "numId" if self.position.in_numbering_properties => {
                self.numbering_property(&name, element)
            }
            "outlineLvl" if self.position.in_paragraph_properties => {
                if let Some(paragraph) = self.paragraphs.last_mut() {
                    paragraph.outline_level = attribute(element, "val")
                        .and_then(|v| v.parse::<u8>().ok())
                        .filter(|level| *level < 6)
                        .map(|level| level + 1);
                }
            }
            "pageBreakBefore" if self.position.in_paragraph_properties && is_on(element) => {
                if let Some(paragraph) = self.paragraphs.last_mut() {
                    paragraph.break_before = true;
                }
            }
            "sectPr" if self.position.in_paragraph_properties => {
                self.position.in_section_properties = true;
                if let Some(paragraph) = self.paragraphs.last_mut() {
                    paragraph.break_after = true;
                }
            }
            "type" if self.position.in_section_properties => {
                if attribute(element, "val").as_deref() == Some("continuous")
                    && let Some(paragraph) = self.paragraphs.last_mut()
                {
                    paragraph.break_after = false;
                }
            }
            "r" => {
                self.position.in_run = true;
                self.format = RunFormat::default();
            }
            "rPr" if self.position.in_run && !self.position.in_paragraph_properties => {
                self.position.in_run_properties = true;
            }
            "b" if self.position.in_run_properties => self.format.bold = is_on(element),
            "i" if self.position.in_run_properties => self.format.italic = is_on(element),
            "rStyle" if self.position.in_run_properties => {
                let style = attribute(element, "val").unwrap_or_default().to_ascii_lowercase();
                self.format.bold |= style.contains("strong");
                self.format.italic |= style.contains("emphasis");
            }
            "t" if self.position.in_run => self.position.in_text = true,
            "tab" | "cr" if self.position.in_run => self.push_text(" ")?,
            "noBreakHyphen" if self.position.in_run => self.push_text("-")?,
            "br" if self.position.in_run => {
                if attribute(element, "type").as_deref() == Some("page") && self.tables.is_empty() {
                    self.page_break_inside_paragraph();
                } else {
                    self.push_text(" ")?;
                }
            }
            "hyperlink" => {
                self.link = attribute(element, "id")
                    .and_then(|id| self.context.links.get(&id))
                    .and_then(|url| link_destination(url));
            }
            "tbl" => self.tables.push(Table::default()),
            "tr" => {
                if let Some(table) = self.tables.last_mut() {
                    table.rows.push(Vec::new());
                }
            }
            "tc" => {
                if let Some(row) = self.tables.last_mut().and_then(|t| t.rows.last_mut()) {
                    row.push(String::new());
                }
            }
            _ => {}
        }

        Ok(())
    }

    fn numbering_property(&mut self, name: &str, element: &BytesStart<'_>) {
        let Some(paragraph) = self.paragraphs.last_mut() else { return };
        let (mut num_id, mut level) = paragraph.numbering.take().unwrap_or_default();
        let value = attribute(element, "val").unwrap_or_default();

        if name == "ilvl" {
            level = value.parse::<usize>().unwrap_or(0).min(MAX_LIST_LEVEL);
        } else {
            num_id = value;
        }
        paragraph.numbering = Some((num_id, level));
    }

    fn end(&mut self, name: &str) -> Result<(), IngestError> {
        if self.skip_depth > 0 {
            self.skip_depth -= 1;
            return Ok(());
        }

        match name {
            "p" => self.end_paragraph(),
            "pPr" => self.position.in_paragraph_properties = false,
            "numPr" => self.position.in_numbering_properties = false,
            "sectPr" => self.position.in_section_properties = false,
            "r" => self.position.in_run = false,
            "rPr" => self.position.in_run_properties = false,
            "t" => self.position.in_text = false,
            "hyperlink" => self.link = None,
            "tbl" => self.end_table(),
            _ => {}
        }

        Ok(())
    }

    fn text(&mut self, text: &str) -> Result<(), IngestError> {
        if self.skip_depth == 0 && self.position.in_text {
            self.push_text(text)?;
        }
        Ok(())
    }

    /// Adds text to the current paragraph, counting it against the character limit.
    fn push_text(&mut self, text: &str) -> Result<(), IngestError> {
        self.chars = self.chars.saturating_add(text.chars().count());
        if self.chars > self.max_chars {
            return Err(IngestError::TooLarge);
        }

        let format = self.format;
        let link = self.link.clone();
        let Some(paragraph) = self.paragraphs.last_mut() else { return Ok(()) };
        let text: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();

        match paragraph.segments.last_mut() {
            Some(last)
                if last.bold == format.bold
                    && last.italic == format.italic
                    && last.link == link =>
            {
                last.text.push_str(&text);
            }
            _ => paragraph.segments.push(Segment {
                text,
                bold: format.bold,
                italic: format.italic,
                link,
            }),
        }

        Ok(())
    }

    /// A page break in a run: what came before ends the page, the rest of the paragraph
    /// starts the next one.
    fn page_break_inside_paragraph(&mut self) {
        let Some(paragraph) = self.paragraphs.last_mut() else { return };
        let before = Paragraph {
            style: paragraph.style.clone(),
            numbering: paragraph.numbering.clone(),
            outline_level: paragraph.outline_level,
            break_before: paragraph.break_before,
            break_after: true,
            segments: std::mem::take(&mut paragraph.segments),
        };
        paragraph.break_before = false;

        self.finish_paragraph(before);
    }

    fn end_paragraph(&mut self) {
        let Some(paragraph) = self.paragraphs.pop() else { return };

        if let Some(cell) =
            self.tables.last_mut().and_then(|t| t.rows.last_mut()).and_then(|r| r.last_mut())
        {
            let inline = render_inline(&paragraph.segments, false);
            if !inline.trim().is_empty() {
                if !cell.is_empty() {
                    cell.push(' ');
                }
                cell.push_str(inline.trim());
            }
            return;
        }
        if !self.tables.is_empty() {
            return;
        }

        self.finish_paragraph(paragraph);
    }

    /// Turns a body paragraph into a block.
    fn finish_paragraph(&mut self, paragraph: Paragraph) {
        if paragraph.break_before {
            self.flush_section();
        }

        let styles = self.context.styles;
        let style = paragraph.style.as_deref();
        let heading =
            paragraph.outline_level.or_else(|| style.and_then(|s| styles.heading_level(s)));
        let numbering = paragraph
            .numbering
            .clone()
            .or_else(|| style.and_then(|s| styles.numbering(s)))
            .filter(|(num_id, _)| !num_id.is_empty() && num_id != "0");
        let named_list = style.and_then(|s| styles.list_by_name(s));
        let is_title_style = style.is_some_and(|s| styles.is_title(s));

        let has_text = paragraph.segments.iter().any(|s| !s.text.trim().is_empty());
        if has_text {
            let block = if let Some(level) = heading {
                let text = render_inline(&paragraph.segments, false).trim().to_owned();
                if is_title_style && self.title.is_none() {
                    self.title = clean_title(&plain_text(&paragraph.segments));
                }
                if level == 1 && self.first_heading.is_none() {
                    self.first_heading = clean_title(&plain_text(&paragraph.segments));
                }
                Block::Heading { level, text }
            } else if let Some((num_id, level)) = numbering {
                let number = self.next_number(&num_id, level);
                Block::ListItem {
                    level,
                    number,
                    text: render_inline(&paragraph.segments, true).trim().to_owned(),
                }
            } else if let Some((ordered, level)) = named_list {
                let number = ordered.then(|| self.next_number_for_named(level));
                Block::ListItem {
                    level,
                    number,
                    text: render_inline(&paragraph.segments, true).trim().to_owned(),
                }
            } else {
                Block::Paragraph(render_inline(&paragraph.segments, true).trim().to_owned())
            };
            if named_list.is_none() {
                self.counters.remove(NAMED_LIST);
            }
            self.blocks.push(block);
        }

        if paragraph.break_after {
            self.flush_section();
        }
    }

    /// The number of the next item at `level` of list `num_id` (`None` for bullets).
    fn next_number(&mut self, num_id: &str, level: usize) -> Option<u32> {
        let definition = self.context.numbering.level(num_id, level);
        let counters = self.counters.entry(num_id.to_owned()).or_default();
        if counters.len() <= level {
            counters.resize(level + 1, None);
        }
        counters.truncate(level + 1);

        let next = counters[level].map_or(definition.start, |n| n.saturating_add(1));
        counters[level] = Some(next);

        definition.ordered.then_some(next)
    }

    /// The number of the next item of a list made by style names alone; such a list
    /// restarts after any other paragraph.
    fn next_number_for_named(&mut self, level: usize) -> u32 {
        let counters = self.counters.entry(NAMED_LIST.to_owned()).or_default();
        if counters.len() <= level {
            counters.resize(level + 1, None);
        }
        counters.truncate(level + 1);

        let next = counters[level].map_or(1, |n| n.saturating_add(1));
        counters[level] = Some(next);
        next
    }

    fn end_table(&mut self) {
        let Some(table) = self.tables.pop() else { return };

        let cells_text = || table.rows.iter().flatten().map(|c| c.trim()).filter(|c| !c.is_empty());
        if let Some(cell) =
            self.tables.last_mut().and_then(|t| t.rows.last_mut()).and_then(|r| r.last_mut())
        {
            for text in cells_text() {
                if !cell.is_empty() {
                    cell.push(' ');
                }
                cell.push_str(text);
            }
            return;
        }

        if cells_text().next().is_none() {
            return;
        }
        let rows: Vec<Vec<String>> = table
            .rows
            .iter()
            .filter(|row| !row.is_empty())
            .map(|row| row.iter().map(|cell| escape_cell(cell.trim())).collect())
            .collect();
        self.counters.remove(NAMED_LIST);
        self.blocks.push(Block::Table(rows));
    }

    fn flush_section(&mut self) {
        if !self.blocks.is_empty() {
            self.sections.push(render_blocks(&self.blocks));
            self.blocks.clear();
        }
    }
}

/// The text of segments without any Markdown.
fn plain_text(segments: &[Segment]) -> String {
    segments.iter().map(|s| s.text.as_str()).collect()
}

/// Writes segments as inline Markdown: escaped text, `**bold**`, `*italic*` and links.
/// With `block_start`, text that would open a heading, quote or list is escaped.
fn render_inline(segments: &[Segment], block_start: bool) -> String {
    let mut out = String::new();
    let mut index = 0;

    while index < segments.len() {
        let link = &segments[index].link;
        let end = segments[index..]
            .iter()
            .position(|s| &s.link != link)
            .map_or(segments.len(), |n| index + n);
        let group = &segments[index..end];
        let next_char = segments.get(end).and_then(|s| s.text.chars().next());
        let previous = out.chars().next_back();

        match link {
            Some(url) if group.iter().any(|s| !s.text.trim().is_empty()) => {
                let inner = render_formatted(group, None, None, false);
                out.push('[');
                out.push_str(inner.trim());
                out.push_str("](");
                out.push_str(url);
                out.push(')');
            }
            _ => {
                let at_start = block_start && out.trim().is_empty();
                out.push_str(&render_formatted(group, previous, next_char, at_start));
            }
        }
        index = end;
    }

    out
}

/// Writes segments that share a link (or none) with their emphasis. `previous` and
/// `next` are the characters around them, which decide whether delimiters can work.
fn render_formatted(
    segments: &[Segment],
    previous: Option<char>,
    next: Option<char>,
    block_start: bool,
) -> String {
    let mut out = String::new();

    for (index, segment) in segments.iter().enumerate() {
        let following = segments.get(index + 1).and_then(|s| s.text.chars().next()).or(next);
        let preceding = out.chars().next_back().or(previous);

        let text = segment.text.as_str();
        let core = text.trim();
        let leading = &text[..text.len() - text.trim_start().len()];
        let trailing = &text[text.trim_end().len()..];

        let mut escaped = escape_inline(core);
        let marker = match (segment.bold, segment.italic) {
            (true, true) => "***",
            (true, false) => "**",
            (false, true) => "*",
            (false, false) => "",
        };
        if block_start && marker.is_empty() && out.trim().is_empty() {
            escaped = escape_block_start(&escaped);
        }

        let before = if leading.is_empty() { preceding } else { Some(' ') };
        let after = if trailing.is_empty() { following } else { Some(' ') };
        let emphasized =
            !marker.is_empty() && !core.is_empty() && flanking_ok(before, &escaped, after);

        out.push_str(leading);
        if emphasized {
            out.push_str(marker);
            out.push_str(&escaped);
            out.push_str(marker);
        } else {
            out.push_str(&escaped);
        }
        out.push_str(trailing);
    }

    out
}

/// Whether `*` delimiters around `content` open and close as emphasis given the
/// characters on either side (CommonMark's flanking rules).
fn flanking_ok(before: Option<char>, content: &str, after: Option<char>) -> bool {
    let first = content.chars().next();
    let last = content.chars().next_back();
    let punctuation = |c: Option<char>| {
        c.is_some_and(|c| c.is_ascii_punctuation() || (!c.is_alphanumeric() && !c.is_whitespace()))
    };
    let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);

    let opens = !(punctuation(first) && word(before));
    let closes = !(punctuation(last) && word(after));

    opens && closes
}
