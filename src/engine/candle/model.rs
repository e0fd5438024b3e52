//! The models candle runs, as one enum: Hugging Face architectures loaded
//! from safetensors, and quantized GGUF models. `forward` returns the
//! logits of the last position as f32 whatever the model's own shape.

use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models as m;
use serde_json::Value as Json;

use super::tokenizer::first_line;
use super::{gemma3_gguf, llama_gguf};

pub enum Model {
    Llama(m::llama::Llama, m::llama::Config, m::llama::Cache),
    Mistral(m::mistral::Model),
    Qwen2(m::qwen2::ModelForCausalLM),
    Qwen3(m::qwen3::ModelForCausalLM),
    Gemma(m::gemma::Model),
    Gemma2(m::gemma2::Model),
    Gemma3(m::gemma3::Model),
    Phi3(m::phi3::Model),
    /// llama, qwen2 and qwen3 GGUF files.
    QLlama(llama_gguf::ModelWeights),
    QGemma3(gemma3_gguf::ModelWeights),
}

type CResult<T> = candle_core::Result<T>;

impl Model {
    /// Whether a prompt can be fed after what the cache holds (position
    /// `pos` > 0 with several tokens): the GGUF models computed here mask by
    /// absolute position, and Gemma 3 is fed one token at a time; candle's
    /// Hugging Face Llama builds a square mask that only fits an empty cache.
    pub fn reuses_prefix(&self) -> bool {
        matches!(self, Model::QLlama(_) | Model::QGemma3(_) | Model::Gemma3(_))
    }

    /// Logits for the last position of `tokens`, placed at `pos`.
    pub fn forward(&mut self, tokens: &Tensor, pos: usize) -> CResult<Vec<f32>> {
        let logits = match self {
            Model::Llama(model, _, cache) => model.forward(tokens, pos, cache)?,
            Model::Mistral(model) => model.forward(tokens, pos)?,
            Model::Qwen2(model) => model.forward(tokens, pos)?,
            Model::Qwen3(model) => model.forward(tokens, pos)?,
            Model::Gemma(model) => model.forward(tokens, pos)?,
            Model::Gemma2(model) => model.forward(tokens, pos)?,
            Model::Gemma3(model) => {
                // candle-transformers 0.11.1's Gemma 3 appends a non-contiguous
                // value tensor to its full-attention KV cache when given more
                // than one token ("slice-set only supports contiguous
                // tensors"); one token at a time it is contiguous.
                let n = tokens.dim(1)?;
                let mut last = None;
                for i in 0..n {
                    last = Some(model.forward(&tokens.narrow(1, i, 1)?, pos + i)?);
                }
                match last {
                    Some(l) => l,
                    None => candle_core::bail!("empty input"),
                }
            }
            Model::Phi3(model) => model.forward(tokens, pos)?,
            Model::QLlama(model) => model.forward(tokens, pos)?,
            Model::QGemma3(model) => model.forward(tokens, pos)?,
        };
        // (batch, vocab) or (batch, 1, vocab): flatten to the last row.
        let logits = logits.to_dtype(DType::F32)?.flatten_all()?;
        let all = logits.to_vec1::<f32>()?;
        Ok(all)
    }

    /// Forget the KV cache: every generation starts from position 0.
    pub fn clear(&mut self, device: &Device) -> CResult<()> {
        match self {
            Model::Llama(_, cfg, cache) => *cache = m::llama::Cache::new(true, dtype_of_cache(cache), cfg, device)?,
            Model::Mistral(model) => model.clear_kv_cache(),
            Model::Qwen2(model) => model.clear_kv_cache(),
            Model::Qwen3(model) => model.clear_kv_cache(),
            Model::Gemma(model) => model.clear_kv_cache(),
            Model::Gemma2(model) => model.clear_kv_cache(),
            Model::Gemma3(model) => model.clear_kv_cache(),
            Model::Phi3(model) => model.clear_kv_cache(),
            Model::QLlama(model) => model.clear_kv_cache(),
            Model::QGemma3(model) => model.clear_kv_cache(),
        }
        Ok(())
    }
}

fn dtype_of_cache(_cache: &m::llama::Cache) -> DType {
    // The cache holds rotary tables in the model's dtype; f32 is what we load on CPU.
    DType::F32
}

