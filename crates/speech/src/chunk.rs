//! Splitting speakable text into chunks a speech engine accepts in one request.
//!
//! Policy, from the most to the least preferred cut:
//! 1. between sentences, found by the `sentencex` segmenter (so "Dr. Smith", "U.S." and
//!    "3.14" stay whole) and at paragraph breaks; whole sentences are packed greedily;
//! 2. inside a sentence longer than the limit, after a clause mark: `,` `;` `:` `–` followed
//!    by a space, an em dash `—`, or a full-width CJK mark (`，` `、` `；` `：`);
//! 3. inside a clause still longer than the limit, between words;
//! 4. inside a single word longer than the limit, on character boundaries.
//!
//! Whitespace runs become single spaces and the whitespace at a cut is dropped; no other
//! character is lost or added. Limits count characters (Unicode scalar values), not bytes.

/// The number of characters Amazon Polly accepts in one plain-text request.
pub const DEFAULT_MAX_CHARS: usize = 3_000;

/// The language whose sentence rules [`chunks`] applies.
pub const DEFAULT_LANGUAGE: &str = "en";

/// How large a chunk may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkLimits {
    /// Most characters in one chunk; default [`DEFAULT_MAX_CHARS`] (3,000, Polly's limit).
    /// A limit of 0 is treated as 1.
    pub max_chars: usize,
}

impl Default for ChunkLimits {
    fn default() -> Self {
        Self { max_chars: DEFAULT_MAX_CHARS }
    }
}

/// Splits English text into chunks of at most `max_chars` characters at sentence boundaries.
///
/// Same as [`chunks_in`] with the language `"en"`.
pub fn chunks(text: &str, max_chars: usize) -> Vec<String> {
    chunks_in(text, max_chars, DEFAULT_LANGUAGE)
}

/// Splits text into chunks of at most `max_chars` characters, with the sentence rules of
/// `language` (an ISO 639-1 code such as `"en"`, `"fr"` or `"ja"`; unknown codes fall back to
/// English rules).
///
/// No chunk is empty or starts or ends with whitespace. Whitespace-only text gives no chunks.
pub fn chunks_in(text: &str, max_chars: usize, language: &str) -> Vec<String> {
    let max_chars = max_chars.max(1);
    let mut packer = Packer::new(max_chars);

    for sentence in sentences(text, language) {
        packer.push_fitted(&sentence.text, sentence.space_before, Level::Clause);
    }

    packer.finish()
}

/// A sentence with its whitespace collapsed.
#[derive(Debug)]
struct Sentence {
    text: String,
    /// Whether whitespace separated it from the sentence before.
    space_before: bool,
}

/// Cuts the text where the segmenter found sentence ends and collapses whitespace.
///
/// Only the segmenter's end offsets are used, so text it might leave out of its sentences
/// is still kept.
fn sentences(text: &str, language: &str) -> Vec<Sentence> {
    let mut cuts: Vec<usize> = sentencex::get_sentence_boundaries(language, text)
        .iter()
        .map(|boundary| after_closers(text, boundary.end_byte))
        .filter(|&cut| cut > 0 && cut < text.len() && text.is_char_boundary(cut))
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    cuts.push(text.len());

    let mut sentences = Vec::new();
    let mut start = 0;
    let mut space_before = false;
    for cut in cuts {
        let raw = text.get(start..cut).unwrap_or_default();
        start = cut;

        let normalized = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        if normalized.is_empty() {
            space_before |= !raw.is_empty();
            continue;
        }

        sentences.push(Sentence {
            text: normalized,
            space_before: space_before || raw.starts_with(char::is_whitespace),
        });
        space_before = raw.ends_with(char::is_whitespace);
    }

    sentences
}

/// Characters that close a quotation or a bracket.
const CLOSERS: &[char] = &['"', '\'', ')', ']', '}', '”', '’', '»', '›', '」', '』', '）'];

/// Moves a sentence cut past closing quotes and brackets glued to the sentence end, so
/// `"Stop."` keeps its closing quote.
fn after_closers(text: &str, cut: usize) -> usize {
    let glued = text.get(..cut).is_some_and(|before| !before.ends_with(char::is_whitespace));
    if !glued {
        return cut;
    }

    let closers: usize = text
        .get(cut..)
        .unwrap_or_default()
        .chars()
        .take_while(|c| CLOSERS.contains(c))
        .map(char::len_utf8)
        .sum();

    cut + closers
}

