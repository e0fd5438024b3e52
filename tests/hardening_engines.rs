//! Hostile models (issue 17): chat templates that loop for ever or write
//! without end, and sizes in metadata that no machine can hold. The model
//! fails with a message that says why, on both engines, and the other
//! models of the run still answer.

mod common;

use common::{Sandbox, stderr, stdout, summaries};
use versus::catalog::gguf::write::copy_with_strings;

#[test]
fn hostile_chat_templates_fail_their_model_only() {
    let _g = common::model_lock();
    let sb = Sandbox::new();
    let demo = common::demo_model();
    let d = demo.to_str().unwrap();
    let cases = [
        ("loop", "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}", "out of fuel"),
        ("flood", "{% for a in range(100000) %}{{ 'x' * 100000 }}{% endfor %}", "output passed"),
        ("recursion", "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "recursion"),
    ];
    for (name, template, why) in cases {
        // The demo base model has no template of its own: give it one.
        let path = sb.path().join(format!("{name}.gguf"));
        copy_with_strings(&demo, &path, &[("tokenizer.chat_template", template)]).expect("write the model");
        let p = path.to_str().unwrap();
        let (on_llama, on_candle) = (format!("{p}@llama"), format!("{p}@candle"));
        let out = sb.run(&["run", "--json", "-m", &on_llama, "-m", &on_candle, "-m", d, "-p", "Hi", "--max-tokens", "4"]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
        let s = summaries(&stdout(&out));
        assert_eq!(s.len(), 3, "{name}: {}", stdout(&out));
        for hostile in &s[..2] {
            assert_eq!(hostile["status"], "failed", "{name}: {hostile}");
            let error = hostile["error"].as_str().unwrap_or_default();
            assert!(error.contains(why) && error.contains("--raw"), "{name}: {error}");
        }
        assert_eq!(s[2]["status"], "finished", "{name}: the other model still answers: {}", s[2]);
    }
}

/// A folder candle would run, with `config.json` changed by `edit`.
fn hf_folder(sb: &Sandbox, name: &str, edit: impl Fn(&mut serde_json::Value)) -> std::path::PathBuf {
    let dir = sb.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let mut cfg = serde_json::json!({
        "model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 16, "hidden_size": 32,
        "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2,
        "max_position_embeddings": 256, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "hidden_act": "silu",
        "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32"
    });
    edit(&mut cfg);
    std::fs::write(dir.join("config.json"), cfg.to_string()).unwrap();
    let data = vec![0u8; 16 * 32 * 4];
    let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![16, 32], &data).unwrap();
    safetensors::serialize_to_file([("model.embed_tokens.weight", view)], None, &dir.join("model.safetensors")).unwrap();
    let vocab: serde_json::Map<String, serde_json::Value> = (0..16).map(|i| (format!("t{i}"), i.into())).collect();
    let tokenizer = serde_json::json!({ "version": "1.0", "model": { "type": "WordLevel", "vocab": vocab, "unk_token": "t0" } });
    std::fs::write(dir.join("tokenizer.json"), tokenizer.to_string()).unwrap();
    dir
}

#[test]
fn absurd_sizes_in_config_json_are_refused_with_what_is_wrong() {
    let sb = Sandbox::new();
    // 2^32 positions: candle's rotary tables alone would need terabytes.
    let huge = hf_folder(&sb, "huge", |c| c["max_position_embeddings"] = u64::from(u32::MAX).into());
    let spec = format!("{}@candle", huge.display());
    let out = sb.run(&["run", "-m", &spec, "-p", "t1", "--max-tokens", "2"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("needs ~") && stderr(&out).contains("of RAM"), "refused by the memory guard: {}", stderr(&out));

    // A negative size names its key in words a user reads.
    let negative = hf_folder(&sb, "negative", |c| c["hidden_size"] = (-1).into());
    let spec = format!("{}@candle", negative.display());
    let out = sb.run(&["run", "-m", &spec, "-p", "t1", "--max-tokens", "2"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("`hidden_size`") && err.contains("whole number") && !err.contains("usize"), "{err}");
}
