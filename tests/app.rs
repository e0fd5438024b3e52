//! `App` driven by events alone: keys and engine events in, effects out.

mod common;

use common::ui::*;
use std::time::Duration;

use crossterm::event::KeyCode;
use versus::app::{Effect, Event, Focus};
use versus::engine::EventKind;
use versus::engine::protocol::answer::Status;

#[test]
fn selecting_typing_and_running_submits_every_selected_model() {
    let mut app = app(models(), 120, 40);
    assert_eq!(app.focus, Focus::Models, "the app starts in the model list");
    key(&mut app, KeyCode::Char(' '));
    key(&mut app, KeyCode::Char('d'));
    // Give the copy its own temperature.
    key(&mut app, KeyCode::Char('p'));
    key(&mut app, KeyCode::Enter);
    for _ in 0..3 {
        key(&mut app, KeyCode::Backspace);
    }
    typ(&mut app, "1.2");
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Esc);
    assert!(app.overlay.is_none());
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Focus::Prompt);
    typ(&mut app, "Hi q j");
    let effects = key(&mut app, KeyCode::F(5));
    let Some(Effect::Run { id, prompt, entries, .. }) = effects.first() else { panic!("{effects:?}") };
    assert_eq!(*id, 1);
    assert_eq!(prompt, "Hi q j", "plain letters type in the editor");
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].label, "gemma-3-270m-q4_k_m");
    assert_eq!(entries[1].label, "gemma-3-270m-q4_k_m (temperature=1.2)");
    assert_eq!(entries[1].settings.generation.temperature, 1.2);
    assert_eq!(app.run.as_ref().unwrap().columns.len(), 2);
}

#[test]
fn run_keys_work_from_any_pane_and_explain_what_is_missing() {
    let mut app = app(models(), 120, 40);
    assert!(key(&mut app, KeyCode::F(5)).is_empty());
    assert!(app.notice.as_deref().unwrap().contains("select at least one model"));
    key(&mut app, KeyCode::Char(' '));
    assert!(ctrl(&mut app, 'r').is_empty());
    assert!(app.notice.as_deref().unwrap().contains("prompt is empty"));
    key(&mut app, KeyCode::Tab);
    typ(&mut app, "x");
    key(&mut app, KeyCode::BackTab);
    assert_eq!(app.focus, Focus::Models);
    let alt_enter = app.handle(Event::Key(crossterm::event::KeyEvent::new(KeyCode::Enter, crossterm::event::KeyModifiers::ALT)));
    assert!(matches!(alt_enter.first(), Some(Effect::Run { .. })));
    assert!(key(&mut app, KeyCode::F(5)).is_empty(), "no second run while one is active");
}

#[test]
fn events_of_other_runs_are_dropped() {
    let mut app = app(models(), 120, 40);
    let id = start_three(&mut app);
    engine(&mut app, id + 7, 0, EventKind::answer("stale"));
    engine(&mut app, id - 1, 0, EventKind::Loading);
    let run = app.run.as_ref().unwrap();
    assert_eq!(run.columns[0].answer.text, "");
    assert_eq!(run.columns[0].answer.status, Status::Queued);
    engine(&mut app, id, 0, EventKind::answer("fresh"));
    assert_eq!(app.run.as_ref().unwrap().columns[0].answer.text, "fresh");
}

#[test]
fn esc_cancels_the_active_run_only() {
    let mut app = app(models(), 120, 40);
    let id = in_progress(&mut app);
    // The first Esc skips the model answering; the second stops the run.
    assert_eq!(key(&mut app, KeyCode::Esc), vec![Effect::Skip { run: id, slot: 1 }]);
    assert_eq!(key(&mut app, KeyCode::Esc), vec![Effect::Cancel(id)]);
    engine(&mut app, id, 1, EventKind::Cancelled { stats: Some(stats(14, 20.0)) });
    engine(&mut app, id, 2, EventKind::Cancelled { stats: None });
    engine(&mut app, id, 3, EventKind::RunDone);
    let run = app.run.as_ref().unwrap();
    assert_eq!(run.columns[0].answer.status, Status::Finished, "finished columns keep their text");
    assert_eq!(run.columns[1].answer.status, Status::Cancelled);
    assert!(!run.columns[1].answer.text.is_empty(), "the running one keeps its partial text");
    assert!(key(&mut app, KeyCode::Esc).is_empty());
}

#[test]
fn quitting_asks_during_a_run_and_ctrl_c_always_quits() {
    let mut app = app(models(), 120, 40);
    assert_eq!(key(&mut app, KeyCode::Char('q')), vec![Effect::Quit]);
    let mut app = common::ui::app(models(), 120, 40);
    let id = in_progress(&mut app);
    key(&mut app, KeyCode::BackTab);
    assert_eq!(app.focus, Focus::Models);
    assert!(key(&mut app, KeyCode::Char('q')).is_empty());
    assert_eq!(app.overlay.as_ref().map(|o| o.name()), Some("confirm"));
    assert!(key(&mut app, KeyCode::Char('n')).is_empty());
    assert!(!app.quit);
    key(&mut app, KeyCode::Char('q'));
    assert_eq!(key(&mut app, KeyCode::Char('y')), vec![Effect::Cancel(id), Effect::Quit]);
    let mut app = common::ui::app(models(), 120, 40);
    let id = in_progress(&mut app);
    assert_eq!(ctrl(&mut app, 'c'), vec![Effect::Cancel(id), Effect::Quit]);
}

