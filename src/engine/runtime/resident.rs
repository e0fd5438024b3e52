//! Models kept loaded between runs (`[scheduler] keep_loaded`), so that a
//! follow-up on three models does not pay three loads. The inference thread
//! owns them; before a model loads, the least recently used ones are
//! unloaded until the memory guard says it fits beside the rest.

use serde::{Deserialize, Serialize};

use crate::engine::runtime::memory::{Estimate, MemoryConfig};
use crate::engine::{Backend, RunEntry};
use crate::error::{Error, human_bytes};

/// `[scheduler]` in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerConfig {
    #[serde(default)]
    pub keep_loaded: KeepLoaded,
    /// Local models run in a worker process, so that an engine that aborts
    /// or is killed for memory costs one answer, not the session.
    #[serde(default = "yes")]
    pub isolate: bool,
}

fn yes() -> bool {
    true
}

impl Default for SchedulerConfig {
    fn default() -> SchedulerConfig {
        SchedulerConfig { keep_loaded: KeepLoaded::default(), isolate: true }
    }
}

/// Whether a model stays loaded after it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeepLoaded {
    /// Kept while the run's next models still fit beside it.
    #[default]
    Auto,
    /// Unloaded after every answer: one model in memory at a time.
    Never,
    /// Kept until a model that does not fit beside it needs the memory.
    Always,
}

/// A loaded model waiting for its next prompt.
pub struct Resident {
    pub key: String,
    pub label: String,
    pub backend: Box<dyn Backend>,
    pub estimate: Estimate,
    /// The memory it took (`Stats::model_bytes` of its last answer).
    pub bytes: u64,
    used: u64,
}

/// The loaded models, least recently used first.
#[derive(Default)]
pub struct Residents {
    models: Vec<Resident>,
    clock: u64,
}

/// What decides whether a loaded model can serve an entry: the file, the
/// engine and the settings a load depends on (generation settings do not).
pub fn key(entry: &RunEntry) -> String {
    // How long an answer may take is not part of what is loaded: a new
    // timeout must not load the model a second time beside the first.
    let mut loaded = entry.settings.backend.clone();
    loaded.timeout_secs = 0;
    format!(
        "{}|{}|{}|{}",
        entry.engine.label(),
        entry.model.path.display(),
        entry.model.name,
        serde_json::to_string(&loaded).unwrap_or_default()
    )
}

impl Residents {
    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }

    pub fn holds(&self, key: &str) -> bool {
        self.models.iter().any(|m| m.key == key)
    }

    /// Take the model for `key` out to use it.
    pub fn take(&mut self, key: &str) -> Option<Resident> {
        let i = self.models.iter().position(|m| m.key == key)?;
        Some(self.models.remove(i))
    }

    /// Put a model back after it answered (it is now the most recently used).
    pub fn keep(&mut self, key: String, label: String, backend: Box<dyn Backend>, estimate: Estimate, bytes: u64) {
        self.clock += 1;
        self.models.push(Resident { key, label, backend, estimate, bytes, used: self.clock });
    }

    /// Unload the least recently used model; its label, or None when empty.
    pub fn evict(&mut self) -> Option<String> {
        let i = self.models.iter().enumerate().min_by_key(|(_, m)| m.used).map(|(i, _)| i)?;
        // The caller logs what it unloaded, and for which model.
        Some(self.models.remove(i).label)
    }

    /// What the loaded models are expected to take.
    pub fn held(&self) -> u64 {
        self.models.iter().map(|m| m.estimate.total()).sum()
    }

    /// One line per model: its name, its memory and the tokens its cache holds.
    pub fn describe(&self) -> Vec<String> {
        self.models
            .iter()
            .map(|m| {
                let cached = m.backend.cached_tokens();
                let held = if cached > 0 { format!(", {cached} tokens cached") } else { String::new() };
                format!("{} (~{}{held})", m.label, human_bytes(m.estimate.total()))
            })
            .collect()
    }
}

/// Make room for `entry`: unload the least recently used models until the
/// memory guard says it fits beside the rest. Returns the estimate, or why
/// it does not fit even alone, and the labels unloaded, in order.
pub fn make_room(entry: &RunEntry, mem: &MemoryConfig, residents: &mut Residents) -> (Result<Estimate, Error>, Vec<String>) {
    let mut evicted = Vec::new();
    loop {
        match crate::engine::runtime::guard::check_beside(entry, mem, residents.held()) {
            Err(_) if !residents.is_empty() => {
                if let Some(label) = residents.evict() {
                    evicted.push(label);
                }
                crate::engine::runtime::memory::trim();
            }
            result => return (result, evicted),
        }
    }
}

/// Whether a model that just answered stays loaded: `never` no; `always`
/// yes; `auto` while every model still to load in the run fits beside it
/// and the others loaded.
pub fn stays(policy: KeepLoaded, held_with_it: u64, next: &[&RunEntry], mem: &MemoryConfig) -> bool {
    match policy {
        KeepLoaded::Never => false,
        KeepLoaded::Always => true,
        KeepLoaded::Auto => next.iter().all(|e| crate::engine::runtime::guard::check_beside(e, mem, held_with_it).is_ok()),
    }
}
