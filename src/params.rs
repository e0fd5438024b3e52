//! Generation parameters and backend settings: their types, ranges and the one
//! `set(key, value)` through which every textual source goes (per-model config
//! overrides, `-m model,key=value` specs, the TUI parameters popup), so that a
//! value is validated the same way wherever it comes from.

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

/// One settable key: its name, allowed values and a line of help.
pub struct ParamSpec {
    pub key: &'static str,
    pub allowed: &'static str,
    pub help: &'static str,
}

/// Every key `Settings::set` accepts, in the order the TUI shows them.
pub const PARAMS: &[ParamSpec] = &[
    ParamSpec { key: "temperature", allowed: "0.0..=2.0", help: "0 = greedy" },
    ParamSpec { key: "top_k", allowed: "0..=1000", help: "0 = off" },
    ParamSpec { key: "top_p", allowed: "0.0..=1.0", help: "1 = off" },
    ParamSpec { key: "min_p", allowed: "0.0..=1.0", help: "0 = off" },
    ParamSpec { key: "repeat_penalty", allowed: "1.0..=2.0", help: "1 = off" },
    ParamSpec { key: "repeat_last_n", allowed: "0..=4096", help: "window for the penalty" },
    ParamSpec { key: "max_tokens", allowed: "1..=131072", help: "tokens to generate" },
    ParamSpec { key: "seed", allowed: "0..=4294967295 or \"random\"", help: "fixed seed" },
    ParamSpec { key: "stop", allowed: "strings separated by |", help: "stop sequences" },
    ParamSpec { key: "system_prompt", allowed: "text", help: "system message" },
    ParamSpec { key: "raw", allowed: "true or false", help: "skip the chat template" },
    ParamSpec { key: "ignore_eos", allowed: "true or false", help: "generate past EOS" },
    ParamSpec { key: "context_size", allowed: "0 or 128..=1048576", help: "0 = trained" },
    ParamSpec { key: "n_gpu_layers", allowed: "-1..=1000", help: "-1 = all" },
    ParamSpec { key: "threads", allowed: "0..=1024", help: "0 = physical cores" },
    ParamSpec { key: "batch_size", allowed: "32..=8192", help: "prompt batch" },
    ParamSpec { key: "timeout_secs", allowed: "0..=86400", help: "0 = no limit" },
    ParamSpec { key: "device", allowed: "auto, cpu, cuda, metal", help: "candle's device" },
    ParamSpec { key: "dtype", allowed: "auto, f32, f16, bf16", help: "candle safetensors dtype" },
];

/// Why a value was refused: the message names the key, value and range.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamError {
    pub key: String,
    pub value: String,
    pub allowed: String,
}

impl std::fmt::Display for ParamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} = {} is out of range {}", self.key, self.value, self.allowed)
    }
}

fn allowed(key: &str) -> &'static str {
    PARAMS.iter().find(|p| p.key == key).map_or("?", |p| p.allowed)
}

fn parse_in<T>(key: &str, value: &str, lo: T, hi: T) -> Result<T, ParamError>
where
    T: std::str::FromStr + PartialOrd + Copy,
{
    let err = || ParamError { key: key.into(), value: value.into(), allowed: allowed(key).into() };
    let v: T = value.trim().parse().map_err(|_| err())?;
    // NaN fails both comparisons and so is refused as well.
    if v >= lo && v <= hi { Ok(v) } else { Err(err()) }
}

