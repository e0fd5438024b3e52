//! Every engine, described once: what it can run, whether it runs in this
//! process, how much memory a model needs with it and where, its lines in
//! `versus doctor`, and how to load a model or its vocabulary. The
//! scheduler, the memory guard, discovery, `versus doctor`, `versus
//! tokenize` and the help texts read this table instead of matching on the
//! kind, so adding an engine is its own file, a variant in `kind.rs`, a row
//! here and the rule in `support.rs` (docs/architecture.md, "Add an engine").

use super::vocab::Tokens;
use super::{Backend, EngineKind, RunEntry};
use crate::catalog::ModelInfo;
use crate::engine::runtime::memory::Estimate;
use crate::error::Error;
use crate::params::GenerationParams;

/// One engine.
pub struct EngineInfo {
    pub kind: EngineKind,
    /// How people call it ("llama.cpp").
    pub title: &'static str,
    /// What it runs, for help texts ("GGUF files").
    pub runs_what: &'static str,
    /// The Cargo feature that compiles it in.
    pub feature: &'static str,
    pub compiled: bool,
    /// It holds the model in this process: it takes its turn in the
    /// sequential queue and is subject to the memory guard.
    pub local: bool,
    /// Whether it can run this model (format and architecture), whatever
    /// this build has compiled in.
    pub runs: fn(&ModelInfo) -> bool,
    /// Memory a model needs with this engine.
    pub estimate: fn(&RunEntry) -> Estimate,
    /// It may spread one model over several GPUs (`split_mode`,
    /// `tensor_split`); otherwise a model goes to `main_gpu` alone.
    pub spreads_over_gpus: bool,
    /// The share of the estimate that goes to the GPU with this much free
    /// GPU memory (None: no GPU), between 0 and 1.
    pub gpu_share: fn(&RunEntry, Option<u64>) -> f64,
    /// What else to change when a model does not fit in RAM (with a GPU
    /// present), and in GPU memory, after lowering the context size
    /// (", or lower n_gpu_layers …").
    pub ram_hint: &'static str,
    pub gpu_hint: &'static str,
    /// Its lines in `versus doctor`, after the title.
    pub doctor: fn() -> Vec<String>,
    pub load: fn(&RunEntry, super::LoadProgress) -> Result<Box<dyn Backend>, Error>,
    /// The tokens a text becomes, from the vocabulary alone.
    pub tokenize: fn(&RunEntry, &str, bool, &GenerationParams) -> Result<Tokens, Error>,
    /// Each token's text, special tokens spelled out (`versus replay`).
    pub pieces: fn(&RunEntry, &[u32]) -> Result<Vec<String>, Error>,
}

/// Every engine, best first: the first that runs a model is its default.
pub fn all() -> Vec<&'static EngineInfo> {
    vec![
        llama(),
        candle(),
        &REMOTE,
        #[cfg(test)]
        &crate::engine::runtime::scripted::ENGINE,
    ]
}

pub fn info(kind: EngineKind) -> &'static EngineInfo {
    match kind {
        EngineKind::Llama => llama(),
        EngineKind::Candle => candle(),
        EngineKind::Remote => &REMOTE,
        #[cfg(test)]
        EngineKind::Scripted => &crate::engine::runtime::scripted::ENGINE,
    }
}

/// `text` as `entry`'s model receives it through its engine: through its
/// chat template (with the entry's system prompt) when `template` is set,
/// else as it is. Only the vocabulary is read.
pub fn tokens(entry: &RunEntry, text: &str, template: bool) -> Result<Tokens, Error> {
    if let Some(why) = &entry.model.error {
        return Err(Error::ModelLoad { model: entry.label.clone(), reason: why.clone() });
    }
    (info(entry.engine).tokenize)(entry, text, template, &entry.settings.generation)
}

