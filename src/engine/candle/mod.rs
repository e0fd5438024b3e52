//! candle: Hugging Face safetensors folders and GGUF files, on the CPU or,
//! when compiled with `cuda`/`metal`, a GPU.
//!
//! Same trait, scheduler, events and stats as llama.cpp. The tokenizer of a
//! GGUF file is built from its own metadata (see `tokenizer`), so that the
//! same file gives the same token ids through both engines; text streams
//! through tokenizers' `DecodeStream`, which emits only complete UTF-8.

mod bpe;
mod engine;
mod gemma3_gguf;
mod ggml_ops;
pub mod gguf_to_hf;
mod llama_gguf;
mod model;
mod qmatmul;
pub mod tokenizer;

use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};

use super::template::ChatTemplate;
use super::{Backend, PromptReport};
use crate::catalog::gguf::{Arrays, Header};
use crate::catalog::{Format, ModelInfo};
use crate::engine::runtime::sink::{Flow, Sink};
use crate::error::Error;
use crate::params::{self, BackendSettings, GenerationParams};

pub use engine::CRATE_VERSION;
pub(crate) use engine::ENGINE;
pub use ggml_ops::{trace_begin, trace_end};
use model::Model;
pub use model::normalise_config;
use tokenizer::{Tok, first_line};

pub struct CandleBackend {
    model: Model,
    tok: Tok,
    template: super::template::Loaded,
    device: Device,
    max_len: usize,
    /// The tokens the model's KV cache holds, from position 0; a prompt
    /// that extends them (a follow-up) feeds only what comes after.
    held: Vec<u32>,
}

/// Why a device asked for is not there, and what to set instead.
fn no_device(kind: &str, index: usize, why: &str) -> String {
    format!(
        "no {kind} device #{index} ({why}); set backend.device = \"auto\" or \"cpu\" (,device=cpu in the spec), or backend.main_gpu to a GPU `versus doctor` lists"
    )
}

/// The device the settings ask for; `auto` is CUDA or Metal when compiled
/// in and present, else the CPU.
/// The device `setting` names; GPU `index` (the `main_gpu` setting) of several.
pub fn device(setting: params::Device, index: u32) -> Result<Device, String> {
    let index = index as usize;
    match setting {
        params::Device::Cpu => Ok(Device::Cpu),
        params::Device::Cuda => Device::new_cuda(index).map_err(|e| no_device("CUDA", index, &first_line(&e))),
        params::Device::Metal => Device::new_metal(index).map_err(|e| no_device("Metal", index, &first_line(&e))),
        params::Device::Auto => {
            if candle_core::utils::cuda_is_available() {
                if let Ok(d) = Device::new_cuda(index) {
                    return Ok(d);
                }
            }
            if candle_core::utils::metal_is_available() {
                if let Ok(d) = Device::new_metal(0) {
                    return Ok(d);
                }
            }
            Ok(Device::Cpu)
        }
    }
}

/// f32 on the CPU (bf16 runs 4–5× slower there); the checkpoint's own dtype
/// on a GPU, unless the settings say otherwise.
fn dtype(setting: params::DType, checkpoint: Option<&str>, device: &Device) -> DType {
    match setting {
        params::DType::F32 => DType::F32,
        params::DType::F16 => DType::F16,
        params::DType::Bf16 => DType::BF16,
        params::DType::Auto if device.is_cpu() => DType::F32,
        params::DType::Auto => match checkpoint {
            Some("bfloat16") | Some("BF16") => DType::BF16,
            Some("float16") | Some("F16") => DType::F16,
            _ => DType::F32,
        },
    }
}

fn chat_template(source: Option<String>, tok: &Tok) -> super::template::Loaded {
    source.map(|src| ChatTemplate::new(&src, &tok.bos_text, &tok.eos_text).map_err(|e| e.to_string()))
}

/// A Hugging Face folder's chat template: `chat_template.jinja`, else the
/// `chat_template` of `tokenizer_config.json` (a string, or a list of named
/// templates of which "default" is used).
fn folder_template(dir: &std::path::Path) -> Option<String> {
    if let Ok(t) = crate::paths::read_text(&dir.join("chat_template.jinja"), crate::paths::METADATA_CAP) {
        return Some(t);
    }
    let cfg: serde_json::Value =
        serde_json::from_str(&crate::paths::read_text(&dir.join("tokenizer_config.json"), crate::paths::METADATA_CAP).ok()?).ok()?;
    match cfg.get("chat_template")? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(list) => list
            .iter()
            .find(|t| t.get("name").and_then(|n| n.as_str()) == Some("default"))
            .and_then(|t| t.get("template"))
            .and_then(|t| t.as_str())
            .map(str::to_string),
        _ => None,
    }
}

