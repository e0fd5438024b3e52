//! Generation parameters and backend settings: their types, and the one
//! `set(key, value)` through which every textual source goes (per-model config
//! overrides, `-m model,key=value` specs, CLI flags, the TUI parameters
//! popup), so that a value is validated the same way wherever it comes from.
//! Every parameter is declared once, in `table.rs`: name, section, range,
//! help, and how it is read and written; the config's keys, the CLI flags'
//! help and config.example.toml are derived from it or checked against it.

use serde::{Deserialize, Serialize};

/// How text is sampled. Defaults live in `config.example.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerationParams {
    pub temperature: f32,
    pub top_k: u32,
    pub top_p: f32,
    pub min_p: f32,
    pub repeat_penalty: f32,
    pub repeat_last_n: u32,
    pub max_tokens: u32,
    /// None: a fresh seed per run (the one used is recorded with the result).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u32>,
    pub stop: Vec<String>,
    pub system_prompt: String,
    /// Send the prompt as is, bypassing the model's chat template.
    pub raw: bool,
    /// Keep generating past end-of-generation tokens (benchmarks).
    #[serde(default)]
    pub ignore_eos: bool,
    /// A follow-up leaves this many of the conversation's oldest turns out
    /// (for a conversation that outgrew the context; never done silently).
    #[serde(default)]
    pub drop_turns: u32,
    /// The tags a reasoning model writes its thinking between ([open,
    /// close]); empty: no thinking section.
    #[serde(default = "default_thinking_tags")]
    pub thinking_tags: Vec<String>,
    /// Answers per model and prompt, with seeds seed, seed+1, … (one load).
    #[serde(default = "one")]
    pub samples: u32,
}

fn one() -> u32 {
    1
}

fn default_thinking_tags() -> Vec<String> {
    vec!["<think>".into(), "</think>".into()]
}

impl Default for GenerationParams {
    fn default() -> Self {
        GenerationParams {
            temperature: 0.8,
            top_k: 40,
            top_p: 0.95,
            min_p: 0.05,
            repeat_penalty: 1.0,
            repeat_last_n: 64,
            max_tokens: 512,
            seed: None,
            stop: Vec::new(),
            system_prompt: String::new(),
            raw: false,
            ignore_eos: false,
            drop_turns: 0,
            thinking_tags: default_thinking_tags(),
            samples: 1,
        }
    }
}

/// Which device candle computes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    #[default]
    Auto,
    Cpu,
    Cuda,
    Metal,
}

/// How llama.cpp spreads a model over several GPUs (its `--split-mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SplitMode {
    /// Whole layers on each GPU, in proportion to their free memory.
    #[default]
    Layer,
    /// Rows of each weight across the GPUs (tensor parallelism).
    Row,
    /// Only `main_gpu`.
    None,
}

/// The dtype candle loads safetensors weights in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    #[default]
    Auto,
    F32,
    F16,
    Bf16,
}

/// How a model is loaded and run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendSettings {
    /// 0: one thread per physical core.
    pub threads: u32,
    /// -1: every layer when a GPU is present; 0: CPU only.
    pub n_gpu_layers: i32,
    /// 0: the model's trained context length.
    pub context_size: u32,
    pub batch_size: u32,
    pub device: Device,
    pub dtype: DType,
    /// The GPU a model runs on (candle; llama.cpp with split_mode none), or
    /// that holds llama.cpp's scratch buffers when it spans several.
    #[serde(default)]
    pub main_gpu: u32,
    #[serde(default)]
    pub split_mode: SplitMode,
    /// llama.cpp's share of the model per GPU (its `--tensor-split`), GPU
    /// `i` getting `tensor_split[i] / sum`; empty: in proportion to free memory.
    #[serde(default)]
    pub tensor_split: Vec<f32>,
    /// 0: no limit.
    pub timeout_secs: u64,
}

impl Default for BackendSettings {
    fn default() -> Self {
        BackendSettings {
            threads: 0,
            n_gpu_layers: -1,
            context_size: 4096,
            batch_size: 512,
            device: Device::Auto,
            dtype: DType::Auto,
            main_gpu: 0,
            split_mode: SplitMode::Layer,
            tensor_split: Vec::new(),
            timeout_secs: 600,
        }
    }
}

/// Everything one model in a run is given: sampling plus loading settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Settings {
    pub generation: GenerationParams,
    pub backend: BackendSettings,
}

pub mod flags;
mod table;

pub use table::{Flag, PARAMS, ParamSpec, Range, Section};

/// The row of `key` (or of its flag's other name: `system` is `system_prompt`).
pub fn spec(key: &str) -> Option<&'static ParamSpec> {
    PARAMS.iter().find(|p| p.key == key).or_else(|| PARAMS.iter().find(|p| matches!(p.flag, Flag::Named(n) if n == key)))
}

