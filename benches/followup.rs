//! A follow-up on two resident demo models against the same follow-up with
//! `keep_loaded = "never"`: the time a user waits for each column's first
//! token (from the previous column's end, load included) and the prompt
//! tokens each processes. The conversation before it is about 1,000 tokens;
//! the follow-up about 20. Target: resident ≥ 5× faster to the first token.
//!
//! Prints a Markdown section for docs/performance.md. Environment:
//! VERSUS_DEMO_MODEL, BENCH_REPS (default 3).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use versus::config::Config;
use versus::engine::runtime::resident::KeepLoaded;
use versus::engine::{Engine, EngineEvent, EngineKind, EventKind, RunEntry, RunRequest, Turn};

fn demo() -> PathBuf {
    std::env::var_os("VERSUS_DEMO_MODEL").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".local/share/versus/models/gemma-3-270m-q4_k_m.gguf")
    })
}

fn entry(path: &std::path::Path, history: &[Turn]) -> RunEntry {
    let model = versus::catalog::describe_path(path).expect("demo model");
    let mut settings = Config::defaults().settings_for(&model.name);
    for (k, v) in [("temperature", "0"), ("max_tokens", "8"), ("threads", &versus::engine::effective_threads(0).to_string())] {
        settings.set(k, v).expect("setting");
    }
    RunEntry {
        label: model.name.clone(),
        model,
        engine: EngineKind::Llama,
        settings,
        prompts: None,
        endpoint: None,
        history: history.to_vec(),
    }
}

/// Per slot: (ms from the previous column's end to the first token, prompt
/// tokens processed, reused, answer).
fn run(
    engine: &Engine,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<EngineEvent>,
    id: u64,
    prompt: &str,
    entries: Vec<RunEntry>,
) -> Vec<(f64, u64, u64, String)> {
    let n = entries.len();
    let mut out = vec![(0.0, 0, 0, String::new()); n];
    let mut since = Instant::now();
    let mut first = vec![true; n];
    engine.submit(RunRequest::new(id, vec![prompt.into()], entries, Arc::new(AtomicBool::new(false))));
    while let Some(ev) = rx.blocking_recv() {
        match ev.kind {
            EventKind::Token { text, .. } => {
                if std::mem::take(&mut first[ev.slot]) {
                    out[ev.slot].0 = since.elapsed().as_secs_f64() * 1e3;
                }
                out[ev.slot].3.push_str(&text);
            }
            EventKind::Finished { stats } => {
                out[ev.slot].1 = stats.prompt_tokens;
                out[ev.slot].2 = stats.prompt_reused;
                since = Instant::now();
            }
            EventKind::Failed { error, .. } => panic!("{error}"),
            EventKind::RunDone => break,
            _ => {}
        }
    }
    out
}

/// A conversation of about 1,000 tokens: four questions and long answers.
fn conversation() -> Vec<Turn> {
    let answer = "Light from the sun is made of many colours. When it passes through the air, the small molecules of \
        nitrogen and oxygen scatter the shorter wavelengths much more strongly than the longer ones, an effect \
        described by Rayleigh. Blue light is scattered in every direction across the whole sky, so wherever we look \
        away from the sun some of that scattered blue reaches our eyes. At sunrise and sunset the light travels through \
        far more air, the blue is scattered away before it arrives, and the reds and oranges are what remain. ";
    (1..=4)
        .map(|i| Turn { user: format!("Question {i}: why is the sky blue, in more detail this time?"), assistant: answer.repeat(2) })
        .collect()
}

fn main() {
    let reps: usize = std::env::var("BENCH_REPS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    let gemma = demo();
    let smol = gemma.with_file_name("SmolLM2-135M-Instruct.Q4_1.gguf");
    let models = [smol, gemma];
    let history = conversation();
    let last_q = "And what about clouds?";
    let follow = "Now say all of that again in about twenty words, for a child.";
    let mut rows: Vec<[Vec<f64>; 2]> = vec![[Vec::new(), Vec::new()], [Vec::new(), Vec::new()]];
    let mut tokens = [[0u64; 3]; 2];
    for rep in 0..reps {
        for (k, policy) in [KeepLoaded::Never, KeepLoaded::Always].into_iter().enumerate() {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let engine = Engine::keeping(tx, Config::defaults().memory, policy).expect("engine");
            // The conversation so far, answered (and, when kept, cached).
            let before: Vec<RunEntry> = models.iter().map(|m| entry(m, &history)).collect();
            let answers = run(&engine, &mut rx, 1, last_q, before);
            let next: Vec<RunEntry> = models
                .iter()
                .zip(&answers)
                .map(|(m, a)| {
                    let mut h = history.clone();
                    h.push(Turn { user: last_q.into(), assistant: a.3.clone() });
                    entry(m, &h)
                })
                .collect();
            let measured = run(&engine, &mut rx, 2, follow, next);
            for (slot, m) in measured.iter().enumerate() {
                rows[slot][k].push(m.0);
                if rep == 0 {
                    if k == 0 {
                        tokens[slot][0] = m.1;
                    } else {
                        tokens[slot][1] = m.1;
                        tokens[slot][2] = m.2;
                    }
                }
            }
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    println!("## Follow-ups: resident models against `keep_loaded = \"never\"`\n");
    println!(
        "`cargo bench --bench followup`: a follow-up of about 20 tokens after a conversation of about 1,000 on the two demo \
         models (llama.cpp, greedy, {} threads), {reps} runs each. Time to first token is what a user waits for each column: from \
         the previous column's end to its first token, the load included when there is one. Target: resident ≥ 5× faster.\n",
        versus::engine::effective_threads(0)
    );
    println!(
        "| model | TTFT never (load + whole conversation) | TTFT resident (cache reused) | ratio | prompt tokens processed: never / resident (+ reused) |"
    );
    println!("|---|---|---|---|---|");
    for (slot, m) in models.iter().enumerate() {
        let (never, kept) = (mean(&rows[slot][0]), mean(&rows[slot][1]));
        println!(
            "| {} | {never:.0} ms | {kept:.0} ms | **{:.1}×** | {} / {} (+ {}) |",
            m.file_name().and_then(|f| f.to_str()).unwrap_or("?"),
            never / kept.max(1e-3),
            tokens[slot][0],
            tokens[slot][1],
            tokens[slot][2]
        );
    }
    println!();
}