/// The text of each of `ids` in `entry`'s vocabulary.
pub fn pieces(entry: &RunEntry, ids: &[u32]) -> Result<Vec<String>, Error> {
    if let Some(why) = &entry.model.error {
        return Err(Error::ModelLoad { model: entry.label.clone(), reason: why.clone() });
    }
    (info(entry.engine).pieces)(entry, ids)
}

/// Engines compiled into this binary that can run the model, best first.
pub fn engines_for(model: &ModelInfo) -> Vec<EngineKind> {
    if model.error.is_some() {
        return Vec::new();
    }
    all().iter().filter(|e| e.compiled && (e.runs)(model)).map(|e| e.kind).collect()
}

/// "llama or candle": the local engines' labels, for help texts.
pub fn local_labels() -> String {
    let names: Vec<&str> = all().iter().filter(|e| e.local).map(|e| e.kind.label()).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        Some((last, _)) => last.to_string(),
        None => String::new(),
    }
}

fn llama() -> &'static EngineInfo {
    #[cfg(feature = "llama")]
    {
        &super::llama::ENGINE
    }
    #[cfg(not(feature = "llama"))]
    {
        static MISSING: EngineInfo = missing(EngineKind::Llama, "llama.cpp", "GGUF files", "llama", super::support::llama_runs);
        &MISSING
    }
}

fn candle() -> &'static EngineInfo {
    #[cfg(feature = "candle")]
    {
        &super::candle::ENGINE
    }
    #[cfg(not(feature = "candle"))]
    {
        static MISSING: EngineInfo =
            missing(EngineKind::Candle, "candle", "Hugging Face folders and GGUF files", "candle", super::support::candle_runs);
        &MISSING
    }
}

static REMOTE: EngineInfo = EngineInfo {
    kind: EngineKind::Remote,
    title: "remote",
    runs_what: "models of OpenAI-compatible servers",
    feature: "",
    compiled: true,
    local: false,
    runs: |m| m.format == crate::catalog::Format::Remote,
    // A server's memory is its own.
    estimate: |_| Estimate::default(),
    spreads_over_gpus: false,
    gpu_share: |_, _| 0.0,
    ram_hint: "",
    gpu_hint: "",
    doctor: || vec!["OpenAI-compatible servers from [[endpoints]] or a URL".into()],
    load: |entry, _| match &entry.endpoint {
        Some(target) => Ok(Box::new(super::remote::Remote::connect(target, &entry.label)?)),
        None => Err(Error::Usage(format!("{} has no endpoint", entry.label))),
    },
    tokenize: |entry, _, _, _| {
        Err(Error::Usage(format!(
            "{} runs on a server, which tokenizes on its side; tokenize the model file with a local engine",
            entry.label
        )))
    },
    pieces: |entry, _| Err(Error::Usage(format!("{} runs on a server, which keeps its vocabulary", entry.label))),
};

/// An engine this build has not compiled in: it is still listed (so
/// `versus list` can say which engines would run a model), and refuses.
#[allow(dead_code)]
const fn missing(
    kind: EngineKind,
    title: &'static str,
    runs_what: &'static str,
    feature: &'static str,
    runs: fn(&ModelInfo) -> bool,
) -> EngineInfo {
    EngineInfo {
        kind,
        title,
        runs_what,
        feature,
        compiled: false,
        local: true,
        runs,
        estimate: |_| Estimate::default(),
        spreads_over_gpus: false,
        gpu_share: |_, _| 0.0,
        ram_hint: "",
        gpu_hint: "",
        doctor: || vec!["not compiled in".into()],
        load: |e, _| Err(not_compiled(e.engine)),
        tokenize: |e, _, _, _| Err(not_compiled(e.engine)),
        pieces: |e, _| Err(not_compiled(e.engine)),
    }
}

pub fn not_compiled(kind: EngineKind) -> Error {
    let e = info(kind);
    Error::UnsupportedFormat(format!("this build of versus has no {} engine (build with --features {})", e.title, e.feature))
}
