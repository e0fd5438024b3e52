//! LMArena's method on shared battle files: `versus votes import/export`
//! and `versus leaderboard` checked against an independent fit written
//! here (FastChat's `compute_mle_elo`: a win counts 2, a tie 1 each way, a
//! logistic regression on the 400·log10 scale, no penalty), its bootstrap
//! intervals and LMArena's rank rule; style control on a planted length
//! bias; idempotent import and a faithful export → import round trip.

mod common;

use std::fmt::Write as _;

use common::{Sandbox, record, stderr, stdout};
use versus::params::Settings;
use versus::store::votes::{HUMAN, Vote};
use versus::store::{ModelRecord, Store};

/// xorshift64*: the test's own random numbers.
struct Rand(u64);

impl Rand {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Won {
    A,
    B,
    Tie,
}

struct Fight {
    a: usize,
    b: usize,
    won: Won,
}

/// FastChat's compute_mle_elo on `fights` among `n` models: pairwise win
/// weights (a win 2, a tie 1 each way), a logistic regression without
/// intercept solved by Newton's method with model 0 held at 0, then
/// centred on 1000 (what sklearn's fit from zero gives).
fn mle_elo(n: usize, fights: &[&Fight]) -> Vec<f64> {
    let mut w = vec![vec![0.0f64; n]; n];
    for f in fights {
        match f.won {
            Won::A => w[f.a][f.b] += 2.0,
            Won::B => w[f.b][f.a] += 2.0,
            Won::Tie => {
                w[f.a][f.b] += 1.0;
                w[f.b][f.a] += 1.0;
            }
        }
    }
    let k = std::f64::consts::LN_10;
    let mut theta = vec![0.0f64; n];
    for _ in 0..100 {
        let mut g = vec![0.0; n];
        let mut h = vec![vec![0.0; n]; n];
        for i in 0..n {
            for j in 0..n {
                if i == j || w[i][j] + w[j][i] == 0.0 {
                    continue;
                }
                // log-likelihood of i beating j, w[i][j] times.
                let p = 1.0 / (1.0 + (-(k * (theta[i] - theta[j]))).exp());
                let total = w[i][j];
                g[i] += total * k * (1.0 - p);
                g[j] -= total * k * (1.0 - p);
                let c = total * k * k * p * (1.0 - p);
                h[i][i] += c;
                h[j][j] += c;
                h[i][j] -= c;
                h[j][i] -= c;
            }
        }
        // Newton: h (the negative log-likelihood's Hessian) · step = g, on
        // models 1..n (Gaussian elimination).
        let m = n - 1;
        let mut a: Vec<Vec<f64>> = (1..n).map(|i| (1..n).map(|j| h[i][j]).chain([g[i]]).collect()).collect();
        for c in 0..m {
            let p = (c..m).max_by(|&x, &y| a[x][c].abs().total_cmp(&a[y][c].abs())).unwrap();
            a.swap(c, p);
            for r in 0..m {
                if r != c {
                    let f = a[r][c] / a[c][c];
                    for q in c..=m {
                        a[r][q] -= f * a[c][q];
                    }
                }
            }
        }
        let mut size = 0.0f64;
        for i in 0..m {
            let step = a[i][m] / a[i][i];
            theta[i + 1] += step;
            size = size.max(step.abs());
        }
        if size < 1e-12 {
            break;
        }
    }
    let r: Vec<f64> = theta.iter().map(|t| 400.0 * t).collect();
    let mean = r.iter().sum::<f64>() / n as f64;
    r.iter().map(|x| x - mean + 1000.0).collect()
}

/// Percentile bootstrap of `mle_elo` (the battles resampled).
fn bootstrap(n: usize, fights: &[Fight], rounds: usize) -> Vec<(f64, f64)> {
    let mut rand = Rand(0xA11CE);
    let mut samples = vec![Vec::new(); n];
    for _ in 0..rounds {
        let pick: Vec<&Fight> = (0..fights.len()).map(|_| &fights[rand.below(fights.len())]).collect();
        for (i, r) in mle_elo(n, &pick).into_iter().enumerate() {
            samples[i].push(r);
        }
    }
    samples
        .into_iter()
        .map(|mut s| {
            s.sort_by(f64::total_cmp);
            let at = |q: f64| s[((s.len() - 1) as f64 * q).round() as usize];
            (at(0.025), at(0.975))
        })
        .collect()
}

fn board(sb: &Sandbox, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["leaderboard", "--json"];
    args.extend_from_slice(extra);
    let out = sb.run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)))
}