#[test]
fn filter_narrows_the_list_and_esc_clears_it() {
    let mut app = app(models(), 120, 40);
    key(&mut app, KeyCode::Char('/'));
    typ(&mut app, "qwen");
    assert_eq!(app.list.visible().len(), 1);
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char(' '));
    assert_eq!(app.list.selected(), vec![1]);
    key(&mut app, KeyCode::Char('/'));
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.list.visible().len(), 4);
}

#[test]
fn broken_models_cannot_be_selected() {
    let mut app = app(models(), 120, 40);
    for _ in 0..3 {
        key(&mut app, KeyCode::Char('j'));
    }
    key(&mut app, KeyCode::Char(' '));
    assert!(app.list.selected().is_empty());
}

#[test]
fn prompt_history_comes_back_with_up_at_the_first_line() {
    let mut app = app(models(), 120, 40);
    key(&mut app, KeyCode::Char(' '));
    key(&mut app, KeyCode::Tab);
    for (n, p) in ["first prompt", "second prompt"].iter().enumerate() {
        typ(&mut app, p);
        key(&mut app, KeyCode::F(5));
        engine(&mut app, n as u64 + 1, 1, EventKind::RunDone);
        ctrl(&mut app, 'l');
    }
    typ(&mut app, "draft");
    key(&mut app, KeyCode::Up);
    assert_eq!(app.prompt_text(), "second prompt");
    key(&mut app, KeyCode::Up);
    assert_eq!(app.prompt_text(), "first prompt");
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Down);
    assert_eq!(app.prompt_text(), "draft");
}

#[test]
fn paste_keeps_newlines() {
    let mut app = app(models(), 120, 40);
    app.handle(Event::Paste("line one\r\nline two\rline three".into()));
    assert_eq!(app.focus, Focus::Prompt);
    assert_eq!(app.prompt_text(), "line one\nline two\nline three");
}

#[test]
fn columns_follow_the_tail_until_scrolled_and_sync_scroll_moves_all() {
    let mut app = app(models(), 120, 24);
    let id = start_three(&mut app);
    for slot in 0..2 {
        for i in 0..200 {
            engine(&mut app, id, slot, EventKind::answer(format!("line {i}\n")));
        }
    }
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Focus::Columns);
    let c = &app.run.as_ref().unwrap().columns[0];
    assert!(c.follow && c.top(10) == c.total_lines() - 10);
    key(&mut app, KeyCode::Char('k'));
    let run = app.run.as_ref().unwrap();
    assert!(!run.columns[0].follow);
    assert!(run.columns[1].follow, "only the focused column scrolls");
    key(&mut app, KeyCode::Char('s'));
    key(&mut app, KeyCode::Char('g'));
    let run = app.run.as_ref().unwrap();
    assert_eq!((run.columns[0].top(10), run.columns[1].top(10)), (0, 0));
    key(&mut app, KeyCode::Char('G'));
    assert!(app.run.as_ref().unwrap().columns.iter().all(|c| c.follow));
}

#[test]
fn resizing_rewraps_and_narrow_terminals_use_tabs() {
    let mut app = app(models(), 160, 40);
    in_progress(&mut app);
    let wide = app.run.as_ref().unwrap().columns[0].wrap.len();
    app.handle(Event::Resize(120, 40));
    let narrow = app.run.as_ref().unwrap().columns[0].wrap.len();
    assert!(narrow > wide, "{narrow} lines at 120 columns vs {wide} at 160");
    app.handle(Event::Resize(80, 24));
    let area = versus::layout::panes(app.size, app.zoom).columns;
    assert!(versus::layout::columns(area, 3, false, 0).tabs.is_some(), "80x24 shows tabs");
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Char('l'));
    assert_eq!(app.active_column, 1);
    key(&mut app, KeyCode::Char('z'));
    assert!(app.zoom);
}

#[test]
fn copy_sends_the_focused_column_text() {
    let mut app = app(models(), 120, 40);
    let id = in_progress(&mut app);
    finish(&mut app, id, false);
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Focus::Columns);
    assert_eq!(key(&mut app, KeyCode::Char('y')), vec![Effect::Copy(ANSWER.to_string())]);
}

