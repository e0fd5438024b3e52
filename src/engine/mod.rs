//! The engine: one `Backend` trait, the backends behind it, and the
//! sequential scheduler that runs them on one named thread.
//!
//! A run is a prompt and a list of entries (model + engine + settings). The
//! scheduler answers with `EngineEvent`s that carry the run id and the
//! entry's slot, so a UI can drop events of a run it no longer shows.

pub mod answer;
pub mod kind;
pub mod memory;
pub mod redact;
pub mod registry;
pub mod remote;
pub mod resident;
pub mod scheduler;
#[cfg(test)]
mod scripted;
pub mod sink;
pub mod sse;
pub mod support;
pub mod template;
pub mod think;
pub mod vocab;

#[cfg(feature = "candle")]
pub mod candle;
#[cfg(feature = "llama")]
pub mod llama;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use serde::Serialize;

use crate::catalog::ModelInfo;
use crate::error::Error;
use crate::params::{GenerationParams, Settings};

pub use kind::EngineKind;
pub use registry::engines_for;
pub use scheduler::Engine;
pub use sink::{Flow, Sink};

/// Identifies one submitted run; events of other runs are stale.
pub type RunId = u64;

/// One model of a run, with everything it runs with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunEntry {
    /// The column title: the model's name plus what differs from the defaults.
    pub label: String,
    pub model: ModelInfo,
    pub engine: EngineKind,
    pub settings: Settings,
    /// Which of the run's prompts this entry answers (None: all of them);
    /// `versus run --resume` skips the pairs already done.
    #[serde(skip)]
    pub prompts: Option<Vec<usize>>,
    /// The server and model name, for entries run by an endpoint.
    pub endpoint: Option<remote::Target>,
    /// This model's own earlier turns of the conversation (a follow-up):
    /// sent through its chat template before the prompt.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Turn>,
}

/// One earlier exchange of a conversation: what was asked and what this
/// model answered.
#[derive(Debug, Clone, PartialEq, Default, Serialize, serde::Deserialize)]
pub struct Turn {
    pub user: String,
    pub assistant: String,
}

/// Prompts for every entry. Each entry's model is loaded once and answers
/// all its prompts before it is unloaded (batch runs); the TUI sends one.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub id: RunId,
    pub prompts: Vec<String>,
    pub entries: Vec<RunEntry>,
    /// Set to stop the run: checked on every token and between models.
    pub cancel: Arc<AtomicBool>,
}

/// Why generation ended.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The model produced an end-of-generation token.
    Eos,
    MaxTokens,
    /// The context window filled up (backend.context_size).
    ContextFull,
    /// A configured stop sequence appeared (it is not part of the text).
    StopSequence(String),
    Cancelled,
    Timeout,
    Error,
}

impl StopReason {
    pub fn label(&self) -> String {
        match self {
            StopReason::Eos => "eos".into(),
            StopReason::MaxTokens => "max tokens".into(),
            StopReason::ContextFull => "context full".into(),
            StopReason::StopSequence(s) => format!("stop {s:?}"),
            StopReason::Cancelled => "cancelled".into(),
            StopReason::Timeout => "timeout".into(),
            StopReason::Error => "error".into(),
        }
    }
}

/// The numbers of one model's turn in a run.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, Default)]
#[serde(default)]
pub struct Stats {
    pub load_ms: f64,
    pub prompt_tokens: u64,
    pub prompt_ms: f64,
    pub prompt_tps: f64,
    /// From the start of prompt processing to the first token of text.
    pub ttft_ms: Option<f64>,
    /// From the start of prompt processing to the first token of the
    /// answer (after any thinking).
    #[serde(default)]
    pub ttfa_ms: Option<f64>,
    /// Tokens spent thinking (reasoning models), part of `generated_tokens`.
    #[serde(default)]
    pub thinking_tokens: u64,
    pub generated_tokens: u64,
    pub decode_ms: f64,
    /// Tokens after the first, per second of decoding.
    pub decode_tps: f64,
    /// Load plus generation.
    pub total_ms: f64,
    /// Peak resident memory of the process while this model ran.
    pub peak_rss_bytes: u64,
    /// Resident memory before loading and after unloading: equal when the
    /// model's memory came back.
    pub rss_before_bytes: u64,
    pub rss_after_bytes: u64,
    pub stop_reason: Option<StopReason>,
    pub seed: Option<u32>,
    /// Exactly what the model was given, after the chat template (for a
    /// server: the messages sent; it applies its own template).
    pub rendered_prompt: String,
    /// Run by a server: load time and local memory do not apply.
    pub remote: bool,
    /// GPU memory in use on the first GPU (NVML) before loading, once
    /// loaded, and after unloading; 0 without a GPU.
    pub gpu_before_bytes: u64,
    pub gpu_loaded_bytes: u64,
    pub gpu_after_bytes: u64,
    /// The server's own timings, when it sends them (llama-server does).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_timings: Option<serde_json::Value>,
    /// The model was still loaded from an earlier answer: no load.
    pub resident: bool,
    /// Prompt tokens whose keys and values were reused from the model's
    /// cache (a follow-up); `prompt_tokens` counts those processed.
    pub prompt_reused: u64,
}

