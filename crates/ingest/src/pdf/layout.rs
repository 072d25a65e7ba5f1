//! Reads the text of one PDF page as positioned lines.
//!
//! The page's content stream is interpreted just enough to know where each string is
//! drawn and how large: the current transformation matrix, the text matrices, the font
//! and its size, character and word spacing, and form XObjects (nested at most
//! [`MAX_FORM_DEPTH`] deep). Runs drawn on the same baseline, left to right, are joined
//! into one line; a space is inserted where the gap between two runs is wider than a
//! fraction of the font size. Lines keep the order of the content stream, which is the
//! reading order the producer wrote (right for multi-column layouts, unlike sorting by
//! position).

use std::collections::{BTreeMap, HashMap, HashSet};

use lopdf::content::{Content, Operation};
use lopdf::{Dictionary, Document, Encoding, Object, ObjectId, Stream};

use crate::IngestError;

/// Form XObjects drawn inside form XObjects are followed this deep, no deeper.
const MAX_FORM_DEPTH: usize = 8;
/// A gap wider than this fraction of the font size between two runs is a space.
const SPACE_GAP_EM: f32 = 0.15;
/// Runs whose baselines differ by less than this fraction of the font size share a line.
const SAME_LINE_EM: f32 = 0.5;
/// A run starting this far (in font sizes) left of the line's end starts a new line.
const BACKWARD_JUMP_EM: f32 = 1.0;
/// Glyph width (in thousandths of the font size) assumed when a font gives none.
const DEFAULT_GLYPH_WIDTH: f32 = 500.0;
/// Glyph widths and `TJ` adjustments are in thousandths of the font size.
const GLYPH_UNITS: f32 = 1000.0;
/// A composite font's width when it declares no `/DW`.
const DEFAULT_COMPOSITE_WIDTH: f32 = 1000.0;
/// A font descriptor weight at least this heavy is bold.
const BOLD_WEIGHT: f32 = 600.0;
/// Composite fonts here use two-byte codes, so no code is larger than this.
const MAX_CODE: u32 = 0xFFFF;
/// A composite font's `/W` array sets at most this many widths, so a crafted font
/// cannot make extraction allocate or loop without end.
const MAX_WIDTH_ENTRIES: usize = 0x1_0000;

/// A line of text on a page, in device space (points, origin at the bottom left).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Line {
    /// The line's text, with runs joined and spaces inserted at gaps.
    pub text: String,
    /// Where the line starts horizontally.
    pub x: f32,
    /// The baseline of the line's first run.
    pub y: f32,
    /// The largest font size on the line.
    pub size: f32,
    /// Whether every run of the line is set in a bold font.
    pub bold: bool,
    /// Whether every run of the line is set in a fixed-pitch (code) font.
    pub monospace: bool,
    /// Where the line's last run ends horizontally.
    end_x: f32,
}

#[cfg(test)]
impl Line {
    /// A line as a test writes it: regular weight, ending where its text would end.
    pub(crate) fn at(text: &str, x: f32, y: f32, size: f32) -> Self {
        let end_x = x + text.chars().count() as f32 * size * DEFAULT_GLYPH_WIDTH / GLYPH_UNITS;
        Self { text: text.to_owned(), x, y, size, bold: false, monospace: false, end_x }
    }

    /// The same line, set in a fixed-pitch font.
    pub(crate) fn monospace(mut self) -> Self {
        self.monospace = true;
        self
    }

    /// The same line, set in bold.
    pub(crate) fn bold(mut self) -> Self {
        self.bold = true;
        self
    }
}

/// Reads the lines of one page. `char_budget` is decremented by the characters read and
/// extraction stops with [`IngestError::TooLarge`] when it runs out; `max_inflated`
/// bounds the decompressed size of the page's content.
pub(crate) fn page_lines(
    doc: &Document,
    page_id: ObjectId,
    char_budget: &mut usize,
    max_inflated: usize,
) -> Result<Vec<Line>, IngestError> {
    let content = match doc.get_page_content_with_limit(page_id, max_inflated) {
        Ok(content) => content,
        Err(lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded { .. })) => {
            return Err(IngestError::TooLarge);
        }
        Err(_) => return Ok(Vec::new()),
    };

    let fonts = doc
        .get_page_fonts(page_id)
        .map(|fonts| {
            fonts.into_iter().map(|(name, dict)| (name, FontInfo::new(doc, dict))).collect()
        })
        .unwrap_or_default();
    let xobjects = page_xobjects(doc, page_id);
    let scope = Scope { fonts, xobjects };

    let mut reader = PageReader {
        doc,
        lines: Vec::new(),
        char_budget,
        max_inflated,
        forms_open: HashSet::new(),
    };
    reader.run(&content, &scope, State::default(), 0)?;

    Ok(reader.lines)
}

