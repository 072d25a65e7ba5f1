//! DOCX extraction tests. Every DOCX is built in memory by the fixtures' DOCX builder.

use super::*;
use crate::fixtures::docx::{
    MAIN_NS, NUMBERING, REL_NS, document_xml, docx, item, padded, paragraph, run, styled,
    styled_run, zip_of,
};

fn pages(bytes: &[u8]) -> Vec<String> {
    extract(bytes, &Limits::default()).unwrap().pages
}

fn only_page(bytes: &[u8]) -> String {
    let pages = pages(bytes);
    assert_eq!(pages.len(), 1, "{pages:?}");
    pages.into_iter().next().unwrap_or_default()
}

#[test]
fn heading_styles_become_markdown_headings() {
    let body: String = (1..=6)
        .map(|level| styled(&format!("Heading{level}"), &format!("Level {level}")))
        .collect();

    let page = only_page(&docx(&body, &[]));

    assert_eq!(
        page,
        "# Level 1\n\n## Level 2\n\n### Level 3\n\n#### Level 4\n\n##### Level 5\n\n###### Level 6"
    );
}

#[test]
fn localized_heading_styles_are_found_through_styles_xml() {
    let styles = format!(
        r#"<w:styles xmlns:w="{MAIN_NS}"><w:style w:type="paragraph" w:styleId="berschrift1"><w:name w:val="heading 1"/></w:style></w:styles>"#
    );
    let body = styled("berschrift1", "Einleitung") + &paragraph(&run("Text."));

    assert_eq!(only_page(&docx(&body, &[("word/styles.xml", &styles)])), "# Einleitung\n\nText.");
}

