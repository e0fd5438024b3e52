//! The figures of an answer's `Stats`, listed once: each with its key (CSV
//! headers), its label (tables for people), and how it is read. The CSV,
//! Markdown and HTML exports all print this list, so a new figure is one
//! row here; `Stats::summary` and the column footer are sentences built
//! from the same formatters.

use super::stats::Stats;
use crate::error::human_bytes;

/// One figure's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Ms(f64),
    Count(u64),
    /// Tokens per second.
    Rate(f64),
    Bytes(u64),
    Text(String),
    /// Does not apply (load time and local memory of a served model).
    NotApplicable,
}

impl Value {
    /// For people: "0.31 s", "27.1 tok/s", "380 MiB".
    pub fn human(&self) -> String {
        match self {
            Value::Ms(v) => ms(*v),
            Value::Count(n) => n.to_string(),
            Value::Rate(r) => format!("{r:.1} tok/s"),
            Value::Bytes(b) => human_bytes(*b),
            Value::Text(t) => t.clone(),
            Value::NotApplicable => "n/a".into(),
        }
    }

    /// For machines (CSV): plain numbers, no units.
    pub fn raw(&self) -> String {
        match self {
            Value::Ms(v) => format!("{v:.1}"),
            Value::Count(n) | Value::Bytes(n) => n.to_string(),
            Value::Rate(r) => format!("{r:.2}"),
            Value::Text(t) => t.clone(),
            Value::NotApplicable => String::new(),
        }
    }
}

/// A duration for people: "41 ms", "1.20 s".
pub fn ms(v: f64) -> String {
    if v >= 1000.0 { format!("{:.2} s", v / 1e3) } else { format!("{v:.0} ms") }
}

pub struct Figure {
    /// The CSV column ("load_ms").
    pub key: &'static str,
    /// The table heading ("load").
    pub label: &'static str,
    /// None: not measured for this answer.
    pub get: fn(&Stats) -> Option<Value>,
}

fn local(s: &Stats, v: Value) -> Option<Value> {
    Some(if s.remote { Value::NotApplicable } else { v })
}

/// Every figure, in the order tables show them.
pub const FIGURES: &[Figure] = &[
    Figure { key: "stop_reason", label: "stop", get: |s| s.stop_reason.as_ref().map(|r| Value::Text(r.label())) },
    Figure { key: "load_ms", label: "load", get: |s| local(s, Value::Ms(s.load_ms)) },
    Figure { key: "ttft_ms", label: "first token", get: |s| s.ttft_ms.map(Value::Ms) },
    Figure { key: "prompt_tokens", label: "prompt tokens", get: |s| Some(Value::Count(s.prompt_tokens)) },
    Figure { key: "prompt_tps", label: "prompt", get: |s| Some(Value::Rate(s.prompt_tps)) },
    Figure { key: "generated_tokens", label: "tokens", get: |s| Some(Value::Count(s.generated_tokens)) },
    Figure { key: "decode_tps", label: "generation", get: |s| Some(Value::Rate(s.decode_tps)) },
    Figure { key: "peak_rss_bytes", label: "process peak", get: |s| local(s, Value::Bytes(s.peak_rss_bytes)) },
    Figure { key: "model_bytes", label: "model memory", get: |s| local(s, Value::Bytes(s.model_bytes)) },
    Figure { key: "seed", label: "seed", get: |s| s.seed.map(|x| Value::Count(u64::from(x))) },
    Figure { key: "ttfa_ms", label: "first answer token", get: |s| s.ttfa_ms.map(Value::Ms) },
    Figure { key: "thinking_tokens", label: "thinking tokens", get: |s| Some(Value::Count(s.thinking_tokens)) },
];

/// The figures people compare at a glance (the exports' stats tables).
pub const AT_A_GLANCE: &[&str] = &["load_ms", "ttft_ms", "prompt_tps", "decode_tps", "generated_tokens", "model_bytes", "stop_reason"];

/// The figures of `AT_A_GLANCE`, in its order.
pub fn at_a_glance() -> impl Iterator<Item = &'static Figure> {
    AT_A_GLANCE.iter().filter_map(|k| FIGURES.iter().find(|f| f.key == *k))
}
