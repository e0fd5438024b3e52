//! A day of daily use (issue 34): what went wrong in the second hour of
//! comparing models over SSH, each reproduced here through the app as the
//! event loop drives it, and drawn where the screen is what went wrong.

mod common;

use common::ui::*;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use versus::app::{App, Effect, Event, Focus};
use versus::engine::EventKind;
use versus::engine::protocol::answer::Status;

fn screen(a: &App, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    term.draw(|f| versus::ui::draw(f, a)).expect("draw");
    term.backend().to_string()
}

fn alt(app: &mut App, c: char) -> Vec<Effect> {
    app.handle(Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::ALT)))
}

/// Set parameter `key` of the model under the list's cursor.
fn set_param(a: &mut App, key: &str, value: &str) {
    a.focus = Focus::Models;
    common::ui::key(a, KeyCode::Char('p'));
    let row = versus::params::PARAMS.iter().position(|p| p.key == key).expect("a parameter");
    for _ in 0..row {
        common::ui::key(a, KeyCode::Down);
    }
    common::ui::key(a, KeyCode::Enter);
    for _ in 0..40 {
        common::ui::key(a, KeyCode::Backspace);
    }
    typ(a, value);
    common::ui::key(a, KeyCode::Enter);
    common::ui::key(a, KeyCode::Esc);
}

/// 1. A parameter edited after a run reaches its retry and its follow-up.
#[test]
fn parameter_edits_reach_retries_and_follow_ups() {
    let mut a = app(models(), 140, 44);
    let id = in_progress(&mut a);
    finish(&mut a, id, true);
    // The third model failed; give it drop_turns=1 and a longer timeout.
    a.list.cursor = 2;
    set_param(&mut a, "drop_turns", "1");
    set_param(&mut a, "timeout_secs", "600");
    let effects = common::ui::key(&mut a, KeyCode::F(6));
    let Some(Effect::Run { entries, .. }) = effects.first() else { panic!("{effects:?}") };
    assert_eq!(entries[2].settings.generation.drop_turns, 1, "the retry runs with the edit");
    assert_eq!(entries[2].settings.backend.timeout_secs, 600);
    assert!(a.notice.as_deref().unwrap_or("").contains("drop_turns=1"), "the notice names the new settings: {:?}", a.notice);
    // And the follow-up after it.
    let retry = match effects.first() {
        Some(Effect::Run { id, .. }) => *id,
        _ => unreachable!(),
    };
    engine(&mut a, retry, 2, EventKind::Finished { stats: stats(3, 10.0) });
    engine(&mut a, retry, 3, EventKind::RunDone);
    a.focus = Focus::Prompt;
    ctrl(&mut a, 'l');
    typ(&mut a, "And then?");
    let effects = ctrl(&mut a, 'f');
    let Some(Effect::Run { entries, .. }) = effects.first() else { panic!("{effects:?}") };
    assert_eq!(entries[2].settings.generation.drop_turns, 1, "the follow-up runs with the edit");
}

/// 3. Two copies of one model keep what tells them apart in narrow columns.
#[test]
fn copies_keep_their_differing_settings_in_narrow_headers() {
    let mut a = app(models(), 100, 30);
    common::ui::key(&mut a, KeyCode::Char(' '));
    common::ui::key(&mut a, KeyCode::Char('d'));
    set_param(&mut a, "temperature", "1.2");
    a.list.cursor = 0;
    set_param(&mut a, "temperature", "0");
    a.focus = Focus::Prompt;
    typ(&mut a, "Hi");
    common::ui::key(&mut a, KeyCode::F(5));
    let shown = screen(&a, 100, 30);
    assert!(shown.contains("temperature=1.2") && shown.contains("temperature=0.0"), "{shown}");
}

/// 4. Vote keys vote from the editor; a reopened comparison lands in an
/// empty, focused prompt.
#[test]
fn vote_keys_work_from_the_editor_and_reopening_focuses_an_empty_prompt() {
    let mut a = app(models(), 120, 40);
    a.blind = true;
    let id = start_three(&mut a);
    assert_eq!(a.focus, Focus::Prompt, "F5 leaves the editor focused");
    finish(&mut a, id, false);
    let effects: Vec<Effect> = ["2", "1"].iter().flat_map(|k| common::ui::key(&mut a, KeyCode::Char(k.chars().next().unwrap()))).collect();
    assert!(matches!(effects.as_slice(), [Effect::Query(versus::store::query::Query::Vote { .. }), _]), "{effects:?}");
    assert!(!a.prompt_text().contains('2'), "the digits voted, nothing was typed: {}", a.prompt_text());
    let stored = versus::store::StoredRun {
        id: 9,
        started_at: "2026-12-07T10:00:00Z".into(),
        finished_at: None,
        state: versus::store::RunState::Complete,
        prompt: "Q".into(),
        system_prompt: String::new(),
        version: String::new(),
        host: String::new(),
        device: String::new(),
        batch: None,
        outputs: Vec::new(),
        problems: Vec::new(),
        votes: Vec::new(),
        turns: Vec::new(),
    };
    a.handle(Event::Reopen { run: stored, entries: Vec::new() });
    assert_eq!(a.focus, Focus::Prompt);
    assert_eq!(a.prompt_text(), "", "the next question starts empty");
}

