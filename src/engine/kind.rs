//! The engines versus can run a model with. What each engine can run and
//! how it runs is described once, in `registry`.

use serde::Serialize;

/// An inference engine that can run a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    Llama,
    Candle,
    /// An OpenAI-compatible server.
    Remote,
}

impl EngineKind {
    pub fn label(self) -> &'static str {
        match self {
            EngineKind::Llama => "llama",
            EngineKind::Candle => "candle",
            EngineKind::Remote => "remote",
        }
    }

    /// The kind a label names (the spelling stored in the history and
    /// written after `@` in a spec).
    pub fn parse(s: &str) -> Option<EngineKind> {
        match s.to_ascii_lowercase().as_str() {
            "llama" | "llama.cpp" | "llamacpp" => Some(EngineKind::Llama),
            "candle" => Some(EngineKind::Candle),
            "remote" => Some(EngineKind::Remote),
            _ => None,
        }
    }

    pub fn compiled_in(self) -> bool {
        match self {
            EngineKind::Llama => cfg!(feature = "llama"),
            EngineKind::Candle => cfg!(feature = "candle"),
            EngineKind::Remote => true,
        }
    }
}
