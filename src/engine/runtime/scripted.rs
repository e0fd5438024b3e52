//! A scripted engine for tests of the scheduler: its queue, cancellation,
//! timeouts and panics, without a model. It was added by following
//! docs/architecture.md's "Add an engine" recipe: this file, a variant in
//! `kind.rs`, a row in `registry.rs`, the rule in `support.rs`.
//!
//! The model's name is the script: `scripted:tokens=5,delay_ms=10` answers
//! five tokens, one every 10 ms; `load_ms=N` loads in ten steps over N ms,
//! reporting progress; `mem_mib=N` tells the memory guard it needs N MiB;
//! `fail_load`, `panic_load` and `panic_at=N` fail at that point. Its
//! prompt is the conversation as plain text, so tests can see each
//! model's own turns.

use std::time::Duration;

use crate::engine::registry::EngineInfo;
use crate::engine::runtime::memory::Estimate;
use crate::engine::runtime::sink::{Flow, Sink};
use crate::engine::{Backend, EngineKind, PromptReport, RunEntry};
use crate::error::Error;
use crate::params::GenerationParams;

pub(crate) static ENGINE: EngineInfo = EngineInfo {
    kind: EngineKind::Scripted,
    title: "scripted",
    runs_what: "scripts for tests",
    feature: "",
    compiled: true,
    local: true,
    runs: crate::engine::support::scripted_runs,
    estimate: |e| Estimate { weights: script(&e.model.name).mem_mib << 20, ..Estimate::default() },
    spreads_over_gpus: false,
    gpu_share: |_, _| 0.0,
    ram_hint: "",
    gpu_hint: "",
    doctor: Vec::new,
    load,
    tokenize: |e, _, _, _| Err(Error::Usage(format!("{} has no vocabulary", e.label))),
    pieces: |e, _| Err(Error::Usage(format!("{} has no vocabulary", e.label))),
};

#[derive(Debug, Default)]
struct Script {
    tokens: usize,
    delay: Duration,
    load: Duration,
    fail_load: bool,
    panic_load: bool,
    panic_at: Option<usize>,
    /// What the memory guard is told the model needs.
    mem_mib: u64,
}

fn script(name: &str) -> Script {
    let mut s = Script { tokens: 3, ..Script::default() };
    for part in name.trim_start_matches("scripted:").split(',') {
        match part.split_once('=') {
            Some(("tokens", n)) => s.tokens = n.parse().unwrap_or(3),
            Some(("delay_ms", n)) => s.delay = Duration::from_millis(n.parse().unwrap_or(0)),
            Some(("load_ms", n)) => s.load = Duration::from_millis(n.parse().unwrap_or(0)),
            Some(("panic_at", n)) => s.panic_at = n.parse().ok(),
            Some(("mem_mib", n)) => s.mem_mib = n.parse().unwrap_or(0),
            _ if part == "fail_load" => s.fail_load = true,
            _ if part == "panic_load" => s.panic_load = true,
            _ => {}
        }
    }
    s
}

struct Scripted(Script);

fn load(entry: &RunEntry, progress: crate::engine::LoadProgress) -> Result<Box<dyn Backend>, Error> {
    let s = script(&entry.model.name);
    // A load in ten steps of `load_ms / 10`, reporting each; stops when told.
    for step in 1..=10 {
        std::thread::sleep(s.load / 10);
        if !progress.report(step as f32 / 10.0) {
            return Err(Error::ModelLoad { model: entry.label.clone(), reason: "loading was cancelled".into() });
        }
    }
    if s.panic_load {
        panic!("scripted panic while loading");
    }
    if s.fail_load {
        return Err(Error::ModelLoad { model: entry.label.clone(), reason: "scripted load failure".into() });
    }
    Ok(Box::new(Scripted(s)))
}

impl Backend for Scripted {
    fn render(&self, turns: &[crate::engine::Turn], prompt: &str, _: &GenerationParams) -> Result<String, Error> {
        Ok(turns.iter().map(|t| format!("{}{}\n\n", t.user, t.assistant)).collect::<String>() + prompt)
    }

    fn generate(&mut self, rendered: &str, _: &GenerationParams, _: u32, sink: &mut Sink<'_>) -> Result<PromptReport, Error> {
        sink.start();
        for i in 0..self.0.tokens {
            if self.0.panic_at == Some(i) {
                panic!("scripted panic at token {i}");
            }
            std::thread::sleep(self.0.delay);
            if sink.token(i as u32, &format!("t{i} ")) == Flow::Stop {
                break;
            }
        }
        Ok(PromptReport { prompt_tokens: rendered.split_whitespace().count() as u64, eos: true, ..PromptReport::default() })
    }
}
