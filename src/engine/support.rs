//! Which models each engine runs. Kept apart from the engines themselves
//! so that `versus list` can answer "which engines can run this?" whatever
//! features the binary was built with.

use crate::catalog::{Format, ModelInfo};

/// llama.cpp runs every GGUF file (it reports what it cannot load itself).
pub fn llama_runs(m: &ModelInfo) -> bool {
    m.format == Format::Gguf
}

/// The scripted test engine runs models named `scripted:…`.
#[cfg(test)]
pub fn scripted_runs(m: &ModelInfo) -> bool {
    m.name.starts_with("scripted:")
}

/// candle runs the GGUF and Hugging Face architectures of its models.
pub fn candle_runs(m: &ModelInfo) -> bool {
    let arch = m.architecture.as_deref().unwrap_or("");
    match m.format {
        Format::Gguf => candle_gguf(arch),
        Format::Safetensors | Format::Pytorch => candle_hf(arch),
        Format::Remote => false,
    }
}

/// GGUF `general.architecture` values candle's quantized models run.
pub const CANDLE_GGUF: &[&str] = &["llama", "gemma3", "qwen2", "qwen3"];

/// Hugging Face `model_type` values candle runs from safetensors.
pub const CANDLE_HF: &[&str] = &["llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3", "gemma3_text", "phi3"];

pub fn candle_gguf(arch: &str) -> bool {
    CANDLE_GGUF.contains(&arch)
}

/// `arch` may be a `model_type` ("qwen2") or an `architectures` entry
/// ("Qwen2ForCausalLM"); both are accepted.
pub fn candle_hf(arch: &str) -> bool {
    hf_model_type(arch).is_some()
}

/// Map an `architectures` class name or a `model_type` to a supported `model_type`.
pub fn hf_model_type(arch: &str) -> Option<&'static str> {
    let lower = arch.to_ascii_lowercase();
    if let Some(t) = CANDLE_HF.iter().find(|t| **t == lower) {
        return Some(t);
    }
    Some(match arch {
        "LlamaForCausalLM" => "llama",
        "MistralForCausalLM" => "mistral",
        "Qwen2ForCausalLM" => "qwen2",
        "Qwen3ForCausalLM" => "qwen3",
        "GemmaForCausalLM" => "gemma",
        "Gemma2ForCausalLM" => "gemma2",
        "Gemma3ForCausalLM" | "Gemma3ForConditionalGeneration" => "gemma3_text",
        "Phi3ForCausalLM" => "phi3",
        _ => return None,
    })
}
