//! Turns the positioned lines of a PDF into Markdown, one string per page.
//!
//! Policy:
//! - Running headers and footers are removed: a line among the two topmost or two
//!   bottommost of its page, within the top or bottom 15 % of the page, whose text (digits
//!   ignored) and size recur there on more than half of the pages, or on at least three
//!   (chapter headers change with the chapter). A page number ("3", "Page 3 of 10",
//!   "- 3 -", "iv") as the very first or last line of a page, within those bands, is
//!   removed in any document of two pages or more.
//! - Headings: a line set noticeably larger than the body text is a heading, the largest
//!   size `#`, the next `##`, and so on; a short line that stands alone and is bold, in
//!   capitals or in title case is a heading one level below the size-based ones.
//! - Lines set entirely in a fixed-pitch font become code blocks (unless the whole
//!   document is set in one), keeping their lines and indentation.
//! - Dot leaders (". . . ." in a table of contents) are removed.
//! - Lines starting with a bullet or a number (`•`, `-`, `1.`, `2)`, `(a)`) are list
//!   items, nested by how far their marker is indented.
//! - Other lines are joined into paragraphs until a vertical gap, an indented first line
//!   or a change of font size; a word broken by a hyphen at the end of a line is rejoined.

use std::collections::{HashMap, HashSet};

use super::layout::Line;
use crate::markdown::{Block, escape_block_start, escape_inline, render_blocks};

/// Lines of each page that are checked for running headers or footers, at each end.
const EDGE_LINES: usize = 2;
/// A line repeated at a page edge on this many pages is running even if that is not more
/// than half of them (chapter headers change from chapter to chapter).
const MIN_RUNNING_PAGES: usize = 3;
/// The advance of one character of a fixed-pitch font, in font sizes.
const MONOSPACE_ADVANCE_EM: f32 = 0.6;
/// Body font size assumed for a page without text.
const DEFAULT_BODY_SIZE: f32 = 12.0;
/// Steps between lines larger than this many font sizes are not line spacing.
const MAX_LINE_STEP_EM: f32 = 3.0;
/// Page numbers have at most this many digits.
const MAX_PAGE_NUMBER_DIGITS: usize = 5;
/// Roman page numbers have at most this many letters.
const MAX_ROMAN_NUMERAL_LETTERS: usize = 6;
/// A capitalized heading has at least this many letters; a significant word this many.
const MIN_HEADING_LETTERS: usize = 4;
/// Words in a title-case heading, at least.
const MIN_TITLE_CASE_WORDS: usize = 2;
/// A list number has at most this many digits.
const MAX_LIST_NUMBER_DIGITS: usize = 3;
/// A parenthesized list label ("(iv)") has at most this many characters.
const MAX_LIST_LABEL_CHARS: usize = 3;
/// A run of at least this many leader characters (". . . .") is removed.
const MIN_LEADER_RUN: usize = 4;
/// Running headers and footers lie within this fraction of the page height from its edges.
const EDGE_BAND: f32 = 0.15;
/// A line at least this many times the body size is a heading.
const HEADING_SIZE_RATIO: f32 = 1.15;
/// Size-based heading levels used before all larger sizes share the last level.
const MAX_SIZE_LEVELS: usize = 3;
/// Lines longer than this are never headings.
const MAX_HEADING_CHARS: usize = 120;
/// Lines longer than this are never headings by style alone (bold, capitals, title case).
const MAX_STYLED_HEADING_CHARS: usize = 80;
/// Words in a title-case heading, at most.
const MAX_TITLE_CASE_WORDS: usize = 8;
/// A vertical step larger than this many times the usual line spacing ends a paragraph.
const PARAGRAPH_GAP_RATIO: f32 = 1.4;
/// Steps between body lines closer than this many font sizes are not line spacing.
const MIN_LEADING_EM: f32 = 0.8;
/// The usual line spacing is the step below which `1 / LEADING_PERCENTILE_DIVISOR` of the
/// steps between body lines fall: most steps are line spacing, the rest paragraph gaps.
const LEADING_PERCENTILE_DIVISOR: usize = 5;
/// Line spacing is taken to be at most this many font sizes, so a page whose lines are
/// all far apart is read as separate paragraphs rather than one.
const MAX_LEADING_EM: f32 = 1.6;
/// Line spacing assumed, as a multiple of the font size, when the document shows none.
const DEFAULT_LEADING_EM: f32 = 1.2;
/// A first line indented by more than this many font sizes starts a paragraph.
const INDENT_EM: f32 = 1.0;
/// List markers closer than this many font sizes horizontally are at the same level.
const LIST_INDENT_EM: f32 = 0.5;

