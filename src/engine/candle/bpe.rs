//! Byte-level BPE vocabularies from GGUF (`tokenizer.ggml.model = "gpt2"`:
//! SmolLM, Llama 3, Qwen 2/3, …), built to split text exactly as llama.cpp
//! does on the same file.
//!
//! llama.cpp picks its pre-tokenizer from `tokenizer.ggml.pre`: a list of
//! regular expressions applied one after another, each splitting the pieces
//! left by the one before (a match and the text around it become separate
//! pieces), then GPT-2's byte-to-unicode mapping and BPE merges by rank.
//! Some types also use a whole piece as one token when the vocabulary has
//! it (`ignore_merges`) or add BOS by default. The table below copies the
//! regular expressions of llama.cpp's `llm_tokenizer_bpe` (llama-vocab.cpp,
//! as vendored by llama-cpp-sys-2) verbatim, in llama.cpp's adapted form,
//! which is what it really runs. A type that is not in the table, or whose
//! splitting we could not match (tested in tests/tokenizer_parity.rs),
//! makes candle refuse the file instead of tokenizing it differently.

use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{SplitDelimiterBehavior, Tokenizer};

use crate::catalog::gguf::{Header, Value};

/// How llama.cpp splits text for one family of `tokenizer.ggml.pre` values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PreTokenizer {
    /// Applied in order, each to the pieces the one before left.
    pub regexes: &'static [&'static str],
    /// A piece that is a token as a whole becomes that token, unmerged.
    pub ignore_merges: bool,
    /// BOS is added unless the file says otherwise.
    pub add_bos: bool,
}

const GPT2: &str = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
const LLAMA3: &str = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2: &str = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN35: &str = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const GPT4O: &str = "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const TEKKEN: &str = "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const DEEPSEEK3: &str = "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+";
const PORO: &str = " ?[^(\\s|.,!?…。，、।۔،)]+";

const fn pre(regexes: &'static [&'static str], ignore_merges: bool, add_bos: bool) -> PreTokenizer {
    PreTokenizer { regexes, ignore_merges, add_bos }
}

