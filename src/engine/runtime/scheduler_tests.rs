//! The scheduler's queue, cancellation, timeouts and panic handling, with
//! the scripted engine (no model). The real engines are tested on the demo
//! models in tests/engine.rs and tests/candle.rs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

use crate::catalog::{Format, ModelInfo, Source};
use crate::engine::Engine;
use crate::engine::runtime::memory::MemoryConfig;
use crate::engine::{EngineEvent, EngineKind, EventKind, RunEntry, RunRequest};
use crate::error::Error;

fn entry(script: &str) -> RunEntry {
    let model = ModelInfo {
        name: format!("scripted:{script}"),
        format: Format::Gguf,
        path: "/scripted".into(),
        files: vec![],
        source: Source::Cli,
        size_bytes: 0,
        architecture: None,
        quantization: None,
        parameters: None,
        context_length: Some(512),
        chat_template: false,
        shape: None,
        error: None,
    };
    RunEntry {
        label: script.into(),
        model,
        engine: EngineKind::Scripted,
        settings: Default::default(),
        prompts: None,
        endpoint: None,
        history: Vec::new(),
    }
}

fn engine() -> (Engine, UnboundedReceiver<EngineEvent>) {
    let (tx, rx) = unbounded_channel();
    let mem = MemoryConfig { guard: true, reserve_mib: 0, limit_mib: 0 };
    (Engine::start(tx, mem).expect("thread"), rx)
}

fn request(id: u64, prompts: &[&str], entries: Vec<RunEntry>) -> (RunRequest, Arc<AtomicBool>) {
    let cancel = Arc::new(AtomicBool::new(false));
    (RunRequest::new(id, prompts.iter().map(|p| p.to_string()).collect(), entries, cancel.clone()), cancel)
}

/// Every event of run `id` until its RunDone.
fn events_of(rx: &mut UnboundedReceiver<EngineEvent>, id: u64) -> Vec<EngineEvent> {
    let mut out = Vec::new();
    while let Some(ev) = rx.blocking_recv() {
        let done = ev.run == id && matches!(ev.kind, EventKind::RunDone);
        out.push(ev);
        if done {
            return out;
        }
    }
    panic!("the engine stopped before run {id} ended: {out:?}")
}

fn finals(evs: &[EngineEvent]) -> Vec<(usize, usize, &'static str)> {
    evs.iter()
        .filter_map(|e| {
            let what = match &e.kind {
                EventKind::Finished { .. } => "finished",
                EventKind::Failed { .. } => "failed",
                EventKind::Cancelled { .. } => "cancelled",
                _ => return None,
            };
            Some((e.slot, e.prompt, what))
        })
        .collect()
}

