//! PDF extraction tests. Every PDF is generated in memory by the fixtures' PDF builder.

use lopdf::content::{Content, Operation};
use lopdf::{Object, Stream, StringFormat, dictionary};

use super::layout::Line;
use super::structure::{PageLines, pages_to_markdown};
use super::*;
use crate::fixtures::pdf::{Page, REPORT_HEADER, document, encrypted, latin1, pdf, save};
use crate::fixtures::report_pdf;

#[test]
fn each_pdf_page_becomes_one_markdown_page() {
    let extracted = extract(&report_pdf(3), &Limits::default()).unwrap();

    assert_eq!(extracted.pages.len(), 3);
    assert!(extracted.pages[0].contains("Introduction"));
    assert!(extracted.pages[1].contains("Chapter 2"));
    assert!(extracted.pages[2].contains("Closing words of page 3."));
}

#[test]
fn running_headers_footers_and_page_numbers_are_removed() {
    let extracted = extract(&report_pdf(3), &Limits::default()).unwrap();

    for page in &extracted.pages {
        assert!(!page.contains(REPORT_HEADER), "header left in {page:?}");
        assert!(!page.contains("of 3"), "footer left in {page:?}");
    }
}

#[test]
fn larger_text_becomes_a_heading() {
    let extracted = extract(&report_pdf(3), &Limits::default()).unwrap();

    assert!(extracted.pages[0].starts_with("# Introduction\n\n"), "{:?}", extracted.pages[0]);
    assert!(extracted.pages[0].contains("\n\n## Key Points\n\n"), "{:?}", extracted.pages[0]);
}

#[test]
fn short_capitalized_line_becomes_a_heading() {
    let page = Page::default()
        .text(72.0, 740.0, 11.0, "Opening words of the paper.")
        .text(72.0, 700.0, 11.0, "SUMMARY OF RESULTS")
        .text(72.0, 670.0, 11.0, "The results were good, as the summary shows.");

    let extracted = extract(&pdf(&[page]), &Limits::default()).unwrap();

    assert_eq!(
        extracted.pages,
        vec![
            "Opening words of the paper.\n\n## SUMMARY OF RESULTS\n\n\
             The results were good, as the summary shows."
                .to_owned()
        ]
    );
}

#[test]
fn lines_are_rejoined_into_paragraphs_and_hyphenation_is_undone() {
    let extracted = extract(&report_pdf(3), &Limits::default()).unwrap();

    assert!(
        extracted.pages[0].contains(
            "\n\nThis report gives an example of the text that continues over several lines of one paragraph.\n\n\
             A second paragraph follows after a gap.\n\n"
        ),
        "{:?}",
        extracted.pages[0]
    );
}

#[test]
fn bullets_and_numbers_become_markdown_lists() {
    let extracted = extract(&report_pdf(3), &Limits::default()).unwrap();

    assert!(
        extracted.pages[0]
            .contains("\n\n- Revenue grew\n- Costs fell\n1. First step\n2. Second step\n\n"),
        "{:?}",
        extracted.pages[0]
    );
}

#[test]
fn title_comes_from_the_first_heading_without_metadata() {
    let extracted = extract(&report_pdf(3), &Limits::default()).unwrap();

    assert_eq!(extracted.title.as_deref(), Some("Introduction"));
}

#[test]
fn title_comes_from_the_information_dictionary() {
    let mut doc = document(&[Page::default().text(72.0, 700.0, 11.0, "Body text.")], |_, _| {});
    let info =
        doc.add_object(dictionary! { "Title" => Object::string_literal("Quarterly  Review\u{7}") });
    doc.trailer.set("Info", info);

    let extracted = extract(&save(doc), &Limits::default()).unwrap();

    assert_eq!(extracted.title.as_deref(), Some("Quarterly Review"));
}