/// Load a quantized GGUF model; `arch` is `general.architecture`.
pub fn load_gguf(
    path: &Path,
    arch: &str,
    device: &Device,
    max_len: usize,
    progress: &crate::engine::LoadProgress,
) -> Result<Model, String> {
    let mut file = crate::paths::open_regular(path).map_err(|e| crate::paths::io_message(path, &e))?;
    let ct = gguf_file::Content::read(&mut file).map_err(|e| first_line(&e))?;
    let total = file.metadata().map_or(0, |m| m.len()).saturating_sub(ct.tensor_data_offset);
    let mut counted = Counted { inner: file, read: 0, total, last: 0.0, progress };
    let r = &mut counted;
    let model = match arch {
        "llama" | "qwen2" | "qwen3" => {
            Model::QLlama(llama_gguf::ModelWeights::from_gguf(ct, r, device, max_len).map_err(|e| first_line(&e))?)
        }
        "gemma3" => Model::QGemma3(gemma3_gguf::ModelWeights::from_gguf(ct, r, device, max_len).map_err(|e| first_line(&e))?),
        other => {
            return Err(format!(
                "candle has no quantized model for architecture `{other}` (it runs {})",
                crate::engine::support::CANDLE_GGUF.join(", ")
            ));
        }
    };
    Ok(model)
}

/// The GGUF file as the tensor loaders read it, counting the bytes for the
/// load gauge; a cancelled run makes the next read fail, which ends the load.
struct Counted<'p, R> {
    inner: R,
    read: u64,
    total: u64,
    last: f32,
    progress: &'p crate::engine::LoadProgress,
}

impl<R: std::io::Read> std::io::Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // In pieces of 4 MiB: one tensor (Gemma's embedding) is most of the
        // file, and the gauge and Esc should move within it.
        let cap = buf.len().min(4 << 20);
        let n = self.inner.read(&mut buf[..cap])?;
        self.read += n as u64;
        let f = if self.total == 0 { 1.0 } else { (self.read as f64 / self.total as f64).min(1.0) as f32 };
        if f - self.last >= 0.01 || (f >= 1.0 && self.last < 1.0) {
            self.last = f;
            if !self.progress.report(f) {
                return Err(std::io::Error::other("loading was cancelled"));
            }
        }
        Ok(n)
    }
}

impl<R: std::io::Seek> std::io::Seek for Counted<'_, R> {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// Rewrite a config.json into the spellings candle's configs expect:
/// transformers 5 writes `rope_parameters` and `_sliding_window_pattern`;
/// fields many checkpoints leave out get their Hugging Face defaults.
pub fn normalise_config(model_type: &str, cfg: &mut Json) {
    let Some(obj) = cfg.as_object_mut() else { return };
    let get_u = |o: &serde_json::Map<String, Json>, k: &str| o.get(k).and_then(Json::as_u64);
    if let Some(rp) = obj.get("rope_parameters").cloned() {
        let theta = |v: &Json| v.get("rope_theta").and_then(Json::as_f64);
        let global = theta(&rp).or_else(|| rp.get("full_attention").and_then(theta));
        let local = rp.get("sliding_attention").and_then(theta);
        if let Some(t) = global {
            obj.entry("rope_theta").or_insert(t.into());
        }
        if let Some(t) = local {
            obj.entry("rope_local_base_freq").or_insert(t.into());
        }
    }
    if let Some(p) = obj.get("_sliding_window_pattern").cloned() {
        obj.entry("sliding_window_pattern").or_insert(p);
    }
    if !obj.contains_key("sliding_window_pattern") {
        if let Some(types) = obj.get("layer_types").and_then(Json::as_array) {
            if let Some(first_full) = types.iter().position(|t| t.as_str() == Some("full_attention")) {
                obj.insert("sliding_window_pattern".into(), (first_full + 1).into());
            }
        }
    }
    let heads = get_u(obj, "num_attention_heads");
    let hidden = get_u(obj, "hidden_size");
    let head_dim = match (heads, hidden) {
        (Some(h), Some(d)) if h > 0 => Some(d / h),
        _ => None,
    };
    let mut default = |k: &str, v: Json| {
        obj.entry(k.to_string()).or_insert(v);
    };
    match model_type {
        "qwen2" => {
            default("sliding_window", 4096.into());
            default("use_sliding_window", false.into());
            default("tie_word_embeddings", false.into());
            default("hidden_act", "silu".into());
            default("rope_theta", 10000.0.into());
            default("max_position_embeddings", 32768.into());
        }
        "qwen3" => {
            if let Some(hd) = head_dim {
                default("head_dim", hd.into());
            }
            default("attention_bias", false.into());
            default("use_sliding_window", false.into());
            default("tie_word_embeddings", false.into());
            default("hidden_act", "silu".into());
            default("rope_theta", 1_000_000.0.into());
            default("max_position_embeddings", 40960.into());
        }
        "gemma" | "gemma2" | "gemma3" | "gemma3_text" => {
            if let Some(hd) = head_dim {
                default("head_dim", hd.into());
            }
            default("attention_bias", false.into());
            default("hidden_activation", "gelu_pytorch_tanh".into());
            default("rope_theta", 10000.0.into());
            default("rope_local_base_freq", 10000.0.into());
            default("sliding_window_pattern", 6.into());
        }
        "mistral" => {
            default("rope_theta", 10000.0.into());
        }
        "phi3" => {
            default("rope_theta", 10000.0.into());
        }
        _ => {}
    }
    // The loop above borrowed obj mutably through `default`; values that
    // depend on other fields are filled in after it.
    if let Some(hd) = obj.get("head_dim").and_then(Json::as_u64) {
        obj.entry("query_pre_attn_scalar").or_insert(hd.into());
    }
    if let Some(n) = get_u(obj, "num_hidden_layers") {
        obj.entry("max_window_layers").or_insert(n.into());
    }
}

