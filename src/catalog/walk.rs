//! Walking one root folder: recognise GGUF files (grouping split shards,
//! skipping multimodal projectors) and Hugging Face folders, with depth and
//! entry limits and symlink-loop protection, then describe each model.

use std::collections::{BTreeMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::gguf::{self, Arrays, Header};
use super::{Format, ModelInfo, Shape, Source, hf};

/// Bounds that keep a scan of a huge or looping tree fast.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_depth: u32,
    pub max_entries: u64,
}

/// What one root gave.
#[derive(Debug, Default)]
pub struct Found {
    pub models: Vec<ModelInfo>,
    pub note: Option<String>,
}

/// Scan a folder (or a single file). `name_prefix` names models inside a
/// Hugging Face cache snapshot ("org/name").
pub fn scan_root(root: &Path, source: Source, limits: &Limits, name_prefix: Option<&str>) -> Found {
    let mut found = Found::default();
    let meta = match std::fs::metadata(root) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            found.note = Some("not present".into());
            return found;
        }
        Err(e) => {
            found.note = Some(format!("unreadable: {e}"));
            return found;
        }
    };
    if meta.is_file() {
        let name = root.file_name().map(OsStr::to_os_string).unwrap_or_default();
        let parent = root.parent().unwrap_or(Path::new("."));
        if let Some(model) = gguf_group(parent, &[name], source, name_prefix).into_iter().next() {
            found.models.push(model);
        } else {
            found.models.push(errored(root, source, Format::Gguf, "not a GGUF file (a .gguf file or a model folder is expected)"));
        }
        return found;
    }

    let mut visited: HashSet<(u64, u64)> = HashSet::new();
    let mut stack: Vec<(PathBuf, u32)> = vec![(root.to_path_buf(), 0)];
    let mut entries_seen: u64 = 0;
    // Folders below the root that could not be read, and folders deeper
    // than max_depth that were not searched, said in the root's note.
    let mut unreadable: Vec<String> = Vec::new();
    let mut deeper: Vec<PathBuf> = Vec::new();
    while let Some((dir, depth)) = stack.pop() {
        let Ok(dmeta) = std::fs::metadata(&dir) else { continue };
        if !visited.insert((dmeta.dev(), dmeta.ino())) {
            continue; // a symlink loop or a second path to the same folder
        }
        let read = match std::fs::read_dir(&dir) {
            Ok(r) => r,
            Err(e) => {
                if dir == root {
                    found.note = Some(format!("unreadable: {e}"));
                } else {
                    tracing::info!(dir = %dir.display(), error = %e, "skipping unreadable folder");
                    unreadable.push(format!("{} ({})", dir.display(), crate::paths::io_reason(&e)));
                }
                continue;
            }
        };
        // Names as the OS gives them: a name that is not UTF-8 is shown
        // lossily but opened by its real bytes.
        let mut names: Vec<OsString> = Vec::new();
        for entry in read.flatten() {
            entries_seen += 1;
            if entries_seen > limits.max_entries {
                found.note = Some(format!("stopped after {} entries (models.max_entries)", limits.max_entries));
                break;
            }
            names.push(entry.file_name());
        }
        names.sort();
        let shown: Vec<String> = names.iter().map(|n| n.to_string_lossy().into_owned()).collect();
        if hf::is_model_folder(&shown) {
            found.models.push(describe_hf(&dir, source, name_prefix));
            continue;
        }
        let is_gguf = |n: &str| n.to_ascii_lowercase().ends_with(".gguf");
        let ggufs: Vec<OsString> = names.iter().zip(&shown).filter(|(_, s)| is_gguf(s)).map(|(n, _)| n.clone()).collect();
        found.models.extend(gguf_group(&dir, &ggufs, source, name_prefix));
        for (n, s) in names.iter().zip(&shown).rev() {
            if s.starts_with('.') || is_gguf(s) {
                continue;
            }
            let p = dir.join(n);
            // `metadata` follows symlinks, so linked folders are scanned
            // (Hugging Face snapshots are links); loops stop at `visited`.
            if std::fs::metadata(&p).is_ok_and(|m| m.is_dir()) {
                if depth < limits.max_depth {
                    stack.push((p, depth + 1));
                } else if deeper.len() < 3 {
                    deeper.push(p);
                }
            }
        }
        if entries_seen > limits.max_entries {
            break;
        }
    }
    let mut notes = Vec::new();
    if !unreadable.is_empty() {
        let more = if unreadable.len() > 3 { format!(" and {} more", unreadable.len() - 3) } else { String::new() };
        unreadable.truncate(3);
        notes.push(format!("skipped unreadable {}{more}", unreadable.join(", ")));
    }
    if let Some(first) = deeper.first() {
        notes.push(format!(
            "folders deeper than {} levels were not searched (such as {}); raise [models] max_depth in the config to search them",
            limits.max_depth,
            first.display()
        ));
    }
    if !notes.is_empty() && found.note.is_none() {
        found.note = Some(format!("{} models; {}", found.models.len(), notes.join("; ")));
    }
    found
}