impl Settings {
    /// Set one key from text. Unknown keys get a "did you mean".
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let g = &mut self.generation;
        let b = &mut self.backend;
        let res = match key {
            "temperature" => parse_in(key, value, 0.0, 2.0).map(|v| g.temperature = v),
            "top_k" => parse_in(key, value, 0, 1000).map(|v| g.top_k = v),
            "top_p" => parse_in(key, value, 0.0, 1.0).map(|v| g.top_p = v),
            "min_p" => parse_in(key, value, 0.0, 1.0).map(|v| g.min_p = v),
            "repeat_penalty" => parse_in(key, value, 1.0, 2.0).map(|v| g.repeat_penalty = v),
            "repeat_last_n" => parse_in(key, value, 0, 4096).map(|v| g.repeat_last_n = v),
            "max_tokens" => parse_in(key, value, 1, 131_072).map(|v| g.max_tokens = v),
            "seed" => {
                if value.trim().is_empty() || value.trim() == "random" {
                    g.seed = None;
                    Ok(())
                } else {
                    parse_in(key, value, 0, u32::MAX).map(|v| g.seed = Some(v))
                }
            }
            "stop" => {
                g.stop = split_bars(value).iter().filter(|s| !s.is_empty()).map(|s| unescape(s)).collect();
                Ok(())
            }
            "system_prompt" | "system" => {
                g.system_prompt = unescape(value);
                Ok(())
            }
            "raw" | "ignore_eos" => {
                let flag = match value.trim() {
                    "true" | "1" | "yes" | "on" => true,
                    "false" | "0" | "no" | "off" => false,
                    _ => return Err(ParamError { key: key.into(), value: value.into(), allowed: allowed(key).into() }.to_string()),
                };
                if key == "raw" {
                    g.raw = flag
                } else {
                    g.ignore_eos = flag
                }
                Ok(())
            }
            "context_size" => {
                let v = parse_in(key, value, 0, 1 << 20).map_err(|e| e.to_string())?;
                if v != 0 && v < 128 {
                    Err(ParamError { key: key.into(), value: value.into(), allowed: allowed(key).into() })
                } else {
                    Ok(b.context_size = v)
                }
            }
            "n_gpu_layers" => parse_in(key, value, -1, 1000).map(|v| b.n_gpu_layers = v),
            "threads" => parse_in(key, value, 0, 1024).map(|v| b.threads = v),
            "batch_size" => parse_in(key, value, 32, 8192).map(|v| b.batch_size = v),
            "timeout_secs" => parse_in(key, value, 0, 86_400).map(|v| b.timeout_secs = v),
            "device" | "dtype" => {
                let bad = || ParamError { key: key.into(), value: value.into(), allowed: allowed(key).into() }.to_string();
                let v = value.trim().to_ascii_lowercase();
                if key == "device" {
                    b.device = match v.as_str() {
                        "auto" => Device::Auto,
                        "cpu" => Device::Cpu,
                        "cuda" => Device::Cuda,
                        "metal" => Device::Metal,
                        _ => return Err(bad()),
                    };
                } else {
                    b.dtype = match v.as_str() {
                        "auto" => DType::Auto,
                        "f32" => DType::F32,
                        "f16" => DType::F16,
                        "bf16" => DType::Bf16,
                        _ => return Err(bad()),
                    };
                }
                Ok(())
            }
            _ => {
                let known: Vec<&str> = PARAMS.iter().map(|p| p.key).collect();
                return Err(format!("unknown parameter `{key}`{}", did_you_mean(key, &known)));
            }
        };
        res.map_err(|e| e.to_string())
    }

    /// The current value of a key as text, in the form `set` accepts.
    pub fn get(&self, key: &str) -> String {
        let g = &self.generation;
        let b = &self.backend;
        match key {
            "temperature" => trim_float(g.temperature),
            "top_k" => g.top_k.to_string(),
            "top_p" => trim_float(g.top_p),
            "min_p" => trim_float(g.min_p),
            "repeat_penalty" => trim_float(g.repeat_penalty),
            "repeat_last_n" => g.repeat_last_n.to_string(),
            "max_tokens" => g.max_tokens.to_string(),
            "seed" => g.seed.map_or_else(|| "random".into(), |s| s.to_string()),
            "stop" => g.stop.iter().map(|s| escape(s)).collect::<Vec<_>>().join("|"),
            "system_prompt" => escape(&g.system_prompt),
            "raw" => g.raw.to_string(),
            "ignore_eos" => g.ignore_eos.to_string(),
            "context_size" => b.context_size.to_string(),
            "n_gpu_layers" => b.n_gpu_layers.to_string(),
            "threads" => b.threads.to_string(),
            "batch_size" => b.batch_size.to_string(),
            "timeout_secs" => b.timeout_secs.to_string(),
            "device" => format!("{:?}", b.device).to_ascii_lowercase(),
            "dtype" => format!("{:?}", b.dtype).to_ascii_lowercase(),
            _ => String::new(),
        }
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

fn trim_float(v: f32) -> String {
    let s = format!("{v}");
    if s.contains('.') || s.contains('e') || s.contains("inf") || s.contains("NaN") { s } else { format!("{s}.0") }
}

/// Split on `|` not escaped with a backslash (escapes are kept for `unescape`).
fn split_bars(s: &str) -> Vec<String> {
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
fn unescape(s: &str) -> String {
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

fn escape(s: &str) -> String {
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
