//! Discovery over a generated tree of 10,000 files (1,000 GGUF files, 20
//! Hugging Face folders, the rest other files), as `versus list` scans it.
//! Prints a Markdown section for docs/performance.md.

use std::time::Instant;

use versus::catalog::gguf::write::{W, write_gguf};

fn main() {
    let root = tempfile::tempdir().expect("tempdir");
    let mut files = 0usize;
    for d in 0..100 {
        let dir = root.path().join(format!("org{:02}/models/dir{d:03}", d % 10));
        std::fs::create_dir_all(&dir).expect("dir");
        for f in 0..100 {
            if f % 10 == 0 {
                write_gguf(
                    &dir.join(format!("model-{d}-{f}.gguf")),
                    &[
                        ("general.architecture", W::Str("llama")),
                        ("general.file_type", W::U32(15)),
                        ("llama.context_length", W::U32(8192)),
                        ("llama.block_count", W::U32(32)),
                        ("tokenizer.ggml.tokens", W::StrArray(&["a"; 2000])),
                        ("tokenizer.chat_template", W::Str("{{ messages }}")),
                    ],
                    &[("token_embd.weight", &[64, 64])],
                )
                .expect("gguf");
            } else {
                std::fs::write(dir.join(format!("notes-{f}.txt")), "not a model").expect("file");
            }
            files += 1;
        }
        if d % 5 == 0 {
            let hf = dir.join("hf-model");
            std::fs::create_dir_all(&hf).expect("hf");
            std::fs::write(hf.join("config.json"), r#"{"model_type":"qwen2","num_hidden_layers":2}"#).expect("cfg");
            std::fs::write(hf.join("model.safetensors"), b"\x02\x00\x00\x00\x00\x00\x00\x00{}").expect("st");
        }
    }
    let config = versus::config::Config::defaults();
    let mut models = config.models.clone();
    models.hf_cache = false;
    models.ollama = false;
    models.lmstudio = false;
    models.llama_cache = false;
    models.data_dir = false;
    let dirs = versus::paths::Dirs::from_env();
    let mut times = Vec::new();
    let mut found = 0;
    for _ in 0..7 {
        let t = Instant::now();
        let catalog = versus::catalog::discover(&models, &dirs, &[root.path().to_path_buf()]);
        times.push(t.elapsed().as_secs_f64() * 1e3);
        found = catalog.models.len();
    }
    times.sort_by(f64::total_cmp);
    println!("## Discovery\n");
    println!("`cargo bench --bench discovery`: a generated tree of {files} files in 100 folders (1,000 GGUF files with");
    println!("a 2,000-token vocabulary each, 20 Hugging Face folders, the rest other files), scanned 7 times.\n");
    println!("| files | models found | median | fastest | slowest | target |");
    println!("|---|---|---|---|---|---|");
    println!("| {files} | {found} | {:.0} ms | {:.0} ms | {:.0} ms | well under 1 s |\n", times[3], times[0], times[6]);
}