/// `name-00001-of-00003.gguf` → ("name", 1, 3).
fn split_parts(file: &str) -> Option<(&str, u32, u32)> {
    let stem = file.strip_suffix(".gguf").or_else(|| file.strip_suffix(".GGUF"))?;
    let (rest, total) = stem.rsplit_once("-of-")?;
    let (base, index) = rest.rsplit_once('-')?;
    if index.len() != 5 || total.len() != 5 {
        return None;
    }
    Some((base, index.parse().ok()?, total.parse().ok()?))
}

fn is_projector(file: &str) -> bool {
    file.to_ascii_lowercase().contains("mmproj")
}

/// Describe the GGUF files of one folder, one model per file or split group.
fn gguf_group(dir: &Path, files: &[OsString], source: Source, prefix: Option<&str>) -> Vec<ModelInfo> {
    let mut singles = Vec::new();
    let mut splits: BTreeMap<(String, u32), Vec<(u32, OsString)>> = BTreeMap::new();
    for f in files {
        let shown = f.to_string_lossy();
        if is_projector(&shown) {
            continue;
        }
        match split_parts(&shown) {
            Some((base, idx, total)) => splits.entry((base.to_string(), total)).or_default().push((idx, f.clone())),
            None => singles.push(f.clone()),
        }
    }
    let mut out = Vec::new();
    for f in singles {
        let path = dir.join(&f);
        let shown = f.to_string_lossy();
        let stem = shown.rsplit_once('.').map_or(&*shown, |(s, _)| s).to_string();
        out.push(describe_gguf(&path, vec![path.clone()], &stem, source, prefix));
    }
    for ((base, total), mut parts) in splits {
        parts.sort();
        let files: Vec<PathBuf> = parts.iter().map(|(_, f)| dir.join(f)).collect();
        let mut model = describe_gguf(&files[0], files.clone(), &base, source, prefix);
        let have: Vec<u32> = parts.iter().map(|(i, _)| *i).collect();
        if have.first() != Some(&1) || have.len() as u32 != total {
            model.error = Some(incomplete(&base, &have, total));
        }
        out.push(model);
    }
    out
}

/// "split GGUF is incomplete: 2 of 99999 parts present, missing 00002,
/// 00003, 00004, 00005, 00006 and 99992 more (m-00002-of-99999.gguf …)":
/// the first missing parts and a count, never the whole list.
fn incomplete(base: &str, have: &[u32], total: u32) -> String {
    const SHOWN: usize = 5;
    let have: std::collections::HashSet<u32> = have.iter().copied().collect();
    let mut missing = (1..=total).filter(|i| !have.contains(i));
    let first: Vec<u32> = missing.by_ref().take(SHOWN).collect();
    let more = missing.count();
    let list = first.iter().map(|i| format!("{i:05}")).collect::<Vec<_>>().join(", ");
    let more = if more > 0 { format!(" and {more} more") } else { String::new() };
    let example = first.first().map(|i| format!(" ({base}-{i:05}-of-{total:05}.gguf is not in this folder)")).unwrap_or_default();
    format!(
        "split GGUF is incomplete: {} of {total} parts present, missing {list}{more}{example}; put every part in one folder",
        have.len()
    )
}

fn errored(path: &Path, source: Source, format: Format, error: &str) -> ModelInfo {
    ModelInfo {
        name: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        format,
        path: path.to_path_buf(),
        files: vec![path.to_path_buf()],
        source,
        size_bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        architecture: None,
        quantization: None,
        parameters: None,
        context_length: None,
        chat_template: false,
        shape: None,
        error: Some(error.to_string()),
    }
}

fn with_prefix(prefix: Option<&str>, name: &str) -> String {
    match prefix {
        Some(p) if !name.is_empty() => format!("{p}/{name}"),
        Some(p) => p.to_string(),
        None => name.to_string(),
    }
}

/// Describe one GGUF model (all its shards) from the first shard's header.
pub fn describe_gguf(path: &Path, files: Vec<PathBuf>, stem: &str, source: Source, prefix: Option<&str>) -> ModelInfo {
    let size_bytes = files.iter().map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0)).sum();
    let mut model = errored(path, source, Format::Gguf, "");
    model.name = with_prefix(prefix, stem);
    model.files = files;
    model.size_bytes = size_bytes;
    model.error = None;
    match Header::read(path, Arrays::Skip) {
        Ok(h) => fill_from_gguf(&mut model, &h),
        Err(e) => model.error = Some(e),
    }
    model
}

