//! What the worker process costs: the same loads and answers on the demo
//! models in this process (`Engine::start`) and through a worker process
//! (`Engine::isolated`, the binary built beside this bench), alternated
//! A B A B in one run so the machine's drift falls on both. Prints a
//! Markdown section for docs/performance.md. Environment: BENCH_REPS
//! (rounds, default 5), VERSUS_DEMO_MODEL.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use versus::catalog::describe_path;
use versus::config::Config;
use versus::engine::runtime::resident::KeepLoaded;
use versus::engine::runtime::worker::Isolation;
use versus::engine::{Engine, EngineKind, EventKind, RunEntry, RunRequest, Stats};

fn models() -> Vec<PathBuf> {
    let demo = std::env::var_os("VERSUS_DEMO_MODEL").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".local/share/versus/models/gemma-3-270m-q4_k_m.gguf")
    });
    vec![demo.clone(), demo.with_file_name("SmolLM2-135M-Instruct.Q4_1.gguf")]
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() { 0.0 } else { v[v.len() / 2] }
}

/// One load and two greedy answers of 128 tokens (past end-of-text):
/// (load ms, decode tok/s of the second answer).
fn once(path: &PathBuf, isolated: bool) -> (f64, f64) {
    let model = describe_path(path).expect("demo model");
    let mut settings = Config::defaults().settings_for(&model.name);
    for (k, v) in [("temperature", "0"), ("max_tokens", "129"), ("ignore_eos", "true"), ("raw", "true")] {
        settings.set(k, v).expect("setting");
    }
    let entry = RunEntry {
        label: model.name.clone(),
        model,
        engine: EngineKind::Llama,
        settings,
        prompts: None,
        endpoint: None,
        history: Vec::new(),
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let memory = Config::defaults().memory;
    let engine = if isolated {
        let state = std::env::temp_dir().join("versus-bench-worker");
        let iso = Isolation { exe: PathBuf::from(env!("CARGO_BIN_EXE_versus")), state_dir: state, log: "warn".into() };
        Engine::isolated(tx, memory, KeepLoaded::Never, iso).expect("worker")
    } else {
        Engine::start(tx, memory).expect("engine")
    };
    let prompts = vec!["Once upon a time".to_string(), "The history of".to_string()];
    engine.submit(RunRequest::new(1, prompts, vec![entry], Arc::new(AtomicBool::new(false))));
    let mut stats: Vec<Stats> = Vec::new();
    while let Some(ev) = rx.blocking_recv() {
        match ev.kind {
            EventKind::Finished { stats: s } => stats.push(s),
            EventKind::Failed { error, .. } => panic!("{error}"),
            EventKind::RunDone => break,
            _ => {}
        }
    }
    (stats[0].load_ms, stats[1].decode_tps)
}

fn main() {
    let reps: usize = std::env::var("BENCH_REPS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    println!("## The worker process (local models isolated from versus)\n");
    println!("`cargo bench --bench worker`: each round loads the model and answers twice (128 greedy tokens past");
    println!("end-of-text, the second answer timed) in this process, then through a worker process of the same");
    println!("binary, alternating, {reps} rounds; medians, and the median of the per-round ratios.\n");
    println!("| model | in-process load | worker load | load ratio | in-process decode | worker decode | decode ratio |");
    println!("|---|---|---|---|---|---|---|");
    for path in models() {
        once(&path, false);
        once(&path, true);
        let (mut li, mut lw, mut ti, mut tw, mut lr, mut tr) = (vec![], vec![], vec![], vec![], vec![], vec![]);
        for _ in 0..reps {
            let (l1, t1) = once(&path, false);
            let (l2, t2) = once(&path, true);
            li.push(l1);
            lw.push(l2);
            ti.push(t1);
            tw.push(t2);
            lr.push(l2 / l1);
            tr.push(t2 / t1);
        }
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        println!(
            "| {name} | {:.0} ms | {:.0} ms | {:.3} | {:.1} tok/s | {:.1} tok/s | {:.3} |",
            median(&mut li),
            median(&mut lw),
            median(&mut lr),
            median(&mut ti),
            median(&mut tw),
            median(&mut tr)
        );
    }
    println!();
}
