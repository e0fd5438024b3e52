use super::*;
use crate::theme::{Theme, ThemeName};

const SAMPLE: &str = "# Plan\n\nFirst a paragraph with **bold** and `code`\nthat goes on.\n\n```rust\nfn main() {\n    println!(\"hi\");\n}\n```\n\n- one\n- two\n\n| k | v |\n|---|---|\n| a | 1 |\n\n> a quote\n\n~~~\nplain\n~~~\nLast words.\n";

fn plain(doc: &Doc) -> Vec<String> {
    (0..doc.len()).map(|i| doc.line(i).map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect()).unwrap_or_default()).collect()
}

fn whole(text: &str, width: usize, theme: &Theme) -> Doc {
    let mut d = Doc::new(width, theme);
    d.touch();
    d.refresh(text);
    d
}

#[test]
fn streaming_renders_what_rendering_at_once_does() {
    for theme in [Theme::pick(ThemeName::Dark, false), Theme::plain()] {
        let once = whole(SAMPLE, 40, &theme);
        // Token by token (a few characters at a time), refreshing often.
        let mut doc = Doc::new(40, &theme);
        let mut at = 0;
        while at < SAMPLE.len() {
            let mut next = (at + 3).min(SAMPLE.len());
            while !SAMPLE.is_char_boundary(next) {
                next += 1;
            }
            doc.touch();
            doc.refresh(&SAMPLE[..next]);
            at = next;
        }
        assert_eq!(plain(&doc), plain(&once));
        let styled = |d: &Doc| (0..d.len()).map(|i| d.line(i).cloned()).collect::<Vec<_>>();
        assert_eq!(styled(&doc), styled(&once), "styles differ");
    }
}

#[test]
fn settled_text_is_kept_and_only_the_tail_changes() {
    let theme = Theme::plain();
    let mut doc = whole("para one\n\npara two\n\npara", 40, &theme);
    assert_eq!(plain(&doc), vec!["para one", "", "para two", "", "para"]);
    assert_eq!(doc.segs.len(), 1, "the last paragraph is the unsettled tail");
    doc.touch();
    doc.refresh("para one\n\npara two\n\npara three");
    assert_eq!(plain(&doc).last().map(String::as_str), Some("para three"));
}

#[test]
fn a_half_streamed_fence_shows_its_code_and_settles() {
    let theme = Theme::pick(ThemeName::Dark, false);
    let text = "Here:\n\n```python\ndef f(x):\n    return x +";
    let doc = whole(text, 30, &theme);
    let lines = plain(&doc);
    assert_eq!(lines[2], format!("── python {}", "─".repeat(20)));
    assert_eq!(lines[3], "def f(x):");
    assert_eq!(lines[4], "    return x +");
    assert_eq!(lines.len(), 5, "no footer while the block is open: {lines:#?}");
    let open = doc.open_block(text).expect("open block");
    assert_eq!(open.text, "def f(x):\n    return x +");
    let done = whole(&format!("{text} 1\n```\nAfter.\n"), 30, &theme);
    let lines = plain(&done);
    assert_eq!(lines[5], "─".repeat(30));
    assert_eq!(lines.last().map(String::as_str), Some("After."));
    let blocks: Vec<CodeBlock> = done.code_blocks().collect();
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].text, "def f(x):\n    return x + 1\n");
    assert_eq!(blocks[0].lang, "python");
    assert_eq!(blocks[0].lines, 2..6);
}

#[test]
fn a_new_width_recuts_code_and_refills_prose() {
    let theme = Theme::plain();
    let text = "```\nabcdefghij\n```\n\nword word word\n";
    let mut doc = whole(text, 40, &theme);
    doc.reset(text, 6, &theme);
    assert_eq!(plain(&doc), vec!["──────", "abcdef", "ghij", "──────", "", "word", "word", "word"]);
    let wide = whole(text, 6, &theme);
    assert_eq!(plain(&doc), plain(&wide));
}

#[test]
fn code_blocks_inside_lists_are_found_for_copying() {
    let theme = Theme::plain();
    let doc = whole("1. step\n\n    ```sh\n    ls -l\n    ```\n", 40, &theme);
    let blocks: Vec<CodeBlock> = doc.code_blocks().collect();
    assert_eq!(blocks.len(), 1, "{:#?}", plain(&doc));
    assert_eq!(blocks[0].text, "ls -l\n");
}

#[test]
fn fences_need_three_marks_and_close_with_as_many() {
    assert_eq!(opens("```rust\n"), Some((('`', 3), "rust".into())));
    assert_eq!(opens("   ~~~~\n"), Some((('~', 4), String::new())));
    assert_eq!(opens("    ```\n"), None);
    assert_eq!(opens("``\n"), None);
    assert_eq!(opens("``` a`b\n"), None);
    assert!(closes("````\n", ('`', 3)));
    assert!(!closes("``\n", ('`', 3)));
    assert!(!closes("``` x\n", ('`', 3)));
    assert!(!closes("~~~\n", ('`', 3)));
}
