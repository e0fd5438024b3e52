//! Sessions: every run saved as it streams, surviving `kill -9`; history
//! commands and exports; batch runs with resume; a store that cannot be
//! written.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Sandbox, stderr, stdout};
use versus::engine::protocol::answer::Status;
use versus::engine::{Stats, StopReason};
use versus::params::Settings;
use versus::store::{ModelRecord, RunState, Store, StoredOutput, StoredRun};

fn db(sb: &Sandbox) -> std::path::PathBuf {
    sb.home().join(".local/share/versus/history.sqlite3")
}

fn integrity_ok(path: &std::path::Path) -> bool {
    let conn = rusqlite::Connection::open(path).unwrap();
    let r: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    r == "ok"
}

#[test]
fn kill_9_mid_stream_keeps_the_text_up_to_a_second_before() {
    let _g = common::model_lock();
    let demo = common::demo_model();
    let sb = Sandbox::new();
    let mut child = sb
        .command()
        .args([
            "run",
            "--json",
            "-m",
            demo.to_str().unwrap(),
            "-p",
            "Write a long story about a lighthouse keeper.",
            "--max-tokens",
            "2000",
            "--temperature",
            "0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let reader = BufReader::new(child.stdout.take().unwrap());
    let mut streamed: Vec<(Instant, String)> = Vec::new();
    let mut first: Option<Instant> = None;
    for line in reader.lines() {
        let line = line.unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        if v["event"] == "token" {
            let now = Instant::now();
            first.get_or_insert(now);
            streamed.push((now, v["text"].as_str().unwrap().to_string()));
            if now.duration_since(first.unwrap()) > Duration::from_secs(3) {
                break;
            }
        }
    }
    let killed_at = Instant::now();
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let _ = child.wait();

    assert!(integrity_ok(&db(&sb)), "the store survives kill -9");
    let store = Store::open(&db(&sb)).unwrap();
    let list = store.list(10).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].state, RunState::Interrupted);
    let run = store.get(list[0].id).unwrap().unwrap();
    let saved = &run.outputs[0].text;
    let all: String = streamed.iter().map(|(_, t)| t.as_str()).collect();
    let due: String =
        streamed.iter().filter(|(t, _)| killed_at.duration_since(*t) > Duration::from_millis(1500)).map(|(_, t)| t.as_str()).collect();
    assert!(all.starts_with(saved.as_str()) || saved.starts_with(all.as_str()), "saved text is the streamed text");
    assert!(
        saved.len() >= due.len(),
        "at most ~1 s was lost: saved {} bytes, {} were streamed 1.5 s before the kill",
        saved.len(),
        due.len()
    );
    assert!(!saved.is_empty());

    // `history list --json` tells the same.
    let out = sb.run(&["history", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v[0]["state"], "interrupted");
    assert!(v[0]["id"].is_i64());
}

#[test]
fn sigterm_saves_the_run_as_interrupted_and_exits_0() {
    let _g = common::model_lock();
    let demo = common::demo_model();
    let sb = Sandbox::new();
    let mut child = sb
        .command()
        .args(["run", "--json", "-m", demo.to_str().unwrap(), "-p", "Tell me a long story.", "--max-tokens", "2000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut tokens = 0;
    let mut line = String::new();
    while tokens < 5 && reader.read_line(&mut line).unwrap() > 0 {
        if line.contains("\"event\":\"token\"") {
            tokens += 1;
        }
        line.clear();
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut reader, &mut rest);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143), "cut short by SIGTERM");
    let store = Store::open(&db(&sb)).unwrap();
    let run = store.get(store.list(1).unwrap()[0].id).unwrap().unwrap();
    assert_eq!(run.state, RunState::Interrupted);
    assert!(!run.outputs[0].text.is_empty());
    assert!(integrity_ok(&db(&sb)));
}

fn sample() -> StoredRun {
    let mut settings = Settings::default();
    settings.set("temperature", "0").unwrap();
    settings.set("seed", "42").unwrap();
    let stats = Stats {
        load_ms: 512.5,
        prompt_tokens: 6,
        prompt_ms: 30.0,
        prompt_tps: 200.0,
        ttft_ms: Some(41.2),
        generated_tokens: 12,
        decode_ms: 400.0,
        decode_tps: 27.5,
        total_ms: 950.0,
        peak_rss_bytes: 398 << 20,
        rss_before_bytes: 12 << 20,
        rss_after_bytes: 12 << 20,
        stop_reason: Some(StopReason::MaxTokens),
        seed: Some(42),
        rendered_prompt: "The capital of France is".into(),
        ..Default::default()
    };
    let model = ModelRecord {
        name: "gemma-3-270m-q4_k_m".into(),
        path: "/models/gemma-3-270m-q4_k_m.gguf".into(),
        format: "gguf".into(),
        engine: "llama".into(),
        size_bytes: 253_113_024,
        architecture: Some("gemma3".into()),
        quantization: Some("Q4_K_M".into()),
        fingerprint: "ab12".into(),
    };
    StoredRun {
        id: 7,
        started_at: "2026-11-26T10:17:00Z".into(),
        finished_at: Some("2026-11-26T10:17:03Z".into()),
        state: RunState::Failed,
        prompt: "The capital of France is".into(),
        system_prompt: "Answer briefly.".into(),
        version: "0.1.0".into(),
        host: "box".into(),
        device: "cpu".into(),
        batch: None,
        outputs: vec![
            StoredOutput {
                slot: 0,
                label: "gemma-3-270m-q4_k_m".into(),
                model: model.clone(),
                settings: Some(settings.clone()),
                rendered_prompt: "The capital of France is".into(),
                text: " Paris, a city of \"light\", art and ```code```,\nand more.".into(),
                thinking: "France's capital:\nParis, of course.".into(),
                status: Status::Finished,
                error: None,
                stats: Some(stats),
                samples: Vec::new(),
            },
            StoredOutput {
                slot: 1,
                label: "big-model".into(),
                model: ModelRecord { name: "big-model".into(), engine: "candle".into(), ..model },
                settings: Some(settings),
                rendered_prompt: String::new(),
                text: String::new(),
                thinking: String::new(),
                status: Status::Failed,
                error: Some("big-model needs ~9.0 GiB of RAM but 4.0 GiB is available; lower the context size".into()),
                stats: None,
                samples: Vec::new(),
            },
        ],
        problems: Vec::new(),
        votes: vec![versus::store::votes::Vote {
            id: 1,
            run_id: 7,
            prompt: 0,
            sample: 0,
            created_at: "2026-11-26T10:18:00Z".into(),
            voter: "human".into(),
            tiers: vec![vec![0], vec![1]],
            all_bad: false,
            detail: None,
        }],
        turns: Vec::new(),
    }
}

#[test]
fn exports_match_their_golden_files_and_json_round_trips() {
    use versus::store::export::{Format, render};
    let run = sample();
    for f in [Format::Md, Format::Json, Format::Csv, Format::Txt] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/export.{}", f.extension()));
        let got = render(&run, f);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &got).unwrap();
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(got, want, "{} differs from {} (UPDATE_GOLDEN=1 rewrites it)", f.extension(), path.display());
    }
    let back: StoredRun = serde_json::from_str(&render(&run, Format::Json)).unwrap();
    assert_eq!(back, run);
}