/// A `versus run` flag's help, from the parameter's row: what it does, the
/// values it takes and where its default comes from.
pub fn flag_help(key: &str) -> String {
    match PARAMS.iter().find(|p| p.key == key) {
        Some(p) => format!("{} ({}; default from [{}] in the config)", p.help, p.range, p.section.name()),
        None => String::new(),
    }
}

impl Settings {
    /// Set one key from text, validated against its range in `PARAMS`.
    /// Unknown keys get a "did you mean".
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let Some(spec) = spec(key) else {
            let known: Vec<&str> = PARAMS.iter().map(|p| p.key).collect();
            return Err(format!("unknown parameter `{key}`{}", did_you_mean(key, &known)));
        };
        let parsed = spec.range.parse(value).ok_or_else(|| format!("{} = {value} is out of range {}", spec.key, spec.range))?;
        (spec.set)(self, parsed);
        Ok(())
    }

    /// The current value of a key as text, in the form `set` accepts.
    pub fn get(&self, key: &str) -> String {
        PARAMS.iter().find(|p| p.key == key).map(|p| (p.get)(self)).unwrap_or_default()
    }

    /// Range problems of the whole set, as (key, message) pairs.
    pub fn check(&self) -> Vec<(String, String)> {
        let mut probe = Settings::default();
        PARAMS.iter().filter_map(|p| probe.set(p.key, &self.get(p.key)).err().map(|e| (p.key.to_string(), e))).collect()
    }

    /// The keys whose values differ from `base`, as `key=value` (for labels).
    pub fn diff(&self, base: &Settings) -> Vec<String> {
        PARAMS.iter().filter(|p| self.get(p.key) != base.get(p.key)).map(|p| format!("{}={}", p.key, self.get(p.key))).collect()
    }
}

pub(crate) fn trim_float(v: f32) -> String {
    let s = format!("{v}");
    if s.contains('.') || s.contains('e') || s.contains("inf") || s.contains("NaN") { s } else { format!("{s}.0") }
}

/// Split on `|` not escaped with a backslash (escapes are kept for `unescape`).
pub(crate) fn split_bars(s: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        let cur = parts.last_mut();
        match (c, cur) {
            ('\\', Some(cur)) => {
                cur.push('\\');
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            ('|', _) => parts.push(String::new()),
            (c, Some(cur)) => cur.push(c),
            (_, None) => {}
        }
    }
    parts
}

/// `\n`, `\t` and `\|` in specs and the popup stand for a newline, a tab and a bar.
pub(crate) fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

pub(crate) fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n").replace('\t', "\\t").replace('|', "\\|")
}

/// ", did you mean `x`?" when a close known name exists, else "".
pub fn did_you_mean(word: &str, known: &[&str]) -> String {
    let limit = (word.chars().count() / 3).max(2);
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(word, k), *k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| format!(", did you mean `{k}`?"))
        .unwrap_or_default()
}

/// A seed from the clock and the process id; good enough to vary runs, and
/// recorded so that any run can be reproduced.
pub fn random_seed() -> u32 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos() ^ (d.as_secs() as u32));
    nanos ^ std::process::id().rotate_left(16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_validates_ranges_with_the_key_in_the_message() {
        let mut s = Settings::default();
        assert_eq!(s.set("temperature", "0"), Ok(()));
        assert_eq!(s.generation.temperature, 0.0);
        assert_eq!(s.set("temperature", "7.5"), Err("temperature = 7.5 is out of range 0.0..=2.0".to_string()));
        assert!(s.set("top_k", "-1").is_err());
        assert!(s.set("temperature", "NaN").is_err());
        assert!(s.set("context_size", "64").is_err());
        assert_eq!(s.set("context_size", "0"), Ok(()));
    }

    #[test]
    fn unknown_keys_suggest_the_closest() {
        let mut s = Settings::default();
        let err = s.set("temprature", "1").unwrap_err();
        assert_eq!(err, "unknown parameter `temprature`, did you mean `temperature`?");
    }

    #[test]
    fn get_round_trips_through_set() {
        let mut s = Settings::default();
        s.set("stop", "\\n\\n|END").unwrap();
        assert_eq!(s.generation.stop, vec!["\n\n".to_string(), "END".to_string()]);
        let mut t = Settings::default();
        for p in PARAMS {
            t.set(p.key, &s.get(p.key)).unwrap();
        }
        assert_eq!(s, t);
        assert!(s.check().is_empty());
    }

    #[test]
    fn seed_accepts_random() {
        let mut s = Settings::default();
        s.set("seed", "7").unwrap();
        assert_eq!(s.generation.seed, Some(7));
        s.set("seed", "random").unwrap();
        assert_eq!(s.generation.seed, None);
    }

    #[test]
    fn diff_lists_changed_keys() {
        let base = Settings::default();
        let mut s = base.clone();
        s.set("temperature", "1.2").unwrap();
        s.set("seed", "7").unwrap();
        assert_eq!(s.diff(&base), vec!["temperature=1.2", "seed=7"]);
    }
}
