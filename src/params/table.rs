//! Every parameter, declared once: its key, the config section it lives in,
//! the values it takes, a line of help, and how it is read from and
//! written to `Settings`. `Settings::set`/`get`, the TUI popup, the CLI
//! flags' help and the config's validation all read this table; tests check
//! the defaults in `config.example.toml` and the `Default` impls against it.

use super::{DType, Device, Settings, SplitMode, escape, split_bars, trim_float, unescape};

/// Which section of the config a parameter belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Generation,
    Backend,
}

impl Section {
    pub fn name(self) -> &'static str {
        match self {
            Section::Generation => "generation",
            Section::Backend => "backend",
        }
    }
}

/// The values a parameter takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Range {
    Float(f32, f32),
    Int(i64, i64),
    /// 0, or lo..=hi.
    ZeroOr(i64, i64),
    Bool,
    /// Free text; `\n`, `\t` and `\|` are escapes.
    Text,
    /// Strings separated by `|`.
    List,
    /// A number, or "random".
    Seed,
    /// Shares per GPU: up to `MAX_GPUS` numbers ≥ 0, not all 0, separated
    /// by `/` or `,` (llama.cpp's `--tensor-split` syntax); empty: none given.
    Shares,
    Choice(&'static [&'static str]),
}

/// A value that passed its range.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Float(f32),
    Int(i64),
    Bool(bool),
    Text(String),
    List(Vec<String>),
    Seed(Option<u32>),
    Shares(Vec<f32>),
    /// Index into the choices.
    Choice(usize),
}

impl Value {
    fn int(&self) -> i64 {
        match self {
            Value::Int(v) => *v,
            _ => 0,
        }
    }

    fn float(&self) -> f32 {
        match self {
            Value::Float(v) => *v,
            _ => 0.0,
        }
    }

    fn flag(&self) -> bool {
        matches!(self, Value::Bool(true))
    }

    fn text(self) -> String {
        match self {
            Value::Text(t) => t,
            _ => String::new(),
        }
    }

    fn shares(self) -> Vec<f32> {
        match self {
            Value::Shares(v) => v,
            _ => Vec::new(),
        }
    }

    fn choice(&self) -> usize {
        match self {
            Value::Choice(i) => *i,
            _ => 0,
        }
    }
}

impl Range {
    /// `text` as a value of this range, or None when it is outside it.
    pub fn parse(self, text: &str) -> Option<Value> {
        let t = text.trim();
        Some(match self {
            // NaN fails both comparisons and so is refused as well.
            Range::Float(lo, hi) => Value::Float(t.parse::<f32>().ok().filter(|v| *v >= lo && *v <= hi)?),
            Range::Int(lo, hi) => Value::Int(t.parse::<i64>().ok().filter(|v| (lo..=hi).contains(v))?),
            Range::ZeroOr(lo, hi) => Value::Int(t.parse::<i64>().ok().filter(|v| *v == 0 || (lo..=hi).contains(v))?),
            Range::Bool => Value::Bool(match t {
                "true" | "1" | "yes" | "on" => true,
                "false" | "0" | "no" | "off" => false,
                _ => return None,
            }),
            Range::Text => Value::Text(unescape(text)),
            Range::List => Value::List(split_bars(text).iter().filter(|s| !s.is_empty()).map(|s| unescape(s)).collect()),
            Range::Seed if t.is_empty() || t == "random" => Value::Seed(None),
            Range::Seed => Value::Seed(Some(t.parse::<u32>().ok()?)),
            Range::Choice(names) => Value::Choice(names.iter().position(|n| n.eq_ignore_ascii_case(t))?),
            Range::Shares => Value::Shares(parse_shares(t)?),
        })
    }
}

/// The most GPUs a share list names: llama.cpp's `LLAMA_MAX_DEVICES`.
pub const MAX_GPUS: usize = 16;

/// "3/1" or "3,1" as [3, 1]; "" as []. Each share is a finite number from 0
/// to 1e6 and one at least is above 0 (all zeros would mean "by free memory"
/// to llama.cpp while the user asked for a split).
fn parse_shares(t: &str) -> Option<Vec<f32>> {
    if t.is_empty() {
        return Some(Vec::new());
    }
    let shares: Vec<f32> =
        t.split(['/', ',']).map(|part| part.trim().parse::<f32>().ok().filter(|v| (0.0..=1e6).contains(v))).collect::<Option<_>>()?;
    (shares.len() <= MAX_GPUS && shares.iter().any(|&v| v > 0.0)).then_some(shares)
}

