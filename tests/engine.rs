//! The llama.cpp engine and the sequential scheduler on the real demo model.

mod common;

use std::path::{Path, PathBuf};

use versus::catalog::describe_path;
use versus::config::Config;
use versus::engine::EngineKind;
use versus::engine::runtime::memory::MemoryConfig;
use versus::engine::{EngineEvent, EventKind, RunEntry, Stats, StopReason};
use versus::error::Error;

const PROMPT: &str = "The capital of France is";

fn entry(path: &Path, settings: &[(&str, &str)]) -> RunEntry {
    let model = describe_path(path).expect("describe");
    let mut s = Config::defaults().settings_for(&model.name);
    s.set("temperature", "0").unwrap();
    s.set("max_tokens", "24").unwrap();
    for (k, v) in settings {
        s.set(k, v).unwrap();
    }
    RunEntry {
        label: model.name.clone(),
        model,
        engine: EngineKind::Llama,
        settings: s,
        prompts: None,
        endpoint: None,
        history: Vec::new(),
    }
}

fn memory() -> MemoryConfig {
    Config::defaults().memory
}

/// Run to completion; `cancel_after` sets the cancel flag once that many
/// token events have arrived.
fn run(entries: Vec<RunEntry>, prompt: &str, mem: MemoryConfig, cancel_after: Option<usize>) -> Vec<EngineEvent> {
    let mut tokens = 0;
    common::run_engine(entries, prompt, mem, |kind| {
        tokens += usize::from(matches!(kind, EventKind::Token { .. }));
        matches!(kind, EventKind::Token { .. }) && Some(tokens) == cancel_after
    })
}