impl Stats {
    /// "load 0.31 s · prompt 6 tok (210 tok/s) · ttft 45 ms · 128 tok at 27.1 tok/s · peak 512 MiB · eos"
    pub fn summary(&self) -> String {
        let s = self;
        let mut parts = vec![if s.remote {
            "remote (load n/a)".to_string()
        } else if s.resident {
            "resident".to_string()
        } else {
            format!("load {:.2} s", s.load_ms / 1e3)
        }];
        if s.prompt_tokens > 0 {
            let reused = if s.prompt_reused > 0 { format!(" + {} reused", s.prompt_reused) } else { String::new() };
            parts.push(format!("prompt {} tok{reused} ({:.0} tok/s)", s.prompt_tokens, s.prompt_tps));
        }
        if let Some(t) = s.ttft_ms {
            parts.push(format!("ttft {t:.0} ms"));
        }
        parts.push(format!("{} tok at {:.1} tok/s", s.generated_tokens, s.decode_tps));
        if s.thinking_tokens > 0 {
            let answer_at = s.ttfa_ms.map(|t| format!(", answer after {:.1} s", t / 1e3)).unwrap_or_default();
            parts.push(format!("{} thinking{answer_at}", s.thinking_tokens));
        }
        if !s.remote {
            parts.push(format!("peak {}", crate::error::human_bytes(s.peak_rss_bytes)));
        }
        if let Some(r) = &s.stop_reason {
            parts.push(r.label());
        }
        if let Some(seed) = s.seed {
            parts.push(format!("seed {seed}"));
        }
        parts.join(" · ")
    }
}

/// What a backend's `generate` reports; the sink measures the rest.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PromptReport {
    pub prompt_tokens: u64,
    pub prompt_ms: f64,
    /// True when the model ended with an end-of-generation token.
    pub eos: bool,
    /// Tokens generated as the server counted them (remote engines; the
    /// sink counts stream chunks, which may hold several tokens).
    pub generated_tokens: Option<u64>,
    /// The server's own timings, when it sends them.
    pub server_timings: Option<serde_json::Value>,
    /// Prompt tokens reused from the cache (not in `prompt_tokens`).
    pub reused_tokens: u64,
}

/// What one scheduler event says. Every event names its run and slot.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    Queued,
    Loading,
    /// How far the load has come (0 to 1), for a gauge; not recorded.
    LoadProgress {
        fraction: f32,
    },
    Loaded {
        load_ms: f64,
        rss_bytes: u64,
    },
    Token {
        text: String,
        /// Thinking or answer (reasoning models; see `think`).
        #[serde(default)]
        channel: think::Channel,
    },
    Finished {
        stats: Stats,
    },
    Failed {
        error: Error,
        stats: Option<Stats>,
    },
    Cancelled {
        stats: Option<Stats>,
    },
    /// The models still loaded once the run's local part is done (sent just
    /// before `RunDone`): each one's name, memory and cached tokens.
    Resident {
        models: Vec<String>,
    },
    RunDone,
}

