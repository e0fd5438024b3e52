//! Conversations: follow-up turns in the TUI (scripted events) and through
//! the real engines on the demo models: each model gets its own earlier
//! answers, the history and the exports hold every turn, `--continue`
//! works headless, a model kept loaded reuses its cache of the conversation
//! and answers with the same tokens as from scratch, and a conversation
//! that outgrows the context says so.

mod common;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use versus::store::export::Format;
use versus::store::query::Target;

use common::ui::*;
use common::{Sandbox, stderr, stdout};
use versus::app::{Effect, Focus};
use versus::config::Config;
use versus::engine::runtime::resident::KeepLoaded;
use versus::engine::{Engine, EngineEvent, EngineKind, EventKind, RunEntry, RunRequest, Stats, Turn};

#[test]
fn a_follow_up_sends_each_model_its_own_turns_and_keeps_them_on_screen() {
    let mut a = app(models(), 140, 44);
    let id = in_progress(&mut a);
    assert!(ctrl(&mut a, 'f').is_empty(), "no follow-up while the run streams");
    finish(&mut a, id, true);
    a.focus = Focus::Prompt;
    ctrl(&mut a, 'l');
    typ(&mut a, "Now in one sentence.");
    let effects = ctrl(&mut a, 'f');
    let Some(Effect::Run { id: next, prompt, entries, follows, .. }) = effects.first() else { panic!("{effects:?}") };
    assert_ne!(*next, id);
    assert_eq!(prompt, "Now in one sentence.");
    assert_eq!(*follows, Some(Target::Run(id)), "the same comparison, found through the run it follows");
    let first = "Explain in one paragraph why the sky is blue.";
    let own = |slot: usize| a.run.as_ref().unwrap().columns.iter().find(|c| c.slot == slot).unwrap().earlier[0].1.text.clone();
    assert_eq!(entries[0].history, vec![Turn { user: first.into(), assistant: own(0) }]);
    assert_eq!(entries[1].history, vec![Turn { user: first.into(), assistant: own(1) }]);
    assert!(entries[2].history.is_empty(), "the model that failed is asked without its failed turn");
    assert!(a.notice.as_deref().unwrap_or("").contains("failed last turn"), "{:?}", a.notice);
    let shown = {
        let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(140, 44)).unwrap();
        term.draw(|f| versus::ui::draw(f, &a)).unwrap();
        term.backend().to_string()
    };
    assert!(shown.contains("▶ turn 1") && shown.contains("▶ turn 2") && shown.contains("Now in one sentence."), "{shown}");
    // The turn's answers stream under the earlier ones.
    engine(&mut a, *next, 0, EventKind::Loaded { load_ms: 0.0, rss_bytes: 0 });
    engine(&mut a, *next, 0, EventKind::answer("Rayleigh scattering."));
    let c = &a.run.as_ref().unwrap().columns[0];
    assert_eq!(c.answer.text, "Rayleigh scattering.");
    assert_eq!(c.earlier.len(), 1);
}

fn greedy(path: &std::path::Path, engine: EngineKind, max_tokens: &str) -> RunEntry {
    let model = versus::catalog::describe_path(path).expect("demo model");
    let mut settings = Config::defaults().settings_for(&model.name);
    settings.set("temperature", "0").unwrap();
    settings.set("max_tokens", max_tokens).unwrap();
    RunEntry {
        label: format!("{}@{}", model.name, engine.label()),
        model,
        engine,
        settings,
        prompts: None,
        endpoint: None,
        history: Vec::new(),
    }
}

/// Submit `entries` on `prompt` as run `id` and wait for it: (text, stats) per slot.
fn answer(
    engine: &Engine,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<EngineEvent>,
    id: u64,
    prompt: &str,
    entries: Vec<RunEntry>,
) -> Vec<(String, Stats)> {
    let n = entries.len();
    engine.submit(RunRequest::new(id, vec![prompt.into()], entries, Arc::new(AtomicBool::new(false))));
    let mut out = vec![(String::new(), Stats::default()); n];
    while let Some(ev) = rx.blocking_recv() {
        match ev.kind {
            EventKind::Token { text, .. } => out[ev.slot].0.push_str(&text),
            EventKind::Finished { stats } => out[ev.slot].1 = stats,
            EventKind::Failed { error, .. } => panic!("slot {} failed: {error}", ev.slot),
            EventKind::RunDone => break,
            _ => {}
        }
    }
    out
}

