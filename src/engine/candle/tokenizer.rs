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
//! vocabularies (`gpt2`: SmolLM, Qwen 2/3, Llama 3) are built by `bpe`
//! with llama.cpp's own pre-tokenizer for the file's `tokenizer.ggml.pre`.

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
const UNKNOWN: i64 = 2;
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
    /// Whether encoding adds BOS (and EOS, where a GGUF file asks for it) by itself.
    pub add_bos: bool,
    pub kind: Kind,
}

/// How a token's text is spelled in the vocabulary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// SentencePiece: "▁" for spaces, `<0xNN>` for raw bytes.
    SentencePiece,
    /// GPT-2 byte-level: each byte one printable character.
    ByteLevel,
    /// A Hugging Face `tokenizer.json`, whose own decoder knows.
    Json,
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
pub fn from_gguf(h: &Header) -> Result<Tok, String> {
    let kind = h.str("tokenizer.ggml.model").unwrap_or("llama");
    let tokens = strings(h, "tokenizer.ggml.tokens")?;
    let types = ints(h, "tokenizer.ggml.token_type");
    let id = |key: &str| h.u64(key).map(|v| v as u32);
    let bos = id("tokenizer.ggml.bos_token_id");
    let eos = id("tokenizer.ggml.eos_token_id");
    let text_of = |i: Option<u32>| i.and_then(|i| tokens.get(i as usize)).cloned().unwrap_or_default();

    let add_eos = h.get("tokenizer.ggml.add_eos_token").and_then(Value::as_bool).unwrap_or(false);
    let (mut tokenizer, add_bos, spelling) = match kind {
        "llama" => {
            (spm(h, &tokens, &types)?, h.get("tokenizer.ggml.add_bos_token").and_then(Value::as_bool).unwrap_or(true), Kind::SentencePiece)
        }
        "gpt2" => {
            let (t, add_bos) = super::bpe::tokenizer(h, &tokens)?;
            (t, add_bos, Kind::ByteLevel)
        }
        other => return Err(format!("tokenizer type `{other}` is not supported by the candle engine (llama, gpt2 are)")),
    };
    add_special_tokens(&mut tokenizer, &tokens, &types)?;
    let bos_id = bos.filter(|_| add_bos);
    let eos_id = eos.filter(|_| add_eos);
    if bos_id.is_some() || eos_id.is_some() {
        tokenizer.with_post_processor(Some(bos_eos_processor(&tokens, bos_id, eos_id)?));
    }

    let mut eos_ids: Vec<u32> = [eos, id("tokenizer.ggml.eot_token_id"), id("tokenizer.ggml.eom_token_id")].into_iter().flatten().collect();
    for (i, t) in tokens.iter().enumerate() {
        if END_TEXTS.contains(&t.as_str()) && types.get(i).is_none_or(|ty| *ty == CONTROL || *ty == USER_DEFINED) {
            eos_ids.push(i as u32);
        }
    }
    eos_ids.sort_unstable();
    eos_ids.dedup();
    Ok(Tok {
        tokenizer,
        bos_text: text_of(bos),
        eos_text: text_of(eos),
        eos_ids,
        add_bos: bos_id.is_some() || eos_id.is_some(),
        kind: spelling,
    })
}

/// The SentencePiece-style vocabulary as a byte-fallback BPE.
fn spm(h: &Header, tokens: &[String], types: &[i64]) -> Result<Tokenizer, String> {
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

    Ok(tok)
}

/// llama.cpp splits the text at these tokens before anything else: control
/// and unknown tokens are special (never produced as text), user-defined
/// ones (`\n`, tabs, HTML tags in Gemma) are ordinary added tokens.
fn add_special_tokens(tok: &mut Tokenizer, tokens: &[String], types: &[i64]) -> Result<(), String> {
    let ty = |i: usize| types.get(i).copied().unwrap_or(NORMAL);
    let specials: Vec<AddedToken> = (0..tokens.len())
        .filter(|&i| matches!(ty(i), CONTROL | UNKNOWN) && !tokens[i].is_empty())
        .map(|i| AddedToken::from(tokens[i].clone(), true).normalized(false))
        .collect();
    tok.add_special_tokens(specials).map_err(|e| format!("special tokens: {e}"))?;
    let added: Vec<AddedToken> = (0..tokens.len())
        .filter(|&i| ty(i) == USER_DEFINED && !tokens[i].is_empty())
        .map(|i| AddedToken::from(tokens[i].clone(), false).normalized(false))
        .collect();
    tok.add_tokens(added).map_err(|e| format!("added tokens: {e}"))?;
    Ok(())
}

