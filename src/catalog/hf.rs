//! Metadata of a Hugging Face model folder, read from `config.json`, the
//! tokenizer config and the safetensors headers, never from the weights.

use std::path::{Path, PathBuf};

use serde_json::Value as Json;

const MAX_HEADER: u64 = 100 << 20;

/// What discovery learns about a folder model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HfMeta {
    pub architecture: Option<String>,
    pub model_type: Option<String>,
    pub dtype: Option<String>,
    pub context_length: Option<u64>,
    pub chat_template: bool,
    pub parameters: Option<u64>,
    /// Sum of the weight files' sizes.
    pub size_bytes: u64,
    pub weight_files: Vec<PathBuf>,
}

/// Whether `names` (a folder's entries) look like a Hugging Face model.
pub fn is_model_folder(names: &[String]) -> bool {
    names.iter().any(|n| n == "config.json") && names.iter().any(|n| is_weight_file(n) || n == "model.safetensors.index.json")
}

pub fn is_weight_file(name: &str) -> bool {
    name.ends_with(".safetensors") || (name.starts_with("pytorch_model") && name.ends_with(".bin"))
}

/// The `config.json` of a folder, with the text part of multimodal configs
/// (Gemma 3's `text_config`) merged into the top level.
pub fn read_config(dir: &Path) -> Result<Json, String> {
    let path = dir.join("config.json");
    let text = crate::paths::read_text(&path, crate::paths::METADATA_CAP).map_err(|e| format!("config.json: {e}"))?;
    let mut json: Json = serde_json::from_str(&text).map_err(|e| format!("config.json: {e}"))?;
    if !json.is_object() {
        return Err("config.json: not a JSON object".into());
    }
    if let Some(Json::Object(text_cfg)) = json.get("text_config").cloned() {
        if let Some(obj) = json.as_object_mut() {
            for (k, v) in text_cfg {
                obj.entry(k).or_insert(v);
            }
        }
    }
    Ok(json)
}

pub fn read_meta(dir: &Path) -> Result<HfMeta, String> {
    let config = read_config(dir)?;
    let mut meta = HfMeta {
        architecture: config.get("architectures").and_then(|a| a.get(0)).and_then(Json::as_str).map(str::to_string),
        model_type: config.get("model_type").and_then(Json::as_str).map(str::to_string),
        dtype: config.get("torch_dtype").or_else(|| config.get("dtype")).and_then(Json::as_str).map(str::to_string),
        context_length: config.get("max_position_embeddings").and_then(Json::as_u64),
        ..HfMeta::default()
    };
    meta.chat_template = dir.join("chat_template.jinja").is_file()
        || crate::paths::read_text(&dir.join("tokenizer_config.json"), crate::paths::METADATA_CAP)
            .ok()
            .and_then(|t| serde_json::from_str::<Json>(&t).ok())
            .is_some_and(|j| j.get("chat_template").is_some_and(|v| !v.is_null()));

    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_str().is_some_and(is_weight_file))
        .map(|e| e.path())
        .collect();
    files.sort();
    if files.is_empty() {
        return Err("no weight files (*.safetensors or pytorch_model*.bin) next to config.json".into());
    }
    let mut params = 0u64;
    let mut all_safetensors = true;
    for f in &files {
        meta.size_bytes += std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
        if f.extension().is_some_and(|e| e == "safetensors") {
            let header = read_safetensors_header(f)?;
            params += header.parameters;
            if meta.dtype.is_none() {
                meta.dtype = header.dtype;
            }
        } else {
            all_safetensors = false;
        }
    }
    if all_safetensors {
        meta.parameters = Some(params);
    }
    meta.weight_files = files;
    Ok(meta)
}

/// The summary of one safetensors file's header.
#[derive(Debug, Clone, PartialEq)]
pub struct SafetensorsHeader {
    pub tensors: usize,
    pub parameters: u64,
    pub dtype: Option<String>,
    /// Bytes of tensor data the header describes.
    pub data_bytes: u64,
}

pub fn read_safetensors_header(path: &Path) -> Result<SafetensorsHeader, String> {
    use std::io::Read;
    let name = path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let mut file = crate::paths::open_regular(path).map_err(|e| format!("{name}: {e}"))?;
    let size = file.metadata().map_err(|e| format!("{name}: {e}"))?.len();
    let mut len = [0u8; 8];
    file.read_exact(&mut len).map_err(|_| format!("{name}: truncated safetensors file (no header)"))?;
    let n = u64::from_le_bytes(len);
    if n > MAX_HEADER || n.saturating_add(8) > size {
        return Err(format!("{name}: corrupt or truncated safetensors header ({n} bytes declared, file has {size})"));
    }
    let mut buf = vec![0u8; n as usize];
    file.read_exact(&mut buf).map_err(|e| format!("{name}: {e}"))?;
    parse_safetensors_header(&buf, size).map_err(|e| format!("{name}: {e}"))
}

/// The JSON header of a safetensors file of `file_size` bytes (also the fuzz
/// target's entry). Sizes saturate: a hostile `data_offsets` end near 2^64
/// or a shape whose product overflows reads as past the end of the file.
pub fn parse_safetensors_header(header: &[u8], file_size: u64) -> Result<SafetensorsHeader, String> {
    let json: Json = serde_json::from_slice(header).map_err(|e| format!("bad safetensors header: {e}"))?;
    let obj = json.as_object().ok_or_else(|| "bad safetensors header (not a JSON object)".to_string())?;
    let mut out = SafetensorsHeader { tensors: 0, parameters: 0, dtype: None, data_bytes: 0 };
    for (key, info) in obj {
        if key == "__metadata__" {
            continue;
        }
        out.tensors += 1;
        let dims = info.get("shape").and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default();
        let shape = dims.iter().try_fold(1u64, |n, d| d.as_u64().and_then(|d| n.checked_mul(d)));
        let Some(shape) = shape else {
            return Err(format!("corrupt safetensors header (tensor {key:?} has shape {})", info.get("shape").unwrap_or(&Json::Null)));
        };
        out.parameters = out.parameters.saturating_add(shape);
        if out.dtype.is_none() {
            out.dtype = info.get("dtype").and_then(Json::as_str).map(str::to_string);
        }
        let offsets = info.get("data_offsets").and_then(Json::as_array);
        if let Some([start, end]) = offsets.map(Vec::as_slice) {
            match (start.as_u64(), end.as_u64()) {
                (Some(s), Some(e)) if s <= e => out.data_bytes = out.data_bytes.max(e),
                _ => return Err(format!("corrupt safetensors header (tensor {key:?} has data_offsets [{start}, {end}])")),
            }
        }
    }
    let header_len = header.len() as u64;
    let needed = out.data_bytes.saturating_add(header_len).saturating_add(8);
    if needed > file_size {
        return Err(format!("truncated safetensors file (tensor data needs {needed} bytes, file has {file_size})"));
    }
    Ok(out)
}
