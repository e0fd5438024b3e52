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
    assert_eq!(a.diff_mark, Some((0, 0)));
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

/// One sample's events for slot 0.
fn sample(a: &mut App, id: u64, k: u32, text: &str) {
    use versus::app::Event;
    use versus::engine::EngineEvent;
    for kind in [EventKind::answer(text), EventKind::Finished { stats: stats(4, 20.0) }] {
        a.handle(Event::Engine(EngineEvent { run: id, slot: 0, prompt: 0, sample: k, kind }));
        a.handle(Event::Frame);
    }
}

#[test]
fn a_column_flips_through_its_samples_and_diffs_two_of_them() {
    let mut a = app(models(), 120, 40);
    a.list.entries[0].settings.generation.samples = 3;
    key(&mut a, KeyCode::Char(' '));
    key(&mut a, KeyCode::Tab);
    typ(&mut a, "Name a colour.");
    let effects = key(&mut a, KeyCode::F(5));
    let Some(versus::app::Effect::Run { id, entries, .. }) = effects.first() else { panic!("{effects:?}") };
    let id = *id;
    assert_eq!(entries[0].settings.generation.samples, 3);
    engine(&mut a, id, 0, EventKind::Loaded { load_ms: 10.0, rss_bytes: 0 });
    sample(&mut a, id, 0, "Blue is calm");
    sample(&mut a, id, 1, "Red is loud");
    let c = &a.run.as_ref().unwrap().columns[0];
    assert_eq!((c.samples.shown, c.answer.text.as_str()), (1, "Red is loud"), "a new sample takes the column");
    let (text, _) = screen(&a);
    assert!(text.contains("sample 2/3 · 2 distinct · agree 50%"), "{text}");

    // [ goes back; then a new sample no longer takes the column.
    a.focus = Focus::Columns;
    key(&mut a, KeyCode::Char('['));
    sample(&mut a, id, 2, "Blue is calm");
    let c = &a.run.as_ref().unwrap().columns[0];
    assert_eq!((c.samples.shown, c.answer.text.as_str()), (0, "Blue is calm"));
    let (text, _) = screen(&a);
    assert!(text.contains("sample 1/3 · 2 distinct · agree 67%"), "{text}");

    // d marks sample 1, ] ] shows sample 3... and d diffs the two in the column.
    key(&mut a, KeyCode::Char('d'));
    assert_eq!(a.diff_mark, Some((0, 0)));
    key(&mut a, KeyCode::Char(']'));
    key(&mut a, KeyCode::Char(']'));
    key(&mut a, KeyCode::Char('d'));
    let d = a.diff.clone().expect("a diff of two samples");
    assert_eq!((d.a, d.b, d.samples), (0, 0, Some((0, 2))));
    assert_eq!(d.similarity, 1.0, "samples 1 and 3 say the same");
    let (text, _) = screen(&a);
    assert!(text.contains("samples 1↔3 100% same") && text.contains("── sample 3 ──"), "{text}");
    key(&mut a, KeyCode::Char(']'));
    assert!(a.diff.is_none(), "flipping ends the diff of the sample shown before");
}