/// A model's tokenizer and chat template, read without its weights.
pub struct Vocabulary {
    pub tok: Tok,
    pub template: super::template::Loaded,
}

impl Vocabulary {
    pub fn load(info: &ModelInfo) -> Result<Vocabulary, Error> {
        let fail = |reason: String| Error::ModelLoad { model: info.name.clone(), reason };
        match info.format {
            Format::Gguf => {
                let header = Header::read(&info.path, Arrays::Keep).map_err(fail)?;
                let tok = tokenizer::from_gguf(&header).map_err(fail)?;
                let template = chat_template(header.str("tokenizer.chat_template").map(str::to_string), &tok);
                Ok(Vocabulary { tok, template })
            }
            Format::Remote => Err(Error::UnsupportedFormat(format!("{} is served remotely, not by candle", info.name))),
            Format::Safetensors | Format::Pytorch => {
                let cfg = crate::catalog::hf::read_config(&info.path).map_err(fail)?;
                let tok = tokenizer::from_folder(&info.path, &cfg).map_err(fail)?;
                let template = chat_template(folder_template(&info.path), &tok);
                Ok(Vocabulary { tok, template })
            }
        }
    }

    /// Token ids for `text` exactly as generation would feed them.
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>, Error> {
        self.tok.encode(text).map_err(Error::Tokenization)
    }
}

impl CandleBackend {
    pub fn load(info: &ModelInfo, settings: &BackendSettings) -> Result<CandleBackend, Error> {
        CandleBackend::load_with(info, settings, &super::LoadProgress::none())
    }

    /// Load, telling `progress` how much of a GGUF file's tensor data has
    /// been read (and stopping when it says so).
    pub fn load_with(info: &ModelInfo, settings: &BackendSettings, progress: &super::LoadProgress) -> Result<CandleBackend, Error> {
        let fail = |reason: String| Error::ModelLoad { model: info.name.clone(), reason };
        // The tokenizer first: a vocabulary candle cannot split as llama.cpp
        // does is refused before any weight is read.
        let Vocabulary { tok, template } = Vocabulary::load(info)?;
        let device = device(settings.device, settings.main_gpu).map_err(fail)?;
        let threads = super::effective_threads(settings.threads);
        // candle's CPU kernels read this once, when its thread pool starts.
        if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
            // SAFETY: set on the inference thread before candle starts its pool;
            // no other thread reads the environment concurrently at this point.
            unsafe { std::env::set_var("CANDLE_NUM_THREADS", threads.to_string()) };
        }
        let max_len = match settings.context_size {
            0 => info.context_length.unwrap_or(4096) as usize,
            n => n as usize,
        };
        match info.format {
            Format::Gguf => {
                let header = Header::read(&info.path, Arrays::Skip).map_err(fail)?;
                header.check_bounds().map_err(fail)?;
                let arch = header.architecture().unwrap_or_default().to_string();
                let model = model::load_gguf(&info.path, &arch, &device, max_len, progress).map_err(fail)?;
                Ok(CandleBackend { model, tok, template, device, max_len, held: Vec::new() })
            }
            Format::Remote => Err(Error::UnsupportedFormat(format!("{} is served remotely, not by candle", info.name))),
            Format::Safetensors | Format::Pytorch => {
                let dir = &info.path;
                let mut cfg = crate::catalog::hf::read_config(dir).map_err(fail)?;
                let declared = cfg
                    .get("model_type")
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
                    .or_else(|| cfg.get("architectures").and_then(|a| a.get(0)).and_then(|v| v.as_str()).map(str::to_string))
                    .unwrap_or_default();
                let model_type = super::support::hf_model_type(&declared).ok_or_else(|| {
                    Error::UnsupportedFormat(format!(
                        "{}: architecture `{declared}` is not one candle runs here ({})",
                        info.name,
                        super::support::CANDLE_HF.join(", ")
                    ))
                })?;
                normalise_config(model_type, &mut cfg);
                let checkpoint = cfg.get("torch_dtype").or_else(|| cfg.get("dtype")).and_then(|v| v.as_str());
                let dt = dtype(settings.dtype, checkpoint, &device);
                let model = model::load_hf(dir, model_type, &cfg, dt, &device).map_err(fail)?;
                Ok(CandleBackend { model, tok, template, device, max_len, held: Vec::new() })
            }
        }
    }

    /// Token ids for `text` exactly as generation would feed them.
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>, Error> {
        self.tok.encode(text).map_err(Error::Tokenization)
    }

    /// Teacher forcing, for comparing engines: feed `prompt` then `forced`
    /// one token at a time, returning the greedy token at each position
    /// after the prompt.
    pub fn forced_greedy(&mut self, prompt: &str, forced: &[u32]) -> Result<Vec<u32>, Error> {
        Ok(self.forced_logits(prompt, forced)?.iter().map(|l| crate::engine::argmax(l)).collect())
    }

    /// The logits at each position after `prompt`, `forced` fed one token
    /// at a time as generation decodes.
    pub fn forced_logits(&mut self, prompt: &str, forced: &[u32]) -> Result<Vec<Vec<f32>>, Error> {
        let inference = |e: candle_core::Error| Error::Inference(first_line(&e));
        let tokens = self.tokenize(prompt)?;
        super::template::check_fits(tokens.len() + forced.len(), self.max_len)?;
        self.model.clear(&self.device).map_err(inference)?;
        let input = Tensor::new(tokens.as_slice(), &self.device).and_then(|t| t.unsqueeze(0)).map_err(inference)?;
        let mut out = vec![self.model.forward(&input, 0).map_err(inference)?];
        for (i, &t) in forced.iter().enumerate() {
            let input = Tensor::new(&[t], &self.device).and_then(|x| x.unsqueeze(0)).map_err(inference)?;
            out.push(self.model.forward(&input, tokens.len() + i).map_err(inference)?);
        }
        Ok(out)
    }
}