#[test]
fn file_name_titles_in_metadata_are_ignored() {
    let mut doc = document(&[Page::default().text(72.0, 700.0, 11.0, "Body text.")], |_, _| {});
    let info = doc.add_object(
        dictionary! { "Title" => Object::string_literal("Microsoft Word - draft3.docx") },
    );
    doc.trailer.set("Info", info);

    let extracted = extract(&save(doc), &Limits::default()).unwrap();

    assert_eq!(extracted.title, None);
}

#[test]
fn literal_markup_characters_in_pdf_text_are_escaped() {
    let bytes = pdf(&[Page::default().text(72.0, 700.0, 11.0, "# 5 * 3 = 15 and a_b <tag>")]);

    let extracted = extract(&bytes, &Limits::default()).unwrap();

    assert_eq!(extracted.pages, vec![r"\# 5 \* 3 = 15 and a\_b \<tag>".to_owned()]);
}

#[test]
fn latin1_text_is_decoded() {
    let bytes = pdf(&[Page::default().text(72.0, 700.0, 11.0, "Café déjà vu – naïve")]);

    let extracted = extract(&bytes, &Limits::default()).unwrap();

    assert_eq!(extracted.pages, vec!["Café déjà vu – naïve".to_owned()]);
}

#[test]
fn kerning_gaps_become_spaces_and_small_adjustments_do_not() {
    let page = Page::default()
        .raw("BT", vec![])
        .raw("Tf", vec![Object::Name(b"F1".to_vec()), 12.into()])
        .raw("Td", vec![72.into(), 700.into()])
        .raw(
            "TJ",
            vec![Object::Array(vec![
                latin1("Ke"),
                20.into(),
                latin1("rning"),
                (-400).into(),
                latin1("works"),
            ])],
        )
        .raw("ET", vec![]);

    let extracted = extract(&pdf(&[page]), &Limits::default()).unwrap();

    assert_eq!(extracted.pages, vec!["Kerning works".to_owned()]);
}

#[test]
fn text_inside_form_xobjects_is_read() {
    let form_content = Content {
        operations: vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec![Object::Name(b"F1".to_vec()), 11.into()]),
            Operation::new("Td", vec![72.into(), 650.into()]),
            Operation::new("Tj", vec![latin1("Text drawn by a form.")]),
            Operation::new("ET", vec![]),
        ],
    }
    .encode()
    .unwrap();
    let page = Page::default()
        .text(72.0, 700.0, 11.0, "Page text first.")
        .raw("Do", vec![Object::Name(b"Fm1".to_vec())]);

    let doc = document(&[page], |doc, resources| {
        let font = resources.get(b"Font").unwrap().clone();
        let form = doc.add_object(Stream::new(
            dictionary! { "Type" => "XObject", "Subtype" => "Form", "BBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
                "Resources" => dictionary! { "Font" => font } },
            form_content,
        ));
        resources.set("XObject", dictionary! { "Fm1" => form });
    });

    let extracted = extract(&save(doc), &Limits::default()).unwrap();

    assert_eq!(extracted.pages, vec!["Page text first.\n\nText drawn by a form.".to_owned()]);
}

#[test]
fn a_form_that_draws_itself_does_not_loop() {
    let page = Page::default()
        .text(72.0, 700.0, 11.0, "Still readable.")
        .raw("Do", vec![Object::Name(b"Fm1".to_vec())]);

    let doc = document(&[page], |doc, resources| {
        let form_id = doc.new_object_id();
        let content = b"/Fm1 Do".to_vec();
        let form = Stream::new(
            dictionary! { "Type" => "XObject", "Subtype" => "Form",
            "Resources" => dictionary! { "XObject" => dictionary! { "Fm1" => form_id } } },
            content,
        );
        doc.objects.insert(form_id, Object::Stream(form));
        resources.set("XObject", dictionary! { "Fm1" => form_id });
    });

    let extracted = extract(&save(doc), &Limits::default()).unwrap();

    assert_eq!(extracted.pages, vec!["Still readable.".to_owned()]);
}

