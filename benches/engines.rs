//! Engine speed against the anchor, in one run on one machine: llama.cpp's
//! own `llama-bench` (built from the same llama.cpp source the crate
//! vendors, with the same CPU flags, by scripts/build-llama-tools.sh) and
//! versus's full path (scheduler, sampling, detokenizing, events) through
//! llama.cpp and candle, on the demo model with the same threads.
//!
//! Prints a Markdown section for docs/performance.md. Environment:
//! LLAMA_BENCH (else ~/.cache/versus/llama-tools/paths.env), VERSUS_DEMO_MODEL,
//! BENCH_REPS (default 5).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use versus::catalog::{ModelInfo, describe_path};
use versus::config::Config;
use versus::engine::EngineKind;
use versus::engine::{Engine, EventKind, RunEntry, RunRequest, Stats};

fn demo() -> PathBuf {
    std::env::var_os("VERSUS_DEMO_MODEL").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".local/share/versus/models/gemma-3-270m-q4_k_m.gguf")
    })
}

fn llama_bench() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LLAMA_BENCH") {
        return Some(p.into());
    }
    let env = PathBuf::from(std::env::var("HOME").ok()?).join(".cache/versus/llama-tools/paths.env");
    std::fs::read_to_string(env).ok()?.lines().find_map(|l| l.strip_prefix("LLAMA_BENCH=").map(PathBuf::from))
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn sd(v: &[f64]) -> f64 {
    let m = mean(v);
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len().max(2) - 1) as f64).sqrt()
}

