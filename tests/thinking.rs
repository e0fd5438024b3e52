//! Thinking apart from the answer: a server's `reasoning_content` /
//! `reasoning` deltas (the OpenAI-compatible wire format of llama-server and
//! vLLM, played by a scripted SSE server) and a local model's tagged
//! thinking (the real demo model, with tags it is sure to write), checked
//! in `versus run --json`'s token channels, summary and stats.

mod common;

use std::io::Write;
use std::net::TcpListener;

use common::{Sandbox, stderr, stdout};
use serde_json::{Value, json};

fn events(out: &str) -> Vec<Value> {
    out.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).collect()
}

fn summary(out: &str) -> Value {
    events(out).into_iter().find(|v| v["event"] == "summary").expect("a summary line")
}

/// Serves one streamed chat completion per connection, made of `chunks`
/// (each a `delta` object), then a finish chunk with usage. Returns the URL.
fn scripted_server(chunks: Vec<Value>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (first, _) = common::server::read_request(&stream);
            let mut out = stream;
            if first.starts_with("GET") {
                let models = json!({ "data": [{ "id": "thinker" }] }).to_string();
                let _ = write!(
                    out,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{models}",
                    models.len()
                );
                continue;
            }
            let _ = write!(out, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n");
            for delta in &chunks {
                let chunk = json!({ "choices": [{ "index": 0, "delta": delta, "finish_reason": null }] });
                let _ = write!(out, "data: {chunk}\n\n");
                let _ = out.flush();
            }
            let last = json!({
                "choices": [{ "index": 0, "delta": {}, "finish_reason": "stop" }],
                "usage": { "prompt_tokens": 9, "completion_tokens": chunks.len() }
            });
            let _ = write!(out, "data: {last}\n\ndata: [DONE]\n\n");
        }
    });
    url
}

fn endpoint_config(sb: &Sandbox, url: &str) -> String {
    let path = sb.path().join("config.toml");
    std::fs::write(&path, format!("[[endpoints]]\nname = \"srv\"\nurl = \"{url}\"\nmodel = \"thinker\"\n")).unwrap();
    path.display().to_string()
}

/// The token events of slot 0, as (channel, text).
fn tokens(out: &str) -> Vec<(String, String)> {
    events(out)
        .into_iter()
        .filter(|v| v["event"] == "token")
        .map(|v| (v["channel"].as_str().unwrap_or("?").to_string(), v["text"].as_str().unwrap_or_default().to_string()))
        .collect()
}

#[test]
fn reasoning_content_and_reasoning_deltas_arrive_as_thinking() {
    for field in ["reasoning_content", "reasoning"] {
        let url = scripted_server(vec![
            json!({ "role": "assistant", "content": null, field: "The user asks for a capital." }),
            json!({ field: " France's is Paris." }),
            json!({ "content": "Paris" }),
            json!({ "content": " is the capital." }),
        ]);
        let sb = Sandbox::new();
        let cfg = endpoint_config(&sb, &url);
        let out = sb.run(&["--config", &cfg, "run", "--json", "-m", "thinker@srv", "-p", "Capital of France?"]);
        assert_eq!(out.status.code(), Some(0), "{field}: {}", stderr(&out));
        let text = stdout(&out);
        assert_eq!(
            tokens(&text),
            vec![
                ("thinking".into(), "The user asks for a capital.".into()),
                ("thinking".into(), " France's is Paris.".into()),
                ("answer".into(), "Paris".into()),
                ("answer".into(), " is the capital.".into()),
            ],
            "{field}"
        );
        let s = summary(&text);
        assert_eq!(s["status"], "finished", "{field}: {s}");
        assert_eq!(s["text"], "Paris is the capital.", "{field}");
        assert_eq!(s["thinking"], "The user asks for a capital. France's is Paris.", "{field}");
        assert_eq!(s["stats"]["thinking_tokens"], 2, "{field}: {s}");
        let (ttft, ttfa) = (s["stats"]["ttft_ms"].as_f64().unwrap(), s["stats"]["ttfa_ms"].as_f64().unwrap());
        assert!(ttfa >= ttft, "{field}: the answer started before the first token: {s}");

        // The history keeps both, and the exports mark the thinking.
        let id = s["history_id"].to_string();
        let out = sb.run(&["history", "export", &id, "--format", "md"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let md = stdout(&out);
        assert!(md.contains("<summary>Thinking (2 tokens)</summary>") && md.contains("France's is Paris."), "{md}");
        let txt = stdout(&sb.run(&["history", "export", &id, "--format", "txt"]));
        assert!(txt.contains("[thinking]\nThe user asks for a capital. France's is Paris.\n[answer]\nParis is the capital."), "{txt}");
    }
}

#[test]
fn tagged_thinking_of_a_local_model_is_split_exactly_where_the_tag_is() {
    let _g = common::model_lock();
    let demo = common::demo_model();
    let d = demo.to_str().unwrap();
    let sb = Sandbox::new();
    // Tags the base model is sure to write: the prompt opens the section
    // (as DeepSeek-R1's template does) and the first line break closes it.
    let tagged = sb.path().join("tagged.toml");
    std::fs::write(&tagged, "[generation]\nthinking_tags = [\"Answer:\", \"\\n\"]\n").unwrap();
    let plain = sb.path().join("plain.toml");
    std::fs::write(&plain, "[generation]\nthinking_tags = []\n").unwrap();
    let prompt = "Question: What is the capital of France?\nAnswer:";
    let run = |cfg: &std::path::Path| {
        let out = sb.run(&[
            "--config",
            cfg.to_str().unwrap(),
            "run",
            "--json",
            "--raw",
            "-m",
            d,
            "-p",
            prompt,
            "--temperature",
            "0",
            "--max-tokens",
            "24",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        stdout(&out)
    };
    let plain = run(&plain);
    let tagged = run(&tagged);
    let (p, t) = (summary(&plain), summary(&tagged));
    let whole = p["text"].as_str().unwrap();
    let (thinking, answer) = whole.split_once('\n').expect("the greedy answer has a line break");
    assert!(!thinking.is_empty(), "{whole:?}");
    assert_eq!(t["thinking"], thinking, "{t}");
    assert_eq!(t["text"], answer, "{t}");
    assert_eq!(p["thinking"], "", "no tags, no thinking: {p}");

    // Every token event says its channel; thinking comes first.
    let channels: Vec<String> = tokens(&tagged).into_iter().map(|(c, _)| c).collect();
    let first_answer = channels.iter().position(|c| c == "answer").unwrap_or(channels.len());
    assert!(first_answer > 0 && channels[first_answer..].iter().all(|c| c == "answer"), "{channels:?}");
    let stats = &t["stats"];
    let thinking_tokens = stats["thinking_tokens"].as_u64().unwrap();
    assert!(thinking_tokens >= 1 && thinking_tokens < stats["generated_tokens"].as_u64().unwrap(), "{stats}");
    assert!(stats["ttfa_ms"].as_f64().unwrap() >= stats["ttft_ms"].as_f64().unwrap(), "{stats}");
    assert!(p["stats"]["thinking_tokens"] == 0, "{}", p["stats"]);
}
