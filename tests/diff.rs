//! Two columns word-diffed in place, finished and while streaming.

mod common;

use common::ui::*;
use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use versus::app::{App, Focus};
use versus::engine::EventKind;

fn screen(a: &App) -> (String, ratatui::buffer::Buffer) {
    let mut term = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    term.draw(|f| versus::ui::draw(f, a)).expect("draw");
    (term.backend().to_string(), term.backend().buffer().clone())
}

#[test]
fn marking_two_columns_diffs_them_word_by_word() {
    let mut a = app(models(), 120, 40);
    let id = in_progress(&mut a);
    a.focus = Focus::Columns;
    // Column 1 is done, column 2 is still streaming (its first 14 words).
    key(&mut a, KeyCode::Char('d'));
    assert_eq!(a.diff_mark, Some(0));
    key(&mut a, KeyCode::Char('l'));
    key(&mut a, KeyCode::Char('d'));
    let d = a.diff.clone().expect("a diff");
    assert_eq!((d.a, d.b), (0, 1));
    // 14 words of 42 in common with the full answer: 2·14/(42+14).
    assert!((d.similarity - 0.5).abs() < 0.01, "{}", d.similarity);
    let (text, buf) = screen(&a);
    assert!(text.contains(&format!("{:.0}% same · ", d.similarity * 100.0)), "{text}");
    let deleted = buf.content().iter().filter(|c| c.bg == a.theme.deleted.bg.unwrap()).count();
    assert!(deleted > 50, "the words column 2 lacks are marked in column 1");

    // It follows the stream: once both answers are whole they are the same.
    finish(&mut a, id, false);
    assert_eq!(a.diff.as_ref().map(|d| d.similarity), Some(1.0));
    let (text, buf) = screen(&a);
    assert!(text.contains("100% same"), "{text}");
    assert!(!buf.content().iter().any(|c| c.bg == a.theme.deleted.bg.unwrap()), "nothing differs");

    // d on a diffed column ends it.
    key(&mut a, KeyCode::Char('d'));
    assert!(a.diff.is_none());
    assert!(!screen(&a).0.contains("% same"));
    let _ = EventKind::Queued;
}
