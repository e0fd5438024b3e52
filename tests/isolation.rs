//! Local models run in a worker process: an engine that aborts, a worker
//! killed from outside, a load that never comes back. Each costs its own
//! model's answer; the other columns, the history and the terminal stay.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::pty::*;
use common::{Sandbox, stderr, stdout};

/// The worker of versus process `parent`, from the file it leaves for
/// `versus doctor` (None until one runs).
fn worker_of(sb: &Sandbox, parent: u32) -> Option<u32> {
    let file = sb.home().join(".local/state/versus/workers").join(parent.to_string());
    std::fs::read_to_string(file).ok()?.trim().parse().ok()
}

fn alive(pid: u32) -> bool {
    // A zombie is gone for our purposes: its memory is freed.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.split(") ").nth(1).is_some_and(|r| r.starts_with('Z')))
}

fn aborting_model(sb: &Sandbox) -> std::path::PathBuf {
    let bad = sb.path().join("duplicate-token.gguf");
    common::gguf_with_a_duplicate_token(&common::demo_chat_model(), &bad);
    bad
}

#[test]
fn an_engine_that_aborts_costs_its_own_answer_in_versus_run() {
    let _g = common::model_lock();
    let sb = Sandbox::new();
    let bad = aborting_model(&sb);
    let demo = common::demo_model();
    let args = ["run", "--json", "-m", bad.to_str().unwrap(), "-m", demo.to_str().unwrap(), "-p", "Hello", "--max-tokens", "4"];
    let out = sb.run(&args);
    assert_eq!(out.status.code(), Some(1), "a model failed, the run went on: {}", stderr(&out));
    assert_eq!(stderr(&out), "", "nothing of the abort reaches the terminal");
    let summaries = common::summaries(&stdout(&out));
    assert_eq!(summaries.len(), 2, "{}", stdout(&out));
    let error = summaries[0]["error"].as_str().unwrap_or_default();
    assert!(error.starts_with("llama.cpp aborted while loading: "), "{error}");
    assert!(error.contains("GGML_ASSERT"), "the engine's own last words: {error}");
    assert_eq!(summaries[1]["status"], "finished", "the next model answered in a fresh worker");
    assert_eq!(summaries[1]["stats"]["generated_tokens"], 4);
    // The history has both answers.
    let listed = stdout(&sb.run(&["history", "list", "--json"]));
    let runs: serde_json::Value = serde_json::from_str(&listed).expect("history JSON");
    let id = runs[0]["id"].as_i64().expect("saved");
    let shown: serde_json::Value = serde_json::from_str(&stdout(&sb.run(&["history", "show", &id.to_string(), "--json"]))).unwrap();
    assert_eq!(shown["outputs"][0]["status"], "failed");
    assert_eq!(shown["outputs"][1]["status"], "finished");
    // doctor tells of the crash.
    let doctor = stdout(&sb.run(&["doctor"]));
    assert!(doctor.contains("worker") && doctor.contains("1 crash"), "{doctor}");
}

#[test]
fn an_engine_that_aborts_leaves_the_tui_and_the_terminal_intact() {
    let _g = common::model_lock();
    let sb = Sandbox::new();
    let bad = aborting_model(&sb);
    let demo = common::demo_model();
    let cfg = sb.path().join("config.toml");
    std::fs::write(&cfg, "[generation]\nmax_tokens = 12\n").unwrap();
    let args = ["--config", cfg.to_str().unwrap(), "-m", bad.to_str().unwrap(), "-m", demo.to_str().unwrap()];
    let mut t = sb.pty(&args, 120, 40);
    t.wait_for("the model list", Duration::from_secs(20), |s| s.contains("duplicate-token") && s.contains("gemma-3-270m"));
    t.send("Hello");
    t.send(F5);
    t.wait_for("both columns to end", Duration::from_secs(120), |s| s.contains("✗ failed") && s.contains("✓ done"));
    let screen = t.screen();
    assert!(screen.contains("llama.cpp aborted while loading"), "{screen}");
    t.send("\x03");
    assert_eq!(t.wait_exit(Duration::from_secs(10)), Some(0), "{}", t.screen());
    assert!(!t.parser.screen().alternate_screen());
    assert!(t.cooked());
}

