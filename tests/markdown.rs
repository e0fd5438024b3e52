//! Answers rendered as Markdown in a column: every element, a code fence
//! half streamed, a thinking section collapsed and expanded, raw mode; in
//! the dark and the light theme at 80×24 and 160×48 (insta).

mod common;

use common::ui::*;
use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;
use versus::app::{App, Effect, Focus};
use versus::engine::EventKind;
use versus::engine::think::Channel;
use versus::theme::{Theme, ThemeName};

const ELEMENTS: &str = "# Heading\n\nSome **bold**, *italic*, ~~gone~~ and `code`, a [link](https://example.org).\n\n1. first\n2. second\n   - nested\n   - [x] done\n\n> quoted\n> text\n\n---\n\n| lang | speed |\n|---|--:|\n| rust | 10 |\n| python | 1 |\n\n```rust\nfn main() {\n    println!(\"hi\");\n}\n```\n\nThe end.\n";

const HALF_FENCE: &str = "Here is the code:\n\n```python\ndef f(x):\n    return x +";

/// One model answering `text` (in four-byte pieces), finished or not.
fn answering(theme: ThemeName, w: u16, h: u16, thinking: &str, text: &str, done: bool) -> (App, u64) {
    let mut a = app(models(), w, h);
    a.theme = Theme::pick(theme, false);
    key(&mut a, KeyCode::Char(' '));
    key(&mut a, KeyCode::Tab);
    typ(&mut a, "Show me");
    let id = match key(&mut a, KeyCode::F(5)).first() {
        Some(Effect::Run { id, .. }) => *id,
        other => panic!("no run: {other:?}"),
    };
    engine(&mut a, id, 0, EventKind::Loading);
    engine(&mut a, id, 0, EventKind::Loaded { load_ms: 412.0, rss_bytes: 300 << 20 });
    for piece in thinking.as_bytes().chunks(4) {
        let text = String::from_utf8_lossy(piece).into_owned();
        engine(&mut a, id, 0, EventKind::Token { text, channel: Channel::Thinking });
    }
    for piece in text.as_bytes().chunks(4) {
        engine(&mut a, id, 0, EventKind::answer(String::from_utf8_lossy(piece).into_owned()));
    }
    if done {
        let mut s = stats(96, 27.4);
        s.thinking_tokens = thinking.len().div_ceil(4) as u64;
        engine(&mut a, id, 0, EventKind::Finished { stats: s });
        engine(&mut a, id, 1, EventKind::RunDone);
    }
    a.focus = Focus::Columns;
    (a, id)
}

fn draw(a: &App, w: u16, h: u16) -> (String, Buffer) {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    term.draw(|f| versus::ui::draw(f, a)).expect("draw");
    (term.backend().to_string(), term.backend().buffer().clone())
}

/// Snapshots in both themes at both sizes; `check` looks at the cells.
fn scene(name: &str, build: impl Fn(ThemeName, u16, u16) -> App, check: impl Fn(ThemeName, u16, &str, &Buffer)) {
    for theme in [ThemeName::Dark, ThemeName::Light] {
        for (w, h) in [(80, 24), (160, 48)] {
            let a = build(theme, w, h);
            let (text, buf) = draw(&a, w, h);
            let t = format!("{theme:?}").to_lowercase();
            insta::assert_snapshot!(format!("{name}_{t}_{w}x{h}"), text);
            check(theme, h, &text, &buf);
        }
    }
}

/// The cell where `needle` starts on screen.
fn cell_of<'a>(buf: &'a Buffer, text: &str, needle: &str) -> &'a ratatui::buffer::Cell {
    let (row, line) =
        text.lines().enumerate().find(|(_, l)| l.contains(needle)).unwrap_or_else(|| panic!("{needle:?} not on screen:\n{text}"));
    let col = line[..line.find(needle).unwrap_or(0)].chars().count().saturating_sub(1);
    &buf[(col as u16, row as u16)]
}

#[test]
fn every_element_renders() {
    scene(
        "elements",
        |t, w, h| {
            let (mut a, _) = answering(t, w, h, "", ELEMENTS, true);
            key(&mut a, KeyCode::Char('g'));
            a
        },
        |theme, h, text, buf| {
            let tall = ["(https://example.org)", "── rust ", "    println!(\"hi\");", "rust   │    10", "The end."];
            let top = ["Heading", "• nested", "1. first", "│ quoted text", "[x] done", "a link"];
            for shown in top.iter().chain(if h > 24 { &tall[..] } else { &[] }) {
                assert!(text.contains(shown), "{shown:?} missing:\n{text}");
            }
            for hidden in ["# Heading", "**bold**", "```", "|---|"] {
                assert!(!text.contains(hidden), "{hidden:?} shown raw:\n{text}");
            }
            let heading = cell_of(buf, text, "Heading").fg;
            assert_eq!(heading, if theme == ThemeName::Dark { Color::Cyan } else { Color::Blue });
            if h > 24 {
                let keyword = cell_of(buf, text, "fn main").fg;
                assert!(matches!(keyword, Color::Indexed(_)), "code is highlighted: {keyword:?}");
            }
        },
    );
}