/// The lines of one page and the vertical extent of the page.
#[derive(Debug, Clone)]
pub(crate) struct PageLines {
    /// The page's lines in content order.
    pub lines: Vec<Line>,
    /// The bottom and top of the page's media box, when it has a valid one.
    pub bounds: Option<(f32, f32)>,
}

/// Converts the lines of every page into Markdown, one string per page (blank pages give
/// empty strings).
pub(crate) fn pages_to_markdown(mut pages: Vec<PageLines>) -> Vec<String> {
    remove_running_lines(&mut pages);

    let lines: Vec<Vec<Line>> = pages.into_iter().map(|page| page.lines).collect();
    let style = DocumentStyle::measure(&lines);

    lines.iter().map(|lines| render_blocks(&page_blocks(lines, &style))).collect()
}

/// Removes running headers, footers and page numbers.
fn remove_running_lines(pages: &mut [PageLines]) {
    if pages.len() < 2 {
        return;
    }

    let mut seen_on: HashMap<String, usize> = HashMap::new();
    for page in pages.iter() {
        let lines = &page.lines;
        let keys: HashSet<String> =
            edge_indices(page).into_iter().map(|i| running_key(&lines[i])).collect();
        for key in keys {
            *seen_on.entry(key).or_default() += 1;
        }
    }
    let repeated: HashSet<String> = seen_on
        .into_iter()
        .filter(|(key, count)| {
            !key.is_empty()
                && *count >= 2
                && (count * 2 > pages.len() || *count >= MIN_RUNNING_PAGES)
        })
        .map(|(key, _)| key)
        .collect();

    for page in pages.iter_mut() {
        let edges = edge_indices(page);
        let outermost = outermost_indices(&page.lines);
        let mut index = 0;
        page.lines.retain(|line| {
            let drop = edges.contains(&index)
                && (repeated.contains(&running_key(line))
                    || (outermost.contains(&index) && is_page_number(&line.text)));
            index += 1;
            !drop
        });
    }
}

/// Indices of the [`EDGE_LINES`] topmost and bottommost lines of a page, if they lie in
/// the page's top or bottom band.
fn edge_indices(page: &PageLines) -> HashSet<usize> {
    let lines = &page.lines;
    let mut order: Vec<usize> =
        (0..lines.len()).filter(|i| !lines[*i].text.trim().is_empty()).collect();
    order.sort_by(|a, b| lines[*b].y.total_cmp(&lines[*a].y));

    let in_band = |y: f32| match page.bounds {
        Some((bottom, top)) => {
            let band = (top - bottom) * EDGE_BAND;
            y >= top - band || y <= bottom + band
        }
        None => true,
    };
    let top = order.iter().take(EDGE_LINES);
    let bottom = order.iter().rev().take(EDGE_LINES);

    top.chain(bottom).copied().filter(|i| in_band(lines[*i].y)).collect()
}

/// Indices of the topmost and the bottommost line of a page.
fn outermost_indices(lines: &[Line]) -> HashSet<usize> {
    let visible = || (0..lines.len()).filter(|i| !lines[*i].text.trim().is_empty());
    let top = visible().max_by(|a, b| lines[*a].y.total_cmp(&lines[*b].y));
    let bottom = visible().min_by(|a, b| lines[*a].y.total_cmp(&lines[*b].y));

    top.into_iter().chain(bottom).collect()
}

/// The text of a line with case, digit values and spacing ignored, so "Page 3" and
/// "Page 4" compare equal, and its font size, so a document title on its first page is
/// not taken for the same words repeated small as a running header.
fn running_key(line: &Line) -> String {
    let mut key = String::new();
    let mut last_digit = false;

    for word in line.text.split_whitespace() {
        if !key.is_empty() {
            key.push(' ');
            last_digit = false;
        }
        for c in word.chars() {
            if c.is_ascii_digit() {
                if !last_digit {
                    key.push('#');
                }
                last_digit = true;
            } else {
                key.extend(c.to_lowercase());
                last_digit = false;
            }
        }
    }

    if key.is_empty() { key } else { format!("{}|{key}", size_key(line.size)) }
}

