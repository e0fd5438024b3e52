//! Tokenizer parity: for every GGUF vocabulary candle accepts, candle's ids
//! are llama.cpp's ids. Checked on both demo models (SentencePiece Gemma,
//! byte-level SmolLM2), through llama.cpp in this process and through a
//! real llama-server, and on vocabulary-only GGUF files written here that
//! give SmolLM2's vocabulary each pre-tokenizer llama.cpp knows. Also
//! `versus tokenize` itself.
#![cfg(all(feature = "candle", feature = "llama"))]

mod common;

use std::path::Path;

use versus::catalog::describe_path;
use versus::catalog::gguf::write::{copy_metadata_only, copy_metadata_without};
use versus::config::Config;
use versus::engine::candle::Vocabulary;
use versus::engine::llama::LlamaCpp;
use versus::params::GenerationParams;

/// Mixed text: code, CJK, emoji and ZWJ sequences, digits and long numbers,
/// whitespace runs, tabs and newlines, contractions, accented Latin (both
/// precomposed and with combining marks), right-to-left scripts, special
/// tokens of both demo models' chat templates, and their near misses.
const CORPUS: &[&str] = &[
    "The quick brown fox jumps over the lazy dog.",
    "Hello, world! It's 2026; prices rose 3.5% (from $10 to $10.35).",
    "I'm sure they'll say we've DONE it, but I'D rather you'RE right.",
    "中文分词测试：我们今天去北京天安门广场。",
    "日本語とEnglishが混ざった文章です。한국어 문장도 있습니다.",
    "Emoji: 😀🎉👩‍👩‍👧‍👦 and 🇫🇷 flags, 👍🏽 skin tones, ❤️ variation",
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
    "fn main() {\n\tprintln!(\"tabs\\tand\\nescapes\");\n}\n",
    "<html>\n  <body>\n    <h1 class=\"title\">Hi</h1>\n    <p>Some&nbsp;text</p>\n  </body>\n</html>",
    "SELECT * FROM users WHERE id IN (1, 2, 3) AND name LIKE '%o''brien%';",
    "   leading spaces and trailing   ",
    "\n\n\nnewlines\n\n",
    "tabs\t\tand\t \tmixed \t whitespace\r\nCRLF\rCR",
    "        eight spaces, then sixteen:                end",
    "3.14159265358979323846 1234567890 12,345,678 0x7FFF_FFFF 1e-10 -42 +7",
    "١٢٣ ٤٥٦ Arabic digits, ½ ¾ and ²³ superscripts",
    "Ünïcödé façade — naïve café, Ångström, Œuvre, ß, İstanbul",
    "Decomposed: cafe\u{301} nai\u{308}ve A\u{30a}ngstro\u{308}m",
    "RTL: مرحبا بالعالم، كيف حالك؟ שלום עולם! mixed עם English",
    "𓀀 rare glyphs 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 and math 𝑥² + 𝑦² = 𝑧²",
    "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n",
    "almost special: <|im_start |> <start_of_turn > <|endoftext|><eos>",
    "a",
    " ",
    "",
    "!!!??? ... --- *** ### $$$ %%% &&& @@@ ^^^ ~~~ ||| ``` '''",
    "https://example.com/path?query=1&b=2#frag user@example.org",
    "CamelCaseWords and snake_case_words and SCREAMING_CASE and mIxEd",
];

fn llama(path: &Path) -> LlamaCpp {
    let info = describe_path(path).expect("describe");
    LlamaCpp::load_vocab(&info, &Config::defaults().settings_for("").backend).expect("llama.cpp loads the vocabulary")
}

fn candle(path: &Path) -> Result<Vocabulary, String> {
    let info = describe_path(path).ok_or_else(|| format!("{} is not a model", path.display()))?;
    Vocabulary::load(&info).map_err(|e| e.to_string())
}

fn assert_same(name: &str, l: &LlamaCpp, c: &Vocabulary, text: &str) {
    let a: Vec<u32> = l.tokenize(text).into_iter().map(|t| t as u32).collect();
    let b = c.tokenize(text).expect("candle tokenizes");
    if a != b {
        let show = |ids: &[u32]| ids.iter().map(|&t| format!("{t}:{:?}", l.piece(t as i32))).collect::<Vec<_>>().join(" ");
        panic!("{name}: ids differ for {text:?}\nllama.cpp: {}\ncandle:    {}", show(&a), show(&b));
    }
    let pieces_l: Vec<String> = a.iter().map(|&t| l.piece(t as i32)).collect();
    let pieces_c: Vec<String> = b.iter().map(|&t| c.tok.piece(t)).collect();
    assert_eq!(pieces_l, pieces_c, "{name}: pieces differ for {text:?}");
}

/// Each corpus text alone, and as the user message of the model's chat template.
fn texts(c: &Vocabulary) -> Vec<String> {
    let mut out: Vec<String> = CORPUS.iter().map(|s| s.to_string()).collect();
    let mut p = GenerationParams { system_prompt: "Be brief.".into(), ..Config::defaults().settings_for("").generation };
    p.raw = false;
    if c.template.is_some() {
        for s in CORPUS.iter().filter(|s| !s.is_empty()) {
            out.push(versus::engine::template::render(&c.template, &[], s, &p).expect("template renders"));
        }
    }
    out
}