#[test]
fn a_pdf_without_text_has_no_text_found() {
    let drawing = Page::default()
        .raw("re", vec![50.into(), 50.into(), 400.into(), 600.into()])
        .raw("f", vec![]);

    assert_eq!(
        extract(&pdf(&[drawing.clone(), drawing]), &Limits::default()),
        Err(IngestError::NoTextFound)
    );
}

#[test]
fn blank_pages_are_dropped() {
    let bytes = pdf(&[
        Page::default().text(72.0, 700.0, 11.0, "First."),
        Page::default(),
        Page::default().text(72.0, 700.0, 11.0, "Third."),
    ]);

    let extracted = extract(&bytes, &Limits::default()).unwrap();

    assert_eq!(extracted.pages, vec!["First.".to_owned(), "Third.".to_owned()]);
}

#[test]
fn a_pdf_with_only_an_owner_password_is_read() {
    let extracted = extract(&encrypted("owner", ""), &Limits::default()).unwrap();

    assert_eq!(extracted.pages, vec!["Secret text.".to_owned()]);
}

#[test]
fn a_pdf_with_a_bogus_encryption_dictionary_is_refused_as_encrypted() {
    let mut doc = document(&[Page::default().text(72.0, 700.0, 11.0, "Hidden.")], |_, _| {});
    let encrypt = doc.add_object(dictionary! {
        "Filter" => "Standard", "V" => 2, "R" => 3, "Length" => 128, "P" => -4,
        "O" => Object::String(vec![0x11; 32], StringFormat::Hexadecimal),
        "U" => Object::String(vec![0x22; 32], StringFormat::Hexadecimal),
    });
    doc.trailer.set("Encrypt", encrypt);

    assert_eq!(extract(&save(doc), &Limits::default()), Err(IngestError::PdfEncrypted));
}

#[test]
fn a_truncated_pdf_is_unreadable() {
    let bytes = report_pdf(3);

    for keep in [bytes.len() / 3, bytes.len() / 2, bytes.len() - 8] {
        assert_eq!(
            extract(&bytes[..keep], &Limits::default()),
            Err(IngestError::Unreadable),
            "kept {keep}"
        );
    }
}

#[test]
fn garbage_after_the_magic_is_unreadable() {
    assert_eq!(
        extract(b"%PDF-1.7\nthis is not a pdf at all\n%%EOF\n", &Limits::default()),
        Err(IngestError::Unreadable)
    );
    assert_eq!(extract(b"%PDF-", &Limits::default()), Err(IngestError::Unreadable));
}

#[test]
fn damaged_files_give_an_error_or_clean_pages() {
    let bytes = report_pdf(3);
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;

    for _ in 0..40 {
        let mut damaged = bytes.clone();
        for _ in 0..20 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let at = usize::try_from(seed % damaged.len() as u64).unwrap();
            damaged[at] = (seed >> 32) as u8;
        }

        if let Ok(extracted) = extract(&damaged, &Limits::default()) {
            assert!(!extracted.pages.is_empty());
            assert!(extracted.pages.iter().all(|page| !page.trim().is_empty()));
        }
    }
}

#[test]
fn a_panic_inside_extraction_becomes_unreadable() {
    let result = guarded(|| panic!("parser bug"));

    assert_eq!(result, Err(IngestError::Unreadable));
}

#[test]
fn more_pages_than_allowed_is_too_large_before_reading_them() {
    let limits = Limits { max_pages: 2, ..Limits::default() };

    assert_eq!(extract(&report_pdf(3), &limits), Err(IngestError::TooLarge));
}

#[test]
fn more_characters_than_allowed_is_too_large() {
    let limits = Limits { max_chars: 100, ..Limits::default() };

    assert_eq!(extract(&report_pdf(3), &limits), Err(IngestError::TooLarge));
}