/// Whether a line is only a page number, in one of the usual forms.
fn is_page_number(text: &str) -> bool {
    let lowered = text.trim().to_lowercase();
    let trimmed = lowered.trim_matches(|c: char| c.is_whitespace() || "-–—|[]()".contains(c));
    let without_word = ["page ", "p. ", "p.", "seite ", "página ", "pagina "]
        .iter()
        .find_map(|prefix| trimmed.strip_prefix(prefix))
        .unwrap_or(trimmed)
        .trim();

    let words: Vec<&str> = without_word.split_whitespace().collect();
    match words.as_slice() {
        [number] => {
            is_number(number)
                || number.split_once('/').is_some_and(|(a, b)| is_number(a) && is_number(b))
        }
        [a, "of" | "/" | "de" | "von", b] => is_number(a) && is_number(b),
        _ => false,
    }
}

fn is_number(word: &str) -> bool {
    let arabic = !word.is_empty()
        && word.len() <= MAX_PAGE_NUMBER_DIGITS
        && word.chars().all(|c| c.is_ascii_digit());
    let roman = !word.is_empty()
        && word.len() <= MAX_ROMAN_NUMERAL_LETTERS
        && word.chars().all(|c| "ivxlcdm".contains(c));

    arabic || roman
}

/// Sizes and spacing measured over the whole document.
struct DocumentStyle {
    body_size: f32,
    /// Most of the text is set in a fixed-pitch font, so it is not code.
    monospace_body: bool,
    heading_sizes: Vec<f32>,
    leading: f32,
}

impl DocumentStyle {
    fn measure(pages: &[Vec<Line>]) -> Self {
        let mut chars_by_size: HashMap<i32, usize> = HashMap::new();
        let (mut all_chars, mut monospace_chars) = (0usize, 0usize);
        for line in pages.iter().flatten() {
            let chars = line.text.chars().count();
            *chars_by_size.entry(size_key(line.size)).or_default() += chars;
            all_chars += chars;
            if line.monospace {
                monospace_chars += chars;
            }
        }
        let monospace_body = monospace_chars * 2 > all_chars;
        let body_key = chars_by_size
            .iter()
            .max_by_key(|(size, count)| (**count, -**size))
            .map(|(size, _)| *size);
        let body_size = body_key.map_or(DEFAULT_BODY_SIZE, key_size);

        let mut heading_keys: Vec<i32> = pages
            .iter()
            .flatten()
            .filter(|line| line.size >= body_size * HEADING_SIZE_RATIO)
            .filter(|line| line.text.chars().count() <= MAX_HEADING_CHARS)
            .map(|line| size_key(line.size))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        heading_keys.sort_unstable_by(|a, b| b.cmp(a));
        let heading_sizes = heading_keys.into_iter().map(key_size).collect();

        let mut steps: Vec<f32> = Vec::new();
        for lines in pages {
            for pair in lines.windows(2) {
                let step = pair[0].y - pair[1].y;
                let body_pair = size_key(pair[0].size) == size_key(body_size)
                    && size_key(pair[1].size) == size_key(body_size);
                if body_pair && step > 0.0 && step < body_size * MAX_LINE_STEP_EM {
                    steps.push(step);
                }
            }
        }
        steps.retain(|step| *step >= body_size * MIN_LEADING_EM);
        steps.sort_by(f32::total_cmp);
        let leading = steps
            .get(steps.len() / LEADING_PERCENTILE_DIVISOR)
            .copied()
            .unwrap_or(body_size * DEFAULT_LEADING_EM)
            .min(body_size * MAX_LEADING_EM);

        Self { body_size, monospace_body, heading_sizes, leading }
    }

    /// The heading level a font size gives, if any.
    fn size_level(&self, size: f32) -> Option<u8> {
        if size < self.body_size * HEADING_SIZE_RATIO {
            return None;
        }
        let key = size_key(size);
        let rank = self
            .heading_sizes
            .iter()
            .position(|s| size_key(*s) == key)
            .unwrap_or(self.heading_sizes.len());

        Some(level_from_rank(rank.min(MAX_SIZE_LEVELS - 1)))
    }