#[test]
fn demo_models_tokenize_alike_in_both_engines() {
    for path in [common::demo_model(), common::demo_chat_model()] {
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let l = llama(&path);
        let c = candle(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        for text in texts(&c) {
            assert_same(&name, &l, &c, &text);
        }
    }
}

/// llama.cpp's pre-tokenizer names, one or more per family of its table.
const PRE_TOKENIZERS: &[&str] = &[
    "smollm",
    "starcoder",
    "llama-bpe",
    "llama3",
    "qwen2",
    "deepseek-r1-qwen",
    "qwen35",
    "gpt-4o",
    "llama4",
    "default",
    "gpt-2",
    "mpt",
    "olmo",
    "dbrx",
    "smaug-bpe",
    "glm4",
    "tekken",
    "deepseek-coder",
    "deepseek-v3",
    "falcon",
    "bloom",
    "viking",
    "seed-coder",
    "bailingmoe",
    "grok-2",
    "command-r",
    "refact",
];

#[test]
fn every_pre_tokenizer_candle_accepts_matches_llama_cpp() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = common::demo_chat_model();
    for pre in PRE_TOKENIZERS {
        let path = dir.path().join(format!("vocab-{pre}.gguf"));
        copy_metadata_only(&base, &path, &[("tokenizer.ggml.pre", pre)]).expect("write the vocabulary");
        let c = candle(&path).unwrap_or_else(|e| panic!("{pre}: candle refuses a pre-tokenizer of its table: {e}"));
        let l = llama(&path);
        for text in texts(&c) {
            assert_same(pre, &l, &c, &text);
        }
    }
}

#[test]
fn pre_tokenizers_candle_cannot_match_are_refused_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    for pre in ["kimi-k2", "afmoe", "gemma4", "no-such-pre"] {
        let path = dir.path().join(format!("vocab-{pre}.gguf"));
        copy_metadata_only(&common::demo_chat_model(), &path, &[("tokenizer.ggml.pre", pre)]).expect("write");
        let err = candle(&path).err().unwrap_or_else(|| panic!("{pre}: candle must refuse it"));
        assert!(err.contains(pre) && err.contains("@llama"), "{pre}: {err}");
    }
}

/// A real llama-server on the same files tokenizes as both engines do.
#[test]
fn llama_server_tokenizes_as_versus_does() {
    let _g = common::model_lock();
    for path in [common::demo_model(), common::demo_chat_model()] {
        let server = common::server::Server::start(&path, None);
        let l = llama(&path);
        let c = candle(&path).expect("candle");
        for text in texts(&c) {
            let ours = c.tokenize(&text).expect("tokenize");
            // versus adds BOS unless the text (a rendered template) starts with it.
            let add_special = !c.tok.bos_text.is_empty() && !text.starts_with(&c.tok.bos_text) && c.tok.add_bos;
            let got = server.post("/tokenize", &serde_json::json!({ "content": text, "add_special": add_special, "parse_special": true }));
            let theirs: Vec<u32> = got["tokens"].as_array().expect("tokens").iter().filter_map(|t| t.as_u64()).map(|t| t as u32).collect();
            assert_eq!(theirs, ours, "llama-server and versus differ for {text:?} ({})", path.display());
            assert_eq!(l.tokenize(&text).into_iter().map(|t| t as u32).collect::<Vec<_>>(), ours);
        }
    }
}

#[test]
fn tokenize_command_prints_ids_and_pieces() {
    let sb = common::Sandbox::new();
    let chat = common::demo_chat_model();
    let model = chat.to_str().expect("utf-8 path");
    let mut seen = Vec::new();
    for engine in ["llama", "candle"] {
        let spec = format!("{model}@{engine}");
        let out = sb.run(&["tokenize", &spec, "--template", "--json", "-p", "Write a haiku about the sea."]);
        assert!(out.status.success(), "{}", common::stderr(&out));
        let v: serde_json::Value = serde_json::from_str(common::stdout(&out).trim()).expect("one JSON object");
        assert_eq!(v["engine"], engine);
        assert!(v["model"].as_str().is_some_and(|m| m.contains("SmolLM2")), "{v}");
        let tokens = v["tokens"].as_array().expect("tokens").clone();
        let pieces = v["pieces"].as_array().expect("pieces").clone();
        assert_eq!(tokens.len(), pieces.len());
        let text: String = pieces.iter().filter_map(|p| p.as_str()).collect();
        assert!(text.starts_with("<|im_start|>") && text.contains("Write a haiku about the sea.<|im_end|>"), "{text:?}");
        assert!(text.ends_with("<|im_start|>assistant\n"), "{text:?}");
        seen.push((tokens, pieces));
    }
    assert_eq!(seen[0], seen[1], "both engines feed SmolLM2 the same tokens");

    // Plain text, standard input, the human-readable form.
    let out = sb
        .command()
        .args(["tokenize", common::demo_model().to_str().unwrap_or_default()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().map(|mut i| i.write_all(b"Hello world")).transpose()?;
            c.wait_with_output()
        })
        .expect("run");
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    assert!(text.lines().next().is_some_and(|l| l.contains("\"<bos>\"")), "{text}");
    assert!(text.contains("\"Hello\"") && text.contains("\" world\""), "{text}");
    assert!(common::stderr(&out).contains("3 tokens"), "{}", common::stderr(&out));

    // A remote model cannot be tokenized here; a missing one is a usage error.
    let out = sb.run(&["tokenize", "no-such-model", "-p", "x"]);
    assert_eq!(out.status.code(), Some(2), "{}", common::stderr(&out));
}

/// A vocabulary without BOS (T5-style: llama.cpp reports -1) loads. Asking
/// llama.cpp for the text of token -1 throws a C++ exception, which would
/// cross into Rust and abort the process.
#[test]
fn a_vocabulary_without_bos_loads_instead_of_aborting() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t5-style.gguf");
    copy_metadata_without(&common::demo_chat_model(), &path, &[("tokenizer.ggml.model", "t5")], &["tokenizer.ggml.bos_token_id"])
        .expect("write the vocabulary");
    let l = llama(&path);
    assert_eq!(l.piece(-1), "");
    assert!(!l.tokenize("hello world").is_empty());
}
