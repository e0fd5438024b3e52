//! `--samples K` against K separate runs: K answers from one load (the
//! prompt's cache reused after the first) against K runs that each load the
//! model and answer once, the way a user would get K samples without the
//! flag. Wall time from submitting to the last answer, both demo models,
//! K = 4, 32 tokens at temperature 0.8, alternating; medians, and the
//! median of the per-round ratios. Target: `--samples` ≤ 1 load + K
//! generations, so its ratio against K runs approaches the share of
//! generation in a run.
//!
//! Prints a Markdown section for docs/performance.md. Environment:
//! VERSUS_DEMO_MODEL, BENCH_REPS (default 3).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use versus::config::Config;
use versus::engine::runtime::resident::KeepLoaded;
use versus::engine::{Engine, EngineEvent, EngineKind, EventKind, RunEntry, RunRequest};

const K: u32 = 4;

fn demo() -> PathBuf {
    std::env::var_os("VERSUS_DEMO_MODEL").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".local/share/versus/models/gemma-3-270m-q4_k_m.gguf")
    })
}

fn entry(path: &std::path::Path, samples: u32, seed: u32) -> RunEntry {
    let model = versus::catalog::describe_path(path).expect("demo model");
    let mut settings = Config::defaults().settings_for(&model.name);
    let threads = versus::engine::effective_threads(0).to_string();
    let (samples, seed) = (samples.to_string(), seed.to_string());
    for (k, v) in [
        ("temperature", "0.8"),
        ("max_tokens", "32"),
        ("ignore_eos", "true"),
        ("samples", &samples),
        ("seed", &seed),
        ("threads", &threads),
    ] {
        settings.set(k, v).expect("setting");
    }
    RunEntry { label: model.name.clone(), model, engine: EngineKind::Llama, settings, prompts: None, endpoint: None, history: Vec::new() }
}

/// Seconds from submitting `entry` to its run's end, and the loads it made.
fn time(engine: &Engine, rx: &mut tokio::sync::mpsc::UnboundedReceiver<EngineEvent>, id: u64, entry: RunEntry) -> (f64, usize) {
    let t = Instant::now();
    let mut loads = 0;
    engine.submit(RunRequest::new(id, vec!["Tell me about cats.".into()], vec![entry], Arc::new(AtomicBool::new(false))));
    while let Some(ev) = rx.blocking_recv() {
        match ev.kind {
            EventKind::Loading => loads += 1,
            EventKind::Failed { error, .. } => panic!("{error}"),
            EventKind::RunDone => break,
            _ => {}
        }
    }
    (t.elapsed().as_secs_f64(), loads)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    let reps: usize = std::env::var("BENCH_REPS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    let gemma = demo();
    let smol = gemma.with_file_name("SmolLM2-135M-Instruct.Q4_1.gguf");
    println!("## `--samples K`: one load for K answers\n");
    println!("`cargo bench --bench samples`: K = {K} answers of 32 tokens at temperature 0.8 (seeds 1–{K}), as `--samples {K}`");
    println!("(one load, the prompt's cache reused after the first answer) and as {K} separate runs of one answer each");
    println!("(a load each), alternating, {reps} rounds; wall time from submitting to the last answer, medians, and the");
    println!("median of the per-round ratios.\n");
    println!("| model | `--samples {K}` | loads | {K} runs | loads | ratio |");
    println!("|---|---|---|---|---|---|");
    for path in [gemma, smol] {
        let (mut one, mut many, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        let (mut loads_one, mut loads_many) = (0, 0);
        let mut id = 0;
        for _ in 0..reps {
            // Never keep the model: each run loads, as a new process would.
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let engine = Engine::keeping(tx, Config::defaults().memory, KeepLoaded::Never).expect("engine");
            id += 1;
            let (a, l) = time(&engine, &mut rx, id, entry(&path, K, 1));
            loads_one = l;
            let mut b = 0.0;
            loads_many = 0;
            for k in 0..K {
                id += 1;
                let (t, l) = time(&engine, &mut rx, id, entry(&path, 1, 1 + k));
                b += t;
                loads_many += l;
            }
            one.push(a);
            many.push(b);
            ratios.push(a / b);
        }
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        println!("| {name} | {:.2} s | {loads_one} | {:.2} s | {loads_many} | {:.3} |", median(one), median(many), median(ratios));
    }
    println!();
}