#[test]
fn served_models_run_on_their_endpoint() {
    let ep = versus::engine::remote::EndpointConfig {
        name: "gpu-2".into(),
        url: "http://gpu-2:8000/v1".into(),
        api_key_env: Some("GPU2_KEY".into()),
        model: None,
        timeout_secs: 60,
    };
    let mut list = models();
    list.push(versus::engine::remote::remote_model(&ep, "llama-3-70b"));
    let mut app = app(list, 120, 40);
    app.endpoints = vec![ep.clone()];
    for _ in 0..4 {
        key(&mut app, KeyCode::Down);
    }
    key(&mut app, KeyCode::Char(' '));
    key(&mut app, KeyCode::Tab);
    typ(&mut app, "hi");
    let effects = key(&mut app, KeyCode::F(5));
    let Some(Effect::Run { entries, .. }) = effects.first() else { panic!("{effects:?}") };
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].engine, versus::engine::EngineKind::Remote);
    let target = entries[0].endpoint.as_ref().expect("an endpoint");
    assert_eq!((target.model.as_str(), target.endpoint.name.as_str()), ("llama-3-70b", "gpu-2"));
}

/// A stored comparison with a local and a remote answer (and a model file
/// that is gone), as the history would give it back.
fn stored_with_remote() -> versus::store::StoredRun {
    use versus::store::{ModelRecord, RunState, StoredOutput, StoredRun};
    let output = |slot: usize, label: &str, name: &str, path: &str, engine: &str| StoredOutput {
        slot,
        label: label.into(),
        model: ModelRecord { name: name.into(), path: path.into(), engine: engine.into(), ..ModelRecord::default() },
        settings: Some(versus::params::Settings::default()),
        rendered_prompt: String::new(),
        text: "an answer".into(),
        thinking: String::new(),
        status: Status::Finished,
        error: None,
        stats: None,
        samples: Vec::new(),
    };
    StoredRun {
        id: 7,
        started_at: "2026-12-01T10:00:00Z".into(),
        finished_at: None,
        state: RunState::Complete,
        prompt: "hi".into(),
        system_prompt: String::new(),
        version: "0".into(),
        host: "h".into(),
        device: "cpu".into(),
        batch: None,
        outputs: vec![
            output(0, "llama-3-70b@gpu-2", "llama-3-70b@gpu-2", "http://gpu-2:8000/v1", "remote"),
            output(1, "gone", "gone", "/nonexistent/gone.gguf", "llama"),
        ],
        problems: Vec::new(),
        votes: Vec::new(),
        turns: Vec::new(),
    }
}

#[test]
fn a_reopened_remote_column_keeps_its_engine() {
    let mut app = app(models(), 120, 40);
    app.handle(Event::Reopen { run: stored_with_remote(), entries: Vec::new() });
    let run = app.run.as_ref().expect("on screen");
    assert_eq!(run.columns[0].engine, versus::engine::EngineKind::Remote, "not relabelled llama");
    assert_eq!(run.columns[1].engine, versus::engine::EngineKind::Llama);
    assert_eq!(run.columns[0].answer.status, Status::Finished);
}

#[test]
fn running_again_on_the_original_models_keeps_servers_and_names_what_is_gone() {
    let ep = versus::engine::remote::EndpointConfig {
        name: "gpu-2".into(),
        url: "http://gpu-2:8000/v1".into(),
        api_key_env: Some("GPU2_KEY".into()),
        model: None,
        timeout_secs: 60,
    };
    let run = stored_with_remote();
    let remote = versus::store::query::entry_of(&run.outputs[0], std::slice::from_ref(&ep)).expect("a server's model runs again");
    assert_eq!(remote.engine, versus::engine::EngineKind::Remote);
    let target = remote.endpoint.expect("its endpoint");
    assert_eq!(target.model, "llama-3-70b");
    assert_eq!(target.endpoint, ep, "the configured endpoint, with its key variable");
    // Without the endpoint configured any more, its URL still works.
    let bare = versus::store::query::entry_of(&run.outputs[0], &[]).expect("by URL");
    assert_eq!(bare.endpoint.map(|t| t.endpoint.url), Some("http://gpu-2:8000/v1".to_string()));
    let err = versus::store::query::entry_of(&run.outputs[1], &[]).expect_err("the file is gone").to_string();
    assert!(err.contains("gone") && err.contains("/nonexistent/gone.gguf"), "{err}");
}

#[test]
fn the_status_line_gives_an_eta_from_the_models_done() {
    let mut a = app(models(), 160, 40);
    let id = start_three(&mut a);
    let t0 = a.now;
    engine(&mut a, id, 0, EventKind::Loading);
    a.now = t0 + Duration::from_secs(2);
    engine(&mut a, id, 0, EventKind::Finished { stats: stats(10, 20.0) });
    engine(&mut a, id, 1, EventKind::Loading);
    // 2 s per model so far, two left, 1 s into the second: 3 s to go.
    a.handle(Event::Tick { now: t0 + Duration::from_secs(3), ram: None, gpu: None });
    let line = versus::ui::status::progress(&a);
    assert!(line.starts_with("model 2/3 · loading") && line.contains("elapsed 3.0 s · ETA 3 s"), "{line}");
}