#[test]
fn runs_are_queued_and_entries_run_in_order() {
    let (engine, mut rx) = engine();
    let (a, _) = request(1, &["one", "two"], vec![entry("tokens=2"), entry("tokens=3")]);
    let (b, _) = request(2, &["three"], vec![entry("tokens=1")]);
    engine.submit(a);
    engine.submit(b);
    let first = events_of(&mut rx, 1);
    assert!(first.iter().all(|e| e.run == 1), "run 2 waits for run 1");
    // Each model is loaded once and answers both prompts before the next.
    assert_eq!(finals(&first), vec![(0, 0, "finished"), (0, 1, "finished"), (1, 0, "finished"), (1, 1, "finished")]);
    let loads: Vec<usize> = first.iter().filter(|e| matches!(e.kind, EventKind::Loading)).map(|e| e.slot).collect();
    assert_eq!(loads, vec![0, 1]);
    let text: String = first
        .iter()
        .filter(|e| e.slot == 1 && e.prompt == 0)
        .filter_map(|e| match &e.kind {
            EventKind::Token { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text, "t0 t1 t2 ");
    assert_eq!(finals(&events_of(&mut rx, 2)), vec![(0, 0, "finished")]);
}

#[test]
fn cancel_stops_the_current_model_and_skips_the_rest() {
    let (engine, mut rx) = engine();
    let (req, cancel) = request(1, &["go"], vec![entry("tokens=1000,delay_ms=5"), entry("tokens=2")]);
    engine.submit(req);
    // Cancel once the first model has produced a token.
    let mut seen = Vec::new();
    while let Some(ev) = rx.blocking_recv() {
        let token = matches!(ev.kind, EventKind::Token { .. });
        seen.push(ev);
        if token {
            cancel.store(true, Ordering::SeqCst);
            break;
        }
    }
    seen.extend(events_of(&mut rx, 1));
    assert_eq!(finals(&seen), vec![(0, 0, "cancelled"), (1, 0, "cancelled")]);
    let tokens = seen.iter().filter(|e| matches!(e.kind, EventKind::Token { .. })).count();
    assert!(tokens < 50, "checked on every token: {tokens} tokens after the cancel");
    assert!(!seen.iter().any(|e| e.slot == 1 && matches!(e.kind, EventKind::Loading)), "the next model is not loaded");
}

#[test]
fn a_timeout_fails_that_model_and_the_next_one_runs() {
    let (engine, mut rx) = engine();
    let mut slow = entry("tokens=1000,delay_ms=20");
    slow.settings.backend.timeout_secs = 1;
    let (req, _) = request(1, &["go"], vec![slow, entry("tokens=2")]);
    engine.submit(req);
    let evs = events_of(&mut rx, 1);
    assert_eq!(finals(&evs), vec![(0, 0, "failed"), (1, 0, "finished")]);
    let error = evs.iter().find_map(|e| match &e.kind {
        EventKind::Failed { error, stats } => Some((error.clone(), stats.clone())),
        _ => None,
    });
    let (error, stats) = error.expect("a failure");
    assert!(matches!(error, Error::GenerationTimeout { secs: 1 }), "{error:?}");
    assert!(stats.is_some_and(|s| s.generated_tokens > 0), "what it generated before the deadline is counted");
}

#[test]
fn panics_and_load_failures_become_that_models_failure() {
    let (engine, mut rx) = engine();
    let entries = vec![entry("panic_load"), entry("fail_load"), entry("tokens=5,panic_at=2"), entry("tokens=1")];
    let (req, _) = request(1, &["a", "b"], entries);
    engine.submit(req);
    let evs = events_of(&mut rx, 1);
    let got = finals(&evs);
    for slot in 0..3 {
        assert!(got.contains(&(slot, 0, "failed")) && got.contains(&(slot, 1, "failed")), "slot {slot}: {got:?}");
    }
    assert!(got.contains(&(3, 0, "finished")) && got.contains(&(3, 1, "finished")), "the last model still runs: {got:?}");
    let messages: Vec<String> = evs
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Failed { error, .. } => Some(error.to_string()),
            _ => None,
        })
        .collect();
    assert!(messages.iter().any(|m| m.contains("panicked") && m.contains("loading")), "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("scripted load failure")), "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("panicked") && m.contains("token 2")), "{messages:?}");
}

#[test]
fn a_cancelled_run_never_starts_its_models() {
    let (engine, mut rx) = engine();
    let (req, cancel) = request(1, &["go"], vec![entry("tokens=2"), entry("tokens=2")]);
    cancel.store(true, Ordering::SeqCst);
    engine.submit(req);
    let evs = events_of(&mut rx, 1);
    assert_eq!(finals(&evs), vec![(0, 0, "cancelled"), (1, 0, "cancelled")]);
    assert!(!evs.iter().any(|e| matches!(e.kind, EventKind::Loading)));
    drop(engine);
    // Dropping the engine joins its thread: nothing is left running.
    std::thread::sleep(Duration::from_millis(10));
}

#[test]
fn a_load_reports_progress_and_stops_when_cancelled() {
    let (engine, mut rx) = engine();
    let (req, cancel) = request(9, &["p"], vec![entry("load_ms=2000"), entry("tokens=1")]);
    engine.submit(req);
    let mut evs = Vec::new();
    while let Some(ev) = rx.blocking_recv() {
        if let EventKind::LoadProgress { .. } = ev.kind {
            // Esc after the first step: the load stops at its next one.
            cancel.store(true, Ordering::SeqCst);
        }
        let done = matches!(ev.kind, EventKind::RunDone);
        evs.push(ev);
        if done {
            break;
        }
    }
    let progress: Vec<f32> =
        evs.iter().filter_map(|e| if let EventKind::LoadProgress { fraction } = e.kind { Some(fraction) } else { None }).collect();
    assert!(!progress.is_empty() && progress.len() < 10, "{progress:?}");
    assert!(!evs.iter().any(|e| matches!(e.kind, EventKind::Loaded { .. })), "the load went on: {evs:?}");
    assert!(!evs.iter().any(|e| e.slot == 1 && matches!(e.kind, EventKind::Loading)), "the next model started");
    assert_eq!(finals(&evs), vec![(0, 0, "cancelled"), (1, 0, "cancelled")]);
}

