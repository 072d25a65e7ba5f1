//! Page splitting policy: a page holds at most the configured number of characters and is
//! cut at the most meaningful boundary available. In order of preference: before a
//! heading, at a blank line between paragraphs, at a line break, between words. A boundary
//! of the first three kinds is only taken if the page it closes is at least a quarter full,
//! so a heading near the top does not leave a nearly empty page behind.
//!
//! Only the whitespace at a cut is dropped; every other character is kept, in order. A
//! word longer than a whole page is the one case that is cut inside the word, at a
//! character boundary that does not separate a character from its combining marks.

/// A page closing at a structural boundary must be at least `1 / MIN_FILL_DIVISOR` full.
const MIN_FILL_DIVISOR: usize = 4;

/// How meaningful a boundary is; a higher rank is preferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    Word,
    Line,
    Paragraph,
    Heading,
}

/// A place to cut: the page ends at `end` (whitespace before it excluded) and the next
/// page starts at `next`.
#[derive(Debug, Clone, Copy)]
struct Cut {
    end: usize,
    next: usize,
    rank: Rank,
}

/// Splits Markdown into pages of at most `max_chars` characters (a `max_chars` of 0 is
/// treated as 1).
///
/// Text that fits is returned as one page, unchanged. Blank pages are never produced;
/// blank input gives no pages.
pub fn split_pages(markdown: &str, max_chars: usize) -> Vec<String> {
    let max = max_chars.max(1);
    let mut pages = Vec::new();
    let mut rest = markdown;

    while !rest.trim().is_empty() {
        let Some(window_end) = byte_offset_of_char(rest, max) else {
            pages.push(rest.to_owned());
            break;
        };

        let cut = choose_cut(rest, window_end, max);
        let page = rest[..cut.end].trim_end();
        if !page.trim().is_empty() {
            pages.push(page.to_owned());
        }
        rest = &rest[cut.next..];
    }

    pages
}

/// The byte offset of the character at index `index`, or `None` if `text` has no more
/// than `index` characters.
fn byte_offset_of_char(text: &str, index: usize) -> Option<usize> {
    text.char_indices().nth(index).map(|(offset, _)| offset)
}

/// Picks the cut for the page that starts `rest`, whose first `window_end` bytes hold
/// exactly `max` characters.
fn choose_cut(rest: &str, window_end: usize, max: usize) -> Cut {
    let min_fill = byte_offset_of_char(rest, max / MIN_FILL_DIVISOR).unwrap_or(0);
    let cuts = candidate_cuts(rest, window_end);

    for rank in [Rank::Heading, Rank::Paragraph, Rank::Line] {
        if let Some(cut) = cuts.iter().rev().find(|cut| cut.rank >= rank && cut.end >= min_fill) {
            return *cut;
        }
    }

    if let Some(cut) = cuts.iter().rev().find(|cut| cut.rank == Rank::Word) {
        return *cut;
    }

    if let Some(cut) = cuts.last() {
        return *cut;
    }

    let end = hard_cut(rest, window_end);
    Cut { end, next: end, rank: Rank::Word }
}

/// Every boundary whose page (trailing whitespace removed) fits in the window, in order.
fn candidate_cuts(rest: &str, window_end: usize) -> Vec<Cut> {
    let mut cuts = Vec::new();
    let mut in_fence = false;
    let mut previous_blank = false;
    let mut line_start = 0usize;

    while line_start < rest.len() {
        let line_end = rest[line_start..].find('\n').map_or(rest.len(), |i| line_start + i);
        let line = &rest[line_start..line_end];
        let blank = line.trim().is_empty();

        if line_start > 0 && !blank {
            let end = rest[..line_start].trim_end().len();
            if end > window_end {
                break;
            }
            if end > 0 {
                let rank = if in_fence {
                    Rank::Line
                } else if is_atx_heading(line) {
                    Rank::Heading
                } else if previous_blank {
                    Rank::Paragraph
                } else {
                    Rank::Line
                };
                cuts.push(Cut { end, next: line_start, rank });
            }
        }

        if !blank {
            if line_start > window_end {
                break;
            }
            push_word_cuts(rest, line_start, line_end, window_end, &mut cuts);
        }

        if is_fence(line) {
            in_fence = !in_fence;
        }
        previous_blank = blank;
        line_start = line_end + 1;
    }

    cuts.sort_by_key(|cut| cut.end);
    cuts
}

