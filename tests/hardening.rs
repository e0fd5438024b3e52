//! Hostile inputs (issue 17, first part): special files where models,
//! configs and prompts are read, GGUF metadata nested to overflow the
//! stack, and budgets that would wrap. Each must end quickly with a message
//! that names the file, and never hang or crash.

mod common;

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::{Sandbox, stderr, stdout};

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo on a path in the test's own temporary folder.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo {}", path.display());
}

/// Run versus, killing it after 30 s: a hang is a failure, not a stuck test.
fn bounded(sb: &Sandbox, args: &[&str]) -> Output {
    let mut child = sb.command().args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("versus {args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

#[test]
fn fifos_where_files_are_read_are_refused_without_hanging() {
    let sb = Sandbox::new();
    let models = sb.path().join("models");
    std::fs::create_dir_all(models.join("hf")).unwrap();
    mkfifo(&models.join("x.gguf"));
    mkfifo(&models.join("hf/config.json"));
    std::fs::write(models.join("hf/model.safetensors"), b"").unwrap();
    let out = bounded(&sb, &["list", models.to_str().unwrap()]);
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(all.contains("x.gguf") && all.contains("FIFO"), "names the file and what it is: {all}");

    let prompt = sb.path().join("prompt.txt");
    mkfifo(&prompt);
    let out = bounded(&sb, &["run", "-m", "whatever", "--prompt-file", prompt.to_str().unwrap()]);
    assert!(matches!(out.status.code(), Some(1 | 2)), "{}", stderr(&out));
    assert!(stderr(&out).contains("prompt.txt") && stderr(&out).contains("FIFO"), "{}", stderr(&out));

    let config = sb.home().join(".config/versus");
    std::fs::create_dir_all(&config).unwrap();
    mkfifo(&config.join("config.toml"));
    let out = bounded(&sb, &["doctor"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("config.toml") && stderr(&out).contains("FIFO"), "{}", stderr(&out));
}

/// A GGUF header whose one metadata value is an array of arrays `depth` deep.
fn nested_gguf(path: &Path, depth: usize) {
    let mut b = Vec::with_capacity(depth * 12 + 64);
    b.extend_from_slice(b"GGUF");
    b.extend_from_slice(&3u32.to_le_bytes());
    b.extend_from_slice(&0u64.to_le_bytes()); // tensors
    b.extend_from_slice(&1u64.to_le_bytes()); // metadata entries
    let key = b"general.nested";
    b.extend_from_slice(&(key.len() as u64).to_le_bytes());
    b.extend_from_slice(key);
    b.extend_from_slice(&9u32.to_le_bytes());
    for _ in 0..depth {
        b.extend_from_slice(&9u32.to_le_bytes());
        b.extend_from_slice(&1u64.to_le_bytes());
    }
    b.extend_from_slice(&4u32.to_le_bytes());
    b.extend_from_slice(&1u64.to_le_bytes());
    b.extend_from_slice(&7u32.to_le_bytes());
    std::fs::write(path, b).unwrap();
}

#[test]
fn deeply_nested_gguf_metadata_is_corrupt_not_a_crash() {
    let sb = Sandbox::new();
    let models = sb.path().join("models");
    std::fs::create_dir_all(&models).unwrap();
    nested_gguf(&models.join("deep.gguf"), 1_000_000);
    let out = bounded(&sb, &["list", models.to_str().unwrap()]);
    assert!(out.status.code().is_some(), "no crash: {out:?}");
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(all.contains("deep") && all.contains("nested more than 8 deep"), "{all}");
    // A shallow nesting is read as usual.
    let h = versus::catalog::gguf::Header::read(
        &{
            let p = models.join("shallow.gguf");
            nested_gguf(&p, 3);
            p
        },
        versus::catalog::gguf::Arrays::Keep,
    );
    assert!(h.is_ok(), "{h:?}");
}

#[test]
fn a_memory_budget_that_would_wrap_is_refused_with_its_place() {
    let sb = Sandbox::new();
    let config = sb.home().join(".config/versus");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("config.toml"), "[memory]\nlimit_mib = 17592186044416\n").unwrap();
    let out = bounded(&sb, &["doctor"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("memory.limit_mib") && stderr(&out).contains("config.toml:2"), "{}", stderr(&out));
}
