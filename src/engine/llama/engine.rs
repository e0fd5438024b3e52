//! llama.cpp's row in the engine registry: what it runs, what a model
//! needs with it, how much goes to the GPU, its doctor lines, loading.

use super::LlamaCpp;
use crate::engine::registry::EngineInfo;
use crate::engine::runtime::memory::{self, Estimate};
use crate::engine::vocab::Tokens;
use crate::engine::{Backend, EngineKind, RunEntry};
use crate::error::Error;
use crate::params::GenerationParams;

/// The llama-cpp-2 crate, pinned exactly in Cargo.toml (a test keeps it true).
pub const CRATE_VERSION: &str = "0.1.160";

pub(crate) static ENGINE: EngineInfo = EngineInfo {
    kind: EngineKind::Llama,
    title: "llama.cpp",
    runs_what: "GGUF files",
    feature: "llama",
    compiled: true,
    local: true,
    runs: crate::engine::support::llama_runs,
    estimate,
    spreads_over_gpus: true,
    gpu_share,
    ram_hint: ", or raise n_gpu_layers to move layers to the GPU",
    gpu_hint: ", or lower n_gpu_layers to keep some layers in RAM",
    doctor,
    load,
    tokenize,
    pieces,
};

/// An f16 cache sized for the whole context, and compute buffers that grow
/// with the batch and the width of the model.
fn estimate(entry: &RunEntry) -> Estimate {
    let shape = entry.model.shape.unwrap_or_default();
    Estimate {
        weights: entry.model.size_bytes,
        kv_cache: memory::kv_values_per_token(&entry.model).saturating_mul(memory::context_tokens(entry)).saturating_mul(2),
        overhead: (96u64 << 20)
            .saturating_add(u64::from(entry.settings.backend.batch_size).saturating_mul(shape.n_embd).saturating_mul(32)),
    }
}

/// The share of the layers that go to the GPU.
fn gpu_share(entry: &RunEntry, gpu_free: Option<u64>) -> f64 {
    if entry.settings.backend.n_gpu_layers == 0 || !offloads() || gpu_free.is_none() {
        return 0.0;
    }
    let all = entry.model.shape.map_or(1, |s| s.n_layer.saturating_add(1)).max(1);
    f64::from(gpu_layers(entry, gpu_free)) / all as f64
}

fn offloads() -> bool {
    super::backend().is_ok_and(|b| b.supports_gpu_offload())
}

/// How many of a model's layers go to the GPU: as configured, or with -1
/// as many as fit in `gpu_free` (all of them when the model fits; none
/// without a GPU). The output layer counts as one more.
pub fn gpu_layers(entry: &RunEntry, gpu_free: Option<u64>) -> u32 {
    let est = estimate(entry);
    let n_layer = u32::try_from(entry.model.shape.map_or(0, |s| s.n_layer)).unwrap_or(u32::MAX);
    let all = n_layer.saturating_add(1);
    match (entry.settings.backend.n_gpu_layers, gpu_free) {
        (n, _) if n >= 0 => (n as u32).min(all.max(n as u32)),
        (_, None) => 0,
        (_, Some(free)) => {
            let per_layer = est.weights.saturating_add(est.kv_cache) / u64::from(all.max(1));
            let room = free.saturating_sub(memory::GPU_RESERVE.saturating_add(est.overhead));
            if per_layer == 0 { all } else { ((room / per_layer) as u32).min(all) }
        }
    }
}

fn doctor() -> Vec<String> {
    let gpu = if cfg!(any(feature = "cuda", feature = "cuda-dl")) {
        "CPU, CUDA"
    } else if cfg!(feature = "metal") {
        "CPU, Metal"
    } else {
        "CPU"
    };
    let mut lines = vec![format!("llama-cpp-2 {CRATE_VERSION} ({gpu})")];
    let devices = super::devices();
    if !devices.is_empty() {
        lines.push(format!("devices: {}", devices.join(", ")));
    }
    lines
}

fn load(entry: &RunEntry, progress: crate::engine::LoadProgress) -> Result<Box<dyn Backend>, Error> {
    let free = if entry.settings.backend.n_gpu_layers != 0 && offloads() {
        memory::placement(entry, ENGINE.spreads_over_gpus)?.map(|p| p.free)
    } else {
        None
    };
    Ok(Box::new(LlamaCpp::load_with(&entry.model, &entry.settings.backend, gpu_layers(entry, free), Some(progress))?))
}

fn tokenize(entry: &RunEntry, text: &str, template: bool, params: &GenerationParams) -> Result<Tokens, Error> {
    let m = LlamaCpp::load_vocab(&entry.model, &entry.settings.backend)?;
    let params = GenerationParams { raw: !template, ..params.clone() };
    let text = m.render(&[], text, &params)?;
    let ids: Vec<u32> = m.tokenize(&text).into_iter().map(|t| t as u32).collect();
    let pieces = ids.iter().map(|&t| m.piece(t as i32)).collect();
    Ok(Tokens { text, ids, pieces })
}

fn pieces(entry: &RunEntry, ids: &[u32]) -> Result<Vec<String>, Error> {
    let m = LlamaCpp::load_vocab(&entry.model, &entry.settings.backend)?;
    Ok(ids.iter().map(|&t| m.piece(t as i32)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n_gpu_layers: i32) -> RunEntry {
        let model = crate::catalog::ModelInfo {
            name: "m".into(),
            format: crate::catalog::Format::Gguf,
            path: "/m.gguf".into(),
            files: vec![],
            source: crate::catalog::Source::Cli,
            size_bytes: 31 << 30,
            architecture: Some("llama".into()),
            quantization: None,
            parameters: None,
            context_length: Some(4096),
            chat_template: false,
            shape: Some(crate::catalog::Shape { n_layer: 30, n_head_kv: 8, head_dim_k: 128, head_dim_v: 128, n_embd: 4096, vocab: 32000 }),
            error: None,
        };
        let mut settings = crate::params::Settings::default();
        settings.backend.n_gpu_layers = n_gpu_layers;
        RunEntry { label: "m".into(), model, engine: EngineKind::Llama, settings, prompts: None, endpoint: None, history: Vec::new() }
    }

    #[test]
    fn layers_go_to_the_gpu_as_far_as_they_fit() {
        assert_eq!(gpu_layers(&entry(-1), None), 0, "no GPU, no offload");
        assert_eq!(gpu_layers(&entry(-1), Some(80 << 30)), 31, "everything fits on 80 GiB");
        let half = gpu_layers(&entry(-1), Some(17 << 30));
        assert!((12..=17).contains(&half), "about half of a 32 GiB model fits in 17 GiB: {half}");
        assert_eq!(gpu_layers(&entry(10), Some(80 << 30)), 10, "an explicit count is kept");
        assert_eq!(gpu_layers(&entry(0), Some(80 << 30)), 0);
    }

    #[test]
    fn pinned_version_matches_cargo_toml() {
        let manifest = include_str!("../../../Cargo.toml");
        assert!(manifest.contains(&format!("llama-cpp-2 = {{ version = \"={CRATE_VERSION}\"")));
    }
}