#[test]
fn a_worker_killed_mid_stream_is_reported_and_the_next_model_answers() {
    let _g = common::model_lock();
    let sb = Sandbox::new();
    let (demo, chat) = (common::demo_model(), common::demo_chat_model());
    let mut child = sb
        .command()
        .args([
            "run",
            "--json",
            "-m",
            demo.to_str().unwrap(),
            "-m",
            chat.to_str().unwrap(),
            "-p",
            "Tell me a story.",
            "--max-tokens",
            "400",
        ])
        .args(["--temperature", "0.8", "--seed", "3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let parent = child.id();
    let mut lines = Vec::new();
    let mut killed = None;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        if killed.is_none() && v["event"] == "token" && v["model"]["index"] == 0 {
            let worker = worker_of(&sb, parent).expect("the worker's pid is left for doctor");
            unsafe { libc::kill(worker as i32, libc::SIGKILL) };
            killed = Some(worker);
        }
        lines.push(v);
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    assert!(killed.is_some(), "the first model streamed");
    let summaries: Vec<&serde_json::Value> = lines.iter().filter(|l| l["event"] == "summary").collect();
    let error = summaries[0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("killed (SIGKILL) while generating"), "{error}");
    let streamed: String =
        lines.iter().filter(|l| l["event"] == "token" && l["model"]["index"] == 0).map(|l| l["text"].as_str().unwrap()).collect();
    assert!(!streamed.is_empty(), "what streamed before the kill stays");
    assert_eq!(summaries[1]["status"], "finished", "{}", summaries[1]);
}

#[test]
fn esc_on_a_load_that_never_returns_ends_its_worker_and_frees_its_memory() {
    let _g = common::model_lock();
    let sb = Sandbox::new();
    let demo = common::demo_model();
    let cfg = sb.path().join("config.toml");
    std::fs::write(&cfg, "[generation]\nmax_tokens = 8\n").unwrap();
    let mut cmd = portable_pty::CommandBuilder::new(env!("CARGO_BIN_EXE_versus"));
    cmd.args(["--config", cfg.to_str().unwrap(), "-m", demo.to_str().unwrap()]);
    let mut t = sb.pty_with(cmd, &[("VERSUS_TEST_STALL_LOAD", "256")], 120, 40);
    t.wait_for("the model list", Duration::from_secs(20), |s| s.contains("gemma-3-270m"));
    let parent = t.child.process_id().expect("pid");
    t.send("Hello");
    t.send(F5);
    t.wait_for("the load", Duration::from_secs(20), |s| s.contains("loading"));
    let worker = (0..200).find_map(|_| {
        worker_of(&sb, parent).or_else(|| {
            std::thread::sleep(Duration::from_millis(50));
            None
        })
    });
    let worker = worker.expect("a worker runs the load");
    // The stalled load holds its memory until the worker is ended.
    std::thread::sleep(Duration::from_millis(500));
    let rss = |pid: u32| {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        status.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok()).unwrap_or(0)
    };
    assert!(rss(worker) > 200 * 1024, "the stalled load holds its 256 MiB: {} KiB", rss(worker));
    let pressed = Instant::now();
    t.send(ESC);
    while alive(worker) && pressed.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!alive(worker), "Esc ended the worker that did not stop");
    eprintln!("the worker was gone {:?} after Esc", pressed.elapsed());
    t.wait_for("the cancelled column", Duration::from_secs(10), |s| s.contains("cancelled"));
    t.send("\x03");
    assert_eq!(t.wait_exit(Duration::from_secs(10)), Some(0), "{}", t.screen());
    assert!(t.cooked());
}
