//! A model's tokens without its weights: what `versus tokenize` shows, and
//! how tests compare the engines' tokenizers (`registry::tokens` makes them).

/// The tokens a model is fed for one text.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Tokens {
    /// Exactly what was tokenized (after the chat template, when asked).
    pub text: String,
    pub ids: Vec<u32>,
    /// Each token's text, special tokens spelled out.
    pub pieces: Vec<String>,
}