    /// The level of a heading recognized by style rather than size.
    fn styled_level(&self) -> u8 {
        level_from_rank(self.heading_sizes.len().min(MAX_SIZE_LEVELS)).max(2)
    }
}

/// The heading level of the `rank`-th largest heading size (0 is the largest).
fn level_from_rank(rank: usize) -> u8 {
    u8::try_from(rank + 1).unwrap_or(6).min(6)
}

/// Font sizes compared in half points.
fn size_key(size: f32) -> i32 {
    (size * 2.0).round() as i32
}

/// The font size a [`size_key`] stands for.
fn key_size(key: i32) -> f32 {
    key as f32 / 2.0
}

/// What a line is, before lines are grouped.
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Code,
    Heading(u8),
    Item { number: Option<u32>, text: String },
    Text,
}

/// A block being assembled from lines.
enum Open {
    None,
    Paragraph { text: String },
    Heading { level: u8, text: String },
    Item { level: usize, number: Option<u32>, text: String, marker_x: f32 },
    Code { lines: Vec<(f32, String)>, size: f32, last_y: f32 },
}

/// Groups the lines of one page into Markdown blocks.
fn page_blocks(lines: &[Line], style: &DocumentStyle) -> Vec<Block> {
    let cleaned: Vec<Line> = lines
        .iter()
        .map(|line| {
            let mut line = line.clone();
            if !line.monospace {
                line.text = strip_leaders(&line.text);
            }
            line
        })
        .collect();
    let lines: Vec<&Line> = cleaned.iter().filter(|line| !line.text.trim().is_empty()).collect();
    let breaks_before: Vec<bool> = (0..lines.len())
        .map(|i| i == 0 || starts_new_block(lines[i - 1], lines[i], style))
        .collect();

    let mut blocks = Vec::new();
    let mut open = Open::None;
    let mut list_markers: Vec<f32> = Vec::new();

    for (index, line) in lines.iter().enumerate() {
        let isolated =
            breaks_before[index] && breaks_before.get(index + 1).copied().unwrap_or(true);
        let kind = classify(line, isolated, style);
        let text = line.text.trim();

        open = match (open, &kind) {
            (Open::Heading { level, text: mut heading }, Kind::Heading(next))
                if *next == level && !breaks_before[index] =>
            {
                heading.push(' ');
                heading.push_str(text);
                Open::Heading { level, text: heading }
            }
            (Open::Code { mut lines, size, last_y }, Kind::Code) => {
                if last_y - line.y > style.leading * PARAGRAPH_GAP_RATIO {
                    lines.push((line.x, String::new()));
                }
                lines.push((line.x, line.text.trim_end().to_owned()));
                Open::Code { lines, size: size.max(line.size), last_y: line.y }
            }
            (Open::Paragraph { text: mut paragraph }, Kind::Text) if !breaks_before[index] => {
                join_line(&mut paragraph, text);
                Open::Paragraph { text: paragraph }
            }
            (Open::Item { level, number, text: mut item, marker_x }, Kind::Text)
                if !breaks_before[index] && continues_item(marker_x, line) =>
            {
                join_line(&mut item, text);
                Open::Item { level, number, text: item, marker_x }
            }
            (previous, _) => {
                close(previous, &mut blocks);
                match kind {
                    Kind::Code => {
                        list_markers.clear();
                        let lines = vec![(line.x, line.text.trim_end().to_owned())];
                        Open::Code { lines, size: line.size, last_y: line.y }
                    }
                    Kind::Heading(level) => {
                        list_markers.clear();
                        Open::Heading { level, text: text.to_owned() }
                    }
                    Kind::Item { number, text: item } => {
                        let level = list_level(&mut list_markers, line.x, line.size);
                        Open::Item { level, number, text: item, marker_x: line.x }
                    }
                    Kind::Text => {
                        list_markers.clear();
                        Open::Paragraph { text: text.to_owned() }
                    }
                }
            }
        };
    }
    close(open, &mut blocks);

    blocks
}

fn close(open: Open, blocks: &mut Vec<Block>) {
    match open {
        Open::None => {}
        Open::Paragraph { text, .. } => {
            blocks.push(Block::Paragraph(escape_block_start(&escape_inline(&text))))
        }
        Open::Heading { level, text, .. } => {
            blocks.push(Block::Heading { level, text: escape_inline(&text) })
        }
        Open::Code { lines, size, .. } => blocks.push(Block::Code(code_lines(&lines, size))),
        Open::Item { level, number, text, .. } => {
            blocks.push(Block::ListItem {
                level,
                number,
                text: escape_block_start(&escape_inline(&text)),
            });
        }
    }
}

