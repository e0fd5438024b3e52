//! `versus leaderboard`: votes stored with comparisons, counted as the
//! pairwise outcomes they imply and rated, checked against values solved
//! by hand; models are files (renamed stays the same) plus engine and
//! non-default settings.

mod common;

use common::{Sandbox, record, stderr, stdout};
use versus::params::Settings;
use versus::store::votes::{HUMAN, Vote};
use versus::store::{ModelRecord, Store};

/// A stored comparison of these (model, settings) and a vote on it.
fn voted(store: &mut Store, prompt: &str, models: &[(ModelRecord, Settings)], tiers: Vec<Vec<usize>>, at: &str) {
    let run = store.begin(prompt, "", "cpu", None).unwrap();
    for (slot, (m, s)) in models.iter().enumerate() {
        store
            .conn()
            .execute(
                "INSERT INTO outputs (run_id, slot, label, model, settings, status, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 'finished', ?6)",
                rusqlite::params![run, slot as i64, m.name, serde_json::to_string(m).unwrap(), serde_json::to_string(s).unwrap(), at],
            )
            .unwrap();
    }
    let vote =
        Vote { id: 0, run_id: run, prompt: 0, sample: 0, created_at: at.into(), voter: HUMAN.into(), tiers, all_bad: false, detail: None };
    store.add_vote(&vote).unwrap();
}

fn board(sb: &Sandbox, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["leaderboard", "--json"];
    args.extend_from_slice(extra);
    let out = sb.run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

fn row<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    let models = v["models"].as_array().unwrap();
    let named = |m: &&serde_json::Value| m["model"].as_str() == Some(name);
    let prefixed = |m: &&serde_json::Value| m["model"].as_str().unwrap_or("").starts_with(name);
    models.iter().find(named).or_else(|| models.iter().find(prefixed)).unwrap_or_else(|| panic!("{name} missing: {v:#}"))
}

#[test]
fn ratings_counts_and_filters() {
    let sb = Sandbox::new();
    let empty = board(&sb, &[]);
    assert_eq!(empty["models"], serde_json::json!([]));

    let mut store = Store::open(&sb.home().join(".local/share/versus/history.sqlite3")).unwrap();
    let (a, b) = (record("alpha", "fa"), record("beta", "fb"));
    let d = Settings::default();
    let pair = [(a.clone(), d.clone()), (b.clone(), d.clone())];
    // alpha beats beta three times, beta beats alpha once.
    for at in ["2026-11-01T10:00:00Z", "2026-11-02T10:00:00Z", "2026-11-03T10:00:00Z"] {
        voted(&mut store, "Write a haiku", &pair, vec![vec![0], vec![1]], at);
    }
    voted(&mut store, "Write a poem", &pair, vec![vec![1], vec![0]], "2026-11-04T10:00:00Z");

    let v = board(&sb, &[]);
    let models = v["models"].as_array().unwrap();
    assert_eq!(models.len(), 2, "{v:#}");
    for key in ["model", "rating", "low", "high", "wins", "losses", "ties", "votes"] {
        assert!(models[0].get(key).is_some(), "{key} missing: {v:#}");
    }
    let (ra, rb) = (row(&v, "alpha"), row(&v, "beta"));
    // Solved by hand (see rating.rs): 1082.42 and 917.58.
    assert!((ra["rating"].as_f64().unwrap() - 1082.42).abs() < 0.05, "{v:#}");
    assert!((rb["rating"].as_f64().unwrap() - 917.58).abs() < 0.05, "{v:#}");
    assert_eq!((ra["wins"].as_u64(), ra["losses"].as_u64(), ra["votes"].as_u64()), (Some(3), Some(1), Some(4)));
    assert!(
        ra["low"].as_f64().unwrap() <= ra["rating"].as_f64().unwrap() && ra["rating"].as_f64().unwrap() <= ra["high"].as_f64().unwrap()
    );
    assert_eq!(models[0]["model"].as_str().map(|s| s.starts_with("alpha")), Some(true), "best first");

    // Filters: the prompt (any case) and the time.
    let haiku = board(&sb, &["--prompt-filter", "HAIKU"]);
    assert_eq!(row(&haiku, "alpha")["wins"], 3);
    assert_eq!(row(&haiku, "alpha")["losses"], 0);
    let late = board(&sb, &["--since", "2026-11-03"]);
    assert_eq!(row(&late, "alpha")["votes"], 2);

    // A renamed file is the same model; other settings make another one;
    // a three-way ranking counts as the three pairs it implies.
    let mut hot = Settings::default();
    hot.set("temperature", "1.1").unwrap();
    let three = [(record("alpha-renamed", "fa"), d.clone()), (b.clone(), d.clone()), (a.clone(), hot)];
    voted(&mut store, "three way", &three, vec![vec![2], vec![0], vec![1]], "2026-11-05T10:00:00Z");
    let all = board(&sb, &[]);
    assert_eq!(all["models"].as_array().unwrap().len(), 3, "{all:#}");
    assert_eq!(row(&all, "alpha@llama")["votes"], 5, "{all:#}");
    let hot_row = row(&all, "alpha@llama,temperature=1.1");
    assert_eq!((hot_row["wins"].as_u64(), hot_row["losses"].as_u64()), (Some(2), Some(0)));
    let three_only = board(&sb, &["--prompt-filter", "three"]);
    assert_eq!(row(&three_only, "beta")["losses"], 2);

    // The table, and a bad date.
    let table = stdout(&sb.run(&["leaderboard"]));
    assert!(table.contains("RATING") && table.contains("alpha@llama"), "{table}");
    let bad = sb.run(&["leaderboard", "--since", "last week"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("--since"), "{}", stderr(&bad));
}

#[test]
fn votes_are_part_of_the_comparison_and_its_exports() {
    let sb = Sandbox::new();
    let mut store = Store::open(&sb.home().join(".local/share/versus/history.sqlite3")).unwrap();
    let d = Settings::default();
    voted(
        &mut store,
        "Hi",
        &[(record("alpha", "fa"), d.clone()), (record("beta", "fb"), d)],
        vec![vec![1], vec![0]],
        "2026-11-04T10:00:00Z",
    );
    let run = store.get(1).unwrap().unwrap();
    assert_eq!(run.votes.len(), 1);
    let md = stdout(&sb.run(&["history", "export", "1", "--format", "md"]));
    assert!(md.contains("## Votes") && md.contains("human: beta (2) > alpha (1)"), "{md}");
    let csv = stdout(&sb.run(&["history", "export", "1", "--format", "csv"]));
    assert!(csv.lines().next().unwrap().contains(",votes,"), "{csv}");
    let json: serde_json::Value = serde_json::from_str(&stdout(&sb.run(&["history", "export", "1", "--format", "json"]))).unwrap();
    assert_eq!(json["votes"][0]["tiers"], serde_json::json!([[1], [0]]));
}