fn row<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v["models"].as_array().unwrap().iter().find(|m| m["model"] == name).unwrap_or_else(|| panic!("{name} missing: {v:#}"))
}

fn f(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn import(sb: &Sandbox, file: &std::path::Path, extra: &[&str]) -> String {
    let mut args = vec!["votes", "import", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = sb.run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stderr(&out)
}

const NAMES: [&str; 5] = ["arena-ace", "bright-7b", "calm-7b", "dull-7b", "echo-1b"];
const TRUTH: [f64; 5] = [1250.0, 1120.0, 1000.0, 1000.0, 850.0];

/// `n` battles among NAMES with TRUTH's strengths: 12% ties, 3% both bad.
fn generate(n: usize, seed: u64) -> (String, Vec<Fight>) {
    let mut rand = Rand(seed);
    let (mut text, mut fights) = (String::new(), Vec::new());
    for i in 0..n {
        let a = rand.below(5);
        let b = (a + 1 + rand.below(4)) % 5;
        let p = 1.0 / (1.0 + 10f64.powf((TRUTH[b] - TRUTH[a]) / 400.0));
        let u = rand.unit();
        let (won, winner) = if u < 0.03 {
            (Won::Tie, "tie (bothbad)")
        } else if u < 0.15 {
            (Won::Tie, "tie")
        } else if rand.unit() < p {
            (Won::A, "model_a")
        } else {
            (Won::B, "model_b")
        };
        let line = serde_json::json!({"model_a": NAMES[a], "model_b": NAMES[b], "winner": winner, "tstamp": 1.7e9 + i as f64, "question_id": format!("q{i}")});
        writeln!(text, "{line}").unwrap();
        fights.push(Fight { a, b, won });
    }
    (text, fights)
}

/// Several thousand battles with known strengths: versus's ratings within
/// 5 points of FastChat's fit, intervals like its bootstrap's, LMArena's
/// ranks, and the win matrix counted here.
#[test]
fn ratings_ranks_and_matrix_match_an_independent_lmarena_fit() {
    let sb = Sandbox::new();
    let (text, fights) = generate(4000, 0x5EED_1234);
    let file = sb.path().join("battles.jsonl");
    std::fs::write(&file, &text).unwrap();
    let said = import(&sb, &file, &[]);
    assert!(said.contains("4000 battles added"), "{said}");
    let v = board(&sb, &["--matrix"]);
    assert_eq!(v["models"].as_array().unwrap().len(), 5, "{v:#}");

    let all: Vec<&Fight> = fights.iter().collect();
    let expected = mle_elo(5, &all);
    let bounds = bootstrap(5, &fights, 200);
    let ranks: Vec<usize> = bounds.iter().map(|&(_, hi)| 1 + bounds.iter().filter(|&&(lo, _)| lo > hi).count()).collect();
    assert_eq!(ranks, vec![1, 2, 3, 3, 5], "the generated strengths give these ranks: {bounds:?}");
    for (i, name) in NAMES.iter().enumerate() {
        let r = row(&v, name);
        assert!((f(&r["rating"]) - expected[i]).abs() < 5.0, "{name}: {} against FastChat's {:.1}", r["rating"], expected[i]);
        assert!(
            (f(&r["low"]) - bounds[i].0).abs() < 10.0 && (f(&r["high"]) - bounds[i].1).abs() < 10.0,
            "{name}: {r} against {:?}",
            bounds[i]
        );
        assert_eq!(r["rank"].as_u64(), Some(ranks[i] as u64), "{name}: {r}");
        assert_eq!(r["provisional"], false, "{name}: {r}");
        let mine = |w: Won| fights.iter().filter(|x| (x.a == i && x.won == w) || (x.b == i && x.won == flip(w))).count() as u64;
        assert_eq!((r["wins"].as_u64(), r["losses"].as_u64()), (Some(mine(Won::A)), Some(mine(Won::B))), "{name}");
        assert_eq!(r["ties"].as_u64(), Some(fights.iter().filter(|x| (x.a == i || x.b == i) && x.won == Won::Tie).count() as u64));
        assert_eq!(r["votes"].as_u64(), Some(fights.iter().filter(|x| x.a == i || x.b == i).count() as u64));
        for (j, other) in NAMES.iter().enumerate() {
            if i == j {
                assert!(v["matrix"][name].get(other).is_none(), "{v:#}");
                continue;
            }
            let met: Vec<&Fight> = fights.iter().filter(|x| (x.a == i && x.b == j) || (x.a == j && x.b == i)).collect();
            let wins = met.iter().filter(|x| (x.a == i && x.won == Won::A) || (x.b == i && x.won == Won::B)).count();
            let ties = met.iter().filter(|x| x.won == Won::Tie).count();
            let cell = &v["matrix"][name][other];
            assert_eq!(
                (cell["wins"].as_u64(), cell["ties"].as_u64(), cell["battles"].as_u64()),
                (Some(wins as u64), Some(ties as u64), Some(met.len() as u64)),
                "{name} vs {other}"
            );
            assert!((f(&cell["win_rate"]) - wins as f64 / met.len() as f64).abs() < 1e-9, "{cell}");
        }
    }
    let order: Vec<&str> = v["models"].as_array().unwrap().iter().map(|m| m["model"].as_str().unwrap()).collect();
    assert_eq!(&order[..2], &NAMES[..2], "best first");

    // "both bad" left out changes the counts, not the method.
    let strict = board(&sb, &["--both-bad", "exclude"]);
    let bothbad = text.lines().filter(|l| l.contains("bothbad")).count();
    assert_eq!(strict["both_bad_excluded"].as_u64(), Some(bothbad as u64));
    let table = stdout(&sb.run(&["leaderboard", "--matrix"]));
    assert!(table.contains("RANK") && table.contains("●") && table.contains("ROW beats COLUMN"), "{table}");
}

fn flip(w: Won) -> Won {
    match w {
        Won::A => Won::B,
        Won::B => Won::A,
        Won::Tie => Won::Tie,
    }
}

/// Voters who like long answers: without style control the verbose model
/// ranks above the better terse one; with it the order is corrected and
/// the length coefficient is positive.
#[test]
fn style_control_recovers_a_planted_length_bias() {
    let sb = Sandbox::new();
    // (name, strength, typical answer length)
    let models = [("verbose", 1000.0, 800.0), ("terse", 1080.0, 150.0), ("plain", 1000.0, 400.0)];
    let mut rand = Rand(99);
    let mut text = String::new();
    for i in 0..6000 {
        let a = rand.below(3);
        let b = (a + 1 + rand.below(2)) % 3;
        let len = |m: usize, r: &mut Rand| (models[m].2 * (0.8 + 0.4 * r.unit())).round();
        let (la, lb) = (len(a, &mut rand), len(b, &mut rand));
        let bias = 1.5 * (la - lb) / (la + lb + 1.0);
        let z = std::f64::consts::LN_10 * (models[a].1 - models[b].1) / 400.0 + bias;
        let winner = if rand.unit() < 1.0 / (1.0 + (-z).exp()) { "model_a" } else { "model_b" };
        let meta = serde_json::json!({
            "sum_assistant_a_tokens": la, "header_count_a": {"h1": 0, "h2": 0}, "list_count_a": {"ordered": 0, "unordered": 0}, "bold_count_a": {"**": 0, "__": 0},
            "sum_assistant_b_tokens": lb, "header_count_b": {"h1": 0, "h2": 0}, "list_count_b": {"ordered": 0, "unordered": 0}, "bold_count_b": {"**": 0, "__": 0},
        });
        let line =
            serde_json::json!({"model_a": models[a].0, "model_b": models[b].0, "winner": winner, "question_id": i, "conv_metadata": meta});
        writeln!(text, "{line}").unwrap();
    }
    // A few battles without counts: rated, said to be without style control.
    for i in 0..30 {
        writeln!(
            text,
            "{}",
            serde_json::json!({"model_a": "terse", "model_b": "plain", "winner": "model_a", "question_id": format!("u{i}")})
        )
        .unwrap();
    }
    let file = sb.path().join("styled.jsonl");
    std::fs::write(&file, &text).unwrap();
    import(&sb, &file, &[]);

    let plain = board(&sb, &[]);
    assert!(f(&row(&plain, "verbose")["rating"]) > f(&row(&plain, "terse")["rating"]), "the bias shows without control: {plain:#}");
    let styled = board(&sb, &["--style-control"]);
    assert!(f(&row(&styled, "terse")["rating"]) > f(&row(&styled, "verbose")["rating"]), "corrected: {styled:#}");
    assert_eq!(styled["models"][0]["model"], "terse", "{styled:#}");
    let length = f(&styled["style"]["coefficients"]["length"]);
    assert!(length > 0.3, "length coefficient {length}: {styled:#}");
    for other in ["headers", "lists", "bold"] {
        assert_eq!(f(&styled["style"]["coefficients"][other]), 0.0, "no such element anywhere: {styled:#}");
    }
    assert_eq!(styled["style"]["unstyled"].as_u64(), Some(30));
    // The verbose model's true strength is the plain one's: style control
    // brings them together.
    let gap = |v: &serde_json::Value| (f(&row(v, "verbose")["rating"]) - f(&row(v, "plain")["rating"])).abs();
    assert!(gap(&styled) < gap(&plain), "{styled:#}");
    let table = stdout(&sb.run(&["leaderboard", "--style-control"]));
    assert!(
        table.contains("style control") && table.contains("length +") && table.contains("30 of 6030 battles have no style counts"),
        "{table}"
    );
}

/// A stored comparison of `models` answering `texts`, and a vote on it.
fn voted(store: &mut Store, models: &[(&ModelRecord, &str)], tiers: Vec<Vec<usize>>, voter: &str, all_bad: bool, at: &str) {
    let run = store.begin("Tell me about yourself", "", "cpu", None).unwrap();
    for (slot, (m, text)) in models.iter().enumerate() {
        let stats = serde_json::json!({"generated_tokens": text.split_whitespace().count()}).to_string();
        store
            .conn()
            .execute(
                "INSERT INTO outputs (run_id, slot, label, model, settings, text, stats, status, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'finished', ?8)",
                rusqlite::params![run, slot as i64, m.name, serde_json::to_string(m).unwrap(), serde_json::to_string(&Settings::default()).unwrap(), text, stats, at],
            )
            .unwrap();
    }
    let vote = Vote { id: 0, run_id: run, prompt: 0, sample: 0, created_at: at.into(), voter: voter.into(), tiers, all_bad, detail: None };
    store.add_vote(&vote).unwrap();
}

fn history(sb: &Sandbox) -> Store {
    Store::open(&sb.home().join(".local/share/versus/history.sqlite3")).unwrap()
}

/// Import is idempotent and keeps what is stored when lines are bad;
/// export → import into a fresh history gives the same leaderboard (local
/// votes, a three-way ranking, flagged votes, style counts and imported
/// battles alike); your own export imported back adds nothing; `--map`
/// ties an arena's name to a local model.
#[test]
fn import_export_round_trip() {
    let sb = Sandbox::new();
    let (gemma, smol, qwen) = (record("gemma-3-270m", "f1"), record("SmolLM2-135M", "f2"), record("qwen2.5-0.5b", "f3"));
    {
        let mut store = history(&sb);
        for day in 1..=9 {
            let at = format!("2026-11-0{day}T10:00:00Z");
            let answers =
                [(&gemma, "Paris is the capital.\n\n- a list item\n- another"), (&smol, "It is **Paris**."), (&qwen, "# Answer\nParis")];
            voted(&mut store, &answers, vec![vec![day % 3], vec![(day + 1) % 3], vec![(day + 2) % 3]], HUMAN, false, &at);
            voted(&mut store, &answers[..2], vec![vec![0, 1]], "judge-model", day == 3, &at);
        }
        // A blind vote whose answer gives its model away.
        voted(
            &mut store,
            &[(&gemma, "I am Gemma, a model by Google."), (&smol, "Hello!")],
            vec![vec![0], vec![1]],
            HUMAN,
            false,
            "2026-11-10T10:00:00Z",
        );
    }
    let arena = sb.path().join("arena.jsonl");
    let mut text = String::new();
    for (i, w) in ["model_a", "model_b", "tie", "model_a"].iter().enumerate() {
        writeln!(text, "{}", serde_json::json!({"model_a": "gpt-4-0613", "model_b": "claude-2.1", "winner": w, "tstamp": 1.7e9 + i as f64, "judge": "arena_user_1"})).unwrap();
    }
    text.push_str("{\"model_a\": \"gpt-4-0613\", \"winner\": \"model_a\"}\nnot json\n");
    writeln!(text, "{}", serde_json::json!({"model_a": "x", "model_b": "y", "winner": "model_c"})).unwrap();
    std::fs::write(&arena, &text).unwrap();
    let said = import(&sb, &arena, &[]);
    assert!(
        said.contains(":5: skipped: no `model_b`") && said.contains(":6: skipped: not JSON") && said.contains(":7: skipped: `winner`"),
        "{said}"
    );
    assert!(said.contains("4 battles added"), "{said}");
    let once = board(&sb, &[]);
    let again = import(&sb, &arena, &[]);
    assert!(again.contains("0 battles added, 4 already"), "{again}");
    assert_eq!(board(&sb, &[]), once, "importing twice adds nothing");

    // The flagged vote is out unless asked for.
    assert_eq!(once["flagged"].as_u64(), Some(1), "{once:#}");
    let with = board(&sb, &["--include-flagged"]);
    assert_eq!(f(&row(&with, "gemma-3-270m@llama")["votes"]), f(&row(&once, "gemma-3-270m@llama")["votes"]) + 1.0);
    // Votes: nine three-way rankings and nine judge pairs for gemma.
    assert_eq!(row(&once, "gemma-3-270m@llama")["votes"].as_u64(), Some(18), "{once:#}");
    assert_eq!(row(&once, "qwen2.5-0.5b@llama")["provisional"], true, "nine votes are provisional");

    let exported = sb.path().join("votes.jsonl");
    let out = sb.run(&["votes", "export", "-o", exported.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines = std::fs::read_to_string(&exported).unwrap();
    for l in lines.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert!(["model_a", "model_b", "tie", "tie (bothbad)"].contains(&v["winner"].as_str().unwrap()), "{l}");
        assert!(v["model_a"].is_string() && v["model_b"].is_string(), "{l}");
    }
    assert!(
        lines.contains("\"tie (bothbad)\"") && lines.contains("\"judge\":\"judge-model\"") && lines.contains("sum_assistant_a_tokens"),
        "{lines}"
    );
    // 9 × 3 pairs + 9 judge pairs + the flagged pair + 4 imported.
    assert_eq!(lines.lines().count(), 27 + 9 + 1 + 4);
    let mine = import(&sb, &exported, &[]);
    assert!(mine.contains("0 battles added, 41 already"), "your own export adds nothing: {mine}");

    let fresh = Sandbox::new();
    import(&fresh, &exported, &[]);
    for flags in [&[][..], &["--include-flagged"], &["--style-control"], &["--both-bad", "exclude", "--matrix"]] {
        assert_eq!(board(&fresh, flags), board(&sb, flags), "export → import changed the board ({flags:?})");
    }
    let filtered = sb.run(&["votes", "export", "--since", "2026-11-09"]);
    assert_eq!(stdout(&filtered).lines().count(), 3 + 1 + 1, "{}", stdout(&filtered));

    // An arena's name tied to a local model.
    let demo = common::demo_model();
    let spec = format!("gpt-4-0613={}", demo.display());
    let mapped = Sandbox::new();
    import(&mapped, &arena, &["--map", &spec]);
    let v = board(&mapped, &[]);
    let names: Vec<&str> = v["models"].as_array().unwrap().iter().map(|m| m["model"].as_str().unwrap()).collect();
    assert!(names.contains(&"claude-2.1") && names.iter().any(|n| n.starts_with("gemma-3-270m") && n.ends_with("@llama")), "{names:?}");
    let bad = mapped.run(&["votes", "import", arena.to_str().unwrap(), "--map", "nothing-here"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
}
