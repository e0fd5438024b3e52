//! `versus run` through the real binary: text and JSON output, exit codes,
//! and a quiet stderr (llama.cpp's logs go to the log file).

mod common;

use common::{Sandbox, stderr, stdout};

#[test]
fn json_mode_prints_every_event_then_summaries_and_stderr_stays_clean() {
    let _g = common::model_lock();
    let demo = common::demo_model();
    let sb = Sandbox::new();
    let d = demo.to_str().unwrap();
    let out = sb.run(&[
        "run",
        "--json",
        "-m",
        &format!("{d},temperature=0"),
        "-m",
        &format!("{d},temperature=1.1,seed=9"),
        "-p",
        "The capital of France is",
        "--max-tokens",
        "6",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "nothing may reach stderr");
    let lines: Vec<serde_json::Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect();
    for l in &lines {
        assert!(l.get("event").is_some() && l.get("run").is_some() && l.get("model").is_some(), "{l}");
    }
    let kinds: Vec<&str> = lines.iter().map(|l| l["event"].as_str().unwrap()).collect();
    for k in ["queued", "loading", "loaded", "token", "finished", "run_done", "summary"] {
        assert!(kinds.contains(&k), "missing {k}: {kinds:?}");
    }
    let summaries: Vec<&serde_json::Value> = lines.iter().filter(|l| l["event"] == "summary").collect();
    assert_eq!(summaries.len(), 2);
    assert_eq!(summaries[0]["model"]["index"], 0);
    assert_eq!(summaries[1]["stats"]["seed"], 9);
    for s in &summaries {
        assert_eq!(s["status"], "finished");
        assert_eq!(s["stats"]["generated_tokens"], 6);
        assert!(!s["text"].as_str().unwrap().is_empty());
    }
    // Token texts concatenate to the summary text.
    let joined: String =
        lines.iter().filter(|l| l["event"] == "token" && l["model"]["index"] == 0).map(|l| l["text"].as_str().unwrap()).collect();
    assert_eq!(joined, summaries[0]["text"].as_str().unwrap());
    assert!(sb.log().contains("llama.cpp"), "llama.cpp's logs went to the log file");
}

#[test]
fn text_mode_streams_under_headers_with_stats_and_exit_codes_tell_what_happened() {
    let _g = common::model_lock();
    let demo = common::demo_model();
    let sb = Sandbox::new();
    let d = demo.to_str().unwrap();
    let out = sb.run(&["run", "-m", d, "-p", "The capital of France is", "--temperature", "0", "--max-tokens", "12"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.starts_with("── gemma-3-270m-q4_k_m · llama ──\n"), "{text}");
    assert!(text.contains("tok/s") && text.contains("max tokens"), "{text}");
    assert!(stderr(&out).contains("loading gemma-3-270m-q4_k_m"), "progress goes to stderr");

    let bad = sb.path().join("bad.gguf");
    std::fs::write(&bad, b"nope").unwrap();
    let out = sb.run(&["run", "-m", bad.to_str().unwrap(), "-m", d, "-p", "Hi", "--max-tokens", "2"]);
    assert_eq!(out.status.code(), Some(1), "a failed model gives 1 and the others still run");
    assert_eq!(stdout(&out).matches("[load ").count(), 1, "{}", stdout(&out));
    assert!(stdout(&out).contains("[failed: could not load bad: not a GGUF file"), "{}", stdout(&out));
    assert!(stderr(&out).contains("invalid magic"), "{}", stderr(&out));

    let out = sb.run(&["run", "-m", "no-such-model", "-p", "Hi"]);
    assert_eq!(out.status.code(), Some(2));
    let out = sb.run(&["run", "-m", &format!("{d},temperature=9"), "-p", "Hi"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("temperature = 9 is out of range 0.0..=2.0"), "{}", stderr(&out));
}

#[test]
fn the_prompt_can_come_from_stdin_or_a_file() {
    let _g = common::model_lock();
    let demo = common::demo_model();
    let sb = Sandbox::new();
    let d = demo.to_str().unwrap();
    let file = sb.path().join("p.txt");
    std::fs::write(&file, "Hello").unwrap();
    let out = sb.run(&["run", "--json", "-m", d, "--prompt-file", file.to_str().unwrap(), "--max-tokens", "1"]);
    assert!(stdout(&out).contains("\"rendered_prompt\":\"Hello\""));
    let mut child = sb
        .command()
        .args(["run", "--json", "-m", d, "--max-tokens", "1"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"From stdin").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(stdout(&out).contains("\"rendered_prompt\":\"From stdin\""));
}

/// A word that is neither a subcommand nor a folder is a mistyped
/// subcommand (with the closest one), and a subcommand after a folder is
/// said to go first: neither starts the TUI.
#[test]
fn mistyped_and_misplaced_subcommands_are_usage_errors() {
    let sb = Sandbox::new();
    let out = sb.run(&["histroy", "list"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("unrecognized subcommand 'histroy'") && stderr(&out).contains("'history'"), "{}", stderr(&out));
    let dir = sb.path().to_str().unwrap();
    let out = sb.run(&[dir, "list"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("'list' is a subcommand: put it first"), "{}", stderr(&out));
    // list takes --scan as run does.
    let out = sb.run(&["list", "--json", "--scan", common::demo_model().to_str().unwrap()]);
    assert!(stdout(&out).contains("gemma-3-270m"), "{}", stdout(&out));
}

/// A batch writing its results to a file says how far it is on stderr.
#[test]
fn a_batch_to_a_file_shows_its_progress() {
    let _g = common::model_lock();
    let sb = Sandbox::new();
    let d = common::demo_model();
    let prompts = sb.path().join("p.txt");
    std::fs::write(&prompts, "One\nTwo\n").unwrap();
    let out_file = sb.path().join("r.jsonl");
    let out = sb.run(&[
        "run",
        "-m",
        d.to_str().unwrap(),
        "--prompts",
        prompts.to_str().unwrap(),
        "--out",
        out_file.to_str().unwrap(),
        "--max-tokens",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("1/2 pairs") && stderr(&out).contains("2/2 pairs"), "{}", stderr(&out));
}

/// Each model's memory is its own: with two models loaded one after the
/// other (the first kept), the second's figure leaves the first out, and
/// the process's peak is labelled as the process's.
#[test]
fn each_model_reports_its_own_memory() {
    let _g = common::model_lock();
    let sb = Sandbox::new();
    let (a, b) = (common::demo_model(), common::demo_chat_model());
    let cfg = sb.path().join("c.toml");
    std::fs::write(&cfg, "[scheduler]\nkeep_loaded = \"always\"\n").unwrap();
    let out = sb.run(&[
        "--config",
        cfg.to_str().unwrap(),
        "run",
        "--json",
        "-m",
        a.to_str().unwrap(),
        "-m",
        b.to_str().unwrap(),
        "-p",
        "Hi",
        "--max-tokens",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let s = common::summaries(&stdout(&out));
    let (m0, m1) = (s[0]["stats"]["model_bytes"].as_u64().unwrap(), s[1]["stats"]["model_bytes"].as_u64().unwrap());
    let peak1 = s[1]["stats"]["peak_rss_bytes"].as_u64().unwrap();
    assert!(m0 > 100 << 20 && m1 > 50 << 20, "{m0} {m1}");
    assert!(peak1 >= m0 + m1, "the process held both: {peak1} against {m0} + {m1}");
    assert!(m1 < peak1 - (m0 / 2), "SmolLM2's own share leaves Gemma out: {m1} of {peak1}");
    let text = stdout(&sb.run(&["--config", cfg.to_str().unwrap(), "run", "-m", a.to_str().unwrap(), "-p", "Hi", "--max-tokens", "2"]));
    assert!(text.contains("(process peak "), "{text}");
}
