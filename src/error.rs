//! The one error enum used across the crate.
//!
//! Its cases follow the predecessor's hierarchy (model not found; model load with
//! insufficient memory and unsupported format; inference with timeout and
//! tokenization; configuration with invalid parameter and validation). Every
//! message says what went wrong and, where there is one, what to do next.
//! Errors travel inside engine events to the UI, so they are `Clone` and hold
//! plain strings rather than foreign error types.

use serde::{Deserialize, Serialize};

/// Bytes as a short human figure ("1.4 GiB"), used in messages and the UI.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else if value >= 100.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Serialized with its kind beside its fields (`{"kind":
/// "tokenization","detail":"…"}`), so that every case, those holding a
/// bare string too, crosses to and from the worker process.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum Error {
    /// A model named on the command line or in config matches nothing discovered.
    #[error("model not found: {spec}{hint}")]
    ModelNotFound { spec: String, hint: String },

    /// The backend could not load the model (corrupt file, missing tensor, …).
    #[error("could not load {model}: {reason}")]
    ModelLoad { model: String, reason: String },

    /// The memory guard refused to load a model that would not fit.
    #[error(
        "{model} needs ~{} of {what} but {} is available; {fix}",
        human_bytes(*needed),
        human_bytes(*available)
    )]
    InsufficientMemory { model: String, what: String, needed: u64, available: u64, fix: String },

    /// A format or architecture that no compiled-in engine can run.
    #[error("unsupported format: {0}")]
    UnsupportedFormat(String),

    /// The worker process running the model died (an abort, a segfault,
    /// the OOM killer) or was ended for hanging; versus went on.
    #[error("{what}")]
    Crashed { model: String, what: String },

    /// Generation failed after the model loaded.
    #[error("generation failed: {0}")]
    Inference(String),

    /// A prompt (with the conversation before it) longer than the context.
    #[error(
        "the {} is {tokens} tokens but the context holds {n_ctx}; {}",
        if *turns > 0 { format!("conversation ({turns} earlier turns and the new prompt)") } else { "prompt".to_string() },
        if *turns > 0 { "leave the oldest turns out with drop_turns=N (the model's parameters, or ,drop_turns=N in its spec), or raise backend.context_size" } else { "raise backend.context_size or shorten the prompt" }
    )]
    ContextOverflow { tokens: usize, n_ctx: usize, turns: usize },

    /// Generation ran past the configured time limit; partial text is kept.
    #[error("generation timed out after {secs} s (backend.timeout_secs); the partial answer is kept")]
    GenerationTimeout { secs: u64 },

    /// The prompt could not be tokenized or templated, or does not fit the context.
    #[error("tokenization failed: {0}")]
    Tokenization(String),

    /// A parameter value outside its allowed range.
    #[error("{location}{key} = {value} is out of range {allowed}")]
    InvalidParameter { location: String, key: String, value: String, allowed: String },

    /// A configuration file or command-line value that does not validate.
    #[error("{location}{message}")]
    Validation { location: String, message: String },

    /// A file or folder could not be read or written.
    #[error("{path}: {message}")]
    Io { path: String, message: String },

    /// A model spec, flag or similar usage mistake.
    #[error("{0}")]
    Usage(String),
}

/// "No such file or directory (os error 2)" → "no such file or directory":
/// an OS message in words, without its number.
pub fn without_os_code(message: String) -> String {
    match message.find(" (os error") {
        Some(i) => message[..i].to_lowercase(),
        None => message,
    }
}

impl Error {
    pub fn io(path: impl AsRef<std::path::Path>, err: impl std::fmt::Display) -> Self {
        Error::Io { path: path.as_ref().display().to_string(), message: without_os_code(err.to_string()) }
    }

    /// Configuration and usage errors exit with status 2 in the CLI.
    pub fn is_usage(&self) -> bool {
        matches!(self, Error::InvalidParameter { .. } | Error::Validation { .. } | Error::Usage(_) | Error::ModelNotFound { .. })
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_bytes_picks_a_readable_unit() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(253_113_024), "241 MiB");
        assert_eq!(human_bytes(3 * 1024 * 1024 * 1024 / 2), "1.5 GiB");
    }

    #[test]
    fn insufficient_memory_says_what_to_do() {
        let e = Error::InsufficientMemory {
            model: "big".into(),
            what: "RAM".into(),
            needed: 8 << 30,
            available: 2 << 30,
            fix: "lower backend.context_size (now 4096)".into(),
        };
        assert_eq!(e.to_string(), "big needs ~8.0 GiB of RAM but 2.0 GiB is available; lower backend.context_size (now 4096)");
    }
}
