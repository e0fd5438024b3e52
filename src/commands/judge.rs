//! `versus run --judge SPEC`: once the answers are in, the judge model
//! reads them (anonymised, in the run's order and reversed: two prompts,
//! one load) from the same sequential queue, and its verdict is saved as a
//! vote marked as the judge's. With several samples it judges each sample
//! number in turn (the models' first samples together, then their second,
//! …). A judge that fails or says nothing readable leaves the answers as
//! they are.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;

use crate::engine::protocol::answer::{Answer, Status};
use crate::engine::{EventKind, RunEntry, RunId};
pub use crate::judge::Judged;
use crate::judge::Plan;
use crate::session::{Comparison, Next, Session};

/// Judge every prompt and sample whose answers all finished; run `id` is
/// the judge's. Each verdict says its prompt and sample.
pub async fn judge(
    session: &mut Session,
    id: RunId,
    judge: &RunEntry,
    prompts: &[String],
    entries: &[RunEntry],
    outcomes: &super::print::Outcomes,
    criteria: &[String],
) -> Vec<Judged> {
    // What is judged: each (prompt, sample) with answers.
    let k = entries.iter().map(|e| e.settings.generation.samples.max(1)).max().unwrap_or(1);
    let units: Vec<(usize, u32)> = (0..prompts.len()).flat_map(|p| (0..k).map(move |s| (p, s))).collect();
    let questions: Vec<String> = units.iter().map(|&(p, _)| prompts[p].clone()).collect();
    let answers: Vec<Vec<Option<&str>>> = units
        .iter()
        .map(|&(p, sample)| {
            if !outcomes.keys().any(|(_, q, s)| *q == p && *s == sample) {
                return Vec::new();
            }
            (0..entries.len())
                .map(|s| outcomes.get(&(s, p, sample)).filter(|a| a.status == Status::Finished).map(|a| a.text.as_str()))
                .collect()
        })
        .collect();
    let plan = Plan::new(&questions, &answers, criteria);
    let back = |judged: Vec<Judged>| -> Vec<Judged> {
        judged.into_iter().map(|j| Judged { prompt: units[j.prompt].0, sample: units[j.prompt].1, ..j }).collect()
    };
    if plan.prompts.is_empty() {
        return back(plan.conclude(&HashMap::new(), criteria));
    }
    session.start_unrecorded(
        id,
        Comparison { prompts: plan.prompts.clone(), entries: vec![judge.clone()], batch: None, continues: None, retry: None },
    );
    let mut replies: HashMap<usize, Answer> = HashMap::new();
    loop {
        match session.next().await {
            Next::Event(ev) if ev.run == id => {
                if matches!(ev.kind, EventKind::RunDone) {
                    break;
                }
                replies.entry(ev.prompt).or_default().apply(&ev.kind);
            }
            Next::Event(_) | Next::Store(_) => {}
            Next::Ending(why) => {
                eprintln!("versus: {}; the judge stops", why.describe());
                session.cancel(id);
            }
            Next::Closed => break,
        }
    }
    back(plan.conclude(&replies, criteria))
}

/// The verdict as a JSON line of `versus run --json`.
pub fn json_line(j: &Judged, judge: &RunEntry, entries: &[RunEntry], history: Option<i64>) -> serde_json::Value {
    let name = |i: usize| entries.get(i).map(|e| json!({ "index": i, "name": e.label }));
    match &j.verdict {
        Ok(v) => json!({
            "event": "judge",
            "judge": judge.label,
            "prompt": j.prompt,
            "sample": j.sample,
            "winner": v.winner.and_then(name),
            "tie": v.winner.is_none(),
            "agreed": v.agreed,
            "scores": v.scores.iter().enumerate().map(|(i, s)| json!({ "model": name(i), "scores": s.iter().map(|(c, x)| (c.clone(), json!(x))).collect::<serde_json::Map<_, _>>() })).collect::<Vec<_>>(),
            "reason": v.reason,
            "history_id": history,
        }),
        Err(e) => json!({ "event": "judge_failed", "judge": judge.label, "prompt": j.prompt, "sample": j.sample, "error": e }),
    }
}

/// The verdict in words, for text mode.
pub fn text(j: &Judged, judge: &RunEntry, entries: &[RunEntry]) -> String {
    let sample = if j.sample > 0 || entries.iter().any(|e| e.settings.generation.samples > 1) {
        format!(" · sample {}", j.sample + 1)
    } else {
        String::new()
    };
    let mut t = format!("── judge · {}{sample} ──\n", judge.label);
    match &j.verdict {
        Ok(v) => {
            match v.winner {
                Some(w) => t.push_str(&format!(
                    "best: {} ({})\n",
                    entries.get(w).map_or("?", |e| e.label.as_str()),
                    if v.agreed { "both orders agree" } else { "one order readable" }
                )),
                None => t.push_str("tie (the two orders disagree, or the judge said so)\n"),
            }
            for (i, s) in v.scores.iter().enumerate() {
                if !s.is_empty() {
                    let list: Vec<String> = s.iter().map(|(c, x)| format!("{c} {x:.1}")).collect();
                    t.push_str(&format!("  {}: {}\n", entries.get(i).map_or("?", |e| e.label.as_str()), list.join(", ")));
                }
            }
            if !v.reason.is_empty() {
                t.push_str(&format!("{}\n", v.reason));
            }
        }
        Err(e) => t.push_str(&format!("no verdict: {e}\n")),
    }
    t
}

/// Save each verdict with its comparison.
pub fn save(session: &Session, history: &std::path::Path, run: RunId, judged: &[Judged], judge: &RunEntry, n: usize) -> Result<(), String> {
    session.flush(Duration::from_secs(5));
    let store = crate::store::Store::open(history)?;
    for j in judged {
        if let (Ok(v), Some(id)) = (&j.verdict, session.stored_id(run, j.prompt)) {
            store.add_vote(&v.to_vote(id, j.prompt, j.sample, &judge.label, n)).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}
