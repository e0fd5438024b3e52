//! What goes between the front ends and the engine, in both directions:
//! the run requested (entries, prompts, earlier turns), the events it
//! answers with, and the numbers of each answer (`stats.rs`); `answer.rs`
//! folds the events of one (model, prompt) pair into the `Answer` every
//! front end shows. Nothing here runs a model.

pub mod answer;
pub mod figures;
pub mod receipt;
pub mod stats;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use serde::Serialize;

use crate::catalog::ModelInfo;
use crate::engine::{EngineKind, remote, think};
use crate::error::Error;
use crate::params::Settings;

pub use stats::{PromptReport, Stats, StopReason};

/// Identifies one submitted run; events of other runs are stale.
pub type RunId = u64;

/// One model of a run, with everything it runs with.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
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
    /// One per entry, set to skip that entry alone (its current answer
    /// stops on the next token; the run goes on with the next model).
    pub skip: Arc<[AtomicBool]>,
    /// A replay (`versus replay`), one step per prompt; empty otherwise.
    pub replay: Vec<ReplayStep>,
}

/// One answer run again from its receipt: its prompt (the run's prompt of
/// the same index) is rendered already and goes to the model as it is,
/// with the answer's own parameters and seed, once.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ReplayStep {
    pub seed: u32,
    pub params: crate::params::GenerationParams,
    /// Empty the model's cache first: the answer reused nothing of it.
    pub fresh: bool,
}

impl RunRequest {
    pub fn new(id: RunId, prompts: Vec<String>, entries: Vec<RunEntry>, cancel: Arc<AtomicBool>) -> RunRequest {
        let skip = (0..entries.len()).map(|_| AtomicBool::new(false)).collect();
        RunRequest { id, prompts, entries, cancel, skip, replay: Vec::new() }
    }

    /// Entry `slot` is to stop: the run was cancelled or the entry skipped.
    pub fn stopped(&self, slot: usize) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        self.cancel.load(Relaxed) || self.skip.get(slot).is_some_and(|s| s.load(Relaxed))
    }
}

/// What one scheduler event says. Every event names its run and slot.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
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

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct EngineEvent {
    pub run: RunId,
    /// The entry's position in the run (for `RunDone`, the number of entries).
    pub slot: usize,
    /// Which of the run's prompts (always 0 outside batch runs).
    pub prompt: usize,
    /// Which of the entry's samples of that prompt (`samples`; 0 for one).
    #[serde(default)]
    pub sample: u32,
    pub kind: EventKind,
}