/// candle's version, pinned exactly in Cargo.toml.
const CANDLE_VERSION: &str = "0.11.1";

/// The sampling `generate` does, in words, for receipts.
fn describe_sampling(p: &GenerationParams) -> String {
    use crate::engine::protocol::receipt::{Cut, sampler_chain};
    sampler_chain(p, &[Cut::MinP, Cut::TopK, Cut::TopP])
}

/// min_p: drop tokens whose probability is below `min_p` times the top one,
/// by setting their logits to -inf (candle's LogitsProcessor has no min_p).
fn apply_min_p(logits: &mut [f32], min_p: f32, temperature: f32) {
    if min_p <= 0.0 || temperature <= 0.0 {
        return;
    }
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    // p_i / p_max = exp((l_i - l_max) / T) < min_p  ⇔  l_i < l_max + T·ln(min_p)
    let cut = max + temperature * min_p.ln();
    for l in logits.iter_mut() {
        if *l < cut {
            *l = f32::NEG_INFINITY;
        }
    }
}

impl Backend for CandleBackend {
    fn render(&self, turns: &[super::Turn], prompt: &str, params: &GenerationParams) -> Result<String, Error> {
        super::template::render(&self.template, turns, prompt, params)
    }

    fn token_ids(&self, text: &str) -> Result<Vec<u32>, Error> {
        self.tokenize(text)
    }

    fn bos(&self) -> Option<u32> {
        self.tok.bos()
    }

    /// Each chunk's first part up to `from` in one batch (its last logits
    /// are the first scored), then one token at a time, as generation
    /// decodes: candle's models give the last position's logits only.
    fn score(&mut self, chunks: &[Vec<u32>], from: usize, each: &mut dyn FnMut(usize, usize, &[f32]) -> bool) -> Result<(), Error> {
        let inference = |e: candle_core::Error| Error::Inference(first_line(&e));
        self.held.clear();
        for (c, chunk) in chunks.iter().enumerate() {
            if chunk.len() < 2 || from + 1 >= chunk.len() {
                continue;
            }
            // The last token is only predicted, never fed.
            super::template::check_fits(chunk.len() - 1, self.max_len)?;
            self.model.clear(&self.device).map_err(inference)?;
            let input = Tensor::new(&chunk[..=from], &self.device).and_then(|t| t.unsqueeze(0)).map_err(inference)?;
            let logits = self.model.forward(&input, 0).map_err(inference)?;
            if !each(c, from, &logits) {
                return Ok(());
            }
            for pos in from + 1..chunk.len() - 1 {
                let input = Tensor::new(&chunk[pos..=pos], &self.device).and_then(|x| x.unsqueeze(0)).map_err(inference)?;
                let logits = self.model.forward(&input, pos).map_err(inference)?;
                if !each(c, pos, &logits) {
                    return Ok(());
                }
            }
        }
        self.model.clear(&self.device).map_err(inference)?;
        Ok(())
    }

