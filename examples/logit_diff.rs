//! Teacher-force llama.cpp and candle on llama.cpp's own greedy sequence
//! and compare their logits position by position: where candle's logits
//! depart from llama.cpp's, and whether the departure flips a token that
//! llama.cpp is sure of. A tool for finding numeric differences between
//! the engines (see docs/performance-notes.md).
//!
//!   cargo run --release --example logit_diff -- MODEL.gguf "prompt" [N] [--template]

use versus::catalog::describe_path;
use versus::config::Config;
use versus::engine::candle::CandleBackend;
use versus::engine::llama::LlamaCpp;
use versus::engine::{Backend, lead};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).ok_or("usage: logit_diff MODEL PROMPT [N] [--template]")?;
    let prompt = args.get(2).ok_or("no prompt")?;
    let n: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(48);
    let template = args.iter().any(|a| a == "--template");
    let info = describe_path(std::path::Path::new(path)).ok_or("not a model")?;
    let mut settings = Config::defaults().settings_for("");
    settings.set("temperature", "0")?;
    settings.generation.raw = !template;
    let llama = LlamaCpp::load(&info, &settings.backend)?;
    let text = llama.render(&[], prompt, &settings.generation)?;
    // llama.cpp's greedy sequence, one forward at a time.
    let mut seq: Vec<u32> = Vec::new();
    for _ in 0..n {
        let logits = llama.forced_logits(&text, &seq)?;
        let (t, _) = lead(logits.last().ok_or("no logits")?);
        seq.push(t);
    }
    let ref_logits = llama.forced_logits(&text, &seq)?;
    let ours = if args.iter().any(|a| a == "--self") {
        // llama.cpp against itself with the prompt fed one token at a time:
        // how much its own kernels move the logits.
        let ids = llama.tokenize(&text);
        let bos = llama.piece(ids[0]);
        let mut forced: Vec<u32> = ids[1..].iter().map(|&t| t as u32).collect();
        forced.extend(&seq);
        let all = llama.forced_logits(&bos, &forced)?;
        all[ids.len() - 1..].to_vec()
    } else {
        let mut candle = CandleBackend::load(&info, &settings.backend)?;
        candle.forced_logits(&text, &seq)?
    };
    println!("pos  llama(tok margin)  candle(tok margin)  max|d|  mean|d|  d(top)  piece");
    for (i, (a, b)) in ref_logits.iter().zip(&ours).enumerate() {
        let (ta, ma) = lead(a);
        let (tb, mb) = lead(b);
        let diffs: Vec<f32> = a.iter().zip(b).map(|(x, y)| (x - y).abs()).collect();
        let max = diffs.iter().copied().fold(0.0, f32::max);
        let mean = diffs.iter().sum::<f32>() / diffs.len() as f32;
        let flag = if ta != tb { " <-- FLIP" } else { "" };
        println!(
            "{i:3}  {ta:7} {ma:6.3}  {tb:7} {mb:6.3}  {max:6.3}  {mean:6.4}  {:6.3}  {:?}{flag}",
            a[ta as usize] - b[ta as usize],
            llama.piece(ta as i32)
        );
    }
    Ok(())
}
