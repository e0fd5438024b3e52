//! The engine, in three parts: what front ends and engine say to each
//! other (`protocol/`: requests, events, stats, answers), the runtime that
//! runs models one at a time (`runtime/`: scheduler, resident models,
//! memory guard, token sink), and the backends behind the one `Backend`
//! trait (`llama/`, `candle/`, `remote/`, each described once in
//! `registry.rs`), with what they share: chat templates, thinking, the
//! vocabulary, logits, SSE and redaction.
//!
//! A run is a prompt and a list of entries (model + engine + settings). The
//! scheduler answers with `EngineEvent`s that carry the run id and the
//! entry's slot, so a UI can drop events of a run it no longer shows.

pub mod kind;
pub mod logits;
pub mod protocol;
pub mod redact;
pub mod registry;
pub mod remote;
pub mod runtime;
pub mod sse;
pub mod support;
pub mod template;
pub mod think;
pub mod vocab;

#[cfg(feature = "candle")]
pub mod candle;
#[cfg(feature = "llama")]
pub mod llama;

use crate::error::Error;
use crate::params::GenerationParams;

pub use kind::EngineKind;
pub use logits::{argmax, lead};
pub use protocol::answer;
pub use protocol::{EngineEvent, EventKind, PromptReport, RunEntry, RunId, RunRequest, Stats, StopReason, Turn};
pub use registry::engines_for;
pub use runtime::scheduler::Engine;
pub use runtime::sink::{Flow, Sink};

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

    /// Drop what the cache holds: the next answer starts from nothing, as
    /// on a fresh load (a replay of an answer that reused nothing).
    fn forget(&mut self) {}

    /// The text's token ids as this model reads them (its BOS first when it
    /// adds one), no template: what `versus fidelity` feeds.
    fn token_ids(&self, _text: &str) -> Result<Vec<u32>, Error> {
        Err(Error::Usage("this engine cannot give the token ids of a text".into()))
    }

    /// Teacher forcing (`versus fidelity`): each chunk fed from an empty
    /// cache, and `each(chunk, i, logits)` handed the next-token logits
    /// after `chunk[..=i]` for every `i` from `from` to the chunk's last
    /// token but one; `each` answers false to stop.
    fn score(&mut self, _chunks: &[Vec<u32>], _from: usize, _each: &mut dyn FnMut(usize, usize, &[f32]) -> bool) -> Result<(), Error> {
        Err(Error::Usage("this engine cannot score tokens (a served model's API gives no full distribution)".into()))
    }

    /// The first token of every chunk, as llama-perplexity sets it: the
    /// BOS id when the model adds one.
    fn bos(&self) -> Option<u32> {
        None
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

static FATAL_HOOK: std::sync::OnceLock<fn(&str)> = std::sync::OnceLock::new();

/// What to do when an engine is about to take the process down (ggml's
/// abort): set once by the binary (the TUI puts the terminal back and says
/// why); the engines know nothing of terminals.
pub fn set_fatal_hook(hook: fn(&str)) {
    let _ = FATAL_HOOK.set(hook);
}

/// An engine is about to abort the process with `message`.
pub(crate) fn fatal(message: &str) {
    if let Some(hook) = FATAL_HOOK.get() {
        hook(message);
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
