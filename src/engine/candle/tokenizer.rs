//! Tokenizers for candle: `tokenizer.json` for Hugging Face folders, and
//! for GGUF files one built from the file's own metadata, so that candle
//! tokenizes exactly as llama.cpp does on the same file.
//!
//! SentencePiece-style vocabularies (`tokenizer.ggml.model = "llama"`:
//! Gemma, Llama 2, Mistral) become a BPE with byte fallback whose merges are
//! rebuilt from the vocabulary, ordered by the merged token's id and, within
//! one token, longer left piece first; "▁" stands for spaces; control tokens
//! are special tokens and user-defined ones (`\n`, tabs, HTML tags) added
//! tokens. This matches transformers' own GGUF conversion. Byte-level BPE
//! vocabularies (`gpt2`: Qwen2, Llama 3) go through candle's converter.

use std::collections::HashMap;
use std::path::Path;

use tokenizers::decoders::DecoderWrapper;
use tokenizers::decoders::byte_fallback::ByteFallback;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::decoders::sequence::Sequence as DecoderSequence;
use tokenizers::decoders::strip::Strip;
use tokenizers::models::bpe::BPE;
use tokenizers::normalizers::{NormalizerWrapper, Prepend, Replace, Sequence as NormalizerSequence};
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{AddedToken, Tokenizer};

use crate::catalog::gguf::{Header, Value};

/// GGUF token types.
const NORMAL: i64 = 1;
const CONTROL: i64 = 3;
const USER_DEFINED: i64 = 4;

/// Token texts that end generation besides the declared EOS ids.
const END_TEXTS: &[&str] = &["<end_of_turn>", "<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<|end|>", "<|endoftext|>", "</s>"];

/// A tokenizer and what generation needs to know about it.
pub struct Tok {
    pub tokenizer: Tokenizer,
    pub bos_text: String,
    pub eos_text: String,
    /// Ids that end generation.
    pub eos_ids: Vec<u32>,
    /// Whether encoding adds BOS by itself.
    pub add_bos: bool,
}

fn strings(h: &Header, key: &str) -> Result<Vec<String>, String> {
    h.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|v| v.as_str().unwrap_or_default().to_string()).collect())
        .ok_or_else(|| format!("GGUF has no {key}"))
}

fn ints(h: &Header, key: &str) -> Vec<i64> {
    h.get(key).and_then(Value::as_array).map(|a| a.iter().map(|v| v.as_f64().unwrap_or(0.0) as i64).collect()).unwrap_or_default()
}

/// Build the tokenizer a GGUF file describes.
pub fn from_gguf(path: &Path, h: &Header) -> Result<Tok, String> {
    let kind = h.str("tokenizer.ggml.model").unwrap_or("llama");
    let tokens = strings(h, "tokenizer.ggml.tokens")?;
    let types = ints(h, "tokenizer.ggml.token_type");
    let id = |key: &str| h.u64(key).map(|v| v as u32);
    let bos = id("tokenizer.ggml.bos_token_id");
    let eos = id("tokenizer.ggml.eos_token_id");
    let text_of = |i: Option<u32>| i.and_then(|i| tokens.get(i as usize)).cloned().unwrap_or_default();
    let add_bos = h.get("tokenizer.ggml.add_bos_token").and_then(Value::as_bool).unwrap_or(kind == "llama");

    let mut tokenizer = match kind {
        "llama" => spm(h, &tokens, &types, bos, add_bos)?,
        "gpt2" => {
            let mut file = std::fs::File::open(path).map_err(|e| e.to_string())?;
            let ct = candle_core::quantized::gguf_file::Content::read(&mut file).map_err(|e| first_line(&e))?;
            <Tokenizer as candle_core::quantized::tokenizer::TokenizerFromGguf>::from_gguf(&ct).map_err(|e| first_line(&e))?
        }
        other => return Err(format!("tokenizer type `{other}` is not supported by the candle engine (llama, gpt2 are)")),
    };
    // Control tokens are special everywhere; make sure the byte-level path knows them too.
    if kind == "gpt2" {
        let specials: Vec<AddedToken> = types
            .iter()
            .enumerate()
            .filter(|(_, t)| **t == CONTROL)
            .filter_map(|(i, _)| tokens.get(i))
            .map(|t| AddedToken::from(t.clone(), true).normalized(false))
            .collect();
        let _ = tokenizer.add_special_tokens(specials);
    }

    let mut eos_ids: Vec<u32> = [eos, id("tokenizer.ggml.eot_token_id"), id("tokenizer.ggml.eom_token_id")].into_iter().flatten().collect();
    for (i, t) in tokens.iter().enumerate() {
        if END_TEXTS.contains(&t.as_str()) && types.get(i).is_none_or(|ty| *ty == CONTROL || *ty == USER_DEFINED) {
            eos_ids.push(i as u32);
        }
    }
    eos_ids.sort_unstable();
    eos_ids.dedup();
    Ok(Tok { tokenizer, bos_text: text_of(bos), eos_text: text_of(eos), eos_ids, add_bos })
}

