//! Model discovery: every GGUF file and Hugging Face folder under the
//! configured folders and the stores people already have (Hugging Face cache,
//! Ollama, LM Studio, llama.cpp's cache), described from the files' own
//! metadata. A file that cannot be read is listed with its error; nothing
//! stops the scan.

pub mod gguf;
pub mod hf;
mod stores;
mod walk;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::Error;
use crate::paths::Dirs;

pub use walk::Limits;

/// The file format of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Gguf,
    Safetensors,
    Pytorch,
    /// Served by an OpenAI-compatible endpoint.
    Remote,
}

impl Format {
    pub fn label(self) -> &'static str {
        match self {
            Format::Gguf => "gguf",
            Format::Safetensors => "safetensors",
            Format::Pytorch => "pytorch",
            Format::Remote => "remote",
        }
    }
}

/// Where a model was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// A path given on the command line.
    Cli,
    /// versus's own models folder.
    DataDir,
    /// A folder from `models.folders`.
    Folder,
    HfCache,
    Ollama,
    LmStudio,
    LlamaCache,
    /// An `[[endpoints]]` server (or a URL given as a spec).
    Endpoint,
}

impl Source {
    pub fn label(self) -> &'static str {
        match self {
            Source::Cli => "cli",
            Source::DataDir => "versus",
            Source::Folder => "folder",
            Source::HfCache => "hf-cache",
            Source::Ollama => "ollama",
            Source::LmStudio => "lm-studio",
            Source::LlamaCache => "llama-cache",
            Source::Endpoint => "endpoint",
        }
    }
}

/// The dimensions the memory guard needs to size the KV cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, Default)]
pub struct Shape {
    pub n_layer: u64,
    pub n_head_kv: u64,
    pub head_dim_k: u64,
    pub head_dim_v: u64,
    pub n_embd: u64,
    pub vocab: u64,
}

/// One discovered model. Its paths are written lossily (as text, for
/// `versus list --json`); the worker process gets their real bytes beside
/// it (`engine::runtime::worker::wire`).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ModelInfo {
    /// Unique within a catalog; what `-m NAME` matches.
    pub name: String,
    pub format: Format,
    /// The GGUF file (first shard of a split file) or the model folder.
    #[serde(serialize_with = "lossy_path")]
    pub path: PathBuf,
    /// Every file of the model (shards, weight files).
    #[serde(serialize_with = "lossy_paths")]
    pub files: Vec<PathBuf>,
    pub source: Source,
    pub size_bytes: u64,
    pub architecture: Option<String>,
    pub quantization: Option<String>,
    pub parameters: Option<u64>,
    pub context_length: Option<u64>,
    pub chat_template: bool,
    pub shape: Option<Shape>,
    /// Why the model cannot be used, when its metadata could not be read.
    pub error: Option<String>,
}

impl ModelInfo {
    /// A short "270M" / "7.2B" figure, or the size on disk.
    pub fn size_label(&self) -> String {
        if self.format == Format::Remote {
            return "served".into();
        }
        match self.parameters {
            Some(p) if p >= 1_000_000_000 => format!("{:.1}B", p as f64 / 1e9),
            Some(p) if p >= 1_000_000 => format!("{}M", p / 1_000_000),
            Some(p) if p > 0 => format!("{}K", p / 1000),
            _ => crate::error::human_bytes(self.size_bytes),
        }
    }
}

/// Where models are looked for.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelsConfig {
    pub folders: Vec<String>,
    pub data_dir: bool,
    pub hf_cache: bool,
    pub ollama: bool,
    pub lmstudio: bool,
    pub llama_cache: bool,
    pub max_depth: u32,
    pub max_entries: u64,
}

/// One place that was searched and what it gave.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Root {
    pub source: Source,
    #[serde(serialize_with = "lossy_path")]
    pub path: PathBuf,
    pub models: usize,
    /// "not present", "unreadable: …", "stopped at 200000 entries", …
    pub note: Option<String>,
}

/// A path as JSON: a name that is not UTF-8 is shown with U+FFFD (serde
/// refuses such a path, which would empty a whole `list --json`).
fn lossy_path<S: serde::Serializer>(path: &std::path::Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&path.to_string_lossy())
}

fn lossy_paths<S: serde::Serializer>(paths: &[PathBuf], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(paths.iter().map(|p| p.to_string_lossy()))
}

/// The result of a scan.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Catalog {
    pub models: Vec<ModelInfo>,
    pub roots: Vec<Root>,
}