    fn generate(&mut self, rendered: &str, params: &GenerationParams, seed: u32, sink: &mut Sink<'_>) -> Result<PromptReport, Error> {
        let inference = |e: candle_core::Error| Error::Inference(first_line(&e));
        let tokens = self.tokenize(rendered)?;
        super::template::check_fits(tokens.len(), self.max_len)?;
        let held = std::mem::take(&mut self.held);
        let cache_before = crate::engine::protocol::receipt::ids_hash(&held);
        let reused = if self.model.reuses_prefix() && tokens.len() > held.len() && tokens.starts_with(&held) { held.len() } else { 0 };
        if reused == 0 {
            self.model.clear(&self.device).map_err(inference)?;
        }
        let sampling = if params.temperature <= 0.0 {
            Sampling::ArgMax
        } else {
            let t = f64::from(params.temperature);
            let k = params.top_k as usize;
            let p = f64::from(params.top_p);
            match (k > 0, p < 1.0) {
                (true, true) => Sampling::TopKThenTopP { k, p, temperature: t },
                (true, false) => Sampling::TopK { k, temperature: t },
                (false, true) => Sampling::TopP { p, temperature: t },
                (false, false) => Sampling::All { temperature: t },
            }
        };
        let mut processor = LogitsProcessor::from_sampling(u64::from(seed), sampling);
        let mut decoder = self.tok.tokenizer.decode_stream(true);
        let mut history: Vec<u32> = tokens.clone();

        sink.start();
        let t0 = Instant::now();
        let input = Tensor::new(&tokens[reused..], &self.device).and_then(|t| t.unsqueeze(0)).map_err(inference)?;
        let mut logits = self.model.forward(&input, reused).map_err(inference)?;
        let mut fed = tokens.clone();
        let prompt_ms = t0.elapsed().as_secs_f64() * 1e3;
        let mut pos = tokens.len();
        let mut eos = false;
        loop {
            if params.repeat_penalty != 1.0 && params.repeat_last_n > 0 {
                let start = history.len().saturating_sub(params.repeat_last_n as usize);
                let mut seen = std::collections::HashSet::new();
                for &t in &history[start..] {
                    if let Some(l) = logits.get_mut(t as usize) {
                        if seen.insert(t) {
                            *l = if *l >= 0.0 { *l / params.repeat_penalty } else { *l * params.repeat_penalty };
                        }
                    }
                }
            }
            apply_min_p(&mut logits, params.min_p, params.temperature);
            let n = logits.len();
            let t = Tensor::from_vec(std::mem::take(&mut logits), n, &Device::Cpu).map_err(inference)?;
            let next = processor.sample(&t).map_err(inference)?;
            if self.tok.eos_ids.contains(&next) && !params.ignore_eos {
                eos = true;
                break;
            }
            history.push(next);
            let text = decoder.step(next).map_err(|e| Error::Inference(first_line(&*e)))?.unwrap_or_default();
            if sink.token(next, &text) == Flow::Stop {
                break;
            }
            if pos + 1 >= self.max_len {
                sink.context_full();
                break;
            }
            let input = Tensor::new(&[next], &self.device).and_then(|t| t.unsqueeze(0)).map_err(inference)?;
            logits = self.model.forward(&input, pos).map_err(inference)?;
            fed.push(next);
            pos += 1;
        }
        let cache_after = crate::engine::protocol::receipt::ids_hash(&fed);
        self.held = fed;
        let receipt = crate::engine::protocol::receipt::EngineReceipt {
            engine: format!("candle {}", CANDLE_VERSION),
            threads: candle_core::utils::get_num_threads() as u32,
            n_ctx: self.max_len as u32,
            n_batch: tokens.len() as u32,
            n_ubatch: tokens.len() as u32,
            sampler: describe_sampling(params),
            template: super::template::hash_of(&self.template, params.raw),
            prompt_tokens: tokens.len(),
            prompt_ids: crate::engine::protocol::receipt::ids_hash(&tokens),
            cache_before,
            cache_after,
        };
        Ok(PromptReport {
            prompt_tokens: (tokens.len() - reused) as u64,
            reused_tokens: reused as u64,
            prompt_ms,
            eos,
            receipt: Some(receipt),
            ..PromptReport::default()
        })
    }

    fn cached_tokens(&self) -> usize {
        self.held.len()
    }

    fn forget(&mut self) {
        self.held.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_p_keeps_tokens_near_the_top() {
        let mut l = vec![0.0, -0.5, -5.0, 1.0];
        apply_min_p(&mut l, 0.1, 1.0);
        assert_eq!(l[3], 1.0);
        assert_eq!(l[0], 0.0);
        assert_eq!(l[1], -0.5);
        assert_eq!(l[2], f32::NEG_INFINITY);
    }
}