impl std::fmt::Display for Range {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Range::Float(lo, hi) => write!(f, "{}..={}", trim_float(*lo), trim_float(*hi)),
            Range::Int(lo, hi) => write!(f, "{lo}..={hi}"),
            Range::ZeroOr(lo, hi) => write!(f, "0 or {lo}..={hi}"),
            Range::Bool => f.write_str("true or false"),
            Range::Text => f.write_str("text"),
            Range::List => f.write_str("strings separated by |"),
            Range::Seed => write!(f, "0..={} or \"random\"", u32::MAX),
            Range::Choice(names) => f.write_str(&names.join(", ")),
            Range::Shares => write!(f, "up to {MAX_GPUS} shares like 3/1"),
        }
    }
}

/// Whether `versus run` has a flag that sets a parameter for every model
/// (the others are set per model with `-m MODEL,key=value`). A boolean
/// parameter's flag is a switch; a list's is repeated, once per item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    None,
    /// Named after the key: `top_k` is `--top-k`.
    Key,
    /// Another name (`system_prompt` is `--system`), also accepted as the key.
    Named(&'static str),
}

/// One settable key.
pub struct ParamSpec {
    pub key: &'static str,
    pub section: Section,
    pub range: Range,
    pub help: &'static str,
    pub flag: Flag,
    /// It changes what the model answers (sampling, the prompt it is
    /// given, its weights' precision), so two runs that differ in it are
    /// two variants on the leaderboard; how long it may answer, with which
    /// seed, on which device or with how many threads does not.
    pub identity: bool,
    pub get: fn(&Settings) -> String,
    pub set: fn(&mut Settings, Value),
}

impl ParamSpec {
    /// The long flag of `versus run` that sets it, if any ("top-k").
    pub fn flag_name(&self) -> Option<String> {
        match self.flag {
            Flag::None => None,
            Flag::Key => Some(self.key.replace('_', "-")),
            Flag::Named(name) => Some(name.to_string()),
        }
    }

    /// "0.0..=2.0 · 0 = greedy": what the popup and `--help` show.
    pub fn describe(&self) -> String {
        format!("{} · {}", self.range, self.help)
    }
}

const DEVICES: &[&str] = &["auto", "cpu", "cuda", "metal"];
const DTYPES: &[&str] = &["auto", "f32", "f16", "bf16"];
const SPLIT_MODES: &[&str] = &["layer", "row", "none"];