/// BOS before and EOS after the text, as llama.cpp adds them.
fn bos_eos_processor(tokens: &[String], bos: Option<u32>, eos: Option<u32>) -> Result<TemplateProcessing, String> {
    let text = |id: u32| tokens.get(id as usize).cloned().ok_or_else(|| format!("special token id {id} is outside the vocabulary"));
    let mut single = Vec::new();
    let mut specials = Vec::new();
    if let Some(b) = bos {
        single.push(text(b)?);
        specials.push((text(b)?, b));
    }
    single.push("$A".to_string());
    if let Some(e) = eos {
        single.push(text(e)?);
        specials.push((text(e)?, e));
    }
    specials.dedup();
    TemplateProcessing::builder()
        .try_single(single.join(" "))
        .map_err(|e| e.to_string())?
        .special_tokens(specials)
        .build()
        .map_err(|e| e.to_string())
}

/// `tokenizer.json` of a Hugging Face folder, with the BOS/EOS facts from
/// its tokenizer, generation and model configs.
pub fn from_folder(dir: &Path, config: &serde_json::Value) -> Result<Tok, String> {
    let path = dir.join("tokenizer.json");
    let tokenizer = Tokenizer::from_file(&path).map_err(|e| format!("tokenizer.json does not parse: {}", first_line(&*e)))?;
    let tcfg = optional_json(&dir.join("tokenizer_config.json"))?;
    let gen_cfg = optional_json(&dir.join("generation_config.json"))?;
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
    Ok(Tok { tokenizer, bos_text, eos_text, eos_ids, add_bos, kind: Kind::Json })
}

/// A JSON file a folder may have: Null when it is absent, an error naming
/// it when it is there but unreadable (its BOS/EOS facts would otherwise
/// be silently lost).
fn optional_json(path: &Path) -> Result<serde_json::Value, String> {
    match crate::paths::read_text(path, crate::paths::METADATA_CAP) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| format!("{} does not parse: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(serde_json::Value::Null),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
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
    /// The BOS id when this tokenizer adds one.
    pub fn bos(&self) -> Option<u32> {
        if !self.add_bos || self.bos_text.is_empty() {
            return None;
        }
        self.tokenizer.token_to_id(&self.bos_text)
    }

    /// Ids for `text` as generation feeds them: BOS added unless the text
    /// (a rendered template) already starts with it.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, String> {
        let add = self.add_bos && !crate::engine::template::starts_with_bos(text, &self.bos_text);
        self.tokenizer.encode(text, add).map(|e| e.get_ids().to_vec()).map_err(|e| first_line(&*e))
    }

    /// The text of one token as the model sees it, special tokens included
    /// (bytes that are part of a character show as U+FFFD), spelled as
    /// llama.cpp's `token_to_piece` spells it.
    pub fn piece(&self, id: u32) -> String {
        let Some(t) = self.tokenizer.id_to_token(id) else { return String::new() };
        if self.tokenizer.get_added_vocabulary().get_vocab().contains_key(&t) {
            return t;
        }
        match self.kind {
            Kind::SentencePiece => match t.strip_prefix("<0x").and_then(|h| h.strip_suffix('>')).map(|h| u8::from_str_radix(h, 16)) {
                Some(Ok(b)) => String::from_utf8_lossy(&[b]).into_owned(),
                _ => t.replace('▁', " "),
            },
            Kind::ByteLevel => {
                use tokenizers::tokenizer::Decoder;
                tokenizers::decoders::byte_level::ByteLevel::new(false, false, false).decode(vec![t.clone()]).unwrap_or(t)
            }
            Kind::Json => self.tokenizer.decode(&[id], false).unwrap_or(t),
        }
    }
}