#[test]
fn a_half_streamed_fence_shows_the_code_so_far() {
    scene(
        "half_fence",
        |t, w, h| answering(t, w, h, "", HALF_FENCE, false).0,
        |_, _, text, _| {
            assert!(text.contains("── python "), "{text}");
            assert!(text.contains("    return x +"), "{text}");
            assert!(!text.contains("```"), "{text}");
        },
    );
}

#[test]
fn thinking_is_collapsed_then_expanded() {
    let thought = "The user wants code. A short function will do.";
    scene(
        "thinking_collapsed",
        |t, w, h| answering(t, w, h, thought, "Here it is.", true).0,
        |_, _, text, _| {
            assert!(text.contains("▸ thinking (12 tokens"), "{text}");
            assert!(!text.contains("short function"), "{text}");
            assert!(text.contains("Here it is."), "{text}");
        },
    );
    scene(
        "thinking_expanded",
        |t, w, h| {
            let (mut a, _) = answering(t, w, h, thought, "Here it is.", true);
            key(&mut a, KeyCode::Char('t'));
            a
        },
        |_, _, text, _| {
            assert!(text.contains("▾ thinking"), "{text}");
            assert!(text.contains("A short function will do."), "{text}");
        },
    );
}

#[test]
fn raw_mode_shows_exactly_what_was_produced() {
    scene(
        "raw",
        |t, w, h| {
            let (mut a, _) = answering(t, w, h, "", ELEMENTS, true);
            key(&mut a, KeyCode::Char('r'));
            key(&mut a, KeyCode::Char('g'));
            a
        },
        |_, h, text, _| {
            let all = ["# Heading", "**bold**", "```rust", "|---|--:|"];
            for raw in &all[..if h > 24 { 4 } else { 2 }] {
                assert!(text.contains(raw), "{raw:?} missing:\n{text}");
            }
        },
    );
}

#[test]
fn search_highlights_and_jumps_across_columns() {
    let (mut a, _) = answering(ThemeName::Dark, 120, 40, "", ELEMENTS, true);
    key(&mut a, KeyCode::Char('/'));
    typ(&mut a, "PYTHON");
    key(&mut a, KeyCode::Enter);
    assert_eq!(a.search.hits.len(), 1, "{:?}", a.search);
    assert_eq!(a.search.at, Some(0));
    assert_eq!(a.notice.as_deref(), Some("1 line matches · n next, N previous"));
    key(&mut a, KeyCode::Char('g'));
    let (text, buf) = draw(&a, 120, 40);
    assert!(text.contains("/PYTHON · match 1/1"), "{text}");
    let found = cell_of(&buf, &text, "python");
    assert_eq!(found.bg, a.theme.found_now.bg.unwrap_or(Color::Reset));
    key(&mut a, KeyCode::Char('n'));
    assert_eq!(a.search.at, Some(0), "one match: n stays on it");
    key(&mut a, KeyCode::Char('/'));
    key(&mut a, KeyCode::Esc);
    assert!(a.search.query.is_empty());
}

#[test]
fn copy_code_copies_the_block_in_view_exactly() {
    let (mut a, _) = answering(ThemeName::Dark, 120, 40, "", ELEMENTS, true);
    let effects = key(&mut a, KeyCode::Char('Y'));
    assert_eq!(effects, vec![Effect::Copy("fn main() {\n    println!(\"hi\");\n}\n".into())]);
    let effects = key(&mut a, KeyCode::Char('y'));
    assert_eq!(effects, vec![Effect::Copy(ELEMENTS.into())], "y copies the raw answer");
}

#[test]
fn a_folded_answer_shows_its_first_lines() {
    let (mut a, _) = answering(ThemeName::Dark, 120, 40, "", ELEMENTS, true);
    key(&mut a, KeyCode::Char('f'));
    let (text, _) = draw(&a, 120, 40);
    assert!(text.contains("more lines (folded)"), "{text}");
    assert!(!text.contains("The end."), "{text}");
    key(&mut a, KeyCode::Char('z'));
    let (text, _) = draw(&a, 120, 40);
    assert!(text.contains("The end."), "zoomed shows it in full:\n{text}");
}
