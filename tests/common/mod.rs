//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};

/// The demo model. Tests that need it fail loudly when it is missing rather
/// than skipping: the README's test command fetches it first.
pub fn demo_model() -> PathBuf {
    let path = std::env::var_os("VERSUS_DEMO_MODEL").map(PathBuf::from).unwrap_or_else(|| {
        let data = std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".local/share"));
        data.join("versus/models/gemma-3-270m-q4_k_m.gguf")
    });
    assert!(path.is_file(), "demo model not found at {}: run scripts/fetch-demo-model.sh (scripts/test.sh does)", path.display());
    path
}

/// The second demo model, SmolLM2 135M Instruct (a chat template, a
/// byte-level BPE vocabulary), installed beside the first.
pub fn demo_chat_model() -> PathBuf {
    let path = std::env::var_os("VERSUS_DEMO_CHAT_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| demo_model().with_file_name("SmolLM2-135M-Instruct.Q4_1.gguf"));
    assert!(path.is_file(), "demo chat model not found at {}: run scripts/fetch-demo-model.sh (scripts/test.sh does)", path.display());
    path
}

/// Real-model tests load a model each; running them one at a time keeps
/// them from fighting over the CPU (and over memory readings).
pub fn model_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// An isolated home for the binary: config, data, state and stores all
/// inside `root`, so the user's own files never leak into a test.
pub struct Sandbox {
    pub root: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox { root: tempfile::tempdir().expect("tempdir") }
    }

    pub fn path(&self) -> &Path {
        self.root.path()
    }

    pub fn home(&self) -> PathBuf {
        self.path().join("home")
    }

    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_versus"));
        let home = self.home();
        std::fs::create_dir_all(&home).expect("home");
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_STATE_HOME", home.join(".local/state"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            // Tests run side by side on few cores: sleeping OpenMP threads
            // are steadier there than spinning ones.
            .env("OMP_WAIT_POLICY", "passive")
            .env("GGML_NO_BACKTRACE", "1");
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("run versus")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.home().join(".local/state/versus/versus.log")).unwrap_or_default()
    }
}