/// A 2D affine transformation `[a b c d e f]` as PDF writes it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Matrix([f32; 6]);

impl Matrix {
    const IDENTITY: Self = Self([1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);

    fn translate(tx: f32, ty: f32) -> Self {
        Self([1.0, 0.0, 0.0, 1.0, tx, ty])
    }

    /// `self × other`: apply `self` first, then `other`.
    fn then(self, other: Self) -> Self {
        let [a, b, c, d, e, f] = self.0;
        let [a2, b2, c2, d2, e2, f2] = other.0;
        Self([
            a * a2 + b * c2,
            a * b2 + b * d2,
            c * a2 + d * c2,
            c * b2 + d * d2,
            e * a2 + f * c2 + e2,
            e * b2 + f * d2 + f2,
        ])
    }

    fn from_operands(operands: &[Object]) -> Option<Self> {
        let values: Vec<f32> = operands.iter().filter_map(|o| o.as_float().ok()).collect();
        let array: [f32; 6] = values.try_into().ok()?;
        array.iter().all(|v| v.is_finite()).then_some(Self(array))
    }

    /// How much the matrix scales vertical distances.
    fn vertical_scale(self) -> f32 {
        let [_, _, c, d, _, _] = self.0;
        (c * c + d * d).sqrt()
    }
}

/// The graphics and text state that `q` saves and `Q` restores.
#[derive(Debug, Clone)]
struct State {
    ctm: Matrix,
    font: Option<Vec<u8>>,
    font_size: f32,
    char_spacing: f32,
    word_spacing: f32,
    horizontal_scale: f32,
    leading: f32,
    rise: f32,
}

impl Default for State {
    fn default() -> Self {
        Self {
            ctm: Matrix::IDENTITY,
            font: None,
            font_size: 0.0,
            char_spacing: 0.0,
            word_spacing: 0.0,
            horizontal_scale: 1.0,
            leading: 0.0,
            rise: 0.0,
        }
    }
}

/// What a font tells us: how to decode its strings and how wide its glyphs are.
struct FontInfo<'a> {
    encoding: Option<Encoding<'a>>,
    two_byte: bool,
    widths: Widths,
    bold: bool,
    monospace: bool,
}

enum Widths {
    /// A simple font's `/Widths` array, starting at `/FirstChar`.
    Simple { first: u32, widths: Vec<f32> },
    /// A composite font's `/DW` and `/W` entries.
    Composite { default: f32, widths: HashMap<u32, f32> },
}

impl<'a> FontInfo<'a> {
    fn new(doc: &'a Document, font: &'a Dictionary) -> Self {
        let two_byte = font.get(b"Subtype").and_then(Object::as_name).is_ok_and(|s| s == b"Type0");
        let has_to_unicode = font.get(b"ToUnicode").is_ok();
        // A composite font without a ToUnicode map decodes to noise; treat it as unreadable.
        let encoding =
            if two_byte && !has_to_unicode { None } else { font.get_font_encoding(doc).ok() };
        let descendant = descendant_font(doc, font);
        let widths = if two_byte {
            composite_widths(doc, descendant.unwrap_or(font))
        } else {
            simple_widths(doc, font)
        };
        let bold = is_bold(doc, font) || descendant.is_some_and(|d| is_bold(doc, d));
        let monospace = is_monospace(doc, font) || descendant.is_some_and(|d| is_monospace(doc, d));

        Self { encoding, two_byte, widths, bold, monospace }
    }

    fn width(&self, code: u32) -> f32 {
        match &self.widths {
            Widths::Simple { first, widths } => code
                .checked_sub(*first)
                .and_then(|i| widths.get(i as usize))
                .copied()
                .filter(|w| *w > 0.0)
                .unwrap_or(DEFAULT_GLYPH_WIDTH),
            Widths::Composite { default, widths } => widths.get(&code).copied().unwrap_or(*default),
        }
    }

    fn codes(&self, bytes: &[u8]) -> Vec<u32> {
        if self.two_byte {
            bytes
                .chunks(2)
                .map(|pair| pair.iter().fold(0u32, |acc, b| acc * 256 + u32::from(*b)))
                .collect()
        } else {
            bytes.iter().map(|b| u32::from(*b)).collect()
        }
    }
}

