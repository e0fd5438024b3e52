//! A model's tokenizer and chat template without its weights: what
//! `versus tokenize` shows, and how tests compare the engines' tokenizers.

use super::RunEntry;
use crate::catalog::EngineKind;
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

pub enum Vocab {
    #[cfg(feature = "llama")]
    Llama(super::llama::LlamaCpp),
    #[cfg(feature = "candle")]
    Candle(super::candle::Vocabulary),
}

impl Vocab {
    /// Load `entry`'s vocabulary with its engine (no weights are read).
    pub fn load(entry: &RunEntry) -> Result<Vocab, Error> {
        if let Some(why) = &entry.model.error {
            return Err(Error::ModelLoad { model: entry.label.clone(), reason: why.clone() });
        }
        match entry.engine {
            #[cfg(feature = "llama")]
            EngineKind::Llama => Ok(Vocab::Llama(super::llama::LlamaCpp::load_vocab(&entry.model, &entry.settings.backend)?)),
            #[cfg(feature = "candle")]
            EngineKind::Candle => Ok(Vocab::Candle(super::candle::Vocabulary::load(&entry.model)?)),
            EngineKind::Remote => Err(Error::Usage(format!(
                "{} runs on a server, which tokenizes on its side; tokenize the model file with a local engine",
                entry.label
            ))),
            #[allow(unreachable_patterns)]
            other => Err(Error::UnsupportedFormat(format!("this build of versus has no {} engine", other.label()))),
        }
    }

    /// `text` as the model receives it: through its chat template (with the
    /// entry's system prompt) when `template` is set, else as it is.
    pub fn tokens(&self, text: &str, template: bool, params: &crate::params::GenerationParams) -> Result<Tokens, Error> {
        let mut params = params.clone();
        params.raw = !template;
        match self {
            #[cfg(feature = "llama")]
            Vocab::Llama(m) => {
                let text = super::Backend::render(m, text, &params)?;
                let ids: Vec<u32> = m.tokenize(&text).into_iter().map(|t| t as u32).collect();
                let pieces = ids.iter().map(|&t| m.piece(t as i32)).collect();
                Ok(Tokens { text, ids, pieces })
            }
            #[cfg(feature = "candle")]
            Vocab::Candle(v) => {
                let text = super::template::render(&v.template, text, &params)?;
                let ids = v.tokenize(&text)?;
                let pieces = ids.iter().map(|&t| v.tok.piece(t)).collect();
                Ok(Tokens { text, ids, pieces })
            }
            #[allow(unreachable_patterns)]
            _ => Err(Error::UnsupportedFormat("no engine".into())),
        }
    }
}