impl EventKind {
    /// A piece of answer text (tests and the scripted engine).
    pub fn answer(text: impl Into<String>) -> EventKind {
        EventKind::Token { text: text.into(), channel: think::Channel::Answer }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct EngineEvent {
    pub run: RunId,
    /// The entry's position in the run (for `RunDone`, the number of entries).
    pub slot: usize,
    /// Which of the run's prompts (always 0 outside batch runs).
    pub prompt: usize,
    pub kind: EventKind,
}

/// A loaded model. Runs only on the inference thread; unloading is `drop`.
pub trait Backend {
    /// The prompt as this model receives it: the chat template applied with
    /// the system prompt, unless the model has none or the run is raw.
    /// `turns`: the conversation so far (this model's own answers).
    fn render(&self, turns: &[Turn], prompt: &str, params: &GenerationParams) -> Result<String, Error>;

    /// Generate from a rendered prompt, calling `sink.token` once per token.
    fn generate(&mut self, rendered: &str, params: &GenerationParams, seed: u32, sink: &mut Sink<'_>) -> Result<PromptReport, Error>;

    /// Tokens whose keys and values the model still holds from its last
    /// answer (a follow-up processes only what comes after them).
    fn cached_tokens(&self) -> usize {
        0
    }
}

/// Load `entry`'s model with its engine.
pub fn load(entry: &RunEntry, progress: LoadProgress) -> Result<Box<dyn Backend>, Error> {
    (registry::info(entry.engine).load)(entry, progress)
}

/// Told how far a load has come (0 to 1); answers false when the load
/// should stop (the run was cancelled). Engines that can say report it:
/// llama.cpp through its progress callback, the scripted engine per step.
#[derive(Clone)]
pub struct LoadProgress(std::sync::Arc<dyn Fn(f32) -> bool + Send + Sync>);

impl LoadProgress {
    pub fn new(f: impl Fn(f32) -> bool + Send + Sync + 'static) -> LoadProgress {
        LoadProgress(std::sync::Arc::new(f))
    }

    /// Nobody listens; never stops.
    pub fn none() -> LoadProgress {
        LoadProgress::new(|_| true)
    }

    /// Report `fraction`; false: stop loading.
    pub fn report(&self, fraction: f32) -> bool {
        (self.0)(fraction)
    }
}

impl std::fmt::Debug for LoadProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoadProgress")
    }
}

/// Index of the largest logit, the first one on ties (as llama.cpp's greedy).
///
/// Runs once per token over the whole vocabulary (262,144 logits for
/// Gemma), which on a GPU is a visible part of each token's time: the
/// maximum is found sixteen lanes at a time (the compiler vectorises the
/// fixed-size lane array), then its first position.
pub fn argmax(logits: &[f32]) -> u32 {
    const LANES: usize = 16;
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let chunks = logits.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (m, &v) in lanes.iter_mut().zip(chunk) {
            *m = if v > *m { v } else { *m };
        }
    }
    let mut max = lanes.iter().copied().fold(f32::NEG_INFINITY, |a, b| if b > a { b } else { a });
    for &v in tail {
        max = if v > max { v } else { max };
    }
    // NaN logits never compare greater: an all-NaN slice gives 0, as before.
    logits.iter().position(|&v| v == max).unwrap_or(0) as u32
}

/// The greedy token of `logits` and its lead over the runner-up, for
/// comparing engines: a lead near 0 is a tie any kernel may break either way.
pub fn lead(logits: &[f32]) -> (u32, f32) {
    let best = argmax(logits) as usize;
    let second = logits.iter().enumerate().filter(|(j, _)| *j != best).map(|(_, v)| *v).fold(f32::NEG_INFINITY, f32::max);
    (best as u32, logits.get(best).copied().unwrap_or(f32::NAN) - second)
}

#[cfg(test)]
mod tests {
    #[test]
    fn argmax_takes_the_first_of_equal_maxima() {
        let mut v = vec![0.0f32; 1000];
        v[17] = 3.0;
        v[500] = 3.0;
        assert_eq!(super::argmax(&v), 17);
        v[999] = 4.0;
        assert_eq!(super::argmax(&v), 999);
        assert_eq!(super::argmax(&[f32::NEG_INFINITY, -1.0, -2.0]), 1);
        assert_eq!(super::argmax(&[]), 0);
        assert_eq!(super::argmax(&[f32::NAN, f32::NAN]), 0);
    }
}

/// One thread per physical core unless configured.
pub fn effective_threads(configured: u32) -> u32 {
    if configured > 0 {
        return configured;
    }
    let physical = sysinfo::System::physical_core_count().unwrap_or(0);
    let logical = std::thread::available_parallelism().map_or(1, |n| n.get());
    u32::try_from(if physical > 0 { physical } else { logical }).unwrap_or(1).max(1)
}
