//! The DOCX parts read besides the main document: hyperlink relationships, paragraph
//! styles, list numbering and the core properties' title.

use std::collections::HashMap;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::{IngestError, clean_title};

/// Style chains deeper than this are cut (they can be made circular).
const MAX_STYLE_DEPTH: usize = 16;

/// A reader that reports empty elements as a start and an end.
pub(super) fn xml_reader(xml: &str) -> Reader<&[u8]> {
    let mut reader = Reader::from_reader(xml.as_bytes());
    reader.config_mut().expand_empty_elements = true;
    reader.config_mut().check_end_names = false;
    reader
}

/// The local name (without namespace prefix) of an element.
pub(super) fn local_name(element: &BytesStart<'_>) -> String {
    let name = element.name();
    name.local_name().into_inner().to_owned()
}

/// The value of an attribute, found by its local name.
pub(super) fn attribute(element: &BytesStart<'_>, local: &str) -> Option<String> {
    element
        .attributes()
        .flatten()
        .find(|attr| attr.key.local_name().into_inner() == local)
        .and_then(|attr| {
            attr.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|value| value.into_owned())
        })
}

/// Whether an on/off property (`<w:b/>`, `<w:b w:val="false"/>`) is on.
pub(super) fn is_on(element: &BytesStart<'_>) -> bool {
    !matches!(attribute(element, "val").as_deref(), Some("0" | "false" | "off" | "none"))
}