#[test]
fn paragraphs_bold_and_italic_are_kept() {
    let body = paragraph(
        &(run("Plain, ")
            + &styled_run("bold", "<w:b/>")
            + &run(" and ")
            + &styled_run("italic", "<w:i/>")
            + &run(" and ")
            + &styled_run("both", "<w:b/><w:i/>")
            + &run(".")),
    ) + &paragraph(
        &(styled_run("not bold", r#"<w:b w:val="0"/>"#) + &run(" second paragraph.")),
    );

    let page = only_page(&docx(&body, &[]));

    assert_eq!(page, "Plain, **bold** and *italic* and ***both***.\n\nnot bold second paragraph.");
}

#[test]
fn emphasis_delimiters_stay_outside_whitespace() {
    let body = paragraph(&(run("A") + &styled_run(" spaced ", "<w:b/>") + &run("word")));

    assert_eq!(only_page(&docx(&body, &[])), "A **spaced** word");
}

#[test]
fn emphasis_that_markdown_could_not_parse_is_dropped_not_broken() {
    let body = paragraph(&(run("x") + &styled_run("(y)", "<w:b/>") + &run("z")));

    assert_eq!(only_page(&docx(&body, &[])), "x(y)z");
}

#[test]
fn bulleted_and_numbered_lists_nest_by_level() {
    let body = paragraph(&run("Shopping:"))
        + &item(1, 0, "Fruit")
        + &item(1, 1, "Apples")
        + &item(1, 1, "Pears")
        + &item(1, 0, "Bread")
        + &paragraph(&run("Steps:"))
        + &item(2, 0, "Open")
        + &item(2, 1, "Carefully")
        + &item(2, 0, "Close");

    let page = only_page(&docx(&body, &[("word/numbering.xml", NUMBERING)]));

    assert_eq!(
        page,
        "Shopping:\n\n- Fruit\n  - Apples\n  - Pears\n- Bread\n\nSteps:\n\n1. Open\n   1. Carefully\n2. Close"
    );
}

#[test]
fn list_items_without_numbering_part_are_bullets() {
    let body = item(5, 0, "One") + &item(5, 0, "Two");

    assert_eq!(only_page(&docx(&body, &[])), "- One\n- Two");
}

#[test]
fn list_styles_by_name_are_lists() {
    let body = styled("ListBullet", "Dot")
        + &styled("ListNumber", "First")
        + &styled("ListNumber", "Second");

    assert_eq!(only_page(&docx(&body, &[])), "- Dot\n1. First\n2. Second");
}

#[test]
fn tables_become_pipe_tables() {
    let cell = |text: &str| format!("<w:tc>{}</w:tc>", paragraph(&run(text)));
    let two_paragraphs =
        format!("<w:tc>{}{}</w:tc>", paragraph(&styled_run("1", "<w:b/>")), paragraph(&run("two")));
    let body = format!(
        "<w:tbl><w:tr>{}{}</w:tr><w:tr>{}{two_paragraphs}</w:tr><w:tr>{}</w:tr></w:tbl>",
        cell("Name"),
        cell("Value | pipe"),
        cell("alpha"),
        cell("short row"),
    );

    let page = only_page(&docx(&(paragraph(&run("Before.")) + &body), &[]));

    assert_eq!(
        page,
        "Before.\n\n| Name | Value \\| pipe |\n| --- | --- |\n| alpha | **1** two |\n| short row |  |"
    );
}

#[test]
fn nested_tables_are_flattened_into_their_cell() {
    let inner = format!(
        "<w:tbl><w:tr><w:tc>{}</w:tc><w:tc>{}</w:tc></w:tr></w:tbl>",
        paragraph(&run("in1")),
        paragraph(&run("in2"))
    );
    let body = format!(
        "<w:tbl><w:tr><w:tc>{}</w:tc><w:tc>{}{inner}</w:tc></w:tr></w:tbl>",
        paragraph(&run("H1")),
        paragraph(&run("H2"))
    );

    assert_eq!(only_page(&docx(&body, &[])), "| H1 | H2 in1 in2 |\n| --- | --- |");
}

#[test]
fn hyperlinks_resolve_through_relationships() {
    let rels = format!(
        r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
        <Relationship Id="rId7" Type="{REL_NS}/hyperlink" Target="https://example.com/a b" TargetMode="External"/>
        <Relationship Id="rId8" Type="{REL_NS}/hyperlink" Target="javascript:alert(1)" TargetMode="External"/>
        </Relationships>"#
    );
    let body = paragraph(&format!(
        r#"{}<w:hyperlink r:id="rId7">{}{}</w:hyperlink>{}<w:hyperlink r:id="rId8">{}</w:hyperlink><w:hyperlink w:anchor="_Toc1">{}</w:hyperlink>"#,
        run("See "),
        run("the "),
        styled_run("site", "<w:b/>"),
        run(" or "),
        run("this"),
        run(" inside"),
    ));

    let page = only_page(&docx(&body, &[("word/_rels/document.xml.rels", &rels)]));

    assert_eq!(page, "See [the **site**](https://example.com/a%20b) or this inside");
}

#[test]
fn page_breaks_start_new_pages() {
    let body = paragraph(&run("Page one."))
        + &paragraph(
            &(run("Still one.") + r#"<w:r><w:br w:type="page"/></w:r>"# + &run("Page two.")),
        )
        + r#"<w:p><w:pPr><w:pageBreakBefore/></w:pPr><w:r><w:t>Page three.</w:t></w:r></w:p>"#
        + r#"<w:p><w:pPr><w:sectPr><w:type w:val="nextPage"/></w:sectPr></w:pPr><w:r><w:t>Still three.</w:t></w:r></w:p>"#
        + r#"<w:p><w:pPr><w:sectPr><w:type w:val="continuous"/></w:sectPr></w:pPr><w:r><w:t>Page four.</w:t></w:r></w:p>"#
        + &paragraph(&run("Still four."))
        + &paragraph(&(run("Line") + "<w:r><w:br/></w:r>" + &run("break.")));

    assert_eq!(
        pages(&docx(&body, &[])),
        vec![
            "Page one.\n\nStill one.",
            "Page two.",
            "Page three.\n\nStill three.",
            "Page four.\n\nStill four.\n\nLine break."
        ]
    );
}

#[test]
fn deleted_text_field_codes_and_drawings_are_left_out() {
    let body = paragraph(&format!(
        r#"{}<w:del w:id="1"><w:r><w:delText>DELETED</w:delText></w:r></w:del><w:ins w:id="2">{}</w:ins><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> PAGE </w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r>{}<w:r><w:fldChar w:fldCharType="end"/></w:r><w:r><w:drawing><w:txbxContent><w:p><w:r><w:t>DRAWING</w:t></w:r></w:p></w:txbxContent></w:drawing></w:r>"#,
        run("Kept "),
        run("inserted "),
        run("7"),
    ));

    assert_eq!(only_page(&docx(&body, &[])), "Kept inserted 7");
}

#[test]
fn tabs_entities_and_markup_characters_read_back_literally() {
    let body =
        paragraph(&(run("a&amp;b &lt;tag&gt; 5 * 3 #1") + "<w:r><w:tab/></w:r>" + &run("[x]")))
            + &paragraph(&run("# not a heading"))
            + &paragraph(&run("1. not a list"));

    let page = only_page(&docx(&body, &[]));

    assert_eq!(page, "a&b \\<tag> 5 \\* 3 #1 \\[x\\]\n\n\\# not a heading\n\n1\\. not a list");
}

#[test]
fn hostile_and_multilingual_text_survives() {
    let texts = [
        "'; DROP TABLE documents; --",
        "😀👍🏽 👨‍👩‍👧",
        "日本語のテキスト",
        "مرحبا بالعالم",
        "שלום עולם",
    ];
    let body: String = texts.iter().map(|t| paragraph(&run(t))).collect();

    assert_eq!(only_page(&docx(&body, &[])), texts.join("\n\n"));
}

#[test]
fn title_comes_from_core_properties_then_title_style() {
    let core = r#"<cp:coreProperties xmlns:cp="urn:cp" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>From Properties</dc:title></cp:coreProperties>"#;
    let body = styled("Title", "From Style") + &paragraph(&run("Text."));

    let with_core =
        extract(&docx(&body, &[("docProps/core.xml", core)]), &Limits::default()).unwrap();
    let without_core = extract(&docx(&body, &[]), &Limits::default()).unwrap();
    let heading_only = extract(
        &docx(&(styled("Heading1", "From Heading") + &paragraph(&run("x"))), &[]),
        &Limits::default(),
    )
    .unwrap();

    assert_eq!(with_core.title.as_deref(), Some("From Properties"));
    assert_eq!(without_core.title.as_deref(), Some("From Style"));
    assert_eq!(without_core.pages, vec!["# From Style\n\nText.".to_owned()]);
    assert_eq!(heading_only.title.as_deref(), Some("From Heading"));
}

#[test]
fn an_empty_document_has_no_text_found() {
    let body = paragraph("") + &paragraph(&run("   "));

    assert_eq!(extract(&docx(&body, &[]), &Limits::default()), Err(IngestError::NoTextFound));
}

#[test]
fn broken_archives_and_parts_are_unreadable() {
    let no_document = zip_of(&[("word/other.xml", b"<x/>")]);
    let bad_xml =
        zip_of(&[("word/document.xml", b"<w:document><w:body><w:p attr=\"unclosed></w:body>")]);
    let not_utf8 = zip_of(&[("word/document.xml", b"<w:document>\xff\xfe</w:document>")]);

    assert_eq!(
        extract(b"PK\x03\x04 not really a zip", &Limits::default()),
        Err(IngestError::Unreadable)
    );
    assert_eq!(extract(&no_document, &Limits::default()), Err(IngestError::Unreadable));
    assert_eq!(extract(&bad_xml, &Limits::default()), Err(IngestError::Unreadable));
    assert_eq!(extract(&not_utf8, &Limits::default()), Err(IngestError::Unreadable));
}

#[test]
fn text_over_the_character_limit_is_too_large() {
    let body = paragraph(&run(&"word ".repeat(100)));
    let limits = Limits { max_chars: 200, ..Limits::default() };

    assert_eq!(extract(&docx(&body, &[]), &limits), Err(IngestError::TooLarge));
}

/// The offset of the first local file header's data.
fn first_entry_data(archive: &[u8]) -> usize {
    let name_len = usize::from(u16::from_le_bytes([archive[26], archive[27]]));
    let extra_len = usize::from(u16::from_le_bytes([archive[28], archive[29]]));
    30 + name_len + extra_len
}

#[test]
fn zip_bomb_is_refused_before_inflating() {
    let mut bomb = padded(1 << 20);
    // Wreck the compressed data: inflating it would fail as unreadable, so a refusal as
    // too large shows the declared size was checked first.
    let data = first_entry_data(&bomb);
    for byte in &mut bomb[data..data + 64] {
        *byte = 0xFF;
    }
    let limits = Limits { max_decompressed_bytes: 64 * 1024, ..Limits::default() };

    assert_eq!(extract(&bomb, &limits), Err(IngestError::TooLarge));
}

#[test]
fn an_entry_within_the_limit_is_read() {
    let limits = Limits { max_decompressed_bytes: 64 * 1024, ..Limits::default() };

    assert_eq!(extract(&padded(32 * 1024), &limits).unwrap().pages, vec!["tiny".to_owned()]);
}

#[test]
fn an_entry_lying_about_its_size_is_not_inflated_past_the_limit() {
    let mut bomb = padded(1 << 20);
    let lie = 100u32.to_le_bytes();
    // Declared uncompressed size: offset 22 in the local header, 24 in the central one.
    bomb[22..26].copy_from_slice(&lie);
    let central = bomb.windows(4).rposition(|w| w == b"PK\x01\x02").unwrap();
    bomb[central + 24..central + 28].copy_from_slice(&lie);
    let limits = Limits { max_decompressed_bytes: 64 * 1024, ..Limits::default() };

    let result = extract(&bomb, &limits);

    assert!(matches!(result, Err(IngestError::TooLarge | IngestError::Unreadable)), "{result:?}");
}

#[test]
fn reading_is_capped_at_the_remaining_budget() {
    let endless = std::io::repeat(b'x');

    assert_eq!(read_capped(endless, 1000), Err(IngestError::TooLarge));
    assert_eq!(read_capped(&b"exactly"[..], 7).unwrap(), b"exactly");
}

#[test]
fn the_limit_is_shared_by_all_parts_read() {
    let document = document_xml(&paragraph(&run("text")));
    let styles = format!(r#"<w:styles xmlns:w="{MAIN_NS}">{}</w:styles>"#, " ".repeat(40 * 1024));
    let bytes = zip_of(&[
        ("word/document.xml", format!("{document}{}", " ".repeat(40 * 1024)).as_bytes()),
        ("word/styles.xml", styles.as_bytes()),
    ]);

    let roomy = Limits { max_decompressed_bytes: 100 * 1024, ..Limits::default() };
    let tight = Limits { max_decompressed_bytes: 60 * 1024, ..Limits::default() };

    assert!(extract(&bytes, &roomy).is_ok());
    assert_eq!(extract(&bytes, &tight), Err(IngestError::TooLarge));
}

#[test]
fn parts_that_are_not_read_do_not_count() {
    let media = vec![0u8; 200 * 1024];
    let document = document_xml(&paragraph(&run("text")));
    let bytes =
        zip_of(&[("word/document.xml", document.as_bytes()), ("word/media/video.bin", &media)]);
    let limits = Limits { max_decompressed_bytes: 64 * 1024, ..Limits::default() };

    assert_eq!(extract(&bytes, &limits).unwrap().pages, vec!["text".to_owned()]);
}

#[test]
fn long_documents_are_split_into_pages() {
    let body: String =
        (0..30).map(|i| paragraph(&run(&format!("Paragraph {i} has some words in it.")))).collect();
    let limits = Limits { page_chars: 200, ..Limits::default() };

    let extracted = extract(&docx(&body, &[]), &limits).unwrap();

    assert!(extracted.pages.len() > 1);
    assert!(extracted.pages.iter().all(|page| page.chars().count() <= 200));
}

#[test]
fn an_absurd_list_level_is_capped_instead_of_allocated() {
    let body = item(1, 4_000_000_000, "Deep") + &styled("ListBullet4000000000", "Named");

    let page = only_page(&docx(&body, &[("word/numbering.xml", NUMBERING)]));

    assert!(page.contains("- Deep") && page.contains("- Named"), "{page}");
}

#[test]
fn numbering_continues_across_headings_and_paragraphs() {
    let body = item(2, 0, "One") + &styled("Heading2", "Break") + &item(2, 0, "Two");

    assert_eq!(
        only_page(&docx(&body, &[("word/numbering.xml", NUMBERING)])),
        "1. One\n\n## Break\n\n2. Two"
    );
}

#[test]
fn lists_made_by_style_names_restart_after_a_paragraph() {
    let body =
        styled("ListNumber", "A") + &paragraph(&run("Between.")) + &styled("ListNumber", "B");

    assert_eq!(only_page(&docx(&body, &[])), "1. A\n\nBetween.\n\n1. B");
}