fn parse<T: serde::de::DeserializeOwned>(model_type: &str, cfg: &Json) -> Result<T, String> {
    // serde_path_to_error names the key; serde's own words ("expected
    // usize") are put as a user would say them.
    serde_path_to_error::deserialize(cfg.clone()).map_err(|e| {
        let what =
            e.inner().to_string().replace("expected usize", "expected a whole number ≥ 0").replace("expected f64", "expected a number");
        format!("config.json: `{}`: {what} (needed for {model_type})", e.path())
    })
}

/// The weight files of a folder, sharded or not.
pub fn weight_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let index = dir.join("model.safetensors.index.json");
    if index.is_file() {
        let text = crate::paths::read_text(&index, crate::paths::METADATA_CAP).map_err(|e| crate::paths::io_message(&index, &e))?;
        let json: Json = serde_json::from_str(&text).map_err(|e| format!("model.safetensors.index.json: {e}"))?;
        let map = json.get("weight_map").and_then(Json::as_object).ok_or("model.safetensors.index.json has no weight_map")?;
        let mut files: Vec<PathBuf> = map.values().filter_map(Json::as_str).map(|f| dir.join(f)).collect();
        files.sort();
        files.dedup();
        if let Some(missing) = files.iter().find(|f| !f.is_file()) {
            return Err(format!("shard {} is missing", missing.display()));
        }
        return Ok(files);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    files.sort();
    if files.is_empty() {
        let bins: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| e.to_string())?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("pytorch_model") && n.ends_with(".bin")))
            .collect();
        if bins.is_empty() {
            return Err("no *.safetensors or pytorch_model*.bin weights".into());
        }
        return Ok(bins);
    }
    Ok(files)
}

/// Load a Hugging Face folder of `model_type` in `dtype` on `device`.
pub fn load_hf(dir: &Path, model_type: &str, cfg: &Json, dtype: DType, device: &Device) -> Result<Model, String> {
    let files = weight_files(dir)?;
    // Check every safetensors header first: a truncated file would otherwise
    // fail deep inside the mmap with a less helpful message.
    for f in files.iter().filter(|f| f.extension().is_some_and(|e| e == "safetensors")) {
        crate::catalog::hf::read_safetensors_header(f)?;
    }
    let vb = if files.iter().all(|f| f.extension().is_some_and(|e| e == "safetensors")) {
        // SAFETY: the files are memory-mapped read-only; versus does not
        // modify them while the model is loaded.
        unsafe { VarBuilder::from_mmaped_safetensors(&files, dtype, device) }.map_err(|e| first_line(&e))?
    } else if files.len() == 1 {
        VarBuilder::from_pth(&files[0], dtype, device).map_err(|e| first_line(&e))?
    } else {
        return Err("sharded PyTorch checkpoints are not supported; convert them to safetensors".into());
    };
    let err = |e: candle_core::Error| first_line(&e);
    Ok(match model_type {
        "llama" => {
            let c: m::llama::LlamaConfig = parse(model_type, cfg)?;
            let c = c.into_config(false);
            let cache = m::llama::Cache::new(true, dtype, &c, device).map_err(err)?;
            Model::Llama(m::llama::Llama::load(vb, &c).map_err(err)?, c, cache)
        }
        "mistral" => Model::Mistral(m::mistral::Model::new(&parse(model_type, cfg)?, vb).map_err(err)?),
        "qwen2" => Model::Qwen2(m::qwen2::ModelForCausalLM::new(&parse(model_type, cfg)?, vb).map_err(err)?),
        "qwen3" => Model::Qwen3(m::qwen3::ModelForCausalLM::new(&parse(model_type, cfg)?, vb).map_err(err)?),
        "gemma" => Model::Gemma(m::gemma::Model::new(false, &parse(model_type, cfg)?, vb).map_err(err)?),
        "gemma2" => Model::Gemma2(m::gemma2::Model::new(false, &parse(model_type, cfg)?, vb).map_err(err)?),
        "gemma3" | "gemma3_text" => {
            // Multimodal Gemma 3 checkpoints keep the text model under `language_model`.
            let vb = if vb.contains_tensor("language_model.model.embed_tokens.weight") { vb.pp("language_model") } else { vb };
            Model::Gemma3(m::gemma3::Model::new(false, &parse(model_type, cfg)?, vb).map_err(err)?)
        }
        "phi3" => Model::Phi3(m::phi3::Model::new(&parse(model_type, cfg)?, vb).map_err(err)?),
        other => return Err(format!("candle has no model for `{other}`")),
    })
}
