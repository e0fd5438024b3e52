//! `versus run --judge`: a judge reads the answers in both orders; a
//! verdict needs both orders to agree; it is saved as the judge's vote and
//! shown in exports. A scripted judge server makes the verdicts known in
//! advance; the demo models run the whole path for real.

mod common;

use std::io::Write;
use std::net::TcpListener;

use common::{Sandbox, stderr, stdout};
use serde_json::{Value, json};

/// A judge server: each chat request gets the reply `judge(prompt)`; a
/// model list for discovery. Returns the URL.
fn judge_server(judge: fn(&str) -> String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (first, body) = common::server::read_request(&stream);
            let mut out = stream;
            let reply = if first.starts_with("GET") {
                json!({ "data": [{ "id": "judge" }, { "id": "paris" }, { "id": "lyon" }] }).to_string()
            } else {
                let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let prompt =
                    req["messages"].as_array().and_then(|m| m.last()).and_then(|m| m["content"].as_str()).unwrap_or("").to_string();
                let text = match req["model"].as_str() {
                    Some("paris") => "Paris.".to_string(),
                    Some("lyon") => "Lyon, I think.".to_string(),
                    _ => judge(&prompt),
                };
                let delta =
                    json!({ "choices": [{ "index": 0, "delta": { "role": "assistant", "content": text }, "finish_reason": null }] });
                let last = json!({ "choices": [{ "index": 0, "delta": {}, "finish_reason": "stop" }], "usage": { "prompt_tokens": 5, "completion_tokens": 5 } });
                let _ = write!(
                    out,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\ndata: {delta}\n\ndata: {last}\n\ndata: [DONE]\n\n"
                );
                continue;
            };
            let _ = write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                reply.len()
            );
        }
    });
    url
}

/// The letter shown before the answer containing `needle`.
fn letter_of(prompt: &str, needle: &str) -> String {
    let at = prompt.find(needle).unwrap_or(0);
    let head = &prompt[..at];
    let k = head.rfind("Answer ").map_or(0, |i| i + 7);
    head[k..k + 1].to_string()
}

fn fair(prompt: &str) -> String {
    let p = letter_of(prompt, "Paris.");
    let l = letter_of(prompt, "Lyon, I think.");
    format!(
        "{{\"winner\": \"{p}\", \"scores\": {{\"{p}\": {{\"correctness\": 9}}, \"{l}\": {{\"correctness\": 2}}}}, \"reason\": \"Paris is the capital.\"}}"
    )
}

fn biased(_: &str) -> String {
    "{\"winner\": \"A\", \"reason\": \"The first one.\"}".into()
}

fn config(sb: &Sandbox, url: &str) -> String {
    let path = sb.path().join("config.toml");
    std::fs::write(&path, format!("[[endpoints]]\nname = \"srv\"\nurl = \"{url}\"\n")).unwrap();
    path.display().to_string()
}

