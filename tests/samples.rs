//! Samples, receipts and `versus replay` on the real demo models: K answers
//! on one load with seeds in a row, what they say together, and replays
//! that give back the same tokens (or exit 2 when the model changed).

mod common;

use common::{Sandbox, stderr, stdout};

fn json_lines(out: &std::process::Output) -> Vec<serde_json::Value> {
    stdout(out).lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect()
}

#[test]
fn samples_are_k_answers_on_one_load_with_seeds_in_a_row() {
    let _g = common::model_lock();
    let demo = common::demo_model();
    let sb = Sandbox::new();
    let d = demo.to_str().unwrap();
    let out = sb.run(&[
        "run",
        "--json",
        "-m",
        &format!("{d},temperature=1.0,seed=100"),
        "--samples",
        "3",
        "-p",
        "Write one line about the sea.",
        "--max-tokens",
        "16",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines = json_lines(&out);
    let count = |event: &str| lines.iter().filter(|l| l["event"] == event).count();
    assert_eq!((count("loading"), count("loaded")), (1, 1), "one load for the three samples");
    assert_eq!(count("finished"), 3);
    let summaries: Vec<&serde_json::Value> = lines.iter().filter(|l| l["event"] == "summary").collect();
    let samples: Vec<(u64, u64)> = summaries.iter().map(|s| (s["sample"].as_u64().unwrap(), s["seed"].as_u64().unwrap())).collect();
    assert_eq!(samples, vec![(0, 100), (1, 101), (2, 102)]);
    for s in &summaries {
        assert_eq!(s["stats"]["seed"], s["seed"]);
        assert_eq!(s["stats"]["receipt"]["seed"], s["seed"], "the receipt names the seed");
    }
    // The later samples reuse the prompt's cache: only its last token is
    // computed again.
    assert_eq!(summaries[0]["stats"]["prompt_reused"], 0);
    assert!(summaries[1]["stats"]["prompt_reused"].as_u64().unwrap() > 0, "{}", summaries[1]);

    let together: Vec<&serde_json::Value> = lines.iter().filter(|l| l["event"] == "samples").collect();
    assert_eq!(together.len(), 1);
    let s = together[0];
    assert_eq!((s["model"]["index"].as_u64(), s["engine"].as_str(), s["k"].as_u64()), (Some(0), Some("llama"), Some(3)));
    let texts: std::collections::HashSet<&str> = summaries.iter().map(|s| s["text"].as_str().unwrap()).collect();
    assert_eq!(s["distinct"].as_u64(), Some(texts.len() as u64));
    let agreement = s["agreement"].as_f64().unwrap();
    let similarity = s["similarity"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&agreement) && (0.0..=1.0).contains(&similarity), "{s}");
    for key in ["tokens", "tok_s"] {
        let (mean, low, high) = (s[key]["mean"].as_f64().unwrap(), s[key]["low"].as_f64().unwrap(), s[key]["high"].as_f64().unwrap());
        assert!(low <= mean && mean <= high, "{key}: {s}");
    }
    assert_eq!(s["tokens"]["mean"].as_f64(), Some(16.0), "every sample ran to max tokens");

    // Greedy: the samples agree, and the agreement line says so.
    let out =
        sb.run(&["run", "-m", &format!("{d},temperature=0"), "--samples", "2", "-p", "The capital of France is", "--max-tokens", "8"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("── sample 1/2 ──") && text.contains("── sample 2/2 ──"), "{text}");
    assert!(text.contains("2 samples · 1 distinct · agreement 100% · similarity 1.00"), "{text}");
}

/// The history id of a run's answers (its JSON summaries).
fn history_id(out: &std::process::Output) -> i64 {
    let lines = json_lines(out);
    lines.iter().find(|l| l["event"] == "summary").and_then(|l| l["history_id"].as_i64()).expect("a history id")
}

fn replay(sb: &Sandbox, id: i64) -> (Option<i32>, Vec<serde_json::Value>, String) {
    let out = sb.run(&["replay", &id.to_string(), "--json"]);
    (out.status.code(), json_lines(&out), stderr(&out))
}

#[test]
fn replays_are_identical_at_temperature_08_on_both_engines_samples_and_follow_ups() {
    let _g = common::model_lock();
    let (gemma, smol) = (common::demo_model(), common::demo_chat_model());
    let (g, s) = (gemma.to_str().unwrap(), smol.to_str().unwrap());
    let sb = Sandbox::new();
    let specs = [format!("{g}@llama"), format!("{s}@llama"), format!("{g}@candle"), format!("{s}@candle")];
    let mut args = vec!["run", "--json", "--temperature", "0.8", "--samples", "2", "--max-tokens", "24", "-p", "Tell me about cats."];
    for spec in &specs {
        args.extend(["-m", spec.as_str()]);
    }
    let out = sb.run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let id = history_id(&out);

    let (code, lines, err) = replay(&sb, id);
    let results: Vec<&serde_json::Value> = lines.iter().filter(|l| l["event"] == "replay").collect();
    assert_eq!(results.len(), 8, "four models × two samples: {lines:?}");
    for r in &results {
        assert_eq!(r["result"], "identical", "{r}\n{err}");
        assert!(r["tokens"].as_u64().unwrap() > 0, "{r}");
    }
    assert_eq!(code, Some(0), "{err}");

    // A follow-up turn reuses the cache of the first: it replays too, after it.
    let out = sb.run(&["run", "--json", "--continue", &id.to_string(), "-p", "And dogs?", "--max-tokens", "16"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (code, lines, err) = replay(&sb, id);
    let second: Vec<&serde_json::Value> = lines.iter().filter(|l| l["event"] == "replay" && l["turn"] == 1).collect();
    assert_eq!(second.len(), 8, "{lines:?}");
    for r in lines.iter().filter(|l| l["event"] == "replay") {
        assert_eq!(r["result"], "identical", "{r}\n{err}");
    }
    assert_eq!(code, Some(0), "{err}");
    let done = lines.last().unwrap();
    assert_eq!((done["event"].as_str(), done["identical"].as_u64()), (Some("replay_done"), Some(16)));
}

#[test]
fn a_replay_after_the_model_file_changed_exits_2_and_names_the_change() {
    let _g = common::model_lock();
    let sb = Sandbox::new();
    let model = sb.path().join("m.gguf");
    std::fs::copy(common::demo_model(), &model).unwrap();
    let m = model.to_str().unwrap();
    let out = sb.run(&["run", "--json", "-m", &format!("{m},temperature=0.8,seed=5"), "-p", "Hello", "--max-tokens", "8"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let id = history_id(&out);
    let (code, lines, err) = replay(&sb, id);
    assert_eq!((code, lines[0]["result"].as_str()), (Some(0), Some("identical")), "{err}");

    // Another model under the same name.
    std::fs::copy(common::demo_chat_model(), &model).unwrap();
    let (code, lines, _) = replay(&sb, id);
    assert_eq!(code, Some(2));
    assert_eq!(lines[0]["result"], "not_replayable");
    let reason = lines[0]["reason"].as_str().unwrap();
    assert!(reason.starts_with("model file changed: fingerprint ") && reason.contains(" is now "), "{reason}");
    // In words, too.
    let out = sb.run(&["replay", &id.to_string()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).contains("not replayable: model file changed"), "{}", stdout(&out));
}

/// The TUI records the same receipts: a model kept loaded answers a
/// follow-up and a new comparison from its cache, and both replay, each
/// after the answers whose cache it reused.
#[test]
fn answers_from_the_tui_replay_identically_resident_and_after_a_follow_up() {
    use common::pty::*;
    use std::time::Duration;
    let _g = common::model_lock();
    let demo = common::demo_model();
    let sb = Sandbox::new();
    let cfg = sb.path().join("config.toml");
    std::fs::write(&cfg, "[generation]\nmax_tokens = 16\ntemperature = 0.8\n[scheduler]\nkeep_loaded = \"always\"\n").unwrap();
    let mut t = sb.pty(&["--config", cfg.to_str().unwrap(), demo.to_str().unwrap()], 120, 40);
    t.wait_for("the model list", Duration::from_secs(20), |s| s.contains("gemma-3-270m-q4_k_m"));
    t.send(" ");
    t.send(TAB);
    t.send("Name three colours.");
    t.send(F5);
    t.wait_for("the first answer", Duration::from_secs(60), |s| s.contains("✓ done"));
    // A follow-up on the model still loaded: it reuses the first turn's cache.
    t.send("\x0c");
    t.send("And three fruits?");
    t.send("\x06");
    t.wait_for("the follow-up", Duration::from_secs(60), |s| s.contains("▶ turn 2") && s.contains("✓ done"));
    // The first prompt again, as a new comparison: the model still holds
    // the follow-up's cache.
    t.send("\x0c");
    t.send("Name three colours.");
    t.send(F5);
    t.wait_for("the second comparison", Duration::from_secs(60), |s| !s.contains("▶ turn") && s.contains("✓ done"));
    t.send(TAB);
    t.send("q");
    assert_eq!(t.wait_exit(Duration::from_secs(10)), Some(0), "{}", t.screen());

    let show = sb.run(&["history", "show", "1", "--json"]);
    let first: serde_json::Value = serde_json::from_str(&stdout(&show)).expect("comparison #1");
    let reused = &first["turns"][0]["outputs"][0]["stats"]["receipt"]["reused"];
    assert!(reused.as_u64().unwrap_or(0) > 0, "the follow-up reused the cache: {}", first["turns"][0]["outputs"][0]["stats"]);
    let show = sb.run(&["history", "show", "2", "--json"]);
    let second: serde_json::Value = serde_json::from_str(&stdout(&show)).expect("comparison #2");
    let receipt = &second["outputs"][0]["stats"]["receipt"];
    assert!(receipt["reused"].as_u64().unwrap_or(0) > 0, "the second comparison began in #1's cache: {receipt}");
    for id in [1, 2] {
        let (code, lines, err) = replay(&sb, id);
        let results: Vec<&serde_json::Value> = lines.iter().filter(|l| l["event"] == "replay").collect();
        assert_eq!(results.len(), if id == 1 { 2 } else { 1 }, "{lines:?}");
        for r in results {
            assert_eq!(r["result"], "identical", "#{id}: {r}\n{err}");
        }
        assert_eq!(code, Some(0), "#{id}: {err}");
    }
}
