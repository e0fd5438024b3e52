//! Remote engines against a real llama-server: the same greedy text as the
//! local engine, concurrency with the local queue, failures with clear
//! messages, and an API key that never leaks.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::server::Server;
use common::{Sandbox, stderr, stdout, summaries};

fn config(sb: &Sandbox, endpoints: &[(&str, &str, Option<&str>)]) -> String {
    let mut text = String::new();
    for (name, url, key_env) in endpoints {
        text.push_str(&format!("[[endpoints]]\nname = \"{name}\"\nurl = \"{url}\"\nmodel = \"demo\"\n"));
        if let Some(k) = key_env {
            text.push_str(&format!("api_key_env = \"{k}\"\n"));
        }
    }
    let path = sb.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn served_greedy_text_equals_the_local_engine_in_one_run() {
    let _g = common::model_lock();
    let demo = common::demo_model();
    let server = Server::start(&demo, None);
    let sb = Sandbox::new();
    let cfg = config(&sb, &[("local-server", &server.url(), None)]);
    // A prompt whose greedy continuation has no near-tie in its first 20
    // tokens (every lead > 0.3 logits), so two builds of llama.cpp agree.
    let prompt = "Monday, Tuesday, Wednesday,";
    let d = demo.to_str().unwrap();
    let out = sb.run(&[
        "--config",
        &cfg,
        "run",
        "--json",
        "--raw",
        "-m",
        d,
        "-m",
        "demo@local-server",
        "-p",
        prompt,
        "--temperature",
        "0",
        "--max-tokens",
        "16",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let s = summaries(&stdout(&out));
    assert_eq!(s.len(), 2);
    assert_eq!(s[1]["engine"], "remote");
    assert_eq!(s[0]["text"], s[1]["text"], "local and served greedy text differ");
    assert_eq!(s[1]["stats"]["generated_tokens"], 16);
    assert_eq!(s[1]["stats"]["remote"], true);
    assert!(s[1]["stats"]["ttft_ms"].as_f64().unwrap() > 0.0);
    assert!(s[1]["stats"]["prompt_tokens"].as_u64().unwrap() > 0, "token counts from the server");

    // The served model is listed with its source.
    let out = sb.run(&["--config", &cfg, "list", "--json"]);
    let list: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(list.as_array().unwrap().iter().any(|m| m["name"] == "demo@local-server" && m["source"] == "endpoint"), "{list}");
}

#[test]
fn two_servers_stream_concurrently_with_the_local_model() {
    let _g = common::model_lock();
    let demo = common::demo_model();
    let (a, b) = (Server::start(&demo, None), Server::start(&demo, None));
    let sb = Sandbox::new();
    let cfg = config(&sb, &[("a", &a.url(), None), ("b", &b.url(), None)]);
    let d = demo.to_str().unwrap();
    let out = sb.run(&[
        "--config",
        &cfg,
        "run",
        "--json",
        "--raw",
        "-m",
        &format!("{d},ignore_eos=true"),
        "-m",
        "demo@a,ignore_eos=true",
        "-m",
        "demo@b,ignore_eos=true",
        "-p",
        "Once upon a time",
        "--max-tokens",
        "48",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let s: Vec<&serde_json::Value> = lines.iter().filter(|v| v["event"] == "summary").collect();
    assert!(s.iter().all(|v| v["status"] == "finished"), "{s:?}");
    // The timeline: remote tokens arrive while the local model is loading or generating.
    let idx = |pred: &dyn Fn(&serde_json::Value) -> bool| lines.iter().position(|v| pred(v));
    let local_start = idx(&|v| v["event"] == "loading" && v["model"]["index"] == 0).unwrap();
    let local_end = idx(&|v| v["event"] == "finished" && v["model"]["index"] == 0).unwrap();
    for slot in [1, 2] {
        let during = lines[local_start..local_end].iter().filter(|v| v["event"] == "token" && v["model"]["index"] == slot).count();
        assert!(during > 0, "server {slot} streamed nothing while the local model ran");
    }
}

#[test]
fn a_server_killed_mid_stream_fails_its_column_and_keeps_the_text() {
    let _g = common::model_lock();
    let demo = common::demo_model();
    let mut server = Server::start(&demo, None);
    let sb = Sandbox::new();
    let cfg = config(&sb, &[("s", &server.url(), None)]);
    let d = demo.to_str().unwrap();
    let mut child = sb
        .command()
        .args([
            "--config",
            &cfg,
            "run",
            "--json",
            "--raw",
            "-m",
            "demo@s,ignore_eos=true",
            "-m",
            &format!("{d},max_tokens=24"),
            "-p",
            "Once upon a time",
            "--max-tokens",
            "400",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let mut remote_tokens = 0;
    let mut all = String::new();
    while reader.read_line(&mut line).unwrap() > 0 {
        all.push_str(&line);
        if line.contains("\"event\":\"token\"") && line.contains("\"index\":0") {
            remote_tokens += 1;
            if remote_tokens == 8 {
                server.kill();
            }
        }
        line.clear();
    }
    assert_eq!(child.wait().unwrap().code(), Some(1));
    let s = summaries(&all);
    assert_eq!(s[0]["status"], "failed");
    assert!(!s[0]["text"].as_str().unwrap().is_empty(), "the partial answer is kept");
    let err = s[0]["error"].as_str().unwrap();
    assert!(err.contains("ended before") || err.contains("broke") || err.contains("failed"), "{err}");
    assert_eq!(s[1]["status"], "finished");
}

#[test]
fn wrong_port_wrong_key_and_unknown_model_say_what_is_wrong_and_the_key_never_leaks() {
    let _g = common::model_lock();
    let demo = common::demo_model();
    let secret = "sk-test-9f8e7d6c5b4a";
    let server = Server::start(&demo, Some(secret));
    let sb = Sandbox::new();
    let dead = format!("http://127.0.0.1:{}/v1", common::server::free_port());
    let cfg = config(&sb, &[("keyed", &server.url(), Some("VERSUS_TEST_KEY")), ("dead", &dead, None)]);

    let run = |key: &str, spec: &str| {
        sb.command()
            .env("VERSUS_TEST_KEY", key)
            .args(["--config", &cfg, "run", "--json", "--raw", "-m", spec, "-p", "Hi", "--max-tokens", "4"])
            .output()
            .unwrap()
    };
    let error = |out: &std::process::Output| summaries(&stdout(out))[0]["error"].as_str().unwrap_or_default().to_string();

    let out = run(secret, "demo@dead");
    assert!(error(&out).contains(&format!("cannot connect to {dead}")), "{}", error(&out));
    let out = run("wrong-key", "demo@keyed");
    let e = error(&out);
    assert!(e.contains("VERSUS_TEST_KEY") && e.contains("401"), "{e}");
    let out = run(secret, "nope@keyed");
    let e = error(&out);
    assert!(e.contains("model `nope` is not served") && e.contains("demo"), "{e}");
    let out = run(secret, "demo@keyed");
    assert_eq!(summaries(&stdout(&out))[0]["status"], "finished", "{}", stderr(&out));

    // The key is in none of the files versus wrote.
    let id = serde_json::from_str::<serde_json::Value>(&stdout(&sb.run(&["history", "list", "--json"]))).unwrap()[0]["id"].to_string();
    for fmt in ["md", "json", "csv", "txt"] {
        let exported = stdout(&sb.run(&["history", "export", &id, "--format", fmt]));
        assert!(!exported.contains(secret), "the key leaked into the {fmt} export");
    }
    let mut leaked = Vec::new();
    for entry in walk(&sb.home()) {
        if std::fs::read(&entry).is_ok_and(|b| b.windows(secret.len()).any(|w| w == secret.as_bytes())) {
            leaked.push(entry);
        }
    }
    assert!(leaked.is_empty(), "the key leaked into {leaked:?}");
    assert!(!sb.log().is_empty());
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