/// 7. Esc skips the model answering and the run goes on; Esc again stops
/// it; a cancelled model is retried like a failed one.
#[test]
fn esc_skips_the_model_answering_then_stops_the_run() {
    let mut a = app(models(), 140, 44);
    let id = in_progress(&mut a);
    let effects = common::ui::key(&mut a, KeyCode::Esc);
    assert_eq!(effects, vec![Effect::Skip { run: id, slot: 1 }], "the second model is skipped, not the run");
    assert!(a.notice.as_deref().unwrap_or("").contains("the run goes on"), "{:?}", a.notice);
    engine(&mut a, id, 1, EventKind::Cancelled { stats: None });
    engine(&mut a, id, 2, EventKind::Loading);
    assert_eq!(common::ui::key(&mut a, KeyCode::Esc), vec![Effect::Cancel(id)], "Esc again stops the run");
    engine(&mut a, id, 2, EventKind::Cancelled { stats: None });
    engine(&mut a, id, 3, EventKind::RunDone);
    let status = versus::ui::status::progress(&a);
    assert!(status.starts_with("stopped · 2 of 3 cancelled"), "not \"done\" after a cancel: {status}");
    let effects = common::ui::key(&mut a, KeyCode::F(6));
    let Some(Effect::Run { entries, retry: Some(0), .. }) = effects.first() else { panic!("cancelled models are retried: {effects:?}") };
    assert_eq!(entries[0].prompts, Some(vec![]));
    assert_eq!((entries[1].prompts.clone(), entries[2].prompts.clone()), (None, None));
    // Alt-X stops a run at once.
    let mut b = app(models(), 140, 44);
    let id = in_progress(&mut b);
    assert_eq!(alt(&mut b, 'x'), vec![Effect::Cancel(id)]);
}

/// 10. Blind mode says it is on between runs, asks before a new run drops
/// an unfinished vote, and says who was who when it does.
#[test]
fn blind_mode_shows_itself_and_asks_before_dropping_a_vote() {
    let mut a = app(models(), 120, 40);
    a.focus = Focus::Models;
    common::ui::key(&mut a, KeyCode::Char('b'));
    assert!(versus::ui::status::progress(&a).starts_with("blind · ready"), "{}", versus::ui::status::progress(&a));
    let id = start_three(&mut a);
    finish(&mut a, id, false);
    let effects = common::ui::key(&mut a, KeyCode::F(5));
    assert!(effects.is_empty(), "a new run asks first: {effects:?}");
    assert!(a.notice.as_deref().unwrap_or("").contains("has no vote yet"), "{:?}", a.notice);
    let effects = common::ui::key(&mut a, KeyCode::F(5));
    assert!(matches!(effects.first(), Some(Effect::Run { .. })), "asked again, it runs: {effects:?}");
    assert!(a.notice.as_deref().unwrap_or("").contains("A = "), "the dropped run's names are said: {:?}", a.notice);
    // After a vote, the hint does not claim blind mode is off.
    let mut b = app(models(), 120, 40);
    b.blind = true;
    let id = start_three(&mut b);
    finish(&mut b, id, false);
    common::ui::key(&mut b, KeyCode::Char('='));
    common::ui::key(&mut b, KeyCode::Tab);
    common::ui::key(&mut b, KeyCode::Tab);
    common::ui::key(&mut b, KeyCode::Char('1'));
    assert!(!b.notice.as_deref().unwrap_or("").contains("turns blind mode on"), "{:?}", b.notice);
}

/// 12. The smaller ones: an empty value resets a parameter; f says what it
/// did; Ctrl-E says a run is still going; z gives the answers the screen;
/// a notice about a run's start goes when the run ends; a search is of
/// the run on screen.
#[test]
fn the_smaller_ones() {
    let mut a = app(models(), 80, 24);
    set_param(&mut a, "temperature", "1.5");
    assert!((a.list.entries[0].settings.generation.temperature - 1.5).abs() < 1e-6);
    set_param(&mut a, "temperature", "");
    assert_eq!(a.list.entries[0].settings.generation.temperature, a.list.entries[0].base.generation.temperature, "empty resets it");

    let id = in_progress(&mut a);
    assert!(matches!(ctrl(&mut a, 'e').as_slice(), [Effect::Export(_)]));
    assert!(a.notice.as_deref().unwrap_or("").contains("still going"), "{:?}", a.notice);
    a.focus = Focus::Columns;
    common::ui::key(&mut a, KeyCode::Char('f'));
    assert!(a.notice.as_deref().unwrap_or("").starts_with("folded"), "f says what it did: {:?}", a.notice);
    common::ui::key(&mut a, KeyCode::Char('f'));
    let before = a.column_height();
    common::ui::key(&mut a, KeyCode::Char('z'));
    assert!(a.column_height() > before + 6, "zoomed at 80×24 the answer gets the screen: {before} → {}", a.column_height());
    common::ui::key(&mut a, KeyCode::Char('z'));
    finish(&mut a, id, true);
    let effects = common::ui::key(&mut a, KeyCode::F(6));
    let Some(Effect::Run { id: retry, .. }) = effects.first() else { panic!("{effects:?}") };
    assert!(a.notice.as_deref().unwrap_or("").starts_with("asking"), "{:?}", a.notice);
    engine(&mut a, *retry, 2, EventKind::Finished { stats: stats(3, 10.0) });
    engine(&mut a, *retry, 3, EventKind::RunDone);
    assert_eq!(a.notice, None, "\"asking … again\" goes with the run it was about");
    assert_eq!(a.run.as_ref().unwrap().columns[2].answer.status, Status::Finished);
}