#[test]
fn a_content_stream_inflating_past_the_limit_is_too_large() {
    let filler = "q Q ".repeat(10_000);
    let page = Page::default().text(72.0, 700.0, 11.0, "Small text.").raw(&filler, vec![]);
    let limits = Limits { max_decompressed_bytes: 4096, ..Limits::default() };

    assert_eq!(extract(&pdf(&[page]), &limits), Err(IngestError::TooLarge));
}

#[test]
fn long_pages_are_split_at_the_page_size() {
    let lines: Vec<String> =
        (0..40).map(|i| format!("Sentence number {i} of a long page.")).collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let (page, _) = Page::default().body(800.0, &refs);
    let limits = Limits { page_chars: 300, ..Limits::default() };

    let extracted = extract(&pdf(&[page]), &limits).unwrap();

    assert!(extracted.pages.len() > 1);
    assert!(extracted.pages.iter().all(|page| page.chars().count() <= 300));
}

// Layout analysis on lines built by hand.

/// An A4 page with the given lines.
fn page_of(lines: &[(&str, f32, f32, f32)]) -> PageLines {
    on_page(lines.iter().map(|(text, x, y, size)| Line::at(text, *x, *y, *size)).collect())
}

fn on_page(lines: Vec<Line>) -> PageLines {
    PageLines { lines, bounds: Some((0.0, 842.0)) }
}

#[test]
fn a_bare_page_number_is_removed_even_when_it_does_not_repeat_exactly() {
    let pages = vec![
        page_of(&[("Alpha text here.", 72.0, 700.0, 11.0), ("1", 300.0, 30.0, 9.0)]),
        page_of(&[("Beta text here.", 72.0, 700.0, 11.0), ("ii", 300.0, 30.0, 9.0)]),
    ];

    assert_eq!(pages_to_markdown(pages), vec!["Alpha text here.", "Beta text here."]);
}

#[test]
fn a_number_in_the_body_is_kept() {
    let pages = vec![
        page_of(&[
            ("Total:", 72.0, 700.0, 11.0),
            ("42", 72.0, 686.0, 11.0),
            ("End.", 72.0, 672.0, 11.0),
        ]),
        page_of(&[("More.", 72.0, 700.0, 11.0)]),
    ];

    assert_eq!(pages_to_markdown(pages)[0], "Total: 42 End.");
}

#[test]
fn a_single_page_keeps_its_edge_lines() {
    let pages =
        vec![page_of(&[("Report Header", 72.0, 800.0, 11.0), ("Body.", 72.0, 700.0, 11.0)])];

    assert!(pages_to_markdown(pages)[0].contains("Report Header"));
}

#[test]
fn text_repeated_in_the_middle_of_pages_is_kept() {
    let page = |n: &str| {
        let top = format!("Top of page {n}");
        let bottom = format!("Bottom of page {n}");
        page_of(&[
            (top.as_str(), 72.0, 800.0, 11.0),
            ("Repeated body sentence.", 72.0, 600.0, 11.0),
            ("Another body line.", 72.0, 560.0, 11.0),
            ("Yet another body line.", 72.0, 520.0, 11.0),
            (bottom.as_str(), 72.0, 100.0, 11.0),
        ])
    };
    let pages = vec![page("one"), page("two"), page("three")];

    let markdown = pages_to_markdown(pages);

    for page in &markdown {
        assert!(page.contains("Repeated body sentence."), "{page:?}");
        assert!(page.contains("Top of page"), "{page:?}");
    }
}

#[test]
fn nested_list_items_follow_their_indentation() {
    let pages = vec![page_of(&[
        ("• Fruit", 72.0, 700.0, 11.0),
        ("◦ Apple", 90.0, 686.0, 11.0),
        ("◦ Pear", 90.0, 672.0, 11.0),
        ("• Vegetables", 72.0, 658.0, 11.0),
    ])];

    assert_eq!(pages_to_markdown(pages), vec!["- Fruit\n  - Apple\n  - Pear\n- Vegetables"]);
}