/// llama.cpp's pre-tokenizer for a `tokenizer.ggml.pre` value; None for the
/// types candle does not split as llama.cpp does.
pub fn pre_tokenizer(name: &str) -> Option<PreTokenizer> {
    Some(match name {
        // A missing type is llama.cpp's "default" (it warns that quality suffers).
        "" | "default" => pre(&["[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2, "\\p{N}+", "[0-9][0-9][0-9]"], false, false),
        "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "falcon-h1" | "pixtral" | "midm-2.0" | "lfm2" | "jina-v5-nano" => {
            pre(&[LLAMA3], true, true)
        }
        "dbrx" | "smaug-bpe" | "chatglm-bpe" => pre(&[LLAMA3], false, false),
        "glm4" | "glm5" => pre(&[LLAMA3], true, false),
        "starcoder" | "refact" | "command-r" | "smollm" | "codeshell" | "exaone" | "minerva-7b" | "mellum2" => {
            pre(&["\\p{N}", GPT2], false, false)
        }
        "gpt-2" | "phi-2" | "gigachat" | "a.x-4.0" | "mellum" | "mpt" | "olmo" | "jais" | "exaone4" | "trillion" | "granite-docling" => {
            pre(&[GPT2], false, false)
        }
        "qwen2" | "deepseek-r1-qwen" | "kormo" | "f2llmv2" | "megrez" | "stablelm2" | "hunyuan" | "solar-open" => {
            pre(&[QWEN2], false, false)
        }
        "qwen35" => pre(&[QWEN35], false, false),
        "gpt-4o" | "llama4" | "kanana2" | "talkie" | "minimax-m2" => pre(&[GPT4O], false, false),
        "tekken" => pre(&[TEKKEN], true, true),
        "deepseek-coder" => pre(&["[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[一-龥ࠀ-一가-퟿]+", "\\p{N}"], false, false),
        "deepseek-v3" | "hunyuan-dense" | "joyai-llm" | "hy_v4" => pre(&["\\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+", DEEPSEEK3], false, false),
        "falcon" => pre(&["[\\p{P}\\$\\+<=>\\^~\\|`]+", GPT2, "[0-9][0-9][0-9]"], false, false),
        "poro-chat" | "bloom" | "gpt3-finnish" => pre(&[PORO], false, false),
        "viking" => pre(&[PORO, "\\p{N}"], false, false),
        "seed-coder" => pre(
            &[
                "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            ],
            false,
            false,
        ),
        "bailingmoe" | "bailingmoe2" | "llada-moe" => pre(
            &[
                "'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+",
            ],
            false,
            false,
        ),
        "grok-2" => pre(&[QWEN2], false, false),
        _ => return None,
    })
}

/// The `tokenizer.ggml.pre` values candle accepts, for error messages.
pub const SUPPORTED: &str = "default, gpt-2, smollm, starcoder, llama3/llama-bpe, qwen2, qwen35, gpt-4o/llama4, tekken, deepseek-coder, \
                             deepseek-v3, falcon, bloom, viking, seed-coder, bailingmoe, grok-2 and their aliases";

/// The byte-level BPE tokenizer (without special tokens: the caller adds
/// them) and whether BOS is added, from `tokens` and the file's merges.
pub fn tokenizer(h: &Header, tokens: &[String]) -> Result<(Tokenizer, bool), String> {
    let name = h.str("tokenizer.ggml.pre").unwrap_or_default();
    let pre = pre_tokenizer(name).ok_or_else(|| {
        format!(
            "pre-tokenizer `{name}` is not one candle splits exactly as llama.cpp does ({SUPPORTED}); run this file with llama.cpp (@llama)"
        )
    })?;
    let merges: Vec<(String, String)> = h
        .get("tokenizer.ggml.merges")
        .and_then(Value::as_array)
        .ok_or("GGUF has no tokenizer.ggml.merges")?
        .iter()
        .filter_map(Value::as_str)
        // llama.cpp splits at the first space after the first character.
        .map(|m| match m.char_indices().skip(1).find(|(_, c)| *c == ' ') {
            Some((i, _)) => (m[..i].to_string(), m[i + 1..].to_string()),
            None => (String::new(), String::new()),
        })
        .collect();
    let mut vocab = tokenizers::models::bpe::Vocab::default();
    for (i, t) in tokens.iter().enumerate() {
        // The first id wins for duplicate texts, as in llama.cpp's map.
        vocab.entry(t.clone()).or_insert(i as u32);
    }
    let bpe = BPE::builder().vocab_and_merges(vocab, merges).ignore_merges(pre.ignore_merges).build().map_err(|e| e.to_string())?;
    let mut tok = Tokenizer::new(bpe);
    let mut steps: Vec<PreTokenizerWrapper> = Vec::new();
    for r in pre.regexes {
        let split = Split::new(SplitPattern::Regex((*r).to_string()), SplitDelimiterBehavior::Isolated, false)
            .map_err(|e| format!("pre-tokenizer `{name}`: {e}"))?;
        steps.push(split.into());
    }
    // GPT-2's byte-to-unicode mapping only: the splitting is done above.
    steps.push(ByteLevel::new(false, false, false).into());
    tok.with_pre_tokenizer(Some(Sequence::new(steps)));
    tok.with_decoder(Some(tokenizers::decoders::byte_level::ByteLevel::new(false, false, false)));
    let add_bos = h.get("tokenizer.ggml.add_bos_token").and_then(Value::as_bool).unwrap_or(pre.add_bos);
    Ok((tok, add_bos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_regex_of_the_table_compiles() {
        let names = [
            "default",
            "llama3",
            "dbrx",
            "glm4",
            "smollm",
            "gpt-2",
            "qwen2",
            "qwen35",
            "gpt-4o",
            "tekken",
            "deepseek-coder",
            "deepseek-v3",
            "falcon",
            "bloom",
            "viking",
            "seed-coder",
            "bailingmoe",
            "grok-2",
        ];
        for n in names {
            let p = pre_tokenizer(n).unwrap_or_else(|| panic!("{n} is in the table"));
            for r in p.regexes {
                assert!(Split::new(SplitPattern::Regex((*r).to_string()), SplitDelimiterBehavior::Isolated, false).is_ok(), "{n}: {r}");
            }
        }
        assert!(pre_tokenizer("kimi-k2").is_none(), "custom splitters are refused");
    }
}