/// How the history records a llama.cpp model `name` whose file has this
/// fingerprint (votes and leaderboards key models by it).
pub fn record(name: &str, fingerprint: &str) -> versus::store::ModelRecord {
    versus::store::ModelRecord {
        name: name.into(),
        path: format!("/m/{name}.gguf"),
        format: "gguf".into(),
        engine: "llama".into(),
        fingerprint: fingerprint.into(),
        ..Default::default()
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The `summary` events of `versus run --json` output.
pub fn summaries(out: &str) -> Vec<serde_json::Value> {
    out.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()).filter(|v| v["event"] == "summary").collect()
}

/// Wait for `child`, killing it after 30 s: a hang is a failure, not a
/// stuck test. Its output is read only at the end, so it must stay under a
/// pipe's 64 KiB.
pub fn finish_within_30s(mut child: std::process::Child, what: &str) -> Output {
    let start = std::time::Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > std::time::Duration::from_secs(30) {
            let _ = child.kill();
            panic!("{what} hung");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub mod pty;
pub mod ui;

impl Sandbox {
    /// The binary in a pseudo-terminal, with this sandbox's environment.
    pub fn pty(&self, args: &[&str], cols: u16, rows: u16) -> pty::Pty {
        let mut cmd = portable_pty::CommandBuilder::new(env!("CARGO_BIN_EXE_versus"));
        cmd.args(args);
        self.pty_with(cmd, &[], cols, rows)
    }

    /// `cmd` in a pseudo-terminal, with this sandbox's environment and `env`.
    pub fn pty_with(&self, mut cmd: portable_pty::CommandBuilder, env: &[(&str, &str)], cols: u16, rows: u16) -> pty::Pty {
        cmd.env_clear();
        for (k, v) in env {
            cmd.env(k, v);
        }
        let home = self.home();
        std::fs::create_dir_all(&home).expect("home");
        for (k, v) in [
            ("HOME", home.clone()),
            ("XDG_CONFIG_HOME", home.join(".config")),
            ("XDG_DATA_HOME", home.join(".local/share")),
            ("XDG_STATE_HOME", home.join(".local/state")),
            ("XDG_CACHE_HOME", home.join(".cache")),
        ] {
            cmd.env(k, v);
        }
        cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default());
        cmd.env("TERM", "xterm-256color");
        cmd.env("LANG", "C.UTF-8");
        pty::Pty::spawn(cmd, cols, rows)
    }
}
pub mod server;

/// Run `entries` on `prompt` in a fresh engine until the run is done;
/// `cancel_when` sees every event and sets the run's cancel flag by
/// answering true.
pub fn run_engine(
    entries: Vec<versus::engine::RunEntry>,
    prompt: &str,
    mem: versus::engine::runtime::memory::MemoryConfig,
    mut cancel_when: impl FnMut(&versus::engine::EventKind) -> bool,
) -> Vec<versus::engine::EngineEvent> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let engine = versus::engine::Engine::start(tx, mem).expect("engine");
    let cancel = std::sync::Arc::new(AtomicBool::new(false));
    engine.submit(versus::engine::RunRequest::new(7, vec![prompt.into()], entries, cancel.clone()));
    let mut events = Vec::new();
    while let Some(ev) = rx.blocking_recv() {
        if cancel_when(&ev.kind) {
            cancel.store(true, Ordering::SeqCst);
        }
        let done = matches!(ev.kind, versus::engine::EventKind::RunDone);
        events.push(ev);
        if done {
            break;
        }
    }
    events
}

/// A copy of a real GGUF whose vocabulary names one token twice (a later
/// token's text overwritten with an earlier one of the same length): the
/// file reads fine, and llama.cpp's loader asserts on it and aborts the
/// process (`id_to_token.size() == token_to_id.size()`).
pub fn gguf_with_a_duplicate_token(src: &Path, dst: &Path) {
    let mut b = std::fs::read(src).expect("the model");
    let u64_at = |b: &[u8], p: usize| u64::from_le_bytes(b[p..p + 8].try_into().unwrap()) as usize;
    let u32_at = |b: &[u8], p: usize| u32::from_le_bytes(b[p..p + 4].try_into().unwrap());
    fn skip(b: &[u8], p: usize, ty: u32, u64_at: &dyn Fn(&[u8], usize) -> usize, u32_at: &dyn Fn(&[u8], usize) -> u32) -> usize {
        match ty {
            0 | 1 | 7 => p + 1,
            2 | 3 => p + 2,
            4..=6 => p + 4,
            10..=12 => p + 8,
            8 => p + 8 + u64_at(b, p),
            9 => {
                let (elem, n) = (u32_at(b, p), u64_at(b, p + 4));
                (0..n).fold(p + 12, |q, _| skip(b, q, elem, u64_at, u32_at))
            }
            t => panic!("type {t}"),
        }
    }
    let n_kv = u64_at(&b, 16);
    let mut p = 24;
    for _ in 0..n_kv {
        let klen = u64_at(&b, p);
        let key = String::from_utf8_lossy(&b[p + 8..p + 8 + klen]).into_owned();
        let ty = u32_at(&b, p + 8 + klen);
        let v = p + 8 + klen + 4;
        if key == "tokenizer.ggml.tokens" {
            let n = u64_at(&b, v + 4);
            let mut q = v + 12;
            let mut tokens = Vec::new();
            for _ in 0..n.min(2000) {
                let len = u64_at(&b, q);
                tokens.push((q + 8, len));
                q += 8 + len;
            }
            let (i, j) = (0..tokens.len())
                .flat_map(|i| (i + 1..tokens.len()).map(move |j| (i, j)))
                .find(|&(i, j)| tokens[i].1 == tokens[j].1 && tokens[i].1 >= 3 && i >= 300)
                .expect("two tokens of one length");
            let (from, len) = tokens[i];
            let to = tokens[j].0;
            let text = b[from..from + len].to_vec();
            b[to..to + len].copy_from_slice(&text);
            std::fs::write(dst, &b).expect("write the copy");
            return;
        }
        p = skip(&b, v, ty, &u64_at, &u32_at);
    }
    panic!("no tokenizer.ggml.tokens in {}", src.display());
}