/// Adds a cut at every run of spaces or tabs inside a line that starts within the window.
fn push_word_cuts(
    rest: &str,
    line_start: usize,
    line_end: usize,
    window_end: usize,
    cuts: &mut Vec<Cut>,
) {
    let line = &rest[line_start..line_end];
    let content_start = line_start + (line.len() - line.trim_start().len());
    let mut run_start: Option<usize> = None;

    for (offset, c) in rest[content_start..line_end].char_indices() {
        let at = content_start + offset;
        if c == ' ' || c == '\t' {
            run_start.get_or_insert(at);
        } else if let Some(start) = run_start.take() {
            if start > window_end {
                return;
            }
            cuts.push(Cut { end: start, next: at, rank: Rank::Word });
        }
    }
}

/// Whether a line opens or closes a fenced code block.
fn is_fence(line: &str) -> bool {
    let indent = line.len() - line.trim_start_matches(' ').len();
    let body = line.trim_start_matches(' ');

    indent <= 3 && (body.starts_with("```") || body.starts_with("~~~"))
}

/// Whether a line is an ATX heading (`#` to `######`, then a space or the line's end).
fn is_atx_heading(line: &str) -> bool {
    let indent = line.len() - line.trim_start_matches(' ').len();
    let body = line.trim_start_matches(' ');
    let hashes = body.len() - body.trim_start_matches('#').len();
    let after = &body[hashes..];

    indent <= 3
        && (1..=6).contains(&hashes)
        && (after.is_empty() || after.starts_with(' ') || after.starts_with('\t'))
}

/// The last resort for a word longer than a page: cut at `window_end`, moved back so a
/// character is not separated from the marks and joiners that belong to it.
fn hard_cut(rest: &str, window_end: usize) -> usize {
    let mut cut = window_end;

    while cut > 0 {
        let next = rest[cut..].chars().next();
        let previous = rest[..cut].chars().next_back();
        let attached = next.is_some_and(extends_previous) || previous == Some(ZERO_WIDTH_JOINER);
        if !attached {
            break;
        }
        cut -= previous.map_or(1, char::len_utf8);
    }

    if cut == 0 { window_end } else { cut }
}

const ZERO_WIDTH_JOINER: char = '\u{200D}';