/// Hyperlink relationship ids and their external targets.
pub(super) fn hyperlinks(xml: &str) -> Result<HashMap<String, String>, IngestError> {
    let mut reader = xml_reader(xml);
    let mut links = HashMap::new();

    loop {
        match reader.read_event().map_err(|_| IngestError::Unreadable)? {
            Event::Start(element) if local_name(&element) == "Relationship" => {
                let is_link =
                    attribute(&element, "Type").is_some_and(|t| t.ends_with("/hyperlink"));
                if let (true, Some(id), Some(target)) =
                    (is_link, attribute(&element, "Id"), attribute(&element, "Target"))
                {
                    links.insert(id, target);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }

    Ok(links)
}

/// What a paragraph style says about headings and lists.
#[derive(Debug, Default, Clone)]
pub(super) struct Style {
    name: Option<String>,
    based_on: Option<String>,
    outline_level: Option<u8>,
    numbering: Option<(String, usize)>,
}

/// Paragraph styles by id.
#[derive(Debug, Default)]
pub(super) struct Styles {
    by_id: HashMap<String, Style>,
}

impl Styles {
    /// The heading level a style gives (following `basedOn`), if any: `Title` and
    /// `Heading 1` are 1, `Heading 2` is 2, and so on; an outline level counts too.
    pub(super) fn heading_level(&self, style_id: &str) -> Option<u8> {
        let mut id = Some(style_id.to_owned());

        for _ in 0..MAX_STYLE_DEPTH {
            let current = id?;
            let style = self.by_id.get(&current);
            let names = [Some(current.as_str()), style.and_then(|s| s.name.as_deref())];
            if let Some(level) = names.into_iter().flatten().find_map(heading_level_from_name) {
                return Some(level);
            }
            if let Some(level) = style.and_then(|s| s.outline_level) {
                return Some(level);
            }
            id = style.and_then(|s| s.based_on.clone());
        }

        None
    }

    /// Whether a style is the document's `Title` style.
    pub(super) fn is_title(&self, style_id: &str) -> bool {
        let name = self.by_id.get(style_id).and_then(|s| s.name.as_deref()).unwrap_or(style_id);
        name.eq_ignore_ascii_case("title")
    }

    /// The list numbering a style applies (following `basedOn`), if any.
    pub(super) fn numbering(&self, style_id: &str) -> Option<(String, usize)> {
        let mut id = Some(style_id.to_owned());

        for _ in 0..MAX_STYLE_DEPTH {
            let style = self.by_id.get(&id?)?;
            if let Some(numbering) = &style.numbering {
                return Some(numbering.clone());
            }
            id = style.based_on.clone();
        }

        None
    }

    /// Whether a style is named like a bulleted or numbered list (`List Bullet 2`,
    /// `List Number`), for documents whose list styles carry no numbering.
    pub(super) fn list_by_name(&self, style_id: &str) -> Option<(bool, usize)> {
        let name = self.by_id.get(style_id).and_then(|s| s.name.as_deref()).unwrap_or(style_id);
        let compact: String =
            name.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
        let (ordered, rest) = if let Some(rest) = compact.strip_prefix("listbullet") {
            (false, rest)
        } else if let Some(rest) = compact.strip_prefix("listnumber") {
            (true, rest)
        } else {
            return None;
        };
        let level = rest
            .parse::<usize>()
            .map_or(0, |n| n.saturating_sub(1))
            .min(super::body::MAX_LIST_LEVEL);

        Some((ordered, level))
    }
}

/// `Heading1`, `heading 3`, `Title` → their level.
fn heading_level_from_name(name: &str) -> Option<u8> {
    let compact: String =
        name.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
    if compact == "title" {
        return Some(1);
    }
    let level: u8 = compact.strip_prefix("heading")?.parse().ok()?;

    (1..=6).contains(&level).then_some(level)
}

/// Reads the paragraph styles of `word/styles.xml`.
pub(super) fn styles(xml: &str) -> Result<Styles, IngestError> {
    let mut reader = xml_reader(xml);
    let mut styles = Styles::default();
    let mut current: Option<(String, Style)> = None;

    loop {
        match reader.read_event().map_err(|_| IngestError::Unreadable)? {
            Event::Start(element) => {
                let name = local_name(&element);
                match (name.as_str(), current.as_mut()) {
                    ("style", _) => {
                        let paragraph =
                            attribute(&element, "type").is_none_or(|t| t == "paragraph");
                        current = attribute(&element, "styleId")
                            .filter(|_| paragraph)
                            .map(|id| (id, Style::default()));
                    }
                    ("name", Some((_, style))) => style.name = attribute(&element, "val"),
                    ("basedOn", Some((_, style))) => style.based_on = attribute(&element, "val"),
                    ("outlineLvl", Some((_, style))) => {
                        style.outline_level = attribute(&element, "val")
                            .and_then(|v| v.parse::<u8>().ok())
                            .filter(|level| *level < 6)
                            .map(|level| level + 1);
                    }
                    ("numId", Some((_, style))) => {
                        let num_id = attribute(&element, "val").unwrap_or_default();
                        let level = style.numbering.as_ref().map_or(0, |(_, level)| *level);
                        style.numbering = Some((num_id, level));
                    }
                    ("ilvl", Some((_, style))) => {
                        let level = attribute(&element, "val")
                            .and_then(|v| v.parse::<usize>().ok())
                            .unwrap_or(0)
                            .min(super::body::MAX_LIST_LEVEL);
                        let num_id = style.numbering.take().map(|(id, _)| id).unwrap_or_default();
                        style.numbering = Some((num_id, level));
                    }
                    _ => {}
                }
            }
            Event::End(element) if element.name().local_name().into_inner() == "style" => {
                if let Some((id, style)) = current.take() {
                    styles.by_id.insert(id, style);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }

    Ok(styles)
}

/// List definitions: how each level of each list is numbered.
#[derive(Debug, Default)]
pub(super) struct Numbering {
    abstract_of: HashMap<String, String>,
    levels: HashMap<(String, usize), Level>,
}

/// One level of a list definition.
#[derive(Debug, Clone, Copy)]
pub(super) struct Level {
    /// Whether items are numbered (anything but bullets).
    pub ordered: bool,
    /// The first number.
    pub start: u32,
}

impl Numbering {
    /// How level `level` of list `num_id` is numbered; bullets when the list is unknown.
    pub(super) fn level(&self, num_id: &str, level: usize) -> Level {
        self.abstract_of
            .get(num_id)
            .and_then(|abstract_id| self.levels.get(&(abstract_id.clone(), level)))
            .copied()
            .unwrap_or(Level { ordered: false, start: 1 })
    }
}

/// Reads `word/numbering.xml`.
pub(super) fn numbering(xml: &str) -> Result<Numbering, IngestError> {
    let mut reader = xml_reader(xml);
    let mut numbering = Numbering::default();
    let mut abstract_id: Option<String> = None;
    let mut level: Option<(usize, Level)> = None;
    let mut num_id: Option<String> = None;

    loop {
        match reader.read_event().map_err(|_| IngestError::Unreadable)? {
            Event::Start(element) => match local_name(&element).as_str() {
                "abstractNum" => abstract_id = attribute(&element, "abstractNumId"),
                "lvl" if abstract_id.is_some() => {
                    let index =
                        attribute(&element, "ilvl").and_then(|v| v.parse().ok()).unwrap_or(0);
                    level = Some((index, Level { ordered: true, start: 1 }));
                }
                "numFmt" => {
                    if let Some((_, level)) = level.as_mut() {
                        level.ordered = !matches!(
                            attribute(&element, "val").as_deref(),
                            Some("bullet" | "none")
                        );
                    }
                }
                "start" => {
                    if let Some((_, level)) = level.as_mut() {
                        level.start =
                            attribute(&element, "val").and_then(|v| v.parse().ok()).unwrap_or(1);
                    }
                }
                "num" => num_id = attribute(&element, "numId"),
                "abstractNumId" => {
                    if let (Some(num), Some(target)) = (num_id.as_ref(), attribute(&element, "val"))
                    {
                        numbering.abstract_of.insert(num.clone(), target);
                    }
                }
                _ => {}
            },
            Event::End(element) => match element.name().local_name().into_inner() {
                "lvl" => {
                    if let (Some(abstract_id), Some((index, level))) =
                        (abstract_id.as_ref(), level.take())
                    {
                        numbering.levels.insert((abstract_id.clone(), index), level);
                    }
                }
                "abstractNum" => abstract_id = None,
                "num" => num_id = None,
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }

    Ok(numbering)
}

/// The `dc:title` of `docProps/core.xml`, if it has a usable one.
pub(super) fn core_title(xml: &str) -> Option<String> {
    let mut reader = xml_reader(xml);
    let mut in_title = false;
    let mut title = String::new();

    loop {
        match reader.read_event().ok()? {
            Event::Start(element) if local_name(&element) == "title" => in_title = true,
            Event::End(element) if element.name().local_name().into_inner() == "title" => break,
            Event::Text(text) if in_title => title.push_str(&text.xml10_content()),
            Event::GeneralRef(reference) if in_title => {
                title.push_str(&resolve_reference(&reference)?)
            }
            Event::Eof => break,
            _ => {}
        }
    }

    clean_title(&title)
}

/// The text an entity or character reference stands for.
pub(super) fn resolve_reference(reference: &quick_xml::events::BytesRef<'_>) -> Option<String> {
    if let Ok(Some(c)) = reference.resolve_char_ref() {
        return Some(c.to_string());
    }
    quick_xml::escape::resolve_predefined_entity(reference).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heading_levels_come_from_style_ids_names_and_outline_levels() {
        let xml = r#"<w:styles xmlns:w="w">
            <w:style w:type="paragraph" w:styleId="berschrift2"><w:name w:val="heading 2"/></w:style>
            <w:style w:type="paragraph" w:styleId="MyHeading"><w:name w:val="My Heading"/><w:basedOn w:val="berschrift2"/></w:style>
            <w:style w:type="paragraph" w:styleId="Outline"><w:name w:val="Outline"/><w:pPr><w:outlineLvl w:val="3"/></w:pPr></w:style>
            <w:style w:type="paragraph" w:styleId="Loop"><w:basedOn w:val="Loop"/></w:style>
        </w:styles>"#;

        let styles = styles(xml).unwrap();

        assert_eq!(styles.heading_level("Heading1"), Some(1));
        assert_eq!(styles.heading_level("berschrift2"), Some(2));
        assert_eq!(styles.heading_level("MyHeading"), Some(2));
        assert_eq!(styles.heading_level("Outline"), Some(4));
        assert_eq!(styles.heading_level("Title"), Some(1));
        assert_eq!(styles.heading_level("Loop"), None);
        assert_eq!(styles.heading_level("Normal"), None);
    }

    #[test]
    fn list_levels_know_bullets_from_numbers() {
        let xml = r#"<w:numbering xmlns:w="w">
            <w:abstractNum w:abstractNumId="7">
              <w:lvl w:ilvl="0"><w:start w:val="3"/><w:numFmt w:val="decimal"/></w:lvl>
              <w:lvl w:ilvl="1"><w:numFmt w:val="bullet"/></w:lvl>
            </w:abstractNum>
            <w:num w:numId="2"><w:abstractNumId w:val="7"/></w:num>
        </w:numbering>"#;

        let numbering = numbering(xml).unwrap();

        let top = numbering.level("2", 0);
        assert!(top.ordered);
        assert_eq!(top.start, 3);
        assert!(!numbering.level("2", 1).ordered);
        assert!(!numbering.level("99", 0).ordered);
    }

    #[test]
    fn only_hyperlink_relationships_are_links() {
        let xml = r#"<Relationships xmlns="r">
            <Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="https://example.com/?a=1&amp;b=2" TargetMode="External"/>
            <Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" Target="media/image1.png"/>
        </Relationships>"#;

        let links = hyperlinks(xml).unwrap();

        assert_eq!(links.get("rId1").map(String::as_str), Some("https://example.com/?a=1&b=2"));
        assert!(!links.contains_key("rId2"));
    }

    #[test]
    fn core_title_is_read_and_cleaned() {
        let xml = r#"<cp:coreProperties xmlns:cp="c" xmlns:dc="d"><dc:title>Annual &amp; Final
            Report</dc:title><dc:creator>x</dc:creator></cp:coreProperties>"#;

        assert_eq!(core_title(xml).as_deref(), Some("Annual & Final Report"));
        assert_eq!(
            core_title("<cp:coreProperties><dc:title>  </dc:title></cp:coreProperties>"),
            None
        );
    }

    #[test]
    fn malformed_parts_are_unreadable() {
        assert!(styles("<w:styles><w:style w:styleId=\"a></w:styles>").is_err());
        assert!(hyperlinks("<Relationships><Relationship Id=\"a></Relationships>").is_err());
    }
}