/// A lead in logits below which either choice is the greedy one (as in
/// tests/parity.rs).
const NEAR_TIE: f32 = 0.5;

fn reference(path: &std::path::Path) -> versus::engine::llama::LlamaCpp {
    let info = versus::catalog::describe_path(path).expect("demo model");
    versus::engine::llama::LlamaCpp::load(&info, &Config::defaults().settings_for(&info.name).backend).expect("llama.cpp loads it")
}

/// Whether `answer` after `prompt` is llama.cpp's greedy choice at every
/// token, or else at a near-tie; Err: the first token that is neither.
fn greedy_modulo_ties(llama: &versus::engine::llama::LlamaCpp, prompt: &str, answer: &str) -> Result<(), String> {
    let head = llama.tokenize(prompt).len();
    let ids: Vec<u32> = llama.tokenize(&format!("{prompt}{answer}"))[head..].iter().map(|&t| t as u32).collect();
    let choices = llama.forced_greedy(prompt, &ids).map_err(|e| e.to_string())?;
    for (i, (&id, (greedy, lead))) in ids.iter().zip(choices).enumerate() {
        if id != greedy && lead >= NEAR_TIE {
            return Err(format!("token {i}: {:?} where {:?} leads by {lead:.2}", llama.piece(id as i32), llama.piece(greedy as i32)));
        }
    }
    Ok(())
}

#[test]
fn a_kept_model_reuses_its_cache_and_answers_as_from_scratch() {
    let _g = common::model_lock();
    let (gemma, smol) = (common::demo_model(), common::demo_chat_model());
    let mem = Config::defaults().memory;
    for engine_kind in [EngineKind::Llama, EngineKind::Candle] {
        let entries = || vec![greedy(&smol, engine_kind, "24"), greedy(&gemma, engine_kind, "16")];
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let kept = Engine::keeping(tx, mem.clone(), KeepLoaded::Always).expect("engine");
        let q1 = "Name a planet.";
        let turn1 = answer(&kept, &mut rx, 1, q1, entries());
        let mut second = entries();
        for (e, (text, _)) in second.iter_mut().zip(&turn1) {
            e.history = vec![Turn { user: q1.into(), assistant: text.clone() }];
        }
        let q2 = "And a moon of it?";
        let reused = answer(&kept, &mut rx, 2, q2, second.clone());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let fresh = Engine::start(tx, mem.clone()).expect("engine");
        let scratch = answer(&fresh, &mut rx, 1, q2, second);
        for (slot, ((text, stats), (want, cold))) in reused.iter().zip(&scratch).enumerate() {
            let who = format!("{engine_kind:?} slot {slot}");
            assert!(stats.resident && !cold.resident, "{who}: answered without a load");
            assert!(stats.prompt_reused > 0, "{who}: nothing reused");
            assert_eq!(stats.prompt_reused + stats.prompt_tokens, cold.prompt_tokens, "{who}: the same prompt, split");
            assert!(stats.prompt_tokens < cold.prompt_tokens, "{who}: {} of {} processed", stats.prompt_tokens, cold.prompt_tokens);
            assert_eq!(stats.rendered_prompt, cold.rendered_prompt);
            assert!(cold.rendered_prompt.contains(&turn1[slot].0), "{who}: its own earlier answer is in the prompt");
            // Reusing the cache computes the same numbers in other batches,
            // whose rounding may flip a near-tie (as any change of kernel
            // may): the answers must agree, or part at a near-tie of the
            // reference's own greedy choices, and both be greedy paths.
            if text != want {
                let llama = reference(if slot == 0 { &smol } else { &gemma });
                for t in [text, want] {
                    let first_tie = greedy_modulo_ties(&llama, &cold.rendered_prompt, t);
                    assert!(first_tie.is_ok(), "{who}: {t:?} is not llama.cpp's greedy answer: {first_tie:?}");
                }
                eprintln!("{who}: the answers part at a near-tie: {text:?} / {want:?}");
            }
        }
    }
}