#[test]
fn history_commands_list_show_export_and_remove() {
    let _g = common::model_lock();
    let demo = common::demo_model();
    let sb = Sandbox::new();
    let d = demo.to_str().unwrap();
    let out = sb.run(&["run", "-m", d, "-m", &format!("{d},temperature=1.1,seed=3"), "-p", "Hello there", "--max-tokens", "4"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = sb.run(&["history", "list"]);
    let table = stdout(&out);
    assert!(table.contains("complete") && table.contains("Hello there") && table.contains("temperature=1.1"), "{table}");
    let list: serde_json::Value = serde_json::from_str(&stdout(&sb.run(&["history", "list", "--json"]))).unwrap();
    let id = list[0]["id"].as_i64().unwrap().to_string();
    assert_eq!(list[0]["state"], "complete");

    let shown = stdout(&sb.run(&["history", "show", &id]));
    assert!(shown.contains("Prompt: Hello there") && shown.contains("tok/s"), "{shown}");
    for (fmt, needle) in
        [("md", "## 1. gemma-3-270m-q4_k_m"), ("json", "\"outputs\""), ("csv", "run,started_at,prompt"), ("txt", "Comparison #")]
    {
        let file = sb.path().join(format!("out.{fmt}"));
        let out = sb.run(&["history", "export", &id, "--format", fmt, "-o", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0));
        assert!(std::fs::read_to_string(&file).unwrap().contains(needle), "{fmt}");
    }
    let json: StoredRun = serde_json::from_str(&stdout(&sb.run(&["history", "export", &id, "--format", "json"]))).unwrap();
    assert_eq!(json.outputs.len(), 2);
    assert_eq!(json.outputs[1].settings.as_ref().map(|s| s.generation.seed).flatten(), Some(3));
    assert_eq!(json.outputs[0].model.size_bytes, 253_113_024);
    assert_eq!(json.outputs[0].model.fingerprint.len(), 64);

    assert_eq!(sb.run(&["history", "rm", &id]).status.code(), Some(0));
    assert_eq!(sb.run(&["history", "show", &id]).status.code(), Some(2));
}

#[test]
fn batch_loads_each_model_once_and_resume_runs_only_the_missing_pairs() {
    let _g = common::model_lock();
    let demo = common::demo_model();
    let d = demo.to_str().unwrap();

    // Library level: two prompts × two settings → exactly two loads.
    let model = versus::catalog::describe_path(&demo).unwrap();
    let mut entries = Vec::new();
    for t in ["0", "1.0"] {
        let mut s = versus::config::Config::defaults().settings_for(&model.name);
        s.set("temperature", t).unwrap();
        s.set("max_tokens", "3").unwrap();
        entries.push(versus::engine::RunEntry {
            label: format!("t={t}"),
            model: model.clone(),
            engine: versus::engine::EngineKind::Llama,
            settings: s,
            prompts: None,
            endpoint: None,
            history: Vec::new(),
        });
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let engine = versus::engine::Engine::start(tx, versus::config::Config::defaults().memory).unwrap();
    let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    engine.submit(versus::engine::RunRequest::new(1, vec!["One".into(), "Two".into()], entries, cancel));
    let mut loads = 0;
    let mut finished = std::collections::HashSet::new();
    while let Some(ev) = rx.blocking_recv() {
        match ev.kind {
            versus::engine::EventKind::Loading => loads += 1,
            versus::engine::EventKind::Finished { .. } => {
                finished.insert((ev.slot, ev.prompt));
            }
            versus::engine::EventKind::RunDone => break,
            _ => {}
        }
    }
    assert_eq!(loads, 2, "each model is loaded once for all prompts");
    assert_eq!(finished.len(), 4);

    // Through the binary: results file, then resume after losing two lines.
    let sb = Sandbox::new();
    let prompts = sb.path().join("prompts.jsonl");
    std::fs::write(&prompts, "{\"prompt\": \"One\"}\n{\"prompt\": \"Two\"}\n").unwrap();
    let results = sb.path().join("results.jsonl");
    let args = |resume: bool| {
        let mut a = vec![
            "run".to_string(),
            "--prompts".into(),
            prompts.display().to_string(),
            "--out".into(),
            results.display().to_string(),
            "-m".into(),
            format!("{d},temperature=0"),
            "-m".into(),
            format!("{d},temperature=1.0,seed=5"),
            "--max-tokens".into(),
            "3".into(),
        ];
        if resume {
            a.push("--resume".into());
        }
        a
    };
    let run = |resume: bool| sb.command().args(args(resume)).output().unwrap();
    let out = run(false);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> =
        std::fs::read_to_string(&results).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4);
    assert!(lines.iter().all(|l| l["status"] == "finished" && l["stats"]["generated_tokens"] == 3));
    let order: Vec<(i64, i64)> =
        lines.iter().map(|l| (l["model"]["index"].as_i64().unwrap(), l["prompt_index"].as_i64().unwrap())).collect();
    assert_eq!(order, vec![(0, 0), (0, 1), (1, 0), (1, 1)], "all prompts of a model before the next model");

    // Pretend the run was interrupted after two pairs.
    let kept: Vec<String> = std::fs::read_to_string(&results).unwrap().lines().take(2).map(str::to_string).collect();
    std::fs::write(&results, kept.join("\n") + "\n").unwrap();
    let out = run(true);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> =
        std::fs::read_to_string(&results).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4, "only the missing pairs ran");
    let pairs: std::collections::HashSet<(i64, i64)> =
        lines.iter().map(|l| (l["model"]["index"].as_i64().unwrap(), l["prompt_index"].as_i64().unwrap())).collect();
    assert_eq!(pairs.len(), 4);
    let out = run(true);
    assert!(stderr(&out).contains("nothing to do"));

    let list: serde_json::Value = serde_json::from_str(&stdout(&sb.run(&["history", "list", "--json"]))).unwrap();
    assert!(list.as_array().unwrap().len() >= 4, "batch runs are in the history too");
}

#[test]
fn an_unwritable_data_dir_warns_and_everything_else_works() {
    let _g = common::model_lock();
    let demo = common::demo_model();
    let sb = Sandbox::new();
    // A data dir below a regular file cannot be created, even by root
    // (for whom permission bits are no obstacle).
    let blocker = sb.path().join("not-a-dir");
    std::fs::write(&blocker, "x").unwrap();
    let out = sb
        .command()
        .env("VERSUS_DATA_DIR", blocker.join("versus"))
        .args(["run", "-m", demo.to_str().unwrap(), "-p", "Hi", "--max-tokens", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("history is off for this run"), "{}", stderr(&out));
    assert!(stdout(&out).contains("tok/s"));

    // The TUI says so in its status line and works.
    let mut cmd = portable_pty::CommandBuilder::new(env!("CARGO_BIN_EXE_versus"));
    cmd.arg(demo.to_str().unwrap());
    cmd.env("HOME", sb.home());
    cmd.env("VERSUS_DATA_DIR", blocker.join("versus"));
    cmd.env("TERM", "xterm-256color");
    let mut t = common::pty::Pty::spawn(cmd, 120, 30);
    t.wait_for("the warning", Duration::from_secs(20), |s| s.contains("history is off"));
    t.send("\x03");
    assert_eq!(t.wait_exit(Duration::from_secs(10)), Some(0));
}

#[test]
fn two_processes_share_the_store() {
    let _g = common::model_lock();
    let demo = common::demo_model();
    let sb = Sandbox::new();
    let d = demo.to_str().unwrap();
    let spawn = |p: &str| {
        sb.command()
            .args(["run", "-m", d, "-p", p, "--max-tokens", "8", "--threads", "1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let (mut a, mut b) = (spawn("First"), spawn("Second"));
    assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
    let store = Store::open(&db(&sb)).unwrap();
    let list = store.list(10).unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|r| r.state == RunState::Complete));
    assert!(integrity_ok(&db(&sb)));
}