fn descendant_font<'a>(doc: &'a Document, font: &'a Dictionary) -> Option<&'a Dictionary> {
    let descendants = font.get_deref(b"DescendantFonts", doc).ok()?.as_array().ok()?;
    let first = descendants.first()?;
    match first {
        Object::Reference(id) => doc.get_dictionary(*id).ok(),
        Object::Dictionary(dict) => Some(dict),
        _ => None,
    }
}

fn simple_widths(doc: &Document, font: &Dictionary) -> Widths {
    let first = font.get(b"FirstChar").and_then(Object::as_i64).unwrap_or(0);
    let widths = font
        .get_deref(b"Widths", doc)
        .and_then(Object::as_array)
        .map(|array| array.iter().map(|w| deref_float(doc, w).unwrap_or(0.0)).collect())
        .unwrap_or_default();

    Widths::Simple { first: u32::try_from(first).unwrap_or(0), widths }
}

fn composite_widths(doc: &Document, font: &Dictionary) -> Widths {
    let default = font.get(b"DW").and_then(Object::as_float).unwrap_or(DEFAULT_COMPOSITE_WIDTH);
    let mut widths = HashMap::new();
    let mut budget = MAX_WIDTH_ENTRIES;
    let mut set = |code: u32, width: f32| {
        if budget == 0 || code > MAX_CODE {
            return false;
        }
        budget -= 1;
        widths.insert(code, width);
        true
    };

    if let Ok(array) = font.get_deref(b"W", doc).and_then(Object::as_array) {
        let mut items = array.iter();
        while let Some(first) = items.next() {
            let Some(first) = deref_float(doc, first) else { break };
            let first = first as u32;
            match items.next() {
                Some(Object::Array(list)) => {
                    for (offset, width) in list.iter().enumerate() {
                        let code = first.saturating_add(u32::try_from(offset).unwrap_or(u32::MAX));
                        if let Some(width) = deref_float(doc, width)
                            && !set(code, width)
                        {
                            break;
                        }
                    }
                }
                Some(last) => {
                    let (Some(last), Some(width)) =
                        (deref_float(doc, last), items.next().and_then(|w| deref_float(doc, w)))
                    else {
                        break;
                    };
                    for code in first..=(last as u32).min(MAX_CODE) {
                        if !set(code, width) {
                            break;
                        }
                    }
                }
                None => break,
            }
        }
    }

    Widths::Composite { default, widths }
}

fn deref_float(doc: &Document, object: &Object) -> Option<f32> {
    match object {
        Object::Reference(id) => doc.get_object(*id).ok()?.as_float().ok(),
        other => other.as_float().ok(),
    }
}

fn is_bold(doc: &Document, font: &Dictionary) -> bool {
    let name = font.get(b"BaseFont").and_then(Object::as_name).unwrap_or_default();
    let name = String::from_utf8_lossy(name).to_ascii_lowercase();
    let weight = font
        .get_deref(b"FontDescriptor", doc)
        .and_then(Object::as_dict)
        .and_then(|d| d.get(b"FontWeight"))
        .and_then(Object::as_float)
        .unwrap_or(0.0);

    ["bold", "black", "heavy", "semibold", "demi"].iter().any(|w| name.contains(w))
        || weight >= BOLD_WEIGHT
}

/// Font name parts of common fixed-pitch families.
const MONOSPACE_NAMES: &[&str] = &[
    "courier",
    "mono",
    "consol",
    "menlo",
    "monaco",
    "code",
    "cmtt",
    "sftt",
    "lmtt",
    "inconsolata",
    "lucidaconsole",
    "typewriter",
];
/// The FixedPitch bit of a font descriptor's `/Flags`.
const FIXED_PITCH_FLAG: i64 = 1;

fn is_monospace(doc: &Document, font: &Dictionary) -> bool {
    let name = font.get(b"BaseFont").and_then(Object::as_name).unwrap_or_default();
    let name = String::from_utf8_lossy(name).to_ascii_lowercase().replace([' ', '-'], "");
    let flags = font
        .get_deref(b"FontDescriptor", doc)
        .and_then(Object::as_dict)
        .and_then(|d| d.get(b"Flags"))
        .and_then(Object::as_i64)
        .unwrap_or(0);

    MONOSPACE_NAMES.iter().any(|part| name.contains(part)) || flags & FIXED_PITCH_FLAG != 0
}

