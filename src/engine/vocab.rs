//! A model's tokens without its weights: what `versus tokenize` shows, and
//! how tests compare the engines' tokenizers.

use super::RunEntry;
use crate::error::Error;

/// The tokens a model is fed for one text.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Tokens {
    /// Exactly what was tokenized (after the chat template, when asked).
    pub text: String,
    pub ids: Vec<u32>,
    /// Each token's text, special tokens spelled out.
    pub pieces: Vec<String>,
}

/// `text` as `entry`'s model receives it through its engine: through its
/// chat template (with the entry's system prompt) when `template` is set,
/// else as it is. Only the vocabulary is read.
pub fn tokens(entry: &RunEntry, text: &str, template: bool) -> Result<Tokens, Error> {
    if let Some(why) = &entry.model.error {
        return Err(Error::ModelLoad { model: entry.label.clone(), reason: why.clone() });
    }
    (super::registry::info(entry.engine).tokenize)(entry, text, template, &entry.settings.generation)
}