/// Replaces runs of leader characters (". . . .", ": : : :", "____") with one space.
fn strip_leaders(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut index = 0;

    while index < chars.len() {
        let c = chars[index];
        if matches!(c, '.' | ':' | '·' | '…' | '_') {
            let mut end = index;
            let mut count = 0;
            while end < chars.len() && (chars[end] == c || chars[end] == ' ') {
                if chars[end] == c {
                    count += 1;
                }
                end += 1;
            }
            if count >= MIN_LEADER_RUN {
                if !out.ends_with(' ') {
                    out.push(' ');
                }
                index = end;
                continue;
            }
        }
        out.push(c);
        index += 1;
    }

    out.trim_end().to_owned()
}

/// Code lines with their indentation rebuilt from their horizontal positions.
fn code_lines(lines: &[(f32, String)], size: f32) -> Vec<String> {
    let left = lines
        .iter()
        .filter(|(_, text)| !text.is_empty())
        .map(|(x, _)| *x)
        .fold(f32::INFINITY, f32::min);
    let advance = (size * MONOSPACE_ADVANCE_EM).max(1.0);

    lines
        .iter()
        .map(|(x, text)| {
            let indent =
                if text.is_empty() { 0 } else { ((x - left) / advance).round().max(0.0) as usize };
            format!("{}{}", " ".repeat(indent), text.trim_start())
        })
        .collect()
}

/// Whether a line continues the list item whose marker is at `marker_x`: a line that
/// starts left of the marker is the text after the list.
fn continues_item(marker_x: f32, line: &Line) -> bool {
    line.x >= marker_x - LIST_INDENT_EM * line.size.max(1.0)
}

/// The nesting level of a list marker at `x`, tracking the markers seen in this list.
fn list_level(markers: &mut Vec<f32>, x: f32, size: f32) -> usize {
    let tolerance = LIST_INDENT_EM * size.max(1.0);

    while markers.last().is_some_and(|top| x < top - tolerance) {
        markers.pop();
    }
    match markers.last() {
        Some(top) if (x - top).abs() <= tolerance => {}
        _ => markers.push(x),
    }

    markers.len() - 1
}

/// Whether `line` starts a new block rather than continuing the one `previous` is in.
fn starts_new_block(previous: &Line, line: &Line, style: &DocumentStyle) -> bool {
    let step = previous.y - line.y;
    let size = line.size.max(previous.size).max(1.0);
    let leading = style.leading * (size / style.body_size.max(1.0));
    let ends_sentence =
        previous.text.trim_end().ends_with(['.', '!', '?', ':', '"', '”', '»', '。', '！', '？']);

    if size_key(previous.size) != size_key(line.size) {
        return true;
    }
    if step > leading * PARAGRAPH_GAP_RATIO {
        return true;
    }
    if step <= 0.0 {
        // Moved up or sideways: a new column or box. It continues the text only if the
        // previous line stopped mid-sentence.
        return ends_sentence;
    }

    ends_sentence && line.x > previous.x + INDENT_EM * size
}

fn classify(line: &Line, isolated: bool, style: &DocumentStyle) -> Kind {
    let text = line.text.trim();

    if line.monospace && !style.monospace_body {
        return Kind::Code;
    }
    if is_page_number(text) || !text.chars().any(char::is_alphabetic) {
        return Kind::Text;
    }
    // A numbered line in a heading size is a numbered heading ("1. Introduction").
    if text.chars().count() <= MAX_HEADING_CHARS
        && let Some(level) = style.size_level(line.size)
    {
        return Kind::Heading(level);
    }
    if let Some((number, item)) = list_item(text) {
        return Kind::Item { number, text: item.to_owned() };
    }
    if isolated && looks_like_styled_heading(text, line.bold) {
        return Kind::Heading(style.styled_level());
    }

    Kind::Text
}