/// The named resources visible to a content stream.
struct Scope<'a> {
    fonts: BTreeMap<Vec<u8>, FontInfo<'a>>,
    xobjects: BTreeMap<Vec<u8>, ObjectId>,
}

fn page_xobjects(doc: &Document, page_id: ObjectId) -> BTreeMap<Vec<u8>, ObjectId> {
    let mut xobjects = BTreeMap::new();
    let Ok((inline, ids)) = doc.get_page_resources(page_id) else {
        return xobjects;
    };

    let dicts = inline.into_iter().chain(ids.iter().filter_map(|id| doc.get_dictionary(*id).ok()));
    for resources in dicts {
        collect_xobjects(doc, resources, &mut xobjects);
    }

    xobjects
}

fn collect_xobjects(
    doc: &Document,
    resources: &Dictionary,
    into: &mut BTreeMap<Vec<u8>, ObjectId>,
) {
    let Ok(dict) = resources.get_deref(b"XObject", doc).and_then(Object::as_dict) else {
        return;
    };
    for (name, value) in dict.iter() {
        if let Object::Reference(id) = value {
            into.entry(name.clone()).or_insert(*id);
        }
    }
}

fn form_fonts<'a>(doc: &'a Document, resources: &'a Dictionary) -> BTreeMap<Vec<u8>, FontInfo<'a>> {
    let Ok(dict) = resources.get_deref(b"Font", doc).and_then(Object::as_dict) else {
        return BTreeMap::new();
    };

    dict.iter()
        .filter_map(|(name, value)| {
            let font = match value {
                Object::Reference(id) => doc.get_dictionary(*id).ok()?,
                Object::Dictionary(dict) => dict,
                _ => return None,
            };
            Some((name.clone(), FontInfo::new(doc, font)))
        })
        .collect()
}

/// A run of text drawn by one string operand.
struct Run {
    text: String,
    x: f32,
    y: f32,
    end_x: f32,
    size: f32,
    bold: bool,
    monospace: bool,
}

struct PageReader<'d, 'b> {
    doc: &'d Document,
    lines: Vec<Line>,
    char_budget: &'b mut usize,
    max_inflated: usize,
    forms_open: HashSet<ObjectId>,
}

