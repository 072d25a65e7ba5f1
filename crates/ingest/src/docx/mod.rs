//! DOCX extraction: a small converter from WordprocessingML to Markdown on `zip` and
//! `quick-xml`.
//!
//! Zip-bomb policy: only the parts the converter needs are inflated (the main document,
//! its relationships, styles, numbering and core properties). Before inflating a part,
//! its declared uncompressed size is checked against what is left of
//! [`Limits::max_decompressed_bytes`]; while inflating, the bytes actually produced are
//! capped at the same remainder (the declared size may lie). Either overrun is
//! [`IngestError::TooLarge`], and nothing larger than the limit is ever held in memory.
//!
//! Pages: a DOCX has no fixed pages, so a page here is the text between explicit page
//! breaks (a page-break run, "page break before", or a section that starts a new page),
//! split further when longer than [`Limits::page_chars`].

mod body;
mod parts;

use std::io::{Cursor, Read, Seek};
use std::panic::{AssertUnwindSafe, catch_unwind};

use zip::ZipArchive;

use crate::{Extracted, IngestError, Limits, paginate};

const DOCUMENT_PART: &str = "word/document.xml";
const DOCUMENT_RELS_PART: &str = "word/_rels/document.xml.rels";
const STYLES_PART: &str = "word/styles.xml";
const NUMBERING_PART: &str = "word/numbering.xml";
const CORE_PROPERTIES_PART: &str = "docProps/core.xml";

/// Extracts a DOCX. Never panics: a panic in a parser becomes [`IngestError::Unreadable`].
pub(crate) fn extract(bytes: &[u8], limits: &Limits) -> Result<Extracted, IngestError> {
    catch_unwind(AssertUnwindSafe(|| extract_unguarded(bytes, limits)))
        .unwrap_or(Err(IngestError::Unreadable))
}

fn extract_unguarded(bytes: &[u8], limits: &Limits) -> Result<Extracted, IngestError> {
    let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(|_| IngestError::Unreadable)?;
    let mut budget = InflateBudget { remaining: limits.max_decompressed_bytes };

    let document =
        read_part(&mut archive, DOCUMENT_PART, &mut budget)?.ok_or(IngestError::Unreadable)?;
    let links = match read_part(&mut archive, DOCUMENT_RELS_PART, &mut budget)? {
        Some(xml) => parts::hyperlinks(&xml)?,
        None => Default::default(),
    };
    let styles = match read_part(&mut archive, STYLES_PART, &mut budget)? {
        Some(xml) => parts::styles(&xml)?,
        None => Default::default(),
    };
    let numbering = match read_part(&mut archive, NUMBERING_PART, &mut budget)? {
        Some(xml) => parts::numbering(&xml)?,
        None => Default::default(),
    };
    let core_title = match read_part(&mut archive, CORE_PROPERTIES_PART, &mut budget)? {
        Some(xml) => parts::core_title(&xml),
        None => None,
    };

    let converted = body::convert(
        &document,
        &body::Context { styles: &styles, numbering: &numbering, links: &links },
        limits.max_chars,
    )?;
    let title = core_title.or(converted.title);

    paginate(title, converted.sections, limits)
}

/// What is left of the decompression limit, shared by every part read.
struct InflateBudget {
    remaining: u64,
}

/// Reads one part as UTF-8 text, or `None` if the archive does not have it.
fn read_part<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    name: &str,
    budget: &mut InflateBudget,
) -> Result<Option<String>, IngestError> {
    let Some(index) = archive.index_for_name(name) else { return Ok(None) };
    let entry = archive.by_index(index).map_err(|_| IngestError::Unreadable)?;

    if entry.size() > budget.remaining {
        return Err(IngestError::TooLarge);
    }
    let bytes = read_capped(entry, budget.remaining)?;
    budget.remaining -= bytes.len() as u64;

    let text = String::from_utf8(bytes).map_err(|_| IngestError::Unreadable)?;
    Ok(Some(text.strip_prefix('\u{FEFF}').map(str::to_owned).unwrap_or(text)))
}

/// Reads at most `cap` bytes; a reader that yields more is [`IngestError::TooLarge`].
fn read_capped(reader: impl Read, cap: u64) -> Result<Vec<u8>, IngestError> {
    let mut bytes = Vec::new();
    reader
        .take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|_| IngestError::Unreadable)?;

    if bytes.len() as u64 > cap {
        return Err(IngestError::TooLarge);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests;