/// sha256 of the size and the first and last 4 MiB of each file.
pub fn fingerprint(files: &[PathBuf]) -> String {
    use sha2::{Digest, Sha256};
    use std::io::{Read, Seek, SeekFrom};
    const EDGE: u64 = 4 << 20;
    let mut h = Sha256::new();
    for f in files {
        let Ok(mut file) = crate::paths::open_regular(f) else { continue };
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        h.update(size.to_le_bytes());
        let mut buf = vec![0u8; EDGE.min(size) as usize];
        if file.read_exact(&mut buf).is_ok() {
            h.update(&buf);
        }
        if size > 2 * EDGE && file.seek(SeekFrom::Start(size - EDGE)).is_ok() {
            let mut tail = vec![0u8; EDGE as usize];
            if file.read_exact(&mut tail).is_ok() {
                h.update(&tail);
            }
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Scan everything the config and the command line name.
pub fn discover(config: &ModelsConfig, dirs: &Dirs, cli_paths: &[PathBuf]) -> Catalog {
    let limits = Limits { max_depth: config.max_depth, max_entries: config.max_entries };
    let mut roots: Vec<(Source, PathBuf)> = Vec::new();
    for p in cli_paths {
        roots.push((Source::Cli, p.clone()));
    }
    for f in &config.folders {
        roots.push((Source::Folder, crate::paths::expand(f)));
    }
    if config.data_dir {
        roots.push((Source::DataDir, dirs.models_dir()));
    }
    let mut catalog = Catalog::default();
    let mut seen = HashSet::new();
    for (source, path) in roots {
        let found = walk::scan_root(&path, source, &limits, None);
        catalog.add(source, path, found, &mut seen);
    }
    if config.hf_cache {
        for (path, found) in stores::hf_cache(&limits) {
            catalog.add(Source::HfCache, path, found, &mut seen);
        }
    }
    if config.ollama {
        for (path, found) in stores::ollama() {
            catalog.add(Source::Ollama, path, found, &mut seen);
        }
    }
    if config.lmstudio {
        for (path, found) in stores::lmstudio(&limits) {
            catalog.add(Source::LmStudio, path, found, &mut seen);
        }
    }
    if config.llama_cache {
        let path = stores::llama_cache_dir();
        let found = walk::scan_root(&path, Source::LlamaCache, &limits, None);
        catalog.add(Source::LlamaCache, path, found, &mut seen);
    }
    catalog.make_names_unique();
    catalog
}

impl Catalog {
    fn add(&mut self, source: Source, path: PathBuf, found: walk::Found, seen: &mut HashSet<PathBuf>) {
        let mut count = 0;
        for model in found.models {
            let key = std::fs::canonicalize(&model.path).unwrap_or_else(|_| model.path.clone());
            if seen.insert(key) {
                count += 1;
                self.models.push(model);
            }
        }
        self.roots.push(Root { source, path, models: count, note: found.note });
    }

    /// Two different models with one name get `#2`, `#3`… so every name resolves.
    fn make_names_unique(&mut self) {
        let mut used: HashSet<String> = HashSet::new();
        for m in &mut self.models {
            let base = m.name.clone();
            let mut n = 2;
            while !used.insert(m.name.to_lowercase()) {
                m.name = format!("{base}#{n}");
                n += 1;
            }
        }
    }

    /// Find a model by exact name, path, unique prefix or unique substring.
    pub fn resolve(&self, query: &str) -> Result<&ModelInfo, Error> {
        let q = query.to_lowercase();
        if let Some(m) = self.models.iter().find(|m| m.name.to_lowercase() == q) {
            return Ok(m);
        }
        let as_path = Path::new(query);
        if as_path.exists() {
            let canon = std::fs::canonicalize(as_path).unwrap_or_else(|_| as_path.to_path_buf());
            if let Some(m) = self.models.iter().find(|m| std::fs::canonicalize(&m.path).unwrap_or_else(|_| m.path.clone()) == canon) {
                return Ok(m);
            }
        }
        for matcher in [&(|m: &ModelInfo| m.name.to_lowercase().starts_with(&q)) as &dyn Fn(&ModelInfo) -> bool, &|m: &ModelInfo| {
            m.name.to_lowercase().contains(&q)
        }] {
            let hits: Vec<&ModelInfo> = self.models.iter().filter(|m| matcher(m)).collect();
            match hits.len() {
                0 => continue,
                1 => return Ok(hits[0]),
                _ => {
                    let names: Vec<&str> = hits.iter().map(|m| m.name.as_str()).collect();
                    return Err(Error::ModelNotFound {
                        spec: query.into(),
                        hint: format!(" (ambiguous: {}; give the full name or a path)", names.join(", ")),
                    });
                }
            }
        }
        let pathlike = query.contains('/') || query.to_ascii_lowercase().ends_with(".gguf");
        let hint = if pathlike && !Path::new(query).exists() {
            format!(" (no file or folder at {query})")
        } else if self.models.is_empty() {
            let searched: Vec<String> = self.roots.iter().map(|r| r.path.display().to_string()).collect();
            format!(
                " (no models in {}; add a folder to [models] folders in the config, pass it as an argument (versus PATH, or --scan PATH for run), or give a file path with -m)",
                if searched.is_empty() { "any folder".to_string() } else { searched.join(", ") }
            )
        } else {
            " (see `versus list`; a path to a .gguf file or model folder works too)".to_string()
        };
        Err(Error::ModelNotFound { spec: query.into(), hint })
    }
}

/// Describe a single path given directly (a file or a folder), for specs that
/// name a path outside every scanned root.
pub fn describe_path(path: &Path) -> Option<ModelInfo> {
    let found = walk::scan_root(path, Source::Cli, &Limits { max_depth: 1, max_entries: 10_000 }, None);
    found.models.into_iter().next()
}
