//! Discovery over a generated tree that mimics each store's real layout,
//! through the real binary (`versus list --json`), plus the demo model's
//! metadata read from the file itself.

mod common;

use std::collections::HashMap;
use std::os::unix::fs::symlink;
use std::path::Path;

use common::{Sandbox, stdout};
use versus::catalog::gguf::write::{W, gguf_bytes, write_gguf};

fn small_gguf(path: &Path, arch: &str, template: bool) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let ctx_key = format!("{arch}.context_length");
    let blk_key = format!("{arch}.block_count");
    let mut kv = vec![
        ("general.architecture", W::Str(arch)),
        ("general.file_type", W::U32(15)),
        (ctx_key.as_str(), W::U32(8192)),
        (blk_key.as_str(), W::U32(2)),
        ("tokenizer.ggml.tokens", W::StrArray(&["<s>", "a", "b"])),
    ];
    if template {
        kv.push(("tokenizer.chat_template", W::Str("{{ messages[0].content }}")));
    }
    write_gguf(path, &kv, &[("token_embd.weight", &[8, 3]), ("output.weight", &[8, 3])]).unwrap();
}

fn hf_folder(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("config.json"),
        r#"{"architectures":["Qwen2ForCausalLM"],"model_type":"qwen2","torch_dtype":"bfloat16","max_position_embeddings":32768,"num_hidden_layers":2,"num_attention_heads":2,"num_key_value_heads":1,"hidden_size":8,"vocab_size":16}"#,
    )
    .unwrap();
    std::fs::write(dir.join("tokenizer_config.json"), r#"{"chat_template":"{{ x }}"}"#).unwrap();
    let data = vec![0u8; 16 * 8 * 2];
    let view = safetensors::tensor::TensorView::new(safetensors::Dtype::BF16, vec![16, 8], &data).unwrap();
    safetensors::serialize_to_file([("model.embed_tokens.weight", view)], None, &dir.join("model.safetensors")).unwrap();
}

fn by_name(json: &serde_json::Value) -> HashMap<String, serde_json::Value> {
    json.as_array().expect("list --json prints an array").iter().map(|m| (m["name"].as_str().unwrap().to_string(), m.clone())).collect()
}

