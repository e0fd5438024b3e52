//! The model stores people already have, each with its own layout:
//! Hugging Face's hub cache (snapshots of symlinks into blobs), Ollama
//! (JSON manifests naming GGUF blobs), LM Studio and llama.cpp's cache
//! (plain folders of GGUF files).

use std::path::{Path, PathBuf};

use super::walk::{self, Found, Limits};
use super::{ModelInfo, Source};

fn home() -> PathBuf {
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/"))
}

fn env_path(var: &str) -> Option<PathBuf> {
    std::env::var_os(var).filter(|v| !v.is_empty()).map(PathBuf::from)
}

pub fn hf_hub_dir() -> PathBuf {
    env_path("HF_HUB_CACHE").or_else(|| env_path("HF_HOME").map(|h| h.join("hub"))).unwrap_or_else(|| home().join(".cache/huggingface/hub"))
}

/// Each `models--org--name` repo of the hub cache, at the revision `refs/main`
/// points to (else the newest snapshot).
pub fn hf_cache(limits: &Limits) -> Vec<(PathBuf, Found)> {
    let hub = hf_hub_dir();
    let Ok(read) = std::fs::read_dir(&hub) else {
        return vec![(hub, Found { models: vec![], note: Some("not present".into()) })];
    };
    let mut repos: Vec<PathBuf> = read
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("models--")))
        .collect();
    repos.sort();
    let mut found = Found::default();
    for repo in repos {
        let Some(dir_name) = repo.file_name().and_then(|n| n.to_str()) else { continue };
        let name = dir_name.trim_start_matches("models--").replace("--", "/");
        let Some(snapshot) = hf_snapshot(&repo) else { continue };
        let mut got = walk::scan_root(&snapshot, Source::HfCache, limits, Some(&name));
        // A repo holding one GGUF is best known by the repo name alone.
        if got.models.len() == 1 && got.models[0].format == super::Format::Gguf {
            got.models[0].name = name.clone();
        }
        found.models.append(&mut got.models);
    }
    vec![(hub, found)]
}

fn hf_snapshot(repo: &Path) -> Option<PathBuf> {
    let snapshots = repo.join("snapshots");
    // A revision is one name: `../..` or a path would lead out of the cache.
    let rev = crate::paths::read_text(&repo.join("refs/main"), 4096).ok().filter(|r| {
        let r = r.trim();
        !r.is_empty() && r.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.') && !r.contains("..")
    });
    if let Some(rev) = rev {
        let dir = snapshots.join(rev.trim());
        if dir.is_dir() {
            return Some(dir);
        }
    }
    std::fs::read_dir(&snapshots)
        .ok()?
        .flatten()
        .filter(|e| e.path().is_dir())
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
        .map(|e| e.path())
}

/// Ollama's model folders: `$OLLAMA_MODELS`, else the user's and the system service's.
pub fn ollama_dirs() -> Vec<PathBuf> {
    match env_path("OLLAMA_MODELS") {
        Some(p) => vec![p],
        None => vec![home().join(".ollama/models"), PathBuf::from("/usr/share/ollama/.ollama/models")],
    }
}

/// Every `manifests/<registry>/<ns>/<repo>/<tag>` whose model layer is a GGUF blob.
pub fn ollama() -> Vec<(PathBuf, Found)> {
    ollama_dirs()
        .into_iter()
        .map(|dir| {
            let found = ollama_store(&dir);
            (dir, found)
        })
        .collect()
}

fn ollama_store(dir: &Path) -> Found {
    let manifests = dir.join("manifests");
    if !manifests.is_dir() {
        return Found { models: vec![], note: Some("not present".into()) };
    }
    let mut found = Found::default();
    let mut files = Vec::new();
    collect_files(&manifests, 4, &mut files);
    files.sort();
    for manifest in files {
        let Ok(rel) = manifest.strip_prefix(&manifests) else { continue };
        let parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        let [registry, ns, repo, tag] = parts.as_slice() else { continue };
        let name = if registry == "registry.ollama.ai" && ns == "library" {
            format!("{repo}:{tag}")
        } else if registry == "registry.ollama.ai" {
            format!("{ns}/{repo}:{tag}")
        } else {
            format!("{registry}/{ns}/{repo}:{tag}")
        };
        match ollama_blob(dir, &manifest) {
            Ok(blob) => {
                let model = walk::describe_gguf(&blob, vec![blob.clone()], &name, Source::Ollama, None);
                found.models.push(model);
            }
            Err(e) => found
                .models
                .push(ModelInfo { error: Some(e), ..walk::describe_gguf(&manifest, vec![manifest.clone()], &name, Source::Ollama, None) }),
        }
    }
    found
}

fn ollama_blob(dir: &Path, manifest: &Path) -> Result<PathBuf, String> {
    let text = crate::paths::read_text(manifest, crate::paths::METADATA_CAP).map_err(|e| format!("manifest: {e}"))?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("manifest: {e}"))?;
    let layers = json.get("layers").and_then(|l| l.as_array()).ok_or("manifest has no layers")?;
    let digest = layers
        .iter()
        .find(|l| l.get("mediaType").and_then(|m| m.as_str()) == Some("application/vnd.ollama.image.model"))
        .and_then(|l| l.get("digest"))
        .and_then(|d| d.as_str())
        .ok_or("manifest has no model layer")?;
    // A digest is "sha256:" and hex; anything else (a path, `..`) could
    // point outside the store.
    let hex = digest.strip_prefix("sha256:").filter(|h| h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit()));
    if hex.is_none() {
        return Err(format!("manifest names the model layer {digest:?}, which is not a sha256 digest"));
    }
    let blob = dir.join("blobs").join(digest.replace(':', "-"));
    if !blob.is_file() {
        return Err(format!("model blob {} is missing", blob.display()));
    }
    Ok(blob)
}

fn collect_files(dir: &Path, depth: u32, out: &mut Vec<PathBuf>) {
    let Ok(read) = std::fs::read_dir(dir) else { return };
    for entry in read.flatten() {
        let p = entry.path();
        if p.is_dir() {
            if depth > 1 {
                collect_files(&p, depth - 1, out);
            }
        } else if depth == 1 {
            out.push(p);
        }
    }
}

/// LM Studio's current and older model folders.
pub fn lmstudio(limits: &Limits) -> Vec<(PathBuf, Found)> {
    [home().join(".lmstudio/models"), home().join(".cache/lm-studio/models")]
        .into_iter()
        .map(|dir| {
            let found = walk::scan_root(&dir, Source::LmStudio, limits, None);
            (dir, found)
        })
        .collect()
}

pub fn llama_cache_dir() -> PathBuf {
    env_path("LLAMA_CACHE").unwrap_or_else(|| home().join(".cache/llama.cpp"))
}
