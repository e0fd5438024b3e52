//! The HTML report (`versus history export ID --format html`) loaded in a
//! real browser: headless Chromium renders it at 1280 px; the test reads
//! the rendered DOM and the layout of the answers, and takes a screenshot.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Sandbox, stderr};
use versus::params::Settings;
use versus::store::votes::{HUMAN, Vote};
use versus::store::{ModelRecord, Store};

const FIRST: &str = "# Reversing a string\n\nUse slicing:\n\n```python\ndef reverse(s):\n    return s[::-1]\n```\n\n| input | output |\n|---|---|\n| abc | cba |\n\n<script>alert('no')</script>\n";
const SECOND: &str = "# Reversing a string\n\nUse a loop:\n\n```python\ndef reverse(s):\n    return ''.join(reversed(s))\n```\n";

fn chromium() -> &'static str {
    for c in ["chromium", "chromium-browser", "google-chrome"] {
        if Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()) {
            return c;
        }
    }
    panic!("the HTML report is tested in headless Chromium: install it (scripts/setup.sh installs Debian's chromium)");
}

fn browse(file: &Path, extra: &[&str]) -> std::process::Output {
    let url = format!("file://{}", file.display());
    let mut args = vec!["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1280,2400"];
    args.extend_from_slice(extra);
    args.push(&url);
    Command::new(chromium()).args(&args).env("HOME", file.parent().unwrap()).output().expect("chromium")
}

fn stored_comparison(sb: &Sandbox) {
    let mut store = Store::open(&sb.home().join(".local/share/versus/history.sqlite3")).unwrap();
    let run = store.begin("Write a Python function that reverses a string.", "", "cpu", None).unwrap();
    let mut hot = Settings::default();
    hot.set("temperature", "1.1").unwrap();
    for (slot, (name, text, s)) in [("gemma-3-270m", FIRST, Settings::default()), ("SmolLM2-135M", SECOND, hot)].into_iter().enumerate() {
        let model = ModelRecord {
            name: name.into(),
            path: format!("/m/{name}.gguf"),
            engine: "llama".into(),
            fingerprint: format!("f{slot}"),
            ..Default::default()
        };
        store
            .conn()
            .execute(
                "INSERT INTO outputs (run_id, slot, label, model, settings, text, status, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'finished', '2026-12-02T10:00:00Z')",
                rusqlite::params![run, slot as i64, name, serde_json::to_string(&model).unwrap(), serde_json::to_string(&s).unwrap(), text],
            )
            .unwrap();
    }
    store
        .add_vote(&Vote {
            id: 0,
            run_id: run,
            prompt: 0,
            sample: 0,
            created_at: String::new(),
            voter: HUMAN.into(),
            tiers: vec![vec![0], vec![1]],
            all_bad: false,
            detail: None,
        })
        .unwrap();
}