/// How finely an over-long piece is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Clause,
    Word,
    Char,
}

/// Packs pieces greedily into chunks.
#[derive(Debug)]
struct Packer {
    max_chars: usize,
    chunks: Vec<String>,
    current: String,
    current_chars: usize,
}

impl Packer {
    fn new(max_chars: usize) -> Self {
        Self { max_chars, chunks: Vec::new(), current: String::new(), current_chars: 0 }
    }

    /// Adds a piece of any length, cutting it at `level` (and finer) if it exceeds the limit.
    fn push_fitted(&mut self, piece: &str, space_before: bool, level: Level) {
        if piece.chars().count() <= self.max_chars {
            self.push(piece, space_before);
            return;
        }

        let (parts, next) = match level {
            Level::Clause => (clauses(piece), Level::Word),
            Level::Word => (words(piece), Level::Char),
            Level::Char => (char_runs(piece, self.max_chars), Level::Char),
        };

        for (index, (part, part_space)) in parts.into_iter().enumerate() {
            let part_space = if index == 0 { space_before } else { part_space };
            self.push_fitted(part, part_space, next);
        }
    }

    /// Adds a piece of at most `max_chars` characters to the current chunk or a new one.
    fn push(&mut self, piece: &str, space_before: bool) {
        let piece_chars = piece.chars().count();
        let separator = usize::from(space_before && !self.current.is_empty());

        if !self.current.is_empty() && self.current_chars + separator + piece_chars > self.max_chars
        {
            self.flush();
        } else if separator == 1 {
            self.current.push(' ');
            self.current_chars += 1;
        }

        self.current.push_str(piece);
        self.current_chars += piece_chars;
    }

    fn flush(&mut self) {
        if !self.current.is_empty() {
            self.chunks.push(std::mem::take(&mut self.current));
        }
        self.current_chars = 0;
    }

    fn finish(mut self) -> Vec<String> {
        self.flush();

        self.chunks
    }
}

/// Whether a cut may follow `mark` when `next` comes after it.
fn is_clause_cut(mark: char, next: char) -> bool {
    match mark {
        ',' | ';' | ':' | '–' => next == ' ',
        '—' | '，' | '、' | '；' | '：' => true,
        _ => false,
    }
}

/// Cuts a single-spaced piece after its clause marks; each part says whether a space
/// preceded it.
fn clauses(piece: &str) -> Vec<(&str, bool)> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut space_before = false;
    let mut chars = piece.char_indices().peekable();

    while let Some((index, mark)) = chars.next() {
        let Some(&(_, next)) = chars.peek() else {
            break;
        };
        if !is_clause_cut(mark, next) {
            continue;
        }

        let end = index + mark.len_utf8();
        parts.push((piece.get(start..end).unwrap_or_default(), space_before));

        space_before = next == ' ';
        if space_before {
            chars.next();
            start = end + 1;
        } else {
            start = end;
        }
    }

    if let Some(rest) = piece.get(start..).filter(|rest| !rest.is_empty()) {
        parts.push((rest, space_before));
    }

    parts
}

/// Cuts a single-spaced piece between its words.
fn words(piece: &str) -> Vec<(&str, bool)> {
    piece.split(' ').filter(|word| !word.is_empty()).map(|word| (word, true)).collect()
}

/// Cuts a piece into runs of at most `max_chars` characters, on character boundaries.
fn char_runs(piece: &str, max_chars: usize) -> Vec<(&str, bool)> {
    let mut runs = Vec::new();
    let mut start = 0;
    let mut count = 0;

    for (index, _) in piece.char_indices() {
        if count == max_chars {
            runs.push((piece.get(start..index).unwrap_or_default(), false));
            start = index;
            count = 0;
        }
        count += 1;
    }

    if let Some(rest) = piece.get(start..).filter(|rest| !rest.is_empty()) {
        runs.push((rest, false));
    }

    runs
}

#[cfg(test)]
mod tests {
    use super::{ChunkLimits, DEFAULT_MAX_CHARS, chunks, chunks_in};