/// Fill a GGUF model's metadata from its header.
pub fn fill_from_gguf(model: &mut ModelInfo, h: &Header) {
    model.architecture = h.architecture().map(str::to_string);
    model.quantization = h.u64("general.file_type").map(|ft| gguf::file_type_name(ft).map_or_else(|| format!("type {ft}"), str::to_string));
    model.context_length = h.arch_u64("context_length");
    model.chat_template = h.get("tokenizer.chat_template").is_some();
    let counted = h.parameter_count();
    model.parameters = h.u64("general.parameter_count").or((counted > 0).then_some(counted));
    let n_head = h.arch_u64("attention.head_count").unwrap_or(0);
    let n_embd = h.arch_u64("embedding_length").unwrap_or(0);
    let head_dim = if n_head > 0 { n_embd / n_head } else { 0 };
    if let Some(n_layer) = h.arch_u64("block_count") {
        model.shape = Some(Shape {
            n_layer,
            n_head_kv: h.arch_u64("attention.head_count_kv").unwrap_or(n_head),
            head_dim_k: h.arch_u64("attention.key_length").unwrap_or(head_dim),
            head_dim_v: h.arch_u64("attention.value_length").unwrap_or(head_dim),
            n_embd,
            vocab: h.get("tokenizer.ggml.tokens").and_then(gguf::Value::array_len).unwrap_or(0),
        });
    }
    // Only the first shard of a split model holds every tensor's data bounds.
    if model.files.len() == 1 {
        if let Err(e) = h.check_bounds() {
            model.error = Some(e);
        }
    }
    if model.architecture.is_none() && model.error.is_none() {
        model.error = Some("GGUF has no general.architecture".into());
    }
}

fn describe_hf(dir: &Path, source: Source, prefix: Option<&str>) -> ModelInfo {
    let folder = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let name = match prefix {
        Some(p) => p.to_string(),
        None => folder,
    };
    let mut model = errored(dir, source, Format::Safetensors, "");
    model.name = name;
    model.error = None;
    match hf::read_meta(dir) {
        Ok(meta) => {
            if meta.weight_files.iter().all(|f| f.extension().is_some_and(|e| e == "bin")) {
                model.format = Format::Pytorch;
            }
            model.architecture = meta.model_type.clone().or(meta.architecture.clone());
            model.quantization = meta.dtype.clone();
            model.context_length = meta.context_length;
            model.chat_template = meta.chat_template;
            model.parameters = meta.parameters;
            model.size_bytes = meta.size_bytes;
            model.files = meta.weight_files;
            if let Ok(cfg) = hf::read_config(dir) {
                model.shape = hf_shape(&cfg);
            }
        }
        Err(e) => model.error = Some(e),
    }
    model
}

fn hf_shape(cfg: &serde_json::Value) -> Option<Shape> {
    let get = |k: &str| cfg.get(k).and_then(serde_json::Value::as_u64);
    let n_layer = get("num_hidden_layers")?;
    let n_head = get("num_attention_heads").unwrap_or(1).max(1);
    let head_dim = get("head_dim").unwrap_or(get("hidden_size").unwrap_or(0) / n_head);
    Some(Shape {
        n_layer,
        n_head_kv: get("num_key_value_heads").unwrap_or(n_head),
        head_dim_k: head_dim,
        head_dim_v: head_dim,
        n_embd: get("hidden_size").unwrap_or(0),
        vocab: get("vocab_size").unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_incomplete_split_is_summarised() {
        let said = super::incomplete("m", &[1, 7], 99_999);
        assert!(
            said.starts_with(
                "split GGUF is incomplete: 2 of 99999 parts present, missing 00002, 00003, 00004, 00005, 00006 and 99992 more"
            ),
            "{said}"
        );
        assert!(said.len() < 300, "{said}");
        assert!(said.contains("m-00002-of-99999.gguf is not in this folder"), "{said}");
    }

    #[test]
    fn split_names_parse() {
        assert_eq!(split_parts("m-00001-of-00003.gguf"), Some(("m", 1, 3)));
        assert_eq!(split_parts("a-b-00002-of-00002.gguf"), Some(("a-b", 2, 2)));
        assert_eq!(split_parts("m.gguf"), None);
        assert_eq!(split_parts("m-1-of-3.gguf"), None);
    }
}