/// Every key `Settings::set` accepts, in the order the TUI shows them.
pub const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        key: "temperature",
        section: Section::Generation,
        range: Range::Float(0.0, 2.0),
        help: "0 = greedy",
        flag: Flag::Key,
        identity: true,
        get: |s| trim_float(s.generation.temperature),
        set: |s, v| s.generation.temperature = v.float(),
    },
    ParamSpec {
        key: "top_k",
        section: Section::Generation,
        range: Range::Int(0, 1000),
        help: "0 = off",
        flag: Flag::Key,
        identity: true,
        get: |s| s.generation.top_k.to_string(),
        set: |s, v| s.generation.top_k = v.int() as u32,
    },
    ParamSpec {
        key: "top_p",
        section: Section::Generation,
        range: Range::Float(0.0, 1.0),
        help: "1 = off",
        flag: Flag::Key,
        identity: true,
        get: |s| trim_float(s.generation.top_p),
        set: |s, v| s.generation.top_p = v.float(),
    },
    ParamSpec {
        key: "min_p",
        section: Section::Generation,
        range: Range::Float(0.0, 1.0),
        help: "0 = off",
        flag: Flag::Key,
        identity: true,
        get: |s| trim_float(s.generation.min_p),
        set: |s, v| s.generation.min_p = v.float(),
    },
    ParamSpec {
        key: "repeat_penalty",
        section: Section::Generation,
        range: Range::Float(1.0, 2.0),
        help: "1 = off",
        flag: Flag::Key,
        identity: true,
        get: |s| trim_float(s.generation.repeat_penalty),
        set: |s, v| s.generation.repeat_penalty = v.float(),
    },
    ParamSpec {
        key: "repeat_last_n",
        section: Section::Generation,
        range: Range::Int(0, 4096),
        help: "window for the penalty",
        flag: Flag::None,
        identity: true,
        get: |s| s.generation.repeat_last_n.to_string(),
        set: |s, v| s.generation.repeat_last_n = v.int() as u32,
    },
    ParamSpec {
        key: "max_tokens",
        section: Section::Generation,
        range: Range::Int(1, 131_072),
        help: "tokens to generate",
        flag: Flag::Key,
        identity: false,
        get: |s| s.generation.max_tokens.to_string(),
        set: |s, v| s.generation.max_tokens = v.int() as u32,
    },
    ParamSpec {
        key: "seed",
        section: Section::Generation,
        range: Range::Seed,
        help: "fixed seed",
        flag: Flag::Key,
        identity: false,
        get: |s| s.generation.seed.map_or_else(|| "random".into(), |v| v.to_string()),
        set: |s, v| {
            if let Value::Seed(seed) = v {
                s.generation.seed = seed;
            }
        },
    },
    ParamSpec {
        key: "stop",
        section: Section::Generation,
        range: Range::List,
        help: "stop sequences",
        flag: Flag::Key,
        identity: false,
        get: |s| s.generation.stop.iter().map(|t| escape(t)).collect::<Vec<_>>().join("|"),
        set: |s, v| {
            if let Value::List(l) = v {
                s.generation.stop = l;
            }
        },
    },
    ParamSpec {
        key: "system_prompt",
        section: Section::Generation,
        range: Range::Text,
        help: "system message",
        flag: Flag::Named("system"),
        identity: true,
        get: |s| escape(&s.generation.system_prompt),
        set: |s, v| s.generation.system_prompt = v.text(),
    },
    ParamSpec {
        key: "raw",
        section: Section::Generation,
        range: Range::Bool,
        help: "skip the chat template",
        flag: Flag::Key,
        identity: true,
        get: |s| s.generation.raw.to_string(),
        set: |s, v| s.generation.raw = v.flag(),
    },
    ParamSpec {
        key: "ignore_eos",
        section: Section::Generation,
        range: Range::Bool,
        help: "generate past EOS",
        flag: Flag::None,
        identity: true,
        get: |s| s.generation.ignore_eos.to_string(),
        set: |s, v| s.generation.ignore_eos = v.flag(),
    },
    ParamSpec {
        key: "drop_turns",
        section: Section::Generation,
        range: Range::Int(0, 1000),
        help: "oldest turns a follow-up leaves out",
        flag: Flag::Key,
        identity: false,
        get: |s| s.generation.drop_turns.to_string(),
        set: |s, v| s.generation.drop_turns = v.int() as u32,
    },
    ParamSpec {
        key: "thinking_tags",
        section: Section::Generation,
        range: Range::List,
        help: "open|close around a reasoning model's thinking",
        flag: Flag::None,
        identity: false,
        get: |s| s.generation.thinking_tags.iter().map(|t| escape(t)).collect::<Vec<_>>().join("|"),
        set: |s, v| {
            if let Value::List(l) = v {
                s.generation.thinking_tags = l;
            }
        },
    },
    ParamSpec {
        key: "samples",
        section: Section::Generation,
        range: Range::Int(1, 1000),
        help: "answers per model, seeds seed, seed+1, …",
        flag: Flag::Key,
        identity: false,
        get: |s| s.generation.samples.to_string(),
        set: |s, v| s.generation.samples = v.int() as u32,
    },
    ParamSpec {
        key: "context_size",
        section: Section::Backend,
        range: Range::ZeroOr(128, 1 << 20),
        help: "0 = trained",
        flag: Flag::Key,
        identity: false,
        get: |s| s.backend.context_size.to_string(),
        set: |s, v| s.backend.context_size = v.int() as u32,
    },
    ParamSpec {
        key: "n_gpu_layers",
        section: Section::Backend,
        range: Range::Int(-1, 1000),
        help: "-1 = all",
        flag: Flag::Key,
        identity: false,
        get: |s| s.backend.n_gpu_layers.to_string(),
        set: |s, v| s.backend.n_gpu_layers = v.int() as i32,
    },
    ParamSpec {
        key: "threads",
        section: Section::Backend,
        range: Range::Int(0, 1024),
        help: "0 = physical cores",
        flag: Flag::Key,
        identity: false,
        get: |s| s.backend.threads.to_string(),
        set: |s, v| s.backend.threads = v.int() as u32,
    },
    ParamSpec {
        key: "batch_size",
        section: Section::Backend,
        range: Range::Int(32, 8192),
        help: "prompt batch",
        flag: Flag::None,
        identity: false,
        get: |s| s.backend.batch_size.to_string(),
        set: |s, v| s.backend.batch_size = v.int() as u32,
    },
    ParamSpec {
        key: "timeout_secs",
        section: Section::Backend,
        range: Range::Int(0, 86_400),
        help: "0 = no limit",
        flag: Flag::None,
        identity: false,
        get: |s| s.backend.timeout_secs.to_string(),
        set: |s, v| s.backend.timeout_secs = v.int() as u64,
    },
    ParamSpec {
        key: "device",
        section: Section::Backend,
        range: Range::Choice(DEVICES),
        help: "candle's device",
        flag: Flag::None,
        identity: false,
        get: |s| DEVICES[s.backend.device as usize].into(),
        set: |s, v| s.backend.device = [Device::Auto, Device::Cpu, Device::Cuda, Device::Metal][v.choice()],
    },
    ParamSpec {
        key: "main_gpu",
        section: Section::Backend,
        range: Range::Int(0, 63),
        help: "GPU index (NVML order)",
        flag: Flag::None,
        identity: false,
        get: |s| s.backend.main_gpu.to_string(),
        set: |s, v| s.backend.main_gpu = v.int() as u32,
    },
    ParamSpec {
        key: "split_mode",
        section: Section::Backend,
        range: Range::Choice(SPLIT_MODES),
        help: "llama.cpp over GPUs",
        flag: Flag::None,
        identity: false,
        get: |s| SPLIT_MODES[s.backend.split_mode as usize].into(),
        set: |s, v| s.backend.split_mode = [SplitMode::Layer, SplitMode::Row, SplitMode::None][v.choice()],
    },
    ParamSpec {
        key: "tensor_split",
        section: Section::Backend,
        range: Range::Shares,
        help: "empty = by free memory",
        flag: Flag::None,
        identity: false,
        get: |s| s.backend.tensor_split.iter().map(f32::to_string).collect::<Vec<_>>().join("/"),
        set: |s, v| s.backend.tensor_split = v.shares(),
    },
    ParamSpec {
        key: "dtype",
        section: Section::Backend,
        range: Range::Choice(DTYPES),
        help: "candle safetensors dtype",
        flag: Flag::None,
        identity: true,
        get: |s| DTYPES[s.backend.dtype as usize].into(),
        set: |s, v| s.backend.dtype = [DType::Auto, DType::F32, DType::F16, DType::Bf16][v.choice()],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_follow_the_enums_order() {
        for (i, name) in DEVICES.iter().enumerate() {
            let mut s = Settings::default();
            s.set("device", name).unwrap();
            assert_eq!(s.backend.device as usize, i);
            assert_eq!(s.get("device"), *name);
        }
        for (i, name) in DTYPES.iter().enumerate() {
            let mut s = Settings::default();
            s.set("dtype", name).unwrap();
            assert_eq!(s.backend.dtype as usize, i);
        }
    }

    #[test]
    fn tensor_split_takes_llama_cpp_s_syntax() {
        let mut s = Settings::default();
        s.set("tensor_split", "3/1").unwrap();
        assert_eq!(s.backend.tensor_split, vec![3.0, 1.0]);
        assert_eq!(s.get("tensor_split"), "3/1");
        s.set("tensor_split", " 0.5, 0 ,2").unwrap();
        assert_eq!(s.backend.tensor_split, vec![0.5, 0.0, 2.0]);
        assert_eq!(s.get("tensor_split"), "0.5/0/2");
        s.set("tensor_split", "").unwrap();
        assert!(s.backend.tensor_split.is_empty());
        for bad in ["0/0", "-1/2", "3//1", "NaN", "inf/1", "x", "1/1/1/1/1/1/1/1/1/1/1/1/1/1/1/1/1"] {
            let err = s.set("tensor_split", bad).unwrap_err();
            assert!(err.contains("up to 16 shares"), "{bad}: {err}");
        }
    }

    #[test]
    fn every_key_is_declared_once_and_in_its_section() {
        let mut seen = std::collections::HashSet::new();
        let mut settings = Settings::default();
        settings.generation.seed = Some(1);
        let fields = serde_json::to_value(settings).unwrap();
        for p in PARAMS {
            assert!(seen.insert(p.key), "{} twice", p.key);
            assert!(fields[p.section.name()].get(p.key).is_some(), "{} is not a field of [{}]", p.key, p.section.name());
        }
        // And every field of both sections has a row (nothing settable is left out).
        for section in ["generation", "backend"] {
            for key in fields[section].as_object().unwrap().keys() {
                assert!(PARAMS.iter().any(|p| p.key == key), "[{section}] {key} has no row in PARAMS");
            }
        }
    }
}
