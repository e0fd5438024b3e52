//! A receipt for every answer: everything that decided its tokens, so that
//! `versus replay` can run it again and say whether the same tokens came
//! back, and why it cannot when it cannot. The backend gives what only it
//! knows (its context sizes, its sampler chain, the template and the prompt
//! as token ids); the job adds the rest (seed, model fingerprint, kernels,
//! device, the tokens generated).

use serde::{Deserialize, Serialize};

/// What the backend knows of one answer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct EngineReceipt {
    /// The engine and its version ("llama.cpp via llama-cpp-2 0.1.160").
    pub engine: String,
    pub threads: u32,
    pub n_ctx: u32,
    /// Logical and physical batch sizes for the prompt.
    pub n_batch: u32,
    pub n_ubatch: u32,
    /// The sampler chain with its values, in order ("greedy", or
    /// "penalty 1.1 over 64 → top_k 40 → top_p 0.95 → min_p 0.05 → temp 0.8 → dist").
    pub sampler: String,
    /// sha256 of the chat template's source ("" for none or a raw prompt).
    pub template: String,
    /// The rendered prompt as token ids: how many, and their sha256.
    pub prompt_tokens: usize,
    pub prompt_ids: String,
    /// What the model's cache held when the answer began and once it
    /// ended (sha256 of those token ids; "" for nothing). An answer that
    /// reused the cache is replayed right after the answer that left it
    /// (its `cache_after` is this one's `cache_before`), so that the same
    /// numbers sit in the cache.
    pub cache_before: String,
    pub cache_after: String,
}

/// Everything that decided an answer's tokens.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Receipt {
    /// versus's version.
    pub versus: String,
    #[serde(flatten)]
    pub engine: EngineReceipt,
    /// The model's fingerprint (`catalog::fingerprint`: size and the first
    /// and last 4 MiB of each file).
    pub fingerprint: String,
    /// The compute kernels: the CPU variant or level, or the GPU backend
    /// (greedy text may differ between them at near-ties).
    pub kernels: String,
    pub device: String,
    pub seed: u32,
    /// Every generation parameter the answer ran with (its sampler's
    /// values, stop strings, token limit…), as `versus replay` runs it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<crate::params::GenerationParams>,
    /// Prompt tokens whose keys and values came from the model's cache
    /// (its earlier answer on the same loaded model): a replay runs that
    /// answer first, so the cache holds the same numbers.
    pub reused: u64,
    /// The tokens generated, in order.
    pub ids: Vec<u32>,
    /// Why this answer cannot be run again to the same tokens, if it
    /// cannot (a served model); None: it can.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_replayable: Option<String>,
}

/// A truncation of the candidates, in the order an engine applies them.
#[derive(Debug, Clone, Copy)]
pub enum Cut {
    TopK,
    TopP,
    MinP,
}

/// An engine's sampling in words for its receipts: the repeat penalty, the
/// cuts in the engine's `order`, the temperature and the draw ("greedy" at
/// temperature 0).
pub fn sampler_chain(p: &crate::params::GenerationParams, order: &[Cut]) -> String {
    let mut stages = Vec::new();
    if p.repeat_penalty != 1.0 && p.repeat_last_n > 0 {
        stages.push(format!("penalty {} over {}", p.repeat_penalty, p.repeat_last_n));
    }
    if p.temperature <= 0.0 {
        stages.push("greedy".into());
        return stages.join(" → ");
    }
    for cut in order {
        match cut {
            Cut::TopK if p.top_k > 0 => stages.push(format!("top_k {}", p.top_k)),
            Cut::TopP if p.top_p < 1.0 => stages.push(format!("top_p {}", p.top_p)),
            Cut::MinP if p.min_p > 0.0 => stages.push(format!("min_p {}", p.min_p)),
            _ => {}
        }
    }
    stages.push(format!("temp {} → dist", p.temperature));
    stages.join(" → ")
}

impl Receipt {
    /// The receipt for people, field by field (exports): the token ids as
    /// their count and hash.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let e = &self.engine;
        let mut out = vec![
            ("versus", self.versus.clone()),
            ("engine", e.engine.clone()),
            ("fingerprint", self.fingerprint.clone()),
            ("kernels", self.kernels.clone()),
            ("device", self.device.clone()),
            ("threads", e.threads.to_string()),
            ("context", format!("{} tokens, batch {} / {}", e.n_ctx, e.n_batch, e.n_ubatch)),
            ("sampler", e.sampler.clone()),
            ("seed", self.seed.to_string()),
            ("template", if e.template.is_empty() { "none".into() } else { e.template.clone() }),
            ("prompt", format!("{} tokens, ids sha256 {}", e.prompt_tokens, e.prompt_ids)),
            ("cache reused", format!("{} tokens", self.reused)),
            ("generated", format!("{} tokens, ids sha256 {}", self.ids.len(), ids_hash(&self.ids))),
        ];
        if let Some(why) = &self.not_replayable {
            out.push(("replay", format!("not reproducible: {why}")));
        }
        out
    }
}

/// sha256 of `bytes`, in hex.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// sha256 of token ids (little-endian u32s); "" for none.
pub fn ids_hash<T: Copy + Into<i64>>(ids: &[T]) -> String {
    if ids.is_empty() {
        return String::new();
    }
    let bytes: Vec<u8> = ids.iter().flat_map(|&t| (t.into() as u32).to_le_bytes()).collect();
    sha256(&bytes)
}