    fn normalized(text: &str) -> String {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    fn char_len(text: &str) -> usize {
        text.chars().count()
    }

    /// A small deterministic PRNG (xorshift64*) for generated inputs.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % n as u64).unwrap()
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len())]
        }
    }

    const WORDS: &[&str] = &[
        "the",
        "voice",
        "reads",
        "a",
        "page",
        "Dr.",
        "Smith",
        "U.S.",
        "e.g.",
        "Mr.",
        "Mrs.",
        "3.14",
        "\"quoted\"",
        "(aside)",
        "naïve",
        "café",
        "東京",
        "😀",
        "שלום",
        "—",
        "x",
        "document",
        "audio",
        "well,",
        "so;",
        "note:",
        "“curly”",
        "don't",
    ];
    const ENDS: &[&str] = &[".", "?", "!", "...", ".\"", "", "。"];
    const GAPS: &[&str] = &[" ", " ", " ", "  ", "\n", "\t", "\n\n", " \u{a0}"];

    fn generated_text(rng: &mut Rng, long_words: bool) -> String {
        let mut text = String::new();

        for _ in 0..rng.below(40) {
            for _ in 0..=rng.below(25) {
                if long_words && rng.below(8) == 0 {
                    let run = "ab".repeat(1 + rng.below(12));
                    text.push_str(&run);
                } else {
                    text.push_str(rng.pick(WORDS));
                }
                text.push_str(rng.pick(GAPS));
            }
            text.push_str(rng.pick(ENDS));
            text.push_str(rng.pick(GAPS));
        }

        text
    }

    #[test]
    fn default_limit_is_pollys() {
        assert_eq!(ChunkLimits::default().max_chars, DEFAULT_MAX_CHARS);
        assert_eq!(DEFAULT_MAX_CHARS, 3_000);
    }

    #[test]
    fn abbreviations_stay_inside_their_sentence() {
        let text = "Dr. Smith went to the U.S. last week. He met Mr. and Mrs. Jones there. \
                    Bring snacks, e.g. fruit or nuts. That is all.";

        assert_eq!(
            chunks(text, 40),
            [
                "Dr. Smith went to the U.S. last week.",
                "He met Mr. and Mrs. Jones there.",
                "Bring snacks, e.g. fruit or nuts.",
                "That is all."
            ]
        );
    }

    #[test]
    fn decimal_numbers_are_not_sentence_ends() {
        let text = "Pi is about 3.14 in most schools. The rate rose 2.5 percent.";

        assert_eq!(
            chunks(text, 35),
            ["Pi is about 3.14 in most schools.", "The rate rose 2.5 percent."]
        );
    }

    #[test]
    fn quoted_sentences_stay_with_their_quote() {
        let text = "She said \"Stop. Now.\" Then she left. Really? Yes!";

        assert_eq!(chunks(text, 21), ["She said \"Stop. Now.\"", "Then she left.", "Really? Yes!"]);
    }

    #[test]
    fn a_closing_quote_glued_to_a_sentence_end_stays_with_it() {
        let text = "Words (aside) .\" the \"quoted\" end.";

        assert_eq!(chunks(text, 20), ["Words (aside) .\"", "the \"quoted\" end."]);
    }

    #[test]
    fn whole_sentences_are_packed_greedily() {
        let text = "One two. Three four. Five six. Seven.";

        assert_eq!(chunks(text, 20), ["One two. Three four.", "Five six. Seven."]);
        assert_eq!(chunks(text, 1_000), ["One two. Three four. Five six. Seven."]);
    }

    #[test]
    fn a_paragraph_break_ends_a_sentence() {
        let text = "A heading without a stop\n\nThe body starts here.";

        assert_eq!(chunks(text, 30), ["A heading without a stop", "The body starts here."]);
    }

    #[test]
    fn an_over_long_sentence_is_cut_at_clause_marks() {
        let text = "First clause here, second clause here; third clause: fourth — and fifth.";

        assert_eq!(
            chunks(text, 25),
            ["First clause here,", "second clause here;", "third clause: fourth —", "and fifth."]
        );
    }

    #[test]
    fn commas_inside_numbers_are_not_clause_marks() {
        let text = "It cost 1,000,000 dollars and more besides that";

        assert_eq!(chunks(text, 20), ["It cost 1,000,000", "dollars and more", "besides that"]);
    }

    #[test]
    fn an_over_long_clause_is_cut_between_words() {
        let text = "one two three four five six seven eight nine ten";

        let pieces = chunks(text, 14);

        assert_eq!(pieces, ["one two three", "four five six", "seven eight", "nine ten"]);
    }

    #[test]
    fn only_a_word_longer_than_the_limit_is_cut_inside() {
        let text = "short Donaudampfschifffahrtsgesellschaft end";

        assert_eq!(
            chunks(text, 10),
            ["short", "Donaudampf", "schifffahr", "tsgesellsc", "haft end"]
        );
    }

    #[test]
    fn a_long_word_is_cut_on_character_boundaries() {
        let word = "é".repeat(7) + &"😀".repeat(5);

        let pieces = chunks(&word, 4);

        assert!(pieces.iter().all(|piece| char_len(piece) <= 4));
        assert_eq!(pieces.concat(), word);
        assert_eq!(pieces, ["éééé", "ééé😀", "😀😀😀😀"]);
    }

    #[test]
    fn the_limit_counts_characters_not_bytes() {
        let text = "Ça été très créé. Ünïcödé wörds.";

        assert_eq!(chunks(text, 17), ["Ça été très créé.", "Ünïcödé wörds."]);
    }

    #[test]
    fn cjk_text_is_cut_at_full_stops_then_characters() {
        let text = "今日は晴れです。明日は雨でしょう！本当ですか？はい";

        assert_eq!(chunks(text, 9), ["今日は晴れです。", "明日は雨でしょう！", "本当ですか？はい"]);
        assert_eq!(chunks(text, 6).concat(), text);
        assert_eq!(chunks("東京都渋谷区神宮前一丁目。", 5), ["東京都渋谷", "区神宮前一", "丁目。"]);
    }

    #[test]
    fn cjk_clause_marks_are_cut_points() {
        let text = "我们去了公园，看了花、喝了茶。";

        assert_eq!(chunks(text, 8), ["我们去了公园，", "看了花、喝了茶。"]);
    }

    #[test]
    fn sentences_glued_without_a_space_are_not_given_one() {
        let text = "It ended.Then it began again.";

        let pieces = chunks(text, 10);

        assert!(pieces.iter().all(|piece| char_len(piece) <= 10));
        assert_eq!(pieces.concat().replace(' ', ""), text.replace(' ', ""));
        assert_eq!(chunks(text, 100), [text]);
    }

    #[test]
    fn whitespace_only_text_gives_no_chunks() {
        assert!(chunks("", 10).is_empty());
        assert!(chunks(" \n\n\t ", 10).is_empty());
    }

    #[test]
    fn a_zero_limit_is_treated_as_one() {
        assert_eq!(chunks("ab c", 0), ["a", "b", "c"]);
    }

    #[test]
    fn other_languages_use_their_own_rules() {
        let text = "Er kam z. B. spät. Dann ging er.";

        assert_eq!(chunks_in(text, 20, "de"), ["Er kam z. B. spät.", "Dann ging er."]);
        assert_eq!(chunks_in("Hola. Adiós.", 8, "xx-unknown"), ["Hola.", "Adiós."]);
    }

    #[test]
    fn no_chunk_exceeds_the_limit_and_chunks_rejoin_to_the_input() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);

        for round in 0..400 {
            let text = generated_text(&mut rng, false);
            let max_chars = 12 + rng.below(200);

            let pieces = chunks(&text, max_chars);

            for piece in &pieces {
                assert!(!piece.is_empty(), "round {round}: empty chunk");
                assert!(char_len(piece) <= max_chars, "round {round}: {piece:?} over {max_chars}");
                assert_eq!(piece.trim(), piece, "round {round}: untrimmed chunk");
            }
            assert_eq!(pieces.join(" "), normalized(&text), "round {round}, limit {max_chars}");
        }
    }

    #[test]
    fn tiny_limits_lose_no_characters() {
        let mut rng = Rng(0xD1B5_4A32_D192_ED03);

        for round in 0..300 {
            let text = generated_text(&mut rng, true);
            let max_chars = 1 + rng.below(8);

            let pieces = chunks(&text, max_chars);

            assert!(
                pieces.iter().all(|p| !p.is_empty() && char_len(p) <= max_chars),
                "round {round}"
            );
            let kept: String = pieces.concat().split_whitespace().collect();
            let input: String = text.split_whitespace().collect();
            assert_eq!(kept, input, "round {round}, limit {max_chars}");
        }
    }
}