#[test]
fn every_store_layout_is_discovered_once_with_errors_listed() {
    let sb = Sandbox::new();
    let root = sb.path();
    let home = sb.home();

    // A plain folder: single, split, incomplete split, projector, broken files, a loop.
    let folder = root.join("models");
    small_gguf(&folder.join("alpha.gguf"), "llama", true);
    small_gguf(&folder.join("big-00001-of-00002.gguf"), "qwen2", false);
    std::fs::copy(folder.join("alpha.gguf"), folder.join("big-00002-of-00002.gguf")).unwrap();
    small_gguf(&folder.join("half-00001-of-00003.gguf"), "llama", false);
    small_gguf(&folder.join("mmproj-alpha-f16.gguf"), "clip", false);
    std::fs::write(folder.join("wrongmagic.gguf"), b"GGML\x03\x00\x00\x00rest").unwrap();
    std::fs::write(folder.join("empty.gguf"), b"").unwrap();
    let full = gguf_bytes(&[("general.architecture", W::Str("llama"))], &[("w", &[64, 64])], 0);
    std::fs::write(folder.join("truncated.gguf"), &full[..full.len() - 100]).unwrap();
    std::fs::write(folder.join("notes.txt"), "not a model").unwrap();
    symlink(&folder, folder.join("loop")).unwrap();
    hf_folder(&folder.join("tiny-qwen"));
    // The same file reached through a second folder appears once.
    let again = root.join("again");
    std::fs::create_dir_all(&again).unwrap();
    symlink(folder.join("alpha.gguf"), again.join("alpha-link.gguf")).unwrap();

    // Hugging Face hub cache: refs/main → snapshot of symlinks into blobs.
    let hub = root.join("hf/hub");
    let repo = hub.join("models--acme--tiny-qwen");
    let blobs = repo.join("blobs");
    hf_folder(&blobs.join("tmp"));
    for (blob, file) in [("b1", "config.json"), ("b2", "model.safetensors"), ("b3", "tokenizer_config.json")] {
        std::fs::rename(blobs.join("tmp").join(file), blobs.join(blob)).unwrap();
    }
    let snap = repo.join("snapshots/rev123");
    std::fs::create_dir_all(&snap).unwrap();
    for (blob, file) in [("b1", "config.json"), ("b2", "model.safetensors"), ("b3", "tokenizer_config.json")] {
        symlink(Path::new("../../blobs").join(blob), snap.join(file)).unwrap();
    }
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), "rev123").unwrap();
    let grepo = hub.join("models--acme--small-GGUF");
    small_gguf(&grepo.join("blobs/g1"), "gemma3", true);
    std::fs::create_dir_all(grepo.join("snapshots/r1")).unwrap();
    symlink("../../blobs/g1", grepo.join("snapshots/r1/small-q4_k_m.gguf")).unwrap();
    std::fs::create_dir_all(grepo.join("refs")).unwrap();
    std::fs::write(grepo.join("refs/main"), "r1\n").unwrap();

    // Ollama: a manifest whose model layer names a GGUF blob.
    let ollama = root.join("ollama");
    let digest = "a".repeat(64);
    small_gguf(&ollama.join(format!("blobs/sha256-{digest}")), "llama", true);
    let manifest_dir = ollama.join("manifests/registry.ollama.ai/library/tinyllama");
    std::fs::create_dir_all(&manifest_dir).unwrap();
    std::fs::write(
        manifest_dir.join("latest"),
        format!(r#"{{"schemaVersion":2,"layers":[{{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:{digest}","size":1}},{{"mediaType":"application/vnd.ollama.image.template","digest":"sha256:bbb","size":1}}]}}"#),
    )
    .unwrap();
    let other = ollama.join("manifests/registry.ollama.ai/someone/custom");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("v1"), r#"{"layers":[{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:missing"}]}"#)
        .unwrap();

    // LM Studio and llama.cpp's cache: plain GGUF folders.
    small_gguf(&home.join(".lmstudio/models/pub/studio-model/studio-q8_0.gguf"), "llama", false);
    let llama_cache = root.join("llama-cache");
    small_gguf(&llama_cache.join("org_repo_cached.gguf"), "qwen3", false);

    let out = sb
        .command()
        .env("HF_HUB_CACHE", &hub)
        .env("OLLAMA_MODELS", &ollama)
        .env("LLAMA_CACHE", &llama_cache)
        .args(["list", "--json"])
        .arg(&folder)
        .arg(&again)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("valid JSON");
    let models = by_name(&json);
    let names: Vec<&String> = models.keys().collect();

    let alpha = &models["alpha"];
    assert_eq!(alpha["format"], "gguf");
    assert_eq!(alpha["architecture"], "llama");
    assert_eq!(alpha["quantization"], "Q4_K_M");
    assert_eq!(alpha["context_length"], 8192);
    assert_eq!(alpha["chat_template"], true);
    assert_eq!(alpha["parameters"], 48);
    assert_eq!(alpha["source"], "cli");
    assert!(alpha["engines"].as_array().unwrap().iter().any(|e| e == "llama"));
    assert!(!models.contains_key("alpha-link"), "a second path to the same file is a duplicate: {names:?}");

    let big = &models["big"];
    assert_eq!(big["files"].as_array().unwrap().len(), 2);
    assert!(big["error"].is_null());
    assert!(models["half"]["error"].as_str().unwrap().contains("1 of 3 parts"));
    assert!(!names.iter().any(|n| n.contains("mmproj")), "projectors are skipped: {names:?}");
    assert!(models["wrongmagic"]["error"].as_str().unwrap().contains("invalid magic"));
    assert!(models["empty"]["error"].as_str().unwrap().contains("empty"));
    assert!(models["truncated"]["error"].as_str().unwrap().contains("truncated GGUF"));
    assert!(!names.iter().any(|n| n.contains("notes")));

    let tq = &models["tiny-qwen"];
    assert_eq!(tq["format"], "safetensors");
    assert_eq!(tq["architecture"], "qwen2");
    assert_eq!(tq["quantization"], "bfloat16");
    assert_eq!(tq["parameters"], 128);
    assert_eq!(tq["context_length"], 32768);
    assert_eq!(tq["chat_template"], true);

    let hf = &models["acme/tiny-qwen"];
    assert_eq!(hf["source"], "hf-cache");
    assert_eq!(hf["parameters"], 128);
    assert!(hf["path"].as_str().unwrap().ends_with("snapshots/rev123"));
    let hg = &models["acme/small-GGUF"];
    assert_eq!(hg["architecture"], "gemma3");
    assert_eq!(hg["source"], "hf-cache");

    let ol = &models["tinyllama:latest"];
    assert_eq!(ol["source"], "ollama");
    assert_eq!(ol["architecture"], "llama");
    assert!(ol["path"].as_str().unwrap().contains("blobs/sha256-"));
    assert!(models["someone/custom:v1"]["error"].as_str().unwrap().contains("missing"));

    assert_eq!(models["studio-q8_0"]["source"], "lm-studio");
    assert_eq!(models["org_repo_cached"]["source"], "llama-cache");
}