fn judged(sb: &Sandbox, cfg: &str) -> (Value, Value) {
    let out = sb.run(&[
        "--config",
        cfg,
        "run",
        "--json",
        "-m",
        "lyon@srv",
        "-m",
        "paris@srv",
        "--judge",
        "judge@srv",
        "-p",
        "Capital of France?",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<Value> = stdout(&out).lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let verdict = lines.iter().find(|v| v["event"] == "judge").cloned().unwrap_or_else(|| panic!("no verdict: {lines:#?}"));
    let id = verdict["history_id"].to_string();
    let export: Value = serde_json::from_str(&stdout(&sb.run(&["history", "export", &id, "--format", "json"]))).unwrap();
    (verdict, export)
}

#[test]
fn a_fair_judge_names_the_winner_in_both_orders() {
    let sb = Sandbox::new();
    let cfg = config(&sb, &judge_server(fair));
    let (v, export) = judged(&sb, &cfg);
    assert_eq!(v["winner"]["name"], "paris@srv", "{v:#}");
    assert_eq!((v["agreed"].as_bool(), v["tie"].as_bool()), (Some(true), Some(false)), "{v:#}");
    assert_eq!(v["scores"][1]["scores"]["correctness"], 9.0, "{v:#}");
    assert_eq!(v["scores"][0]["scores"]["correctness"], 2.0, "{v:#}");
    let vote = &export["votes"][0];
    assert_eq!(vote["voter"], "judge:judge@srv (judge)");
    assert_eq!(vote["tiers"], json!([[1], [0]]));
    assert_eq!(vote["detail"]["reason"], "Paris is the capital.");
    // The answers are as they were, and the leaderboard counts the verdict.
    assert_eq!(export["outputs"][1]["text"], "Paris.");
    let board: Value = serde_json::from_str(&stdout(&sb.run(&["leaderboard", "--json"]))).unwrap();
    assert_eq!(board["models"][0]["model"].as_str().map(|m| m.starts_with("paris")), Some(true), "{board:#}");
    let md = stdout(&sb.run(&["history", "export", &export["id"].to_string(), "--format", "md"]));
    assert!(md.contains("judge:judge@srv (judge): paris@srv (2) > lyon@srv (1)") && md.contains("Paris is the capital."), "{md}");
}

#[test]
fn a_judge_that_always_picks_the_first_position_gives_a_tie() {
    let sb = Sandbox::new();
    let cfg = config(&sb, &judge_server(biased));
    let (v, export) = judged(&sb, &cfg);
    assert_eq!(v["tie"], true, "{v:#}");
    assert_eq!(v["winner"], Value::Null);
    assert_eq!(export["votes"][0]["tiers"], json!([[0, 1]]));
}

#[test]
fn the_demo_models_judged_by_one_of_them() {
    let _g = common::model_lock();
    let (demo, chat) = (common::demo_model(), common::demo_chat_model());
    let sb = Sandbox::new();
    let judge = format!("{},max_tokens=200", chat.display());
    let out = sb.run(&[
        "run",
        "--json",
        "-m",
        demo.to_str().unwrap(),
        "-m",
        chat.to_str().unwrap(),
        "--judge",
        &judge,
        "-p",
        "What is the capital of France? Answer in one sentence.",
        "--max-tokens",
        "40",
        "--temperature",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<Value> = stdout(&out).lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let summaries = lines.iter().filter(|v| v["event"] == "summary").count();
    assert_eq!(summaries, 2, "both answers are there");
    // Greedy, so the judge says the same every time: it reads as a verdict.
    let v = lines.iter().find(|v| v["event"] == "judge").unwrap_or_else(|| panic!("{lines:#?}"));
    assert!(v["winner"].is_object() || v["tie"] == true, "{v:#}");
    let list: Value = serde_json::from_str(&stdout(&sb.run(&["history", "list", "--json"]))).unwrap();
    assert_eq!(list.as_array().map(Vec::len), Some(1), "the judge's reading is not a comparison of its own");
    let export: Value =
        serde_json::from_str(&stdout(&sb.run(&["history", "export", &v["history_id"].to_string(), "--format", "json"]))).unwrap();
    assert!(export["votes"][0]["voter"].as_str().unwrap_or("").starts_with("judge:"), "{export:#}");
}

#[test]
fn a_judged_batch_gets_its_leaderboard_and_a_report() {
    let sb = Sandbox::new();
    let cfg = config(&sb, &judge_server(fair));
    let prompts = sb.path().join("prompts.txt");
    std::fs::write(&prompts, "Capital of France?\nAnd its largest city?\n").unwrap();
    let results = sb.path().join("results.jsonl");
    let (p, r) = (prompts.to_str().unwrap(), results.to_str().unwrap());
    let out = sb.run(&["--config", &cfg, "run", "--prompts", p, "--out", r, "-m", "lyon@srv", "-m", "paris@srv", "--judge", "judge@srv"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("── this batch, as judged ──") && err.contains("RATING"), "{err}");

    let out = sb.run(&["report", p, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["prompts"].as_array().map(Vec::len), Some(2), "{report:#}");
    assert_eq!(report["models"].as_array().map(Vec::len), Some(2), "{report:#}");
    let paris = report["models"].as_array().unwrap().iter().position(|m| m.as_str().unwrap().starts_with("paris")).unwrap();
    assert_eq!(report["cells"][0][paris]["judge"], 9.0, "{report:#}");
    assert_eq!(report["cells"][1][paris]["chars"], 6, "{report:#}");
    assert_eq!(report["totals"][paris]["wins"], 2, "{report:#}");
    assert_eq!(report["totals"][1 - paris]["wins"], 0, "{report:#}");
    let table = stdout(&sb.run(&["report", p]));
    assert!(table.contains("TOTAL") && table.contains("j9.0"), "{table}");
    assert_eq!(sb.run(&["report", "nothing-like-this"]).status.code(), Some(2));
}