/// Run `prompts` on one entry (one load) and return each prompt's stats.
fn run(model: &ModelInfo, engine: EngineKind, settings: &[(&str, &str)], prompts: Vec<String>) -> Vec<Stats> {
    let mut s = Config::defaults().settings_for(&model.name);
    for (k, v) in settings {
        s.set(k, v).expect("setting");
    }
    let entry = RunEntry {
        label: model.name.clone(),
        model: model.clone(),
        engine,
        settings: s,
        prompts: None,
        endpoint: None,
        history: Vec::new(),
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let engine = Engine::start(tx, Config::defaults().memory).expect("engine");
    engine.submit(RunRequest::new(1, prompts, vec![entry], Arc::new(AtomicBool::new(false))));
    let mut out = Vec::new();
    while let Some(ev) = rx.blocking_recv() {
        match ev.kind {
            EventKind::Finished { stats } => out.push(stats),
            EventKind::Failed { error, .. } => panic!("{error}"),
            EventKind::RunDone => break,
            _ => {}
        }
    }
    out
}

/// llama-bench's JSON rows; `policy` sets OMP_WAIT_POLICY for it alone.
fn run_llama_bench(bench: &Path, demo: &Path, threads: u32, args: &[&str], policy: Option<&str>) -> serde_json::Value {
    let mut cmd = std::process::Command::new(bench);
    cmd.args(["-m", demo.to_str().unwrap_or_default(), "-t", &threads.to_string(), "-o", "json"]).args(args);
    if let Some(p) = policy {
        cmd.env("OMP_WAIT_POLICY", p);
    }
    let out = cmd.output().expect("run llama-bench");
    assert!(out.status.success(), "llama-bench failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("llama-bench JSON")
}

/// (mean t/s, standard deviation, build) of the row for pp`p` / tg`g`.
fn pick(rows: &serde_json::Value, p: u64, g: u64) -> (f64, f64, String) {
    let r = rows.as_array().and_then(|a| a.iter().find(|r| r["n_prompt"] == p && r["n_gen"] == g)).expect("llama-bench row");
    (r["avg_ts"].as_f64().unwrap_or(0.0), r["stddev_ts"].as_f64().unwrap_or(0.0), r["build_commit"].as_str().unwrap_or("").to_string())
}

struct Figures {
    /// The first prompt of the process: what a user waits on after a load
    /// (first use of every kernel and buffer), apart from the warm figures.
    pp_cold: f64,
    pp: Vec<f64>,
    tg: Vec<f64>,
    tg_sampled: Vec<f64>,
    peak: u64,
}

fn measure(model: &ModelInfo, engine: EngineKind, pp_prompt: &str, reps: usize, pp_reps: usize) -> Figures {
    let threads = versus::engine::effective_threads(0).to_string();
    let greedy = [("temperature", "0"), ("threads", threads.as_str()), ("ignore_eos", "true")];
    // A warm-up prompt first (llama-bench warms up too), then the measured ones.
    // Each prompt starts differently, or the model's cache of the previous
    // one would be reused (as a follow-up does) and little would be processed.
    const FIRST: [&str; 12] =
        ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel", "India", "Juliett", "Kilo", "Lima"];
    let pp_prompts = (0..=pp_reps).map(|i| format!("{} {i}: {pp_prompt}", FIRST[i % FIRST.len()])).collect();
    let pp_stats = run(model, engine, &[greedy[0], greedy[1], ("max_tokens", "1")], pp_prompts);
    let tg_stats = run(model, engine, &[greedy[0], greedy[1], greedy[2], ("max_tokens", "129")], vec!["The".to_string(); reps + 1]);
    let sampled = run(model, engine, &[greedy[1], greedy[2], ("max_tokens", "129"), ("seed", "1")], vec!["The".to_string(); reps + 1]);
    Figures {
        pp_cold: pp_stats.first().map_or(0.0, |s| s.prompt_tps),
        pp: pp_stats.iter().skip(1).map(|s| s.prompt_tps).collect(),
        tg: tg_stats.iter().skip(1).map(|s| s.decode_tps).collect(),
        tg_sampled: sampled.iter().skip(1).map(|s| s.decode_tps).collect(),
        peak: tg_stats.iter().chain(&pp_stats).map(|s| s.peak_rss_bytes).max().unwrap_or(0),
    }
}

fn main() {
    let reps: usize = std::env::var("BENCH_REPS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let demo = demo();
    let info = describe_path(&demo).expect("demo model (scripts/fetch-demo-model.sh)");
    let threads = versus::engine::effective_threads(0);

    // A prompt of exactly 512 tokens, BOS included, as pp512.
    let tokenizer = versus::engine::llama::LlamaCpp::load(&info, &Config::defaults().backend).expect("load");
    let pp_prompt = " the".repeat(511);
    let n = tokenizer.tokenize(&pp_prompt).len();
    assert_eq!(n, 512, "the pp512 prompt is {n} tokens");
    drop(tokenizer);

    // The anchor, in this process's environment (scripts/bench.sh leaves
    // OpenMP's wait policy at libgomp's default, as a user gets it), and its
    // decode once more with the passive policy, for comparison.
    let bench = llama_bench().expect("llama-bench: run scripts/build-llama-tools.sh --bench-only, or set LLAMA_BENCH");
    let rows = run_llama_bench(&bench, &demo, threads, &["-p", "512", "-n", "128", "-r", &reps.to_string()], None);
    let (lb_pp, lb_pp_sd, build) = pick(&rows, 512, 0);
    let (lb_tg, lb_tg_sd, _) = pick(&rows, 0, 128);
    let passive = run_llama_bench(&bench, &demo, threads, &["-p", "0", "-n", "128", "-r", &reps.to_string()], Some("passive"));
    let (lb_tg_passive, lb_tg_passive_sd, _) = pick(&passive, 0, 128);
    let policy = std::env::var("OMP_WAIT_POLICY").unwrap_or_else(|_| "libgomp's default".into());

    let llama = measure(&info, EngineKind::Llama, &pp_prompt, reps, reps);
    let candle = measure(&info, EngineKind::Candle, &pp_prompt, reps.min(3), reps.min(3));
    let dir = tempfile::tempdir().expect("tempdir");
    let hf = dir.path().join("gemma-3-270m-f32");
    versus::engine::candle::gguf_to_hf::gemma3_gguf_to_hf(&demo, &hf).expect("convert");
    let hf_info = describe_path(&hf).expect("f32 folder");
    let f32 = measure(&hf_info, EngineKind::Candle, &pp_prompt, reps.min(3), 1);

    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string()))
        .unwrap_or_default();
    let row = |name: &str, tps: &[f64], anchor: f64| format!("| {name} | {:.1} ± {:.1} | {:.3} |", mean(tps), sd(tps), mean(tps) / anchor);
    println!("## Engines against llama-bench\n");
    println!("`scripts/bench.sh` (or `cargo bench --bench engines`): the demo model (Gemma 3 270M Q4_K_M), {threads} threads,");
    println!("{cpu}, {reps} repetitions after a warm-up. The anchor is llama.cpp's own `llama-bench` ({build}) built from");
    println!("the llama.cpp source the crate vendors with the same CPU flags. versus's figures go through the whole path:");
    println!("scheduler thread, sampling, detokenizing, stop-sequence sink and events. OpenMP wait policy: {policy}.");
    println!("CPU kernels: {}.\n", versus::cpu::doctor().0);
    println!("| what | tokens/s | ratio to llama-bench |");
    println!("|---|---|---|");
    println!("| llama-bench pp512 | {lb_pp:.1} ± {lb_pp_sd:.1} | 1 |");
    println!("{}", row("versus · llama.cpp · prompt (512 tokens)", &llama.pp, lb_pp));
    println!("{}", row("versus · llama.cpp · prompt, cold (the first after the load)", &[llama.pp_cold], lb_pp));
    println!("{}", row("versus · candle GGUF · prompt (512 tokens)", &candle.pp, lb_pp));
    println!("{}", row("versus · candle f32 safetensors · prompt (512 tokens)", &f32.pp, lb_pp));
    println!("| llama-bench tg128 | {lb_tg:.1} ± {lb_tg_sd:.1} | 1 |");
    println!(
        "| llama-bench tg128, `OMP_WAIT_POLICY=passive` | {lb_tg_passive:.1} ± {lb_tg_passive_sd:.1} | {:.3} |",
        lb_tg_passive / lb_tg
    );
    println!("{}", row("versus · llama.cpp · decode, greedy", &llama.tg, lb_tg));
    println!("{}", row("versus · llama.cpp · decode, sampled (top-k 40, top-p, min-p, T 0.8)", &llama.tg_sampled, lb_tg));
    println!("{}", row("versus · candle GGUF · decode, greedy", &candle.tg, lb_tg));
    println!("{}", row("versus · candle GGUF · decode, sampled", &candle.tg_sampled, lb_tg));
    println!("{}", row("versus · candle f32 safetensors · decode, greedy", &f32.tg, lb_tg));
    println!();
    println!("| engine | peak resident memory |");
    println!("|---|---|");
    println!("| llama.cpp, Q4_K_M GGUF | {} |", versus::error::human_bytes(llama.peak));
    println!("| candle, Q4_K_M GGUF | {} |", versus::error::human_bytes(candle.peak));
    println!("| candle, f32 safetensors | {} |\n", versus::error::human_bytes(f32.peak));
}