#[test]
fn a_wrapped_list_item_is_one_item() {
    let pages = vec![page_of(&[
        ("1. A long item that wraps onto", 72.0, 700.0, 11.0),
        ("a second line", 86.0, 686.0, 11.0),
        ("2. Short", 72.0, 672.0, 11.0),
    ])];

    assert_eq!(
        pages_to_markdown(pages),
        vec!["1. A long item that wraps onto a second line\n2. Short"]
    );
}

#[test]
fn an_isolated_bold_line_is_a_heading_but_bold_in_a_paragraph_is_not() {
    let pages = vec![on_page(vec![
        Line::at("Methods", 72.0, 700.0, 11.0).bold(),
        Line::at("We measured everything.", 72.0, 670.0, 11.0),
        Line::at("Bold start", 72.0, 640.0, 11.0).bold(),
        Line::at("continues here.", 72.0, 626.0, 11.0),
    ])];

    assert_eq!(
        pages_to_markdown(pages),
        vec!["## Methods\n\nWe measured everything.\n\nBold start continues here."]
    );
}

#[test]
fn a_first_line_indent_starts_a_paragraph() {
    let pages = vec![page_of(&[
        ("First paragraph ends here.", 72.0, 700.0, 11.0),
        ("Second one is indented.", 100.0, 686.0, 11.0),
    ])];

    assert_eq!(
        pages_to_markdown(pages),
        vec!["First paragraph ends here.\n\nSecond one is indented."]
    );
}

#[test]
fn cjk_lines_are_joined_without_a_space() {
    let pages =
        vec![page_of(&[("日本語の文章が", 72.0, 700.0, 11.0), ("続きます。", 72.0, 686.0, 11.0)])];

    assert_eq!(pages_to_markdown(pages), vec!["日本語の文章が続きます。"]);
}

#[test]
fn a_hyphen_before_a_capital_or_number_is_kept() {
    let pages = vec![page_of(&[
        ("The Austro-", 72.0, 700.0, 11.0),
        ("Hungarian pages 10-", 72.0, 686.0, 11.0),
        ("20 here", 72.0, 672.0, 11.0),
    ])];

    assert_eq!(pages_to_markdown(pages), vec!["The Austro-Hungarian pages 10-20 here"]);
}

#[test]
fn a_line_in_a_bold_font_standing_alone_is_a_heading() {
    let page = Page::default()
        .text(72.0, 740.0, 11.0, "Opening words of the paper.")
        .bold(72.0, 700.0, 11.0, "Methods")
        .text(72.0, 670.0, 11.0, "We measured everything twice.");

    let extracted = extract(&pdf(&[page]), &Limits::default()).unwrap();

    assert_eq!(
        extracted.pages,
        vec![
            "Opening words of the paper.\n\n## Methods\n\nWe measured everything twice.".to_owned()
        ]
    );
}

#[test]
fn text_starting_left_of_the_bullets_ends_the_list() {
    let pages = vec![page_of(&[
        ("Intro line:", 72.0, 700.0, 11.0),
        ("• first item", 90.0, 686.0, 11.0),
        ("• second item that wraps", 90.0, 672.0, 11.0),
        ("onto another line", 100.0, 658.0, 11.0),
        ("Back at the margin.", 72.0, 644.0, 11.0),
    ])];

    assert_eq!(
        pages_to_markdown(pages),
        vec![
            "Intro line:\n\n- first item\n- second item that wraps onto another line\n\nBack at the margin."
        ]
    );
}

#[test]
fn a_numbered_line_in_a_heading_size_is_a_heading() {
    let pages = vec![page_of(&[
        ("1. Introduction", 72.0, 700.0, 16.0),
        ("Body text of the section.", 72.0, 670.0, 11.0),
        ("More body text here.", 72.0, 656.0, 11.0),
    ])];

    assert_eq!(
        pages_to_markdown(pages),
        vec!["# 1. Introduction\n\nBody text of the section. More body text here."]
    );
}