#[test]
fn a_load_that_completes_reports_every_step() {
    let (engine, mut rx) = engine();
    let (req, _) = request(10, &["p"], vec![entry("load_ms=50,tokens=1")]);
    engine.submit(req);
    let evs = events_of(&mut rx, 10);
    let progress: Vec<f32> =
        evs.iter().filter_map(|e| if let EventKind::LoadProgress { fraction } = e.kind { Some(fraction) } else { None }).collect();
    assert_eq!(progress.len(), 10, "{progress:?}");
    assert_eq!(progress.last().copied(), Some(1.0));
    assert_eq!(finals(&evs), vec![(0, 0, "finished")]);
}

fn keeping(policy: crate::engine::runtime::resident::KeepLoaded, limit_mib: u64) -> (Engine, UnboundedReceiver<EngineEvent>) {
    let (tx, rx) = unbounded_channel();
    let mem = MemoryConfig { guard: true, reserve_mib: 0, limit_mib };
    (Engine::keeping(tx, mem, policy).expect("thread"), rx)
}

/// (slot, what) for loads and answers, in order; and the models left loaded.
fn residency(evs: &[EngineEvent]) -> (Vec<(usize, &'static str)>, Vec<String>) {
    let mut seen = Vec::new();
    let mut resident = Vec::new();
    for e in evs {
        match &e.kind {
            EventKind::Loading => seen.push((e.slot, "load")),
            EventKind::Finished { stats } if stats.resident => seen.push((e.slot, "resident answer")),
            EventKind::Finished { .. } => seen.push((e.slot, "answer")),
            EventKind::Failed { .. } => seen.push((e.slot, "failed")),
            EventKind::Resident { models } => resident = models.iter().map(|m| m.split(' ').next().unwrap_or("").to_string()).collect(),
            _ => {}
        }
    }
    (seen, resident)
}

#[test]
fn never_keeps_a_model_loaded() {
    use crate::engine::runtime::resident::KeepLoaded;
    let (engine, mut rx) = keeping(KeepLoaded::Never, 1000);
    for id in [1, 2] {
        let (req, _) = request(id, &["go"], vec![entry("mem_mib=400"), entry("mem_mib=300")]);
        engine.submit(req);
        let (seen, resident) = residency(&events_of(&mut rx, id));
        assert_eq!(seen, vec![(0, "load"), (0, "answer"), (1, "load"), (1, "answer")]);
        assert!(resident.is_empty());
    }
}

#[test]
fn auto_keeps_what_fits_beside_the_next_models_and_runs_the_loaded_first() {
    use crate::engine::runtime::resident::KeepLoaded;
    // Both fit together: both stay, and the second run loads nothing.
    let (engine, mut rx) = keeping(KeepLoaded::Auto, 1000);
    let (req, _) = request(1, &["go"], vec![entry("mem_mib=400"), entry("mem_mib=300")]);
    engine.submit(req);
    let (seen, resident) = residency(&events_of(&mut rx, 1));
    assert_eq!(seen, vec![(0, "load"), (0, "answer"), (1, "load"), (1, "answer")]);
    assert_eq!(resident, vec!["mem_mib=400", "mem_mib=300"]);
    let (req, _) = request(2, &["again"], vec![entry("mem_mib=400"), entry("mem_mib=300")]);
    engine.submit(req);
    let (seen, _) = residency(&events_of(&mut rx, 2));
    assert_eq!(seen, vec![(0, "resident answer"), (1, "resident answer")]);

    // Only one fits at a time: the first is unloaded for the second, which
    // stays; the next run starts with it, then gives its room to the other.
    let (engine, mut rx) = keeping(KeepLoaded::Auto, 1000);
    let (req, _) = request(1, &["go"], vec![entry("mem_mib=600"), entry("mem_mib=700")]);
    engine.submit(req);
    let (seen, resident) = residency(&events_of(&mut rx, 1));
    assert_eq!(seen, vec![(0, "load"), (0, "answer"), (1, "load"), (1, "answer")]);
    assert_eq!(resident, vec!["mem_mib=700"]);
    let (req, _) = request(2, &["again"], vec![entry("mem_mib=600"), entry("mem_mib=700")]);
    engine.submit(req);
    let (seen, resident) = residency(&events_of(&mut rx, 2));
    assert_eq!(seen, vec![(1, "resident answer"), (0, "load"), (0, "answer")], "the loaded model goes first");
    assert_eq!(resident, vec!["mem_mib=600"]);
}

#[test]
fn always_evicts_the_least_recently_used_when_room_is_needed() {
    use crate::engine::runtime::resident::KeepLoaded;
    let (engine, mut rx) = keeping(KeepLoaded::Always, 1000);
    let (req, _) = request(1, &["go"], vec![entry("mem_mib=400,tokens=1"), entry("mem_mib=400,tokens=2"), entry("mem_mib=400,tokens=3")]);
    engine.submit(req);
    let (seen, resident) = residency(&events_of(&mut rx, 1));
    assert_eq!(seen.iter().filter(|(_, w)| *w == "load").count(), 3);
    assert_eq!(resident, vec!["mem_mib=400,tokens=2", "mem_mib=400,tokens=3"], "the first (least recently used) made room");
    // Using the second makes the third the least recently used.
    let (req, _) = request(2, &["go"], vec![entry("mem_mib=400,tokens=2")]);
    engine.submit(req);
    events_of(&mut rx, 2);
    let (req, _) = request(3, &["go"], vec![entry("mem_mib=400,tokens=1")]);
    engine.submit(req);
    let (seen, resident) = residency(&events_of(&mut rx, 3));
    assert_eq!(seen, vec![(0, "load"), (0, "answer")]);
    assert_eq!(resident, vec!["mem_mib=400,tokens=2", "mem_mib=400,tokens=1"]);
    // A model that does not fit even alone fails, and the loaded ones stay
    // unloaded only as far as needed (here: all of them, to no avail).
    let (req, _) = request(4, &["go"], vec![entry("mem_mib=4000")]);
    engine.submit(req);
    let (seen, _) = residency(&events_of(&mut rx, 4));
    assert_eq!(seen, vec![(0, "load"), (0, "failed")]);
}

#[test]
fn each_model_gets_its_own_earlier_turns() {
    let (engine, mut rx) = engine();
    let mut a = entry("tokens=1");
    a.history = vec![crate::engine::Turn { user: "Q1".into(), assistant: "mine".into() }];
    let mut b = entry("tokens=1");
    b.history = vec![crate::engine::Turn { user: "Q1".into(), assistant: "theirs".into() }];
    b.settings.generation.drop_turns = 1;
    let (req, _) = request(1, &["Q2"], vec![a, b]);
    engine.submit(req);
    let rendered: Vec<String> = events_of(&mut rx, 1)
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Finished { stats } => Some(stats.rendered_prompt.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(rendered, vec!["Q1mine\n\nQ2".to_string(), "Q2".to_string()], "drop_turns leaves the oldest out");
}

/// A new `timeout_secs` is not a new load: the model still loaded answers,
/// and no second copy of it stays beside the first.
#[test]
fn a_new_timeout_keeps_the_loaded_model() {
    use crate::engine::runtime::resident::KeepLoaded;
    let (engine, mut rx) = keeping(KeepLoaded::Always, 1000);
    let (req, _) = request(1, &["go"], vec![entry("mem_mib=100")]);
    engine.submit(req);
    events_of(&mut rx, 1);
    let mut longer = entry("mem_mib=100");
    longer.settings.backend.timeout_secs = 600;
    let (req, _) = request(2, &["again"], vec![longer]);
    engine.submit(req);
    let (seen, resident) = residency(&events_of(&mut rx, 2));
    assert_eq!(seen, vec![(0, "resident answer")], "no second load");
    assert_eq!(resident.len(), 1, "one copy loaded: {resident:?}");
}