#[test]
fn a_conversation_that_outgrows_the_context_says_so_and_can_drop_old_turns() {
    let _g = common::model_lock();
    let mut e = greedy(&common::demo_chat_model(), EngineKind::Llama, "4");
    e.settings.set("context_size", "128").unwrap();
    e.history = vec![
        Turn { user: "Say many words.".into(), assistant: "word ".repeat(150) },
        Turn { user: "Again.".into(), assistant: "Fine.".into() },
    ];
    let events = common::run_engine(vec![e.clone()], "Shorter now.", Config::defaults().memory, |_| false);
    let error = events.iter().find_map(|ev| if let EventKind::Failed { error, .. } = &ev.kind { Some(error.to_string()) } else { None });
    let error = error.expect("the conversation does not fit");
    assert!(
        error.contains("the conversation (2 earlier turns and the new prompt) is") && error.contains("the context holds 128"),
        "{error}"
    );
    assert!(error.contains("drop_turns=N"), "says what to do: {error}");
    e.settings.set("drop_turns", "1").unwrap();
    let events = common::run_engine(vec![e], "Shorter now.", Config::defaults().memory, |_| false);
    let stats = events.iter().find_map(|ev| if let EventKind::Finished { stats } = &ev.kind { Some(stats.clone()) } else { None });
    let stats = stats.expect("fits without the oldest turn");
    assert!(stats.rendered_prompt.contains("Again.") && !stats.rendered_prompt.contains("Say many words."), "{}", stats.rendered_prompt);
}

#[test]
fn continue_records_the_next_turn_in_the_same_comparison_and_every_export_shows_it() {
    let _g = common::model_lock();
    let sb = Sandbox::new();
    let (g, s) = (common::demo_model(), common::demo_chat_model());
    let (g, s) = (g.to_str().unwrap(), s.to_str().unwrap());
    let specs = [
        format!("{s},temperature=0"),
        format!("{s}@candle,temperature=0"),
        format!("{g},temperature=0"),
        format!("{g}@candle,temperature=0"),
    ];
    let mut args = vec!["run", "--max-tokens", "8", "-p", "Name a colour."];
    for spec in &specs {
        args.extend(["-m", spec.as_str()]);
    }
    let out = sb.run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = sb.run(&["run", "--json", "--continue", "1", "-p", "And another one?", "--max-tokens", "8"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summaries: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "summary")
        .collect();
    assert_eq!(summaries.len(), 4, "the same four models");
    let list = sb.run(&["history", "list"]);
    assert_eq!(stdout(&list).lines().filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit())).count(), 1, "{}", stdout(&list));

    let json = sb.run(&["history", "export", "1", "--format", "json"]);
    let run: serde_json::Value = serde_json::from_str(&stdout(&json)).expect("json");
    assert_eq!(run["prompt"], "Name a colour.");
    assert_eq!(run["turns"][0]["prompt"], "And another one?");
    let outs = run["turns"][0]["outputs"].as_array().expect("outputs");
    assert_eq!(outs.len(), 4);
    for (o, first) in outs.iter().zip(run["outputs"].as_array().unwrap()) {
        assert_eq!(o["status"], "finished", "{o}");
        assert_eq!(o["label"], first["label"]);
        let rendered = o["rendered_prompt"].as_str().unwrap();
        let own = first["text"].as_str().unwrap();
        assert!(rendered.contains(own.trim()) && rendered.contains("And another one?"), "{} got its own answer: {rendered:?}", o["label"]);
    }
    for format in ["md", "csv", "txt", "html"] {
        let out = sb.run(&["history", "export", "1", "--format", format]);
        let text = stdout(&out);
        assert!(text.contains("Name a colour.") && text.contains("And another one?"), "{format}: {text}");
    }
    let csv = stdout(&sb.run(&["history", "export", "1", "--format", "csv"]));
    assert_eq!(csv.lines().filter(|l| l.contains(",2,")).count() >= 4, true, "turn 2 rows: {csv}");
    let bad = sb.run(&["run", "--continue", "99", "-p", "x"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("no comparison #99"), "{}", stderr(&bad));
}