#[test]
fn the_html_report_renders_in_a_browser() {
    let sb = Sandbox::new();
    stored_comparison(&sb);
    let file = sb.path().join("report.html");
    let out = sb.run(&["history", "export", "1", "--format", "html", "-o", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(!html.contains("<script") && !html.contains("http://") && !html.contains("https://"), "self-contained, no script");

    // The DOM as Chromium built it.
    let dom = String::from_utf8_lossy(&browse(&file, &["--dump-dom"]).stdout).into_owned();
    for needle in [
        "<h1>versus comparison #1</h1>",
        "<h1>Reversing a string</h1>",
        "<th>input</th>",
        "&lt;script&gt;alert('no')&lt;/script&gt;",
        "<del>",
        "<ins>",
        "gemma-3-270m (1) &gt; SmolLM2-135M (2)",
        "class=\"changed\"",
        "temperature",
    ] {
        assert!(dom.contains(needle), "{needle:?} missing from the rendered DOM:\n{dom}");
    }
    assert!(dom.contains("<span style=\"color:"), "code is highlighted");

    // The layout at 1280 px: the test (not the report) adds a script that
    // writes where each answer box is into the DOM.
    let probe = sb.path().join("probe.html");
    let script = "<script>document.body.setAttribute('data-boxes', JSON.stringify([...document.querySelectorAll('.answer')].map(e => { const r = e.getBoundingClientRect(); return [Math.round(r.left), Math.round(r.top), Math.round(r.width)]; })))</script>";
    std::fs::write(&probe, html.replace("</body>", &format!("{script}</body>"))).unwrap();
    let dom = String::from_utf8_lossy(&browse(&probe, &["--dump-dom"]).stdout).into_owned();
    let boxes = dom.split("data-boxes=\"").nth(1).and_then(|r| r.split('"').next()).expect("layout probe").replace("&quot;", "\"");
    let boxes: Vec<[f64; 3]> = serde_json::from_str(&boxes).unwrap();
    assert_eq!(boxes.len(), 2);
    assert_eq!(boxes[0][1], boxes[1][1], "side by side: same top {boxes:?}");
    assert!(boxes[1][0] > boxes[0][0] + boxes[0][2] - 1.0, "the second to the right of the first {boxes:?}");
    assert!(boxes[0][2] > 500.0 && boxes[0][2] < 640.0, "each about half of 1280 px {boxes:?}");

    // A screenshot 1280 px wide.
    let shot = sb.path().join("report.png");
    let arg = format!("--screenshot={}", shot.display());
    let out = browse(&file, &[&arg]);
    let png = std::fs::read(&shot).unwrap_or_else(|_| panic!("no screenshot: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(&png[1..4], b"PNG");
    let width = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
    assert_eq!(width, 1280);
    if let Ok(dir) = std::env::var("VERSUS_REPORT_SHOT") {
        let _ = std::fs::copy(&shot, Path::new(&dir).join("report.png"));
    }
}

#[test]
fn several_comparisons_make_one_report() {
    let sb = Sandbox::new();
    stored_comparison(&sb);
    stored_comparison(&sb);
    let file = sb.path().join("both.html");
    let out = sb.run(&["history", "export", "1", "2", "--format", "html", "-o", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let dom = String::from_utf8_lossy(&browse(&file, &["--dump-dom"]).stdout).into_owned();
    for needle in [
        "<h1>versus report</h1>",
        "Prompts × models",
        "<h1>versus comparison #1</h1>",
        "<h1>versus comparison #2</h1>",
        "href=\"#run-2\"",
        "2/2 finished",
    ] {
        assert!(dom.contains(needle), "{needle:?} missing:\n{dom}");
    }
    // The other formats take several ids too: JSON as an array, CSV under one header.
    let json: serde_json::Value =
        serde_json::from_str(&common::stdout(&sb.run(&["history", "export", "1", "2", "--format", "json"]))).unwrap();
    assert_eq!(json.as_array().map(Vec::len), Some(2));
    let csv = common::stdout(&sb.run(&["history", "export", "1", "2", "--format", "csv"]));
    assert_eq!(csv.lines().filter(|l| l.starts_with("run,")).count(), 1, "{csv}");
    assert_eq!(sb.run(&["history", "export", "1", "nope.txt"]).status.code(), Some(2));
}

/// The judge's scores over prompts × samples: each model's mean with its
/// 95% interval, and the paired bootstrap for the two.
#[test]
fn the_report_gives_the_judges_mean_with_an_interval_and_the_paired_bootstrap() {
    let sb = Sandbox::new();
    for _ in 0..3 {
        stored_comparison(&sb);
    }
    let store = Store::open(&sb.home().join(".local/share/versus/history.sqlite3")).unwrap();
    // Three prompts × two samples; the first model scores 7–9, the second 3–5.
    for run in 1..=3i64 {
        for sample in 0..2u32 {
            let a = 7.0 + ((run + i64::from(sample)) % 3) as f64;
            let b = a - 4.0;
            let detail = serde_json::json!({ "winner": 0, "agreed": true, "scores": [[["overall", a]], [["overall", b]]], "reason": "", "readings": [] });
            let vote = Vote {
                id: 0,
                run_id: run,
                prompt: 0,
                sample,
                created_at: String::new(),
                voter: "judge:j".into(),
                tiers: vec![vec![0], vec![1]],
                all_bad: false,
                detail: Some(detail),
            };
            store.add_vote(&vote).unwrap();
        }
    }
    drop(store);
    let out = sb.run(&["report", "1", "2", "3", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r: serde_json::Value = serde_json::from_str(&common::stdout(&out)).unwrap();
    let first = &r["totals"][0]["judge_interval"];
    let (mean, low, high) = (first["mean"].as_f64().unwrap(), first["low"].as_f64().unwrap(), first["high"].as_f64().unwrap());
    assert!((mean - 8.0).abs() < 1e-9 && low < mean && high > mean && high < 10.0, "{first}");
    assert!((r["totals"][1]["judge_interval"]["mean"].as_f64().unwrap() - 4.0).abs() < 1e-9);
    let pair = &r["pairwise"][0];
    assert_eq!((pair["units"].as_u64(), pair["p_a_better"].as_f64()), (Some(6), Some(1.0)), "{pair}");
    assert!((pair["mean_difference"].as_f64().unwrap() - 4.0).abs() < 1e-9);
    let text = common::stdout(&sb.run(&["report", "1", "2", "3"]));
    assert!(text.contains("judge's score over prompts × samples") && text.contains("8.00 ("), "{text}");
    assert!(text.contains("beats") && text.contains("= 1.00 (paired bootstrap over 6 prompts × samples"), "{text}");
}
