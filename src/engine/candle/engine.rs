//! candle's row in the engine registry: what it runs, what a model needs
//! with it, its doctor lines, loading.

use super::{CandleBackend, Vocabulary};
use crate::catalog::Format;
use crate::engine::registry::EngineInfo;
use crate::engine::runtime::memory::{self, Estimate};
use crate::engine::vocab::Tokens;
use crate::engine::{Backend, EngineKind, RunEntry};
use crate::error::Error;
use crate::params::GenerationParams;

/// The candle crates, pinned exactly in Cargo.toml (a test keeps it true).
pub const CRATE_VERSION: &str = "0.11.1";

pub(crate) static ENGINE: EngineInfo = EngineInfo {
    kind: EngineKind::Candle,
    title: "candle",
    runs_what: "Hugging Face folders and GGUF files",
    feature: "candle",
    compiled: true,
    local: true,
    runs: crate::engine::support::candle_runs,
    estimate,
    spreads_over_gpus: false,
    gpu_share,
    ram_hint: "",
    gpu_hint: ", or set device = \"cpu\" (,device=cpu in the spec)",
    doctor,
    load,
    tokenize,
    pieces,
};

/// An f32 cache that grows with the tokens actually used; bf16/f16
/// safetensors are converted to f32 on the CPU, and quantized models
/// dequantize the token embeddings to f32.
fn estimate(entry: &RunEntry) -> Estimate {
    let model = &entry.model;
    let shape = model.shape.unwrap_or_default();
    let used = memory::context_tokens(entry).min(u64::from(entry.settings.generation.max_tokens) + 2048);
    // candle's models build their rotary tables (sin and cos, f32) for every
    // position the model declares, at load: a hostile or broken
    // context_length of 2^32 would otherwise abort on allocation.
    let positions = model.context_length.unwrap_or(4096);
    let rotary = positions.saturating_mul(shape.head_dim_k.max(1)).saturating_mul(4);
    let kv = memory::kv_values_per_token(model).saturating_mul(used).saturating_mul(4);
    let mut est = Estimate { weights: model.size_bytes, kv_cache: kv, overhead: (128u64 << 20).saturating_add(rotary) };
    match model.format {
        Format::Safetensors | Format::Pytorch => {
            if model.quantization.as_deref().unwrap_or("").contains("16") {
                est.weights = est.weights.saturating_mul(2);
            }
        }
        Format::Gguf => est.overhead = est.overhead.saturating_add(shape.vocab.saturating_mul(shape.n_embd).saturating_mul(4)),
        Format::Remote => {}
    }
    est
}

/// All of it on the GPU when candle computes there.
fn gpu_share(entry: &RunEntry, gpu_free: Option<u64>) -> f64 {
    let on_gpu = gpu_free.is_some()
        && cfg!(any(feature = "cuda", feature = "cuda-dl"))
        && entry.settings.backend.device != crate::params::Device::Cpu;
    if on_gpu { 1.0 } else { 0.0 }
}

fn doctor() -> Vec<String> {
    let dev = if cfg!(any(feature = "cuda", feature = "cuda-dl")) {
        "CPU, CUDA"
    } else if cfg!(feature = "metal") {
        "CPU, Metal"
    } else {
        "CPU"
    };
    vec![format!("candle {CRATE_VERSION} ({dev})")]
}

fn load(entry: &RunEntry, progress: super::super::LoadProgress) -> Result<Box<dyn Backend>, Error> {
    Ok(Box::new(CandleBackend::load_with(&entry.model, &entry.settings.backend, &progress)?))
}

fn tokenize(entry: &RunEntry, text: &str, template: bool, params: &GenerationParams) -> Result<Tokens, Error> {
    let v = Vocabulary::load(&entry.model)?;
    let params = GenerationParams { raw: !template, ..params.clone() };
    let text = crate::engine::template::render(&v.template, &[], text, &params)?;
    let ids = v.tokenize(&text)?;
    let pieces = ids.iter().map(|&t| v.tok.piece(t)).collect();
    Ok(Tokens { text, ids, pieces })
}

fn pieces(entry: &RunEntry, ids: &[u32]) -> Result<Vec<String>, Error> {
    let v = Vocabulary::load(&entry.model)?;
    Ok(ids.iter().map(|&t| v.tok.piece(t)).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn pinned_version_matches_cargo_toml() {
        let manifest = include_str!("../../../Cargo.toml");
        assert!(manifest.contains(&format!("candle-core = {{ version = \"={}\"", super::CRATE_VERSION)));
    }
}
