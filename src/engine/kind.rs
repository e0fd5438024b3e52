//! The engines versus can run a model with, by name. What each engine can
//! run and how it runs it is described once, in `registry`.

use serde::Serialize;

/// An inference engine that can run a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// The default where nothing says which (a model no engine can run).
    #[default]
    Llama,
    Candle,
    /// An OpenAI-compatible server.
    Remote,
    /// A scripted backend for tests of the scheduler (engine/scripted.rs).
    #[cfg(test)]
    Scripted,
}

impl EngineKind {
    /// The spelling after `@` in a spec, in the history and in JSON, then
    /// other spellings `parse` accepts.
    fn names(self) -> &'static [&'static str] {
        match self {
            EngineKind::Llama => &["llama", "llama.cpp", "llamacpp"],
            EngineKind::Candle => &["candle"],
            EngineKind::Remote => &["remote"],
            #[cfg(test)]
            EngineKind::Scripted => &["scripted"],
        }
    }

    pub fn label(self) -> &'static str {
        self.names()[0]
    }

    /// The kind a label names.
    pub fn parse(s: &str) -> Option<EngineKind> {
        let s = s.to_ascii_lowercase();
        super::registry::all().iter().map(|e| e.kind).find(|k| k.names().contains(&s.as_str()))
    }

    pub fn compiled_in(self) -> bool {
        super::registry::info(self).compiled
    }
}