#[test]
fn a_reopened_conversation_shows_its_turns_and_continues() {
    use versus::store::turns::StoredTurn;
    use versus::store::{ModelRecord, RunState, StoredOutput, StoredRun};
    let output = |slot: usize, text: &str, status| StoredOutput {
        slot,
        label: format!("m{slot}"),
        model: ModelRecord { name: format!("m{slot}"), engine: "llama".into(), ..ModelRecord::default() },
        settings: Some(versus::params::Settings::default()),
        rendered_prompt: String::new(),
        text: text.into(),
        thinking: String::new(),
        status,
        error: None,
        stats: None,
        samples: Vec::new(),
    };
    use versus::engine::protocol::answer::Status;
    let stored = StoredRun {
        id: 12,
        started_at: "2026-12-02T10:00:00Z".into(),
        finished_at: None,
        state: RunState::Complete,
        prompt: "Q1".into(),
        system_prompt: String::new(),
        version: "0".into(),
        host: "h".into(),
        device: "cpu".into(),
        batch: None,
        outputs: vec![output(0, "A1 of m0", Status::Finished), output(1, "", Status::Failed)],
        problems: Vec::new(),
        votes: Vec::new(),
        turns: vec![StoredTurn {
            turn: 1,
            prompt: "Q2".into(),
            started_at: String::new(),
            outputs: vec![output(0, "A2 of m0", Status::Finished), output(1, "A2 of m1", Status::Finished)],
        }],
    };
    assert_eq!(
        stored.conversation(0),
        vec![Turn { user: "Q1".into(), assistant: "A1 of m0".into() }, Turn { user: "Q2".into(), assistant: "A2 of m0".into() }]
    );
    assert_eq!(stored.conversation(1), vec![Turn { user: "Q2".into(), assistant: "A2 of m1".into() }], "its failed turn is left out");
    let mut a = app(models(), 140, 44);
    let entries: Vec<RunEntry> = (0..2)
        .map(|i| RunEntry {
            label: format!("m{i}"),
            model: model(&format!("m{i}"), "llama", "Q4_K_M", 1000),
            engine: EngineKind::Llama,
            settings: versus::params::Settings::default(),
            prompts: None,
            endpoint: None,
            history: Vec::new(),
        })
        .collect();
    a.handle(versus::app::Event::Reopen { run: stored, entries });
    let run = a.run.as_ref().unwrap();
    assert_eq!(run.prompt, "Q2", "the latest turn in the columns");
    assert_eq!(run.columns[0].answer.text, "A2 of m0");
    assert_eq!(run.columns[0].earlier.len(), 1);
    assert!(a.notice.as_deref().unwrap_or("").contains("2 turns"), "{:?}", a.notice);
    a.focus = Focus::Prompt;
    ctrl(&mut a, 'l');
    typ(&mut a, "Q3");
    match ctrl(&mut a, 'f').as_slice() {
        [Effect::Run { follows: Some(Target::Stored(12)), entries, .. }] => {
            assert_eq!(entries[0].history.len(), 2);
            assert_eq!(entries[1].history, vec![Turn { user: "Q2".into(), assistant: "A2 of m1".into() }]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_failed_model_is_offered_a_retry_of_its_turn_alone() {
    let mut a = app(models(), 140, 44);
    let id = in_progress(&mut a);
    finish(&mut a, id, true);
    let shown = {
        let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(140, 44)).unwrap();
        term.draw(|f| versus::ui::draw(f, &a)).unwrap();
        term.backend().to_string()
    };
    assert!(shown.contains("1 of 3 failed") && shown.contains("F6 retries"), "offered: {shown}");
    let before: Vec<String> = a.run.as_ref().unwrap().columns.iter().map(|c| c.answer.text.clone()).collect();
    let effects = a.handle(versus::app::Event::Key(crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::F(6),
        crossterm::event::KeyModifiers::NONE,
    )));
    let Some(Effect::Run { id: retry, prompt, entries, follows, retry: Some(0) }) = effects.first() else { panic!("{effects:?}") };
    assert_eq!(prompt, "Explain in one paragraph why the sky is blue.", "the same turn's prompt");
    assert_eq!(*follows, Some(Target::Run(id)));
    assert_eq!(entries[0].prompts, Some(vec![]), "the finished ones are not asked again");
    assert_eq!(entries[1].prompts, Some(vec![]));
    assert_eq!(entries[2].prompts, None);
    let run = a.run.as_ref().unwrap();
    assert_eq!(run.columns[2].answer.text, "", "the failed column starts over");
    assert_eq!(run.columns[0].answer.text, before[0], "the others keep their answers");
    engine(&mut a, *retry, 2, EventKind::Loaded { load_ms: 1.0, rss_bytes: 0 });
    engine(&mut a, *retry, 2, EventKind::answer("Now it works."));
    engine(&mut a, *retry, 2, EventKind::Finished { stats: stats(3, 10.0) });
    engine(&mut a, *retry, 3, EventKind::RunDone);
    let run = a.run.as_ref().unwrap();
    assert_eq!(run.columns[2].answer.text, "Now it works.");
    assert_eq!(run.columns[0].answer.text, before[0]);
    assert!(run.finished.is_some());
}

#[test]
fn a_retry_is_recorded_in_the_turn_it_retries() {
    use versus::engine::protocol::answer::Status;
    use versus::store::recorder::{Msg, Recorder};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite3");
    let (answers, _replies) = tokio::sync::mpsc::unbounded_channel();
    let rec = Recorder::start(versus::store::Store::open(&db).unwrap(), answers).unwrap();
    let entry = |name: &str| greedy_entry(name);
    let entries = vec![entry("a"), entry("b")];
    let ev = |run: u64, slot: usize, kind: EventKind| Msg::Event(EngineEvent { run, slot, prompt: 0, sample: 0, kind });
    rec.send(Msg::Begin {
        run: 1,
        prompts: vec!["Q".into()],
        system: String::new(),
        entries: entries.clone(),
        batch: None,
        continues: None,
        retry: None,
    });
    rec.send(ev(1, 0, EventKind::answer("fine")));
    rec.send(ev(1, 0, EventKind::Finished { stats: Stats::default() }));
    rec.send(ev(1, 1, EventKind::Failed { error: versus::error::Error::Inference("boom".into()), stats: None }));
    rec.send(ev(1, 2, EventKind::RunDone));
    rec.flush(std::time::Duration::from_secs(5));
    let id = rec.stored_id(1, 0).expect("stored");
    let mut again = entries.clone();
    again[0].prompts = Some(vec![]);
    rec.send(Msg::Begin {
        run: 2,
        prompts: vec!["Q".into()],
        system: String::new(),
        entries: again,
        batch: None,
        continues: Some(Target::Stored(id)),
        retry: Some(0),
    });
    rec.send(ev(2, 1, EventKind::answer("better")));
    rec.send(ev(2, 1, EventKind::Finished { stats: Stats::default() }));
    rec.send(ev(2, 2, EventKind::RunDone));
    rec.flush(std::time::Duration::from_secs(5));
    let run = versus::store::Store::open(&db).unwrap().get(id).unwrap().unwrap();
    assert!(run.turns.is_empty(), "a retry is not a new turn");
    assert_eq!((run.outputs[0].text.as_str(), run.outputs[0].status), ("fine", Status::Finished));
    assert_eq!((run.outputs[1].text.as_str(), run.outputs[1].status), ("better", Status::Finished));
    assert_eq!(run.state, versus::store::RunState::Complete);
}

#[test]
fn the_store_thread_exports_a_follow_up_with_every_turn_without_a_flush_wait() {
    use versus::store::query::{Query, Reply};
    use versus::store::recorder::{Msg, Recorder};
    let dir = tempfile::tempdir().unwrap();
    let (answers, mut replies) = tokio::sync::mpsc::unbounded_channel();
    let rec = Recorder::start(versus::store::Store::open(&dir.path().join("h.sqlite3")).unwrap(), answers).unwrap();
    let entries = vec![greedy_entry("a")];
    let ev = |run: u64, kind: EventKind| Msg::Event(EngineEvent { run, slot: 0, prompt: 0, sample: 0, kind });
    let begin = |run: u64, prompt: &str, continues: Option<Target>| Msg::Begin {
        run,
        prompts: vec![prompt.into()],
        system: String::new(),
        entries: entries.clone(),
        batch: None,
        continues,
        retry: None,
    };
    rec.send(begin(1, "Q1", None));
    rec.send(ev(1, EventKind::answer("A1")));
    rec.send(ev(1, EventKind::Finished { stats: Stats::default() }));
    rec.send(ev(1, EventKind::RunDone));
    // The follow-up names the first run, not an id: the store thread knows it.
    rec.send(begin(2, "Q2", Some(Target::Run(1))));
    rec.send(ev(2, EventKind::answer("A2, still streaming")));
    let out = dir.path().join("exports");
    rec.send(Msg::Query(Query::Export { target: Target::Run(2), formats: vec![Format::Md, Format::Json], dir: out.clone() }));
    let Some(Reply::Exported(Ok(paths))) = replies.blocking_recv() else { panic!("no export") };
    assert_eq!(paths.len(), 2);
    let md = std::fs::read_to_string(&paths[0]).unwrap();
    assert!(md.contains("Q1") && md.contains("A1") && md.contains("Q2"), "{md}");
    assert!(md.contains("A2, still streaming"), "what streamed so far is exported: {md}");
}

fn greedy_entry(name: &str) -> RunEntry {
    RunEntry {
        label: name.into(),
        model: model(name, "llama", "Q4_K_M", 1000),
        engine: EngineKind::Llama,
        settings: versus::params::Settings::default(),
        prompts: None,
        endpoint: None,
        history: Vec::new(),
    }
}
