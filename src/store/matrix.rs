//! Prompts × models over several stored comparisons (a batch, or ids):
//! each answer's length, speed, the judge's mean score and its places in
//! the votes, and totals per model. `versus report` prints it; the HTML
//! export of several comparisons opens with it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::StoredRun;
use super::votes::{Vote, identity};
use crate::engine::protocol::answer::Status;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Cell {
    pub status: String,
    pub chars: usize,
    pub tokens: u64,
    pub tokens_per_s: Option<f64>,
    /// Mean of the judge's scores (1–10) for this answer.
    pub judge: Option<f64>,
    /// Places in the votes, oldest first ("1", "=1").
    pub votes: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    pub answers: usize,
    pub finished: usize,
    pub mean_chars: f64,
    pub mean_tokens_per_s: Option<f64>,
    pub mean_judge: Option<f64>,
    /// Votes (people's and judges') that put this model first, alone.
    pub wins: usize,
    /// The judge's mean score over prompts × samples, with its 95% interval.
    pub judge_interval: Option<crate::samples::Interval>,
}

/// Two models judged on the same prompts × samples.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Pairwise {
    pub a: String,
    pub b: String,
    /// Prompts × samples the judge scored both on.
    pub units: usize,
    /// Mean of A's score minus B's.
    pub mean_difference: f64,
    /// The paired bootstrap probability that A beats B.
    pub p_a_better: f64,
}

/// A row: the comparison and its prompt.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Row {
    pub id: i64,
    pub prompt: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub models: Vec<String>,
    pub prompts: Vec<Row>,
    /// cells[p][m]
    pub cells: Vec<Vec<Option<Cell>>>,
    pub totals: Vec<Totals>,
    /// Every two models the judge scored on common prompts × samples.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pairwise: Vec<Pairwise>,
}

/// Resamples of the paired bootstrap.
const BOOTSTRAP_ROUNDS: usize = 4000;

/// The judge's mean score for `slot` in `v`, if `v` is a judge's verdict.
fn judge_score(v: &Vote, slot: usize) -> Option<f64> {
    let scores = v.detail.as_ref()?.get("scores")?.as_array()?.get(slot)?.as_array()?;
    let xs: Vec<f64> = scores.iter().filter_map(|p| p.get(1)?.as_f64()).collect();
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

pub fn build(runs: &[StoredRun]) -> Report {
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut r = Report::default();
    // The judge's scores per unit (comparison, sample) and model.
    let mut units: BTreeMap<(i64, u32), BTreeMap<usize, Vec<f64>>> = BTreeMap::new();
    for run in runs {
        let mut row: Vec<Option<Cell>> = vec![None; r.models.len()];
        for o in &run.outputs {
            let (key, name) = identity(&o.model, o.settings.as_ref());
            let m = *index.entry(key).or_insert_with(|| {
                r.models.push(name);
                r.models.len() - 1
            });
            row.resize(r.models.len(), None);
            let stats = o.stats.as_ref();
            let judged: Vec<f64> = run.votes.iter().filter(|v| v.sample == 0).filter_map(|v| judge_score(v, o.slot)).collect();
            for v in &run.votes {
                if let Some(x) = judge_score(v, o.slot) {
                    units.entry((run.id, v.sample)).or_default().entry(m).or_default().push(x);
                }
            }
            row[m] = Some(Cell {
                status: o.status.to_string(),
                chars: o.text.chars().count(),
                tokens: stats.map_or(0, |s| s.generated_tokens),
                tokens_per_s: stats.filter(|s| s.generated_tokens > 0).map(|s| s.decode_tps),
                judge: mean(&judged),
                votes: run.votes.iter().map(|v| crate::store::votes::place(v, o.slot)).collect(),
            });
        }
        r.prompts.push(Row { id: run.id, prompt: run.prompt.clone() });
        r.cells.push(row);
    }
    let n = r.models.len();
    for row in &mut r.cells {
        row.resize(n, None);
    }
    r.totals = (0..n)
        .map(|m| {
            let cells: Vec<&Cell> = r.cells.iter().filter_map(|row| row[m].as_ref()).collect();
            let fin: Vec<&&Cell> = cells.iter().filter(|c| c.status == Status::Finished.as_str()).collect();
            Totals {
                answers: cells.len(),
                finished: fin.len(),
                mean_chars: mean(&fin.iter().map(|c| c.chars as f64).collect::<Vec<_>>()).unwrap_or(0.0),
                mean_tokens_per_s: mean(&fin.iter().filter_map(|c| c.tokens_per_s).collect::<Vec<_>>()),
                mean_judge: mean(&cells.iter().filter_map(|c| c.judge).collect::<Vec<_>>()),
                wins: cells.iter().map(|c| c.votes.iter().filter(|p| p.as_str() == "1").count()).sum(),
                judge_interval: {
                    let xs: Vec<f64> = units.values().filter_map(|u| u.get(&m)).filter_map(|xs| mean(xs)).collect();
                    (!xs.is_empty()).then(|| crate::samples::Interval::of(&xs))
                },
            }
        })
        .collect();
    for a in 0..n {
        for b in a + 1..n {
            let diffs: Vec<f64> = units.values().filter_map(|u| Some(mean(u.get(&a)?)? - mean(u.get(&b)?)?)).collect();
            if let Some(p) = crate::samples::paired_bootstrap(&diffs, BOOTSTRAP_ROUNDS) {
                r.pairwise.push(Pairwise {
                    a: r.models[a].clone(),
                    b: r.models[b].clone(),
                    units: diffs.len(),
                    mean_difference: mean(&diffs).unwrap_or(0.0),
                    p_a_better: p,
                });
            }
        }
    }
    r
}

/// The comparisons named: ids, or a batch's name (its `--prompts` file as
/// given, or its file name).
fn resolve(store: &mut super::Store, args: &[String]) -> Result<Vec<i64>, String> {
    let mut ids = Vec::new();
    for a in args {
        if let Ok(id) = a.parse::<i64>() {
            ids.push(id);
            continue;
        }
        let mut q =
            store.conn().prepare("SELECT id FROM runs WHERE batch = ?1 OR batch LIKE '%/' || ?1 ORDER BY id").map_err(|e| e.to_string())?;
        let found: Vec<i64> = q.query_map([a], |r| r.get(0)).map_err(|e| e.to_string())?.filter_map(Result::ok).collect();
        if found.is_empty() {
            return Err(format!("{a:?} is neither a comparison id nor a batch in the history (see `versus history list`)"));
        }
        ids.extend(found);
    }
    Ok(ids)
}

/// The comparisons `args` name (ids or batches), read from the store
/// (`versus report`, `history export` and the TUI's matrix).
pub fn stored_runs(store: &mut super::Store, args: &[String]) -> Result<Vec<StoredRun>, String> {
    let mut runs = Vec::new();
    for id in resolve(store, args)? {
        match store.get(id) {
            Ok(Some(r)) => runs.push(r),
            Ok(None) => return Err(format!("no comparison #{id} (see `versus history list`)")),
            Err(e) => return Err(format!("history store: {e}")),
        }
    }
    Ok(runs)
}