/// A short line with no closing punctuation that is bold, in capitals or in title case.
fn looks_like_styled_heading(text: &str, bold: bool) -> bool {
    if text.chars().count() > MAX_STYLED_HEADING_CHARS || text.ends_with(['.', ',', ';', '!', '?'])
    {
        return false;
    }

    let letters: Vec<char> = text.chars().filter(|c| c.is_alphabetic()).collect();
    let all_caps = letters.len() >= MIN_HEADING_LETTERS
        && letters.iter().all(|c| !c.is_lowercase())
        && letters.iter().any(|c| c.is_uppercase());

    let words: Vec<&str> = text.split_whitespace().collect();
    let long_words: Vec<&&str> = words
        .iter()
        .filter(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= MIN_HEADING_LETTERS)
        .collect();
    let title_case = words.len() >= MIN_TITLE_CASE_WORDS
        && words.len() <= MAX_TITLE_CASE_WORDS
        && text.chars().next().is_some_and(char::is_uppercase)
        && !long_words.is_empty()
        && long_words
            .iter()
            .all(|w| w.chars().find(|c| c.is_alphabetic()).is_some_and(char::is_uppercase));

    bold || all_caps || title_case
}

/// Splits a list marker from the item's text: `Some(Some(n))` for a numbered item.
fn list_item(text: &str) -> Option<(Option<u32>, &str)> {
    let mut chars = text.chars();
    let first = chars.next()?;
    let after_first = chars.as_str();

    if "•●○◦▪▫■□‣⁃∙➢➤►▸✓✔".contains(first) {
        let item = after_first.trim_start();
        return (!item.is_empty()).then_some((None, item));
    }
    if "-–—*+·".contains(first) && after_first.starts_with([' ', '\t']) {
        let item = after_first.trim_start();
        return (!item.is_empty()).then_some((None, item));
    }

    let digits = text.len() - text.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if (1..=MAX_LIST_NUMBER_DIGITS).contains(&digits) {
        let rest = &text[digits..];
        if let Some(item) = rest.strip_prefix(['.', ')']).filter(|r| r.starts_with([' ', '\t'])) {
            let number = text[..digits].parse().ok();
            let item = item.trim_start();
            return (!item.is_empty()).then_some((number, item));
        }
    }

    if let Some(rest) = text.strip_prefix('(') {
        let close = rest.find(')')?;
        let label = &rest[..close];
        let after = &rest[close + 1..];
        let short_label = (1..=MAX_LIST_LABEL_CHARS).contains(&label.len())
            && label.chars().all(|c| c.is_ascii_alphanumeric());
        if short_label && after.starts_with(' ') && !after.trim().is_empty() {
            return Some(match label.parse() {
                Ok(number) => (Some(number), after.trim_start()),
                Err(_) => (None, text),
            });
        }
    }

    let mut chars = text.chars();
    if let (Some(letter), Some(')')) = (chars.next(), chars.next())
        && letter.is_ascii_lowercase()
        && chars.as_str().starts_with(' ')
        && !chars.as_str().trim().is_empty()
    {
        return Some((None, text));
    }

    None
}

/// Appends a line to a paragraph: a word hyphenated across the break is rejoined (the
/// hyphen dropped before a lowercase letter, kept before a capital or a digit, as in
/// "Austro-Hungarian" or "10-20"), CJK text is joined without a space, anything else with
/// one space.
fn join_line(paragraph: &mut String, next: &str) {
    let next_first = next.chars().next();

    if let Some(stripped) = paragraph.strip_suffix('\u{AD}') {
        paragraph.truncate(stripped.len());
        paragraph.push_str(next);
        return;
    }

    let mut tail = paragraph.chars().rev();
    let last = tail.next();
    let before_last = tail.next();
    if last == Some('-')
        && before_last.is_some_and(char::is_alphabetic)
        && next_first.is_some_and(char::is_lowercase)
    {
        paragraph.pop();
        paragraph.push_str(next);
        return;
    }

    if last == Some('-')
        && before_last.is_some_and(char::is_alphanumeric)
        && next_first.is_some_and(|c| c.is_uppercase() || c.is_ascii_digit())
    {
        paragraph.push_str(next);
        return;
    }

    if last.is_some_and(is_cjk) && next_first.is_some_and(is_cjk) {
        paragraph.push_str(next);
        return;
    }

    paragraph.push(' ');
    paragraph.push_str(next);
}

/// Scripts written without spaces between words.
fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3000}'..='\u{303F}'
        | '\u{3040}'..='\u{30FF}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{FF00}'..='\u{FFEF}')
}