#[test]
fn a_title_repeated_small_as_a_running_header_stays_on_the_first_page() {
    let page = |first: bool, body: &str| {
        let mut lines = vec![Line::at("Shared Database", 72.0, 810.0, 9.0)];
        if first {
            lines = vec![Line::at("Shared Database", 72.0, 800.0, 24.0)];
        }
        lines.push(Line::at(body, 72.0, 600.0, 11.0));
        lines.push(Line::at("Another line of body text.", 72.0, 586.0, 11.0));
        on_page(lines)
    };
    let pages = vec![page(true, "One."), page(false, "Two."), page(false, "Three.")];

    let markdown = pages_to_markdown(pages);

    assert!(markdown[0].starts_with("# Shared Database\n\n"), "{markdown:?}");
    assert!(!markdown[1].contains("Shared") && !markdown[2].contains("Shared"), "{markdown:?}");
}

#[test]
fn lines_in_a_fixed_pitch_font_become_a_code_block() {
    let pages = vec![on_page(vec![
        Line::at("A paragraph of ordinary prose comes first, long enough to", 72.0, 728.0, 11.0),
        Line::at("outweigh the code below it. Here is the example:", 72.0, 714.0, 11.0),
        Line::at("BEGIN", 72.0, 686.0, 10.0).monospace(),
        Line::at("value ::= INTEGER", 84.0, 672.0, 10.0).monospace(),
        Line::at("* not a list", 84.0, 658.0, 10.0).monospace(),
        Line::at("END", 72.0, 644.0, 10.0).monospace(),
        Line::at("After the code.", 72.0, 620.0, 11.0),
    ])];

    assert_eq!(
        pages_to_markdown(pages),
        vec![
            "A paragraph of ordinary prose comes first, long enough to outweigh the code below it. \
              Here is the example:\n\n```\nBEGIN\n  value ::= INTEGER\n  * not a list\nEND\n```\n\nAfter the code."
        ]
    );
}

#[test]
fn a_document_set_entirely_in_a_fixed_pitch_font_is_prose() {
    let pages = vec![on_page(vec![
        Line::at("Typed letter, first line", 72.0, 700.0, 11.0).monospace(),
        Line::at("and the second line.", 72.0, 686.0, 11.0).monospace(),
    ])];

    assert_eq!(pages_to_markdown(pages), vec!["Typed letter, first line and the second line."]);
}

#[test]
fn dot_leaders_are_removed() {
    let pages = vec![page_of(&[
        ("Introduction . . . . . . . . . 1", 72.0, 700.0, 11.0),
        ("Utilities: : : : : : : : 5", 72.0, 686.0, 11.0),
        ("Wait... and see.", 72.0, 672.0, 11.0),
    ])];

    assert_eq!(pages_to_markdown(pages), vec!["Introduction 1 Utilities 5 Wait... and see."]);
}

#[test]
fn a_header_repeated_on_three_pages_is_removed_in_a_long_document() {
    let page = |header: &str, body: &str| {
        page_of(&[
            (header, 72.0, 810.0, 9.0),
            (body, 72.0, 600.0, 11.0),
            ("More body text.", 72.0, 586.0, 11.0),
        ])
    };
    let mut pages = vec![
        page("Chapter 1: Start 1", "Body one."),
        page("Chapter 1: Start 2", "Body two."),
        page("Chapter 1: Start 3", "Body three."),
    ];
    pages.extend((4..=8).map(|n| page(&format!("Chapter 2: Later {n}"), "Later body.")));

    let markdown = pages_to_markdown(pages);

    assert!(markdown.iter().all(|page| !page.contains("Chapter")), "{markdown:?}");
}