#[test]
fn depth_and_entry_limits_bound_the_scan() {
    let sb = Sandbox::new();
    let deep = sb.path().join("d/1/2/3/4/5");
    small_gguf(&deep.join("deep.gguf"), "llama", false);
    let cfg = sb.path().join("c.toml");
    std::fs::write(&cfg, "[models]\nmax_depth = 2\n").unwrap();
    let out = sb.run(&["--config", cfg.to_str().unwrap(), "list", "--json", sb.path().join("d").to_str().unwrap()]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(json.as_array().unwrap().is_empty());
    // Not silently: the list says deeper folders were not searched, and how to.
    let out = sb.run(&["--config", cfg.to_str().unwrap(), "list", sb.path().join("d").to_str().unwrap()]);
    let text = stdout(&out);
    assert!(text.contains("folders deeper than 2 levels were not searched") && text.contains("max_depth"), "{text}");

    std::fs::write(&cfg, "[models]\nmax_depth = 8\n").unwrap();
    let out = sb.run(&["--config", cfg.to_str().unwrap(), "list", "--json", sb.path().join("d").to_str().unwrap()]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 1);

    let many = sb.path().join("many");
    for i in 0..50 {
        std::fs::create_dir_all(many.join(format!("dir{i:02}"))).unwrap();
    }
    small_gguf(&many.join("dir49/late.gguf"), "llama", false);
    std::fs::write(&cfg, "[models]\nmax_entries = 10\n").unwrap();
    let out = sb.run(&["--config", cfg.to_str().unwrap(), "doctor", many.to_str().unwrap()]);
    assert!(stdout(&out).contains("stopped after 10 entries"), "{}", stdout(&out));
}

#[test]
fn demo_model_metadata_comes_from_the_file() {
    let demo = common::demo_model();
    let sb = Sandbox::new();
    let out = sb.run(&["list", "--json", demo.to_str().unwrap()]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let m = &by_name(&json)["gemma-3-270m-q4_k_m"];
    assert_eq!(m["architecture"], "gemma3");
    assert_eq!(m["context_length"], 32768);
    assert_eq!(m["quantization"], "Q4_K_M");
    assert_eq!(m["size_bytes"], 253_113_024u64);
    assert_eq!(m["format"], "gguf");
    assert!(m["error"].is_null());
    let params = m["parameters"].as_u64().unwrap();
    assert!((250_000_000..300_000_000).contains(&params), "{params}");

    // The table names the same facts.
    let out = sb.run(&["list", demo.to_str().unwrap()]);
    let table = stdout(&out);
    assert!(table.contains("gemma-3-270m-q4_k_m") && table.contains("Q4_K_M") && table.contains("32768"), "{table}");
}

#[test]
fn doctor_tells_the_truth() {
    let sb = Sandbox::new();
    let out = sb.run(&["doctor"]);
    assert!(out.status.success());
    let text = stdout(&out);
    let cores = std::thread::available_parallelism().unwrap().get();
    assert!(text.contains(&format!("{cores} logical")), "{text}");
    assert!(text.contains("llama-cpp-2 0.1.160"), "{text}");
    assert!(text.contains("not present: built-in defaults"), "{text}");
    assert!(text.contains(&sb.home().join(".local/state/versus/versus.log").display().to_string()), "{text}");
    assert!(text.contains("hf-cache"), "{text}");
}

/// libgomp reads OMP_WAIT_POLICY before main, so a policy from the config
/// takes a re-exec; the environment wins over the config.
#[test]
fn omp_wait_policy_comes_from_config_or_environment() {
    let sb = Sandbox::new();
    let doctor = |env: Option<&str>, config: Option<&str>| {
        let mut cmd = sb.command();
        cmd.env_remove("OMP_WAIT_POLICY");
        if let Some(v) = env {
            cmd.env("OMP_WAIT_POLICY", v);
        }
        if let Some(policy) = config {
            let cfg = sb.path().join(format!("{policy}.toml"));
            std::fs::write(&cfg, format!("[cpu]\nomp_wait_policy = \"{policy}\"\n")).unwrap();
            cmd.arg("--config").arg(cfg);
        }
        let out = cmd.arg("doctor").output().expect("run versus");
        assert!(out.status.success(), "{}", common::stderr(&out));
        let text = stdout(&out);
        text.lines().find(|l| l.trim_start().starts_with("omp wait")).unwrap_or_default().to_string()
    };
    assert!(doctor(None, None).contains("default: spin briefly, then sleep"));
    assert!(doctor(None, Some("passive")).contains("passive (cpu.omp_wait_policy)"));
    assert!(doctor(Some("ACTIVE"), Some("passive")).contains("active (OMP_WAIT_POLICY in the environment)"));
    let cfg = sb.path().join("bad.toml");
    std::fs::write(&cfg, "[cpu]\nomp_wait_policy = \"lazy\"\n").unwrap();
    let out = sb.run(&["--config", cfg.to_str().unwrap(), "list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(common::stderr(&out).contains("bad.toml:2: cpu.omp_wait_policy: unknown variant `lazy`"), "{}", common::stderr(&out));
}

#[test]
fn empty_machine_explains_where_models_go() {
    let sb = Sandbox::new();
    let out = sb.run(&["list"]);
    let text = stdout(&out);
    assert!(text.contains("No models found") && text.contains("scripts/fetch-demo-model.sh"), "{text}");
}

#[test]
fn bad_config_is_a_usage_error_with_a_location() {
    let sb = Sandbox::new();
    let cfg = sb.path().join("config.toml");
    std::fs::write(&cfg, "[generation]\n\ntemprature = 0.5\n").unwrap();
    let out = sb.run(&["--config", cfg.to_str().unwrap(), "list"]);
    assert_eq!(out.status.code(), Some(2));
    let err = common::stderr(&out);
    assert!(err.contains("config.toml:3: unknown key `generation.temprature`, did you mean `temperature`?"), "{err}");
}