/// Characters that belong to the character before them: combining marks, variation
/// selectors, emoji skin-tone modifiers, tag characters and the zero-width joiner.
fn extends_previous(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{0483}'..='\u{0489}'
        | '\u{0591}'..='\u{05BD}'
        | '\u{0610}'..='\u{061A}'
        | '\u{064B}'..='\u{065F}'
        | '\u{0900}'..='\u{0903}'
        | '\u{093A}'..='\u{094F}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{200D}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{3099}'..='\u{309A}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FE20}'..='\u{FE2F}'
        | '\u{1F3FB}'..='\u{1F3FF}'
        | '\u{E0020}'..='\u{E007F}'
        | '\u{E0100}'..='\u{E01EF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks that the pages are the original text, in order, with only whitespace
    /// between them.
    fn assert_lossless(original: &str, pages: &[String]) {
        let mut position = 0;
        for page in pages {
            let found = original[position..].find(page.as_str()).unwrap_or_else(|| {
                panic!("page not found in order: {page:?}");
            });
            assert!(
                original[position..position + found].trim().is_empty(),
                "non-whitespace dropped before {page:?}"
            );
            position += found + page.len();
        }
        assert!(original[position..].trim().is_empty(), "text dropped at the end");
    }

    fn assert_fits(pages: &[String], max: usize) {
        for page in pages {
            assert!(page.chars().count() <= max, "page too long: {page:?}");
            assert!(!page.trim().is_empty(), "blank page");
        }
    }

    #[test]
    fn short_text_is_one_unchanged_page() {
        let text = "  # Title\n\nBody text.  \n";

        assert_eq!(split_pages(text, 100), vec![text.to_owned()]);
    }

    #[test]
    fn blank_text_gives_no_pages() {
        assert!(split_pages("", 10).is_empty());
        assert!(split_pages(" \n\n\t ", 10).is_empty());
    }

    #[test]
    fn splits_before_headings_first() {
        let text = "# One\n\nFirst paragraph here.\n\nSecond paragraph.\n\n## Two\n\nMore text.";

        let pages = split_pages(text, 60);

        assert_eq!(pages[0], "# One\n\nFirst paragraph here.\n\nSecond paragraph.");
        assert_eq!(pages[1], "## Two\n\nMore text.");
        assert_lossless(text, &pages);
    }

    #[test]
    fn heading_too_close_to_the_top_does_not_leave_a_tiny_page() {
        let body = "Lorem ipsum dolor sit amet. ".repeat(3);
        let text = format!("# T\n\n{body}\n\n{body}");

        let pages = split_pages(&text, 100);

        assert!(pages[0].starts_with("# T\n\nLorem"));
        assert_fits(&pages, 100);
        assert_lossless(&text, &pages);
    }

    #[test]
    fn splits_at_paragraphs_when_there_is_no_heading() {
        let text = "aaaa bbbb cccc.\n\ndddd eeee ffff.\n\ngggg hhhh iiii.";

        let pages = split_pages(text, 35);

        assert_eq!(pages, vec!["aaaa bbbb cccc.\n\ndddd eeee ffff.", "gggg hhhh iiii."]);
    }

    #[test]
    fn splits_at_lines_when_there_is_no_paragraph_break() {
        let text = "line one is here\nline two is here\nline three is here";

        let pages = split_pages(text, 40);

        assert_eq!(pages, vec!["line one is here\nline two is here", "line three is here"]);
    }

    #[test]
    fn splits_between_words_in_a_long_line() {
        let text = "alpha beta gamma delta epsilon zeta eta theta iota kappa";

        let pages = split_pages(text, 20);

        assert_fits(&pages, 20);
        assert_lossless(text, &pages);
        for page in &pages {
            assert!(text.split(' ').any(|word| page.starts_with(word)));
            assert!(!page.starts_with(' ') && !page.ends_with(' '));
        }
        let rejoined: Vec<&str> = pages.iter().flat_map(|p| p.split(' ')).collect();
        let words: Vec<&str> = text.split(' ').collect();
        assert_eq!(rejoined, words);
    }

    #[test]
    fn a_word_longer_than_a_page_is_cut_at_character_boundaries() {
        let text = "é".repeat(25);

        let pages = split_pages(&text, 10);

        assert_eq!(pages.len(), 3);
        assert_fits(&pages, 10);
        assert_eq!(pages.concat(), text);
    }

    #[test]
    fn hard_cut_keeps_combining_marks_and_emoji_sequences_whole() {
        let accented = format!("{}e\u{301}e\u{301}", "a".repeat(9));
        let family = format!("{}👨\u{200D}👩\u{200D}👧", "b".repeat(8));

        for text in [accented, family] {
            let pages = split_pages(&text, 10);

            assert_fits(&pages, 10);
            assert_eq!(pages.concat(), text);
            for page in &pages[1..] {
                let first = page.chars().next().unwrap();
                assert!(!extends_previous(first), "page starts with a joiner: {page:?}");
            }
        }
    }

    #[test]
    fn headings_inside_code_fences_are_not_heading_boundaries() {
        let text = "Intro text here.\n\n```\n# not a heading\nmore code\n```\n\nTail.";

        let pages = split_pages(text, 40);

        assert_fits(&pages, 40);
        assert_lossless(text, &pages);
        assert!(pages.iter().all(|page| !page.starts_with("# not a heading")));
    }

    #[test]
    fn indentation_of_the_next_page_is_kept() {
        let text = "A paragraph that fills.\n\n    indented code line";

        let pages = split_pages(text, 30);

        assert_eq!(pages, vec!["A paragraph that fills.", "    indented code line"]);
    }

    #[test]
    fn hostile_and_multilingual_text_survives_splitting() {
        let text =
            "'; DROP TABLE documents; -- 😀👍🏽 日本語のテキスト مرحبا بالعالم שלום\n\n".repeat(40);

        let pages = split_pages(&text, 200);

        assert!(pages.len() > 1);
        assert_fits(&pages, 200);
        assert_lossless(&text, &pages);
        assert!(pages[0].starts_with("'; DROP TABLE documents; -- 😀👍🏽 日本語"));
    }

    #[test]
    fn zero_limit_is_treated_as_one() {
        assert_eq!(split_pages("ab c", 0), vec!["a", "b", "c"]);
    }

    #[test]
    fn randomized_inputs_are_lossless_and_fit() {
        let pieces = [
            "word",
            " ",
            "\n",
            "\n\n",
            "# Head\n",
            "- item\n",
            "日本",
            "😀",
            "e\u{301}",
            "\t",
            "```\n",
            "longerwordthanusual",
        ];
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..300 {
            let mut text = String::new();
            for _ in 0..60 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                text.push_str(pieces[(seed % pieces.len() as u64) as usize]);
            }
            let max = 5 + (seed % 40) as usize;

            let pages = split_pages(&text, max);

            assert_fits(&pages, max);
            assert_lossless(&text, &pages);
        }
    }
}