impl<'d> PageReader<'d, '_> {
    /// Interprets one content stream.
    fn run(
        &mut self,
        content: &[u8],
        scope: &Scope<'d>,
        mut state: State,
        depth: usize,
    ) -> Result<(), IngestError> {
        let mut saved: Vec<State> = Vec::new();
        let mut text_matrix = Matrix::IDENTITY;
        let mut line_matrix = Matrix::IDENTITY;

        // A damaged stream still yields the operations read before the damage.
        for operation in Content::decode_iter(content) {
            let Ok(Operation { operator, operands }) = operation else { break };
            let number = |i: usize| {
                operands.get(i).and_then(|o| o.as_float().ok()).filter(|v| v.is_finite())
            };

            match operator.as_str() {
                "q" => saved.push(state.clone()),
                "Q" => {
                    if let Some(previous) = saved.pop() {
                        state = previous;
                    }
                }
                "cm" => {
                    if let Some(m) = Matrix::from_operands(&operands) {
                        state.ctm = m.then(state.ctm);
                    }
                }
                "BT" => {
                    text_matrix = Matrix::IDENTITY;
                    line_matrix = Matrix::IDENTITY;
                }
                "Tf" => {
                    state.font =
                        operands.first().and_then(|o| o.as_name().ok()).map(<[u8]>::to_vec);
                    state.font_size = number(1).unwrap_or(0.0);
                }
                "Tc" => state.char_spacing = number(0).unwrap_or(0.0),
                "Tw" => state.word_spacing = number(0).unwrap_or(0.0),
                "Tz" => state.horizontal_scale = number(0).unwrap_or(100.0) / 100.0,
                "TL" => state.leading = number(0).unwrap_or(0.0),
                "Ts" => state.rise = number(0).unwrap_or(0.0),
                "Td" | "TD" => {
                    let (tx, ty) = (number(0).unwrap_or(0.0), number(1).unwrap_or(0.0));
                    if operator == "TD" {
                        state.leading = -ty;
                    }
                    line_matrix = Matrix::translate(tx, ty).then(line_matrix);
                    text_matrix = line_matrix;
                }
                "Tm" => {
                    if let Some(m) = Matrix::from_operands(&operands) {
                        line_matrix = m;
                        text_matrix = m;
                    }
                }
                "T*" => {
                    line_matrix = Matrix::translate(0.0, -state.leading).then(line_matrix);
                    text_matrix = line_matrix;
                }
                "Tj" | "'" | "\"" | "TJ" => {
                    if operator == "'" || operator == "\"" {
                        if operator == "\"" {
                            state.word_spacing = number(0).unwrap_or(state.word_spacing);
                            state.char_spacing = number(1).unwrap_or(state.char_spacing);
                        }
                        line_matrix = Matrix::translate(0.0, -state.leading).then(line_matrix);
                        text_matrix = line_matrix;
                    }
                    let shown = if operator == "\"" { operands.get(2) } else { operands.first() };
                    if let Some(shown) = shown {
                        self.show(shown, scope, &state, &mut text_matrix)?;
                    }
                }
                "Do" if depth < MAX_FORM_DEPTH => {
                    if let Some(name) = operands.first().and_then(|o| o.as_name().ok()) {
                        self.draw_form(name, scope, &state, depth)?;
                    }
                }
                _ => {}
            }
        }

        Ok(())
    }

    /// Shows a string operand (`Tj`) or an array of strings and adjustments (`TJ`).
    fn show(
        &mut self,
        shown: &Object,
        scope: &Scope<'d>,
        state: &State,
        text_matrix: &mut Matrix,
    ) -> Result<(), IngestError> {
        let font = state.font.as_ref().and_then(|name| scope.fonts.get(name));

        match shown {
            Object::String(bytes, _) => self.show_string(bytes, font, state, text_matrix),
            Object::Array(items) => {
                for item in items {
                    match item {
                        Object::String(bytes, _) => {
                            self.show_string(bytes, font, state, text_matrix)?
                        }
                        other => {
                            if let Ok(adjustment) = other.as_float() {
                                let tx = -adjustment / GLYPH_UNITS
                                    * state.font_size
                                    * state.horizontal_scale;
                                *text_matrix = Matrix::translate(tx, 0.0).then(*text_matrix);
                            }
                        }
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn show_string(
        &mut self,
        bytes: &[u8],
        font: Option<&FontInfo<'d>>,
        state: &State,
        text_matrix: &mut Matrix,
    ) -> Result<(), IngestError> {
        let glyph_space = Matrix([
            state.font_size * state.horizontal_scale,
            0.0,
            0.0,
            state.font_size,
            0.0,
            state.rise,
        ]);
        let start = glyph_space.then(*text_matrix).then(state.ctm);
        let size = (state.font_size * text_matrix.then(state.ctm).vertical_scale()).abs();

        let codes = font
            .map(|f| f.codes(bytes))
            .unwrap_or_else(|| bytes.iter().map(|b| u32::from(*b)).collect());
        for code in &codes {
            let width = font.map_or(DEFAULT_GLYPH_WIDTH, |f| f.width(*code)) / GLYPH_UNITS;
            let single_byte_space = *code == 32 && !font.is_some_and(|f| f.two_byte);
            let spacing =
                state.char_spacing + if single_byte_space { state.word_spacing } else { 0.0 };
            let tx = (width * state.font_size + spacing) * state.horizontal_scale;
            *text_matrix = Matrix::translate(tx, 0.0).then(*text_matrix);
        }
        let end = glyph_space.then(*text_matrix).then(state.ctm);

        let text = match font.and_then(|f| f.encoding.as_ref()) {
            Some(encoding) => clean_run_text(&encoding.bytes_to_string(bytes).unwrap_or_default()),
            None => String::new(),
        };
        if text.is_empty() {
            return Ok(());
        }

        let chars = text.chars().count();
        if chars > *self.char_budget {
            return Err(IngestError::TooLarge);
        }
        *self.char_budget -= chars;

        let [.., x, y] = start.0;
        let end_x = end.0[4];
        let (bold, monospace) = font.map_or((false, false), |f| (f.bold, f.monospace));
        self.push_run(Run { text, x, y, end_x, size, bold, monospace });
        Ok(())
    }

    /// Adds a run to the current line, or starts a new line.
    fn push_run(&mut self, run: Run) {
        if let Some(line) = self.lines.last_mut() {
            let em = run.size.max(line.size).max(1.0);
            let same_baseline = (run.y - line.y).abs() < SAME_LINE_EM * em;
            let moving_forward = run.x > line.end_x - BACKWARD_JUMP_EM * em;
            if same_baseline && moving_forward {
                let gap = run.x - line.end_x;
                let spaced = line.text.ends_with(' ') || run.text.starts_with(' ');
                if gap > SPACE_GAP_EM * em && !spaced {
                    line.text.push(' ');
                }
                line.text.push_str(&run.text);
                line.end_x = run.end_x.max(line.end_x);
                line.size = line.size.max(run.size);
                let blank = run.text.trim().is_empty();
                line.bold &= run.bold || blank;
                line.monospace &= run.monospace || blank;
                return;
            }
        }

        self.lines.push(Line {
            text: run.text,
            x: run.x,
            y: run.y,
            size: run.size,
            bold: run.bold,
            monospace: run.monospace,
            end_x: run.end_x,
        });
    }

    /// Draws a form XObject, with its own resources when it has them.
    fn draw_form(
        &mut self,
        name: &[u8],
        scope: &Scope<'d>,
        state: &State,
        depth: usize,
    ) -> Result<(), IngestError> {
        let Some(id) = scope.xobjects.get(name).copied() else { return Ok(()) };
        if self.forms_open.contains(&id) {
            return Ok(());
        }
        let Ok(stream) = self.doc.get_object(id).and_then(Object::as_stream) else { return Ok(()) };
        if !stream.dict.get(b"Subtype").and_then(Object::as_name).is_ok_and(|s| s == b"Form") {
            return Ok(());
        }

        let content = match stream_content(stream, self.max_inflated) {
            Ok(content) => content,
            Err(StreamError::TooLarge) => return Err(IngestError::TooLarge),
            Err(StreamError::Unreadable) => return Ok(()),
        };

        let matrix = stream
            .dict
            .get(b"Matrix")
            .and_then(Object::as_array)
            .ok()
            .and_then(|m| Matrix::from_operands(m))
            .unwrap_or(Matrix::IDENTITY);
        let mut form_state = state.clone();
        form_state.ctm = matrix.then(state.ctm);

        let doc = self.doc;
        let own_scope =
            stream.dict.get_deref(b"Resources", doc).and_then(Object::as_dict).ok().map(
                |resources| {
                    let mut xobjects = BTreeMap::new();
                    collect_xobjects(doc, resources, &mut xobjects);
                    Scope { fonts: form_fonts(doc, resources), xobjects }
                },
            );

        self.forms_open.insert(id);
        let result = self.run(&content, own_scope.as_ref().unwrap_or(scope), form_state, depth + 1);
        self.forms_open.remove(&id);
        result
    }
}

enum StreamError {
    TooLarge,
    Unreadable,
}

fn stream_content(stream: &Stream, max_inflated: usize) -> Result<Vec<u8>, StreamError> {
    if stream.dict.get(b"Filter").is_err() {
        return Ok(stream.content.clone());
    }

    match stream.decompressed_content_with_limit(max_inflated) {
        Ok(content) => Ok(content),
        Err(lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded { .. })) => {
            Err(StreamError::TooLarge)
        }
        Err(_) => Err(StreamError::Unreadable),
    }
}

/// Normalizes decoded run text: ligatures expanded, odd spaces made plain, control and
/// replacement characters dropped.
fn clean_run_text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());

    for c in raw.chars() {
        match c {
            '\u{FB00}' => out.push_str("ff"),
            '\u{FB01}' => out.push_str("fi"),
            '\u{FB02}' => out.push_str("fl"),
            '\u{FB03}' => out.push_str("ffi"),
            '\u{FB04}' => out.push_str("ffl"),
            '\u{FB05}' | '\u{FB06}' => out.push_str("st"),
            '\t' | '\u{A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => {
                out.push(' ')
            }
            '\u{FFFD}' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }

    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrices_compose_in_pdf_order() {
        let scale = Matrix([2.0, 0.0, 0.0, 2.0, 0.0, 0.0]);
        let shift = Matrix::translate(10.0, 20.0);

        assert_eq!(scale.then(shift).0, [2.0, 0.0, 0.0, 2.0, 10.0, 20.0]);
        assert_eq!(shift.then(scale).0, [2.0, 0.0, 0.0, 2.0, 20.0, 40.0]);
        assert!((scale.vertical_scale() - 2.0).abs() < f32::EPSILON);
    }

    #[test]
    fn run_text_is_cleaned() {
        assert_eq!(
            clean_run_text("\u{FB01}nal o\u{FB03}ce\u{A0}now\u{FFFD}\u{7}"),
            "final office now"
        );
    }
}