/// The SentencePiece-style vocabulary as a byte-fallback BPE.
fn spm(h: &Header, tokens: &[String], types: &[i64], bos: Option<u32>, add_bos: bool) -> Result<Tokenizer, String> {
    let ty = |i: usize| types.get(i).copied().unwrap_or(NORMAL);
    let mut vocab = tokenizers::models::bpe::Vocab::default();
    for (i, t) in tokens.iter().enumerate() {
        vocab.insert(t.clone(), i as u32);
    }
    let lookup: HashMap<&str, usize> = tokens.iter().enumerate().map(|(i, t)| (t.as_str(), i)).collect();
    let mut merges = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        if ty(i) != NORMAL && ty(i) != USER_DEFINED {
            continue;
        }
        let bounds: Vec<usize> = t.char_indices().map(|(b, _)| b).skip(1).collect();
        for &b in bounds.iter().rev() {
            let (l, r) = t.split_at(b);
            if let (Some(&li), Some(&ri)) = (lookup.get(l), lookup.get(r)) {
                if ty(li) != CONTROL && ty(ri) != CONTROL {
                    merges.push((l.to_string(), r.to_string()));
                }
            }
        }
    }
    let unk = h.u64("tokenizer.ggml.unknown_token_id").and_then(|i| tokens.get(i as usize)).cloned();
    let mut builder = BPE::builder().vocab_and_merges(vocab, merges).fuse_unk(true).byte_fallback(true);
    if let Some(unk) = unk {
        builder = builder.unk_token(unk);
    }
    let bpe = builder.build().map_err(|e| e.to_string())?;
    let mut tok = Tokenizer::new(bpe);

    let prefix_space = h.get("tokenizer.ggml.add_space_prefix").and_then(Value::as_bool).unwrap_or(false);
    let mut norms: Vec<NormalizerWrapper> = Vec::new();
    if prefix_space {
        norms.push(Prepend::new("▁".into()).into());
    }
    norms.push(Replace::new(" ", "▁").map_err(|e| e.to_string())?.into());
    tok.with_normalizer(Some(NormalizerSequence::new(norms))).map_err(|e| e.to_string())?;
    let mut decoders: Vec<DecoderWrapper> = vec![
        tokenizers::decoders::DecoderWrapper::Replace(Replace::new("▁", " ").map_err(|e| e.to_string())?),
        ByteFallback::new().into(),
        Fuse::new().into(),
    ];
    if prefix_space {
        decoders.push(Strip::new(' ', 1, 0).into());
    }
    tok.with_decoder(Some(DecoderSequence::new(decoders)));

    let specials: Vec<AddedToken> =
        (0..tokens.len()).filter(|&i| ty(i) == CONTROL).map(|i| AddedToken::from(tokens[i].clone(), true).normalized(false)).collect();
    let _ = tok.add_special_tokens(specials);
    let added: Vec<AddedToken> = (0..tokens.len())
        .filter(|&i| ty(i) == USER_DEFINED)
        .map(|i| AddedToken::from(tokens[i].clone(), false).normalized(false))
        .collect();
    let _ = tok.add_tokens(added);

    if let (true, Some(b)) = (add_bos, bos) {
        let bos_text = tokens.get(b as usize).cloned().unwrap_or_default();
        let template = TemplateProcessing::builder()
            .try_single(format!("{bos_text} $A"))
            .and_then(|t| t.try_pair(format!("{bos_text} $A {bos_text} $B")))
            .map_err(|e| e.to_string())?
            .special_tokens(vec![(bos_text.clone(), b)])
            .build()
            .map_err(|e| e.to_string())?;
        tok.with_post_processor(Some(template));
    }
    Ok(tok)
}

/// `tokenizer.json` of a Hugging Face folder, with the BOS/EOS facts from
/// its tokenizer, generation and model configs.
pub fn from_folder(dir: &Path, config: &serde_json::Value) -> Result<Tok, String> {
    let path = dir.join("tokenizer.json");
    let tokenizer = Tokenizer::from_file(&path).map_err(|e| format!("tokenizer.json does not parse: {}", first_line(&*e)))?;
    let tcfg: serde_json::Value =
        std::fs::read_to_string(dir.join("tokenizer_config.json")).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
    let gen_cfg: serde_json::Value =
        std::fs::read_to_string(dir.join("generation_config.json")).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
    let token_text = |v: Option<&serde_json::Value>| -> String {
        match v {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Object(o)) => o.get("content").and_then(|c| c.as_str()).unwrap_or_default().to_string(),
            _ => String::new(),
        }
    };
    let bos_text = token_text(tcfg.get("bos_token"));
    let eos_text = token_text(tcfg.get("eos_token"));
    let mut eos_ids = Vec::new();
    for v in [gen_cfg.get("eos_token_id"), config.get("eos_token_id")].into_iter().flatten() {
        match v {
            serde_json::Value::Number(n) => eos_ids.extend(n.as_u64().map(|n| n as u32)),
            serde_json::Value::Array(a) => eos_ids.extend(a.iter().filter_map(|n| n.as_u64()).map(|n| n as u32)),
            _ => {}
        }
    }
    for t in std::iter::once(eos_text.as_str()).chain(END_TEXTS.iter().copied()) {
        if let Some(id) = tokenizer.token_to_id(t) {
            if tokenizer.get_added_vocabulary().is_special_token(t) || t == eos_text {
                eos_ids.push(id);
            }
        }
    }
    eos_ids.sort_unstable();
    eos_ids.dedup();
    let add_bos = tcfg.get("add_bos_token").and_then(|v| v.as_bool()).unwrap_or(true);
    Ok(Tok { tokenizer, bos_text, eos_text, eos_ids, add_bos })
}

/// The first line of an error: candle appends a backtrace when
/// RUST_BACKTRACE is set, which belongs in the log, not in a column.
pub fn first_line(e: &dyn std::fmt::Display) -> String {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or_default().to_string();
    if text.lines().count() > 1 {
        tracing::debug!("full error: {text}");
    }
    first
}

impl Tok {
    /// Ids for `text` as generation feeds them: BOS added unless the text
    /// (a rendered template) already starts with it.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, String> {
        let add = self.add_bos && !crate::engine::template::starts_with_bos(text, &self.bos_text);
        self.tokenizer.encode(text, add).map(|e| e.get_ids().to_vec()).map_err(|e| first_line(&*e))
    }
}