fn text(events: &[EngineEvent], slot: usize) -> String {
    events
        .iter()
        .filter(|e| e.slot == slot)
        .filter_map(|e| match &e.kind {
            EventKind::Token { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

fn finished(events: &[EngineEvent], slot: usize) -> Stats {
    events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::Finished { stats } if e.slot == slot => Some(stats.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("slot {slot} did not finish: {events:#?}"))
}

fn failed(events: &[EngineEvent], slot: usize) -> Error {
    events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::Failed { error, .. } if e.slot == slot => Some(error.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("slot {slot} did not fail"))
}

#[test]
fn greedy_is_identical_across_runs_and_sensible() {
    let _g = common::model_lock();
    let demo = common::demo_model();
    let a = run(vec![entry(&demo, &[])], PROMPT, memory(), None);
    let b = run(vec![entry(&demo, &[])], PROMPT, memory(), None);
    let (ta, tb) = (text(&a, 0), text(&b, 0));
    assert_eq!(ta, tb);
    assert!(ta.to_lowercase().contains("paris") || ta.to_lowercase().contains("france"), "{ta:?}");
    let s = finished(&a, 0);
    assert_eq!(s.stop_reason, Some(StopReason::MaxTokens));
    assert_eq!(s.generated_tokens, 24);
    assert!(s.prompt_tokens >= 6, "{s:?}");
    assert!(s.load_ms > 0.0 && s.ttft_ms.unwrap() > 0.0 && s.decode_tps > 0.0 && s.prompt_tps > 0.0);
    assert!(s.peak_rss_bytes > 200 << 20, "peak {}", s.peak_rss_bytes);
    assert_eq!(s.rendered_prompt, PROMPT, "the base model has no template: the prompt goes as is");
}

#[test]
fn a_fixed_seed_reproduces_sampled_text() {
    let _g = common::model_lock();
    let demo = common::demo_model();
    let sampled = [("temperature", "1.0"), ("seed", "1234"), ("max_tokens", "32")];
    let a = run(vec![entry(&demo, &sampled)], "Once upon a time", memory(), None);
    let b = run(vec![entry(&demo, &sampled)], "Once upon a time", memory(), None);
    assert_eq!(text(&a, 0), text(&b, 0));
    assert_eq!(finished(&a, 0).seed, Some(1234));
    let others: Vec<String> = ["1", "2", "3"]
        .iter()
        .map(|seed| {
            let e = entry(&demo, &[("temperature", "1.0"), ("seed", seed), ("max_tokens", "32")]);
            text(&run(vec![e], "Once upon a time", memory(), None), 0)
        })
        .collect();
    assert!(others.iter().any(|t| *t != text(&a, 0)), "different seeds should sample differently");
}

#[test]
fn max_tokens_is_exact_and_stop_sequences_stop() {
    let _g = common::model_lock();
    let demo = common::demo_model();
    for n in [1, 7] {
        let ev = run(vec![entry(&demo, &[("max_tokens", &n.to_string())])], "Count: one, two, three,", memory(), None);
        let s = finished(&ev, 0);
        assert_eq!(s.generated_tokens, n);
        assert_eq!(s.stop_reason, Some(StopReason::MaxTokens));
    }
    // Take a word from the middle of the greedy answer as the stop sequence.
    let full = text(&run(vec![entry(&demo, &[("max_tokens", "40")])], PROMPT, memory(), None), 0);
    let words: Vec<&str> = full.split_whitespace().collect();
    let stop = words[words.len() / 2];
    let cut = full.find(stop).unwrap();
    let ev = run(vec![entry(&demo, &[("max_tokens", "40"), ("stop", stop)])], PROMPT, memory(), None);
    assert_eq!(text(&ev, 0), full[..cut], "stop {stop:?}");
    assert_eq!(finished(&ev, 0).stop_reason, Some(StopReason::StopSequence(stop.to_string())));
}

#[test]
fn cancel_stops_within_a_token_and_skips_the_rest() {
    let _g = common::model_lock();
    let demo = common::demo_model();
    // Thinking tags off: the splitter holds leading whitespace back, and
    // this test counts one event per generated token.
    let entries = vec![entry(&demo, &[("max_tokens", "200"), ("thinking_tags", "")]), entry(&demo, &[])];
    let ev = run(entries, "Write a long story about a dragon.", memory(), Some(3));
    let cancelled: Vec<&EngineEvent> = ev.iter().filter(|e| matches!(e.kind, EventKind::Cancelled { .. })).collect();
    assert_eq!(cancelled.len(), 2, "{ev:#?}");
    match &cancelled[0].kind {
        EventKind::Cancelled { stats: Some(s) } => {
            assert!(s.generated_tokens <= 4, "stopped after {} tokens", s.generated_tokens);
            assert_eq!(s.stop_reason, Some(StopReason::Cancelled));
        }
        other => panic!("first model: {other:?}"),
    }
    assert!(!text(&ev, 0).is_empty(), "the partial answer is kept");
    assert!(!ev.iter().any(|e| e.slot == 1 && matches!(e.kind, EventKind::Loading)), "the second model never loads");
}

#[test]
fn models_run_in_order_and_give_their_memory_back() {
    let _g = common::model_lock();
    let demo = common::demo_model();
    let entries = vec![entry(&demo, &[("max_tokens", "8")]), entry(&demo, &[("max_tokens", "4"), ("temperature", "0.7")])];
    let ev = run(entries, PROMPT, memory(), None);
    let order: Vec<(usize, &str)> = ev
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Loading => Some((e.slot, "loading")),
            EventKind::Finished { .. } => Some((e.slot, "finished")),
            _ => None,
        })
        .collect();
    assert_eq!(order, vec![(0, "loading"), (0, "finished"), (1, "loading"), (1, "finished")]);
    let (a, b) = (finished(&ev, 0), finished(&ev, 1));
    assert_eq!((a.generated_tokens, b.generated_tokens), (8, 4));
    for s in [&a, &b] {
        let held = s.peak_rss_bytes.saturating_sub(s.rss_before_bytes);
        assert!(held > 150 << 20, "the model's memory shows while it runs: {held}");
        let diff = s.rss_after_bytes.abs_diff(s.rss_before_bytes);
        assert!(diff < 24 << 20, "memory came back within 24 MiB: before {} after {}", s.rss_before_bytes, s.rss_after_bytes);
    }
    assert!(matches!(ev.last().map(|e| &e.kind), Some(EventKind::RunDone)));
}

fn corrupt_files(dir: &Path, demo: &Path) -> Vec<(PathBuf, &'static str)> {
    let bytes = std::fs::read(demo).unwrap();
    let truncated = dir.join("truncated.gguf");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let magic = dir.join("magic.gguf");
    let mut wrong = bytes[..4096].to_vec();
    wrong[..4].copy_from_slice(b"GGML");
    std::fs::write(&magic, wrong).unwrap();
    let empty = dir.join("empty.gguf");
    std::fs::write(&empty, b"").unwrap();
    // A well-formed header llama.cpp itself refuses: its reason must come through.
    let nohparams = dir.join("nohparams.gguf");
    versus::catalog::gguf::write::write_gguf(
        &nohparams,
        &[("general.architecture", versus::catalog::gguf::write::W::Str("llama"))],
        &[("token_embd.weight", &[8, 4])],
    )
    .unwrap();
    vec![(truncated, "the download was cut short"), (magic, "invalid magic"), (empty, "empty"), (nohparams, "llama.context_length")]
}

#[test]
fn a_corrupt_model_in_the_middle_fails_clearly_and_the_next_runs() {
    let _g = common::model_lock();
    let demo = common::demo_model();
    let dir = tempfile::tempdir().unwrap();
    for (bad, expected) in corrupt_files(dir.path(), &demo) {
        let entries = vec![entry(&demo, &[("max_tokens", "2")]), entry(&bad, &[]), entry(&demo, &[("max_tokens", "2")])];
        let ev = run(entries, PROMPT, memory(), None);
        let err = failed(&ev, 1).to_string();
        assert!(err.contains(expected), "{}: {err}", bad.display());
        assert!(err.contains("could not load"), "{err}");
        assert_eq!(finished(&ev, 2).generated_tokens, 2);
    }
}

#[test]
fn the_memory_guard_refuses_before_loading() {
    let _g = common::model_lock();
    let demo = common::demo_model();
    let mem = MemoryConfig { guard: true, reserve_mib: 0, limit_mib: 100 };
    let ev = run(vec![entry(&demo, &[])], PROMPT, mem, None);
    match failed(&ev, 0) {
        Error::InsufficientMemory { needed, available, .. } => {
            assert!(needed > 240 << 20 && available == 100 << 20, "{needed} {available}");
        }
        other => panic!("{other}"),
    }
    assert!(!ev.iter().any(|e| matches!(e.kind, EventKind::Loaded { .. })));
    let msg = failed(&ev, 0).to_string();
    assert!(msg.contains("lower backend.context_size") && msg.contains("[memory] limit_mib"), "{msg}");
}

#[test]
fn chat_templates_are_applied_unless_raw() {
    let _g = common::model_lock();
    let demo = common::demo_model();
    let dir = tempfile::tempdir().unwrap();
    let with_template = dir.path().join("gemma-with-template.gguf");
    let template = "{{ bos_token }}{% for m in messages %}<start_of_turn>{{ 'model' if m.role == 'assistant' else m.role }}\n{{ m.content | trim }}<end_of_turn>\n{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}";
    versus::catalog::gguf::write::copy_with_strings(&demo, &with_template, &[("tokenizer.chat_template", template)]).unwrap();
    let model = describe_path(&with_template).unwrap();
    assert!(model.chat_template);

    let ev = run(vec![entry(&with_template, &[("system_prompt", "Answer briefly."), ("max_tokens", "4")])], "Hi", memory(), None);
    let s = finished(&ev, 0);
    assert_eq!(
        s.rendered_prompt,
        "<bos><start_of_turn>system\nAnswer briefly.<end_of_turn>\n<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n"
    );
    // <bos>, <start_of_turn> and <end_of_turn> are single special tokens, and BOS is not doubled.
    assert!(s.prompt_tokens < 20, "{}", s.prompt_tokens);

    let ev = run(vec![entry(&with_template, &[("raw", "true"), ("max_tokens", "4")])], "Hi", memory(), None);
    assert_eq!(finished(&ev, 0).rendered_prompt, "Hi");
}

#[test]
fn the_prompt_must_fit_the_context() {
    let _g = common::model_lock();
    let demo = common::demo_model();
    let long = "word ".repeat(400);
    let ev = run(vec![entry(&demo, &[("context_size", "256")])], &long, memory(), None);
    let err = failed(&ev, 0).to_string();
    assert!(err.contains("the context holds 256"), "{err}");
    // Longer than one batch but within the context: fed in chunks, no abort.
    let ev = run(vec![entry(&demo, &[("context_size", "1024"), ("batch_size", "64"), ("max_tokens", "2")])], &long, memory(), None);
    assert_eq!(finished(&ev, 0).prompt_tokens, 402);
}

#[test]
fn a_generation_timeout_fails_with_the_partial_text_kept() {
    let _g = common::model_lock();
    let demo = common::demo_model();
    let ev = run(
        vec![entry(&demo, &[("timeout_secs", "1"), ("max_tokens", "100000"), ("ignore_eos", "true"), ("context_size", "8192")])],
        "Tell me a story.",
        memory(),
        None,
    );
    match ev.iter().find_map(|e| match &e.kind {
        EventKind::Failed { error, stats } => Some((error.clone(), stats.clone())),
        _ => None,
    }) {
        Some((Error::GenerationTimeout { secs: 1 }, Some(stats))) => {
            assert_eq!(stats.stop_reason, Some(StopReason::Timeout));
            assert!(stats.generated_tokens > 0);
        }
        other => panic!("{other:?}"),
    }
    assert!(!text(&ev, 0).is_empty(), "the partial text is kept");
}

#[test]
fn a_load_shows_progress_and_esc_stops_it() {
    let _g = common::model_lock();
    let demo = common::demo_model();
    // The whole load, step by step.
    let ev = run(vec![entry(&demo, &[("max_tokens", "1")])], PROMPT, memory(), None);
    let progress: Vec<f32> =
        ev.iter().filter_map(|e| if let EventKind::LoadProgress { fraction } = e.kind { Some(fraction) } else { None }).collect();
    assert!(progress.len() >= 2, "{progress:?}");
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");
    assert_eq!(progress.last().copied(), Some(1.0));

    // Cancelled at the first report: llama.cpp gives the load up.
    let events = common::run_engine(vec![entry(&demo, &[])], PROMPT, memory(), |k| matches!(k, EventKind::LoadProgress { .. }));
    assert!(!events.iter().any(|e| matches!(e.kind, EventKind::Loaded { .. } | EventKind::Token { .. })), "{events:#?}");
    assert!(events.iter().any(|e| matches!(e.kind, EventKind::Cancelled { .. })), "{events:#?}");
}
