//! Votes on comparisons and the leaderboard they add up to.
//!
//! A vote ranks the answers of one stored comparison (tiers of slots, best
//! first; a tier of several is a tie; "all bad" ties them all). A model is
//! the file it ran (its fingerprint, so a renamed file stays the same
//! model), the engine and the settings that differ from the defaults;
//! `battles.rs` turns votes into battles and `leaderboard.rs` rates them.

use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::{ModelRecord, Store};
use crate::params::PARAMS;
use crate::params::Settings;

/// Who voted: a person, or a judge model's verdict.
pub const HUMAN: &str = "human";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vote {
    #[serde(default)]
    pub id: i64,
    pub run_id: i64,
    /// Which prompt of a batch (0 otherwise).
    #[serde(default)]
    pub prompt: usize,
    /// Which sample of each model's answer (`samples = K`; 0 for one).
    #[serde(default, skip_serializing_if = "is_first")]
    pub sample: u32,
    #[serde(default)]
    pub created_at: String,
    /// "human", or the judge's model.
    pub voter: String,
    /// Slots, best first; several in one tier tie.
    pub tiers: Vec<Vec<usize>>,
    /// Every answer was bad (stored as a tie of all).
    #[serde(default)]
    pub all_bad: bool,
    /// A judge's verdict (`judge::Verdict`): scores and reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
}

impl Vote {
    /// A person's vote: `tiers` of slots, best first (`all_bad`: every
    /// answer was bad, stored as a tie of all); its comparison is set when
    /// it is saved.
    pub fn human(tiers: Vec<Vec<usize>>, all_bad: bool) -> Vote {
        Vote { id: 0, run_id: 0, prompt: 0, sample: 0, created_at: String::new(), voter: HUMAN.into(), tiers, all_bad, detail: None }
    }
}

/// Which votes count.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Only comparisons whose prompt contains this (any case).
    pub prompt: Option<String>,
    /// Only votes cast at or after this time (RFC 3339 or a date).
    pub since: Option<String>,
    /// Only votes on these comparisons (a batch).
    pub runs: Option<Vec<i64>>,
}

/// The settings of `s` that differ from the defaults, as `key=value`.
pub fn non_default(s: &Settings) -> Vec<String> {
    let d = Settings::default();
    PARAMS.iter().filter(|p| (p.get)(s) != (p.get)(&d)).map(|p| format!("{}={}", p.key, (p.get)(s))).collect()
}

/// The settings of `s` that change what a model answers and differ from
/// the defaults, as `key=value`: what makes a variant of a model on the
/// leaderboard (a timeout, a seed or a thread count does not).
pub fn variant(s: &Settings) -> Vec<String> {
    let d = Settings::default();
    PARAMS.iter().filter(|p| p.identity && (p.get)(s) != (p.get)(&d)).map(|p| format!("{}={}", p.key, (p.get)(s))).collect()
}

/// (identity key, display name) of a model as it ran.
pub fn identity(m: &ModelRecord, settings: Option<&Settings>) -> (String, String) {
    // A served model has no file: its endpoint and name say which it is.
    const NO_FILE: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let file = if m.fingerprint.is_empty() || m.fingerprint == NO_FILE || m.engine == "remote" {
        format!("{}#{}", m.path, m.name)
    } else {
        m.fingerprint.clone()
    };
    let diffs = settings.map(variant).unwrap_or_default();
    let tail = if diffs.is_empty() { String::new() } else { format!(",{}", diffs.join(",")) };
    (format!("{file}|{}{tail}", m.engine), format!("{}@{}{tail}", m.name, m.engine))
}

impl Store {
    pub fn add_vote(&self, v: &Vote) -> rusqlite::Result<i64> {
        let tiers = serde_json::to_string(&v.tiers).unwrap_or_else(|_| "[]".into());
        let at = if v.created_at.is_empty() { super::now() } else { v.created_at.clone() };
        self.conn.execute(
            "INSERT INTO votes (run_id, prompt_index, created_at, voter, tiers, all_bad, detail, sample) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![v.run_id, v.prompt as i64, at, v.voter, tiers, v.all_bad, v.detail.as_ref().map(|d| d.to_string()), i64::from(v.sample)],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The votes on comparison `run_id`, oldest first.
    pub fn votes(&self, run_id: i64) -> rusqlite::Result<Vec<Vote>> {
        let mut q = self.conn.prepare(
            "SELECT id, run_id, prompt_index, created_at, voter, tiers, all_bad, detail, sample FROM votes WHERE run_id = ?1 ORDER BY id",
        )?;
        let rows = q.query_map([run_id], read_vote)?;
        rows.collect()
    }
}

/// "gemma (1) > SmolLM2 (2)", "a = b", "all bad": a vote in words, each
/// answer by its label and column number.
pub fn describe(v: &Vote, labels: &dyn Fn(usize) -> String) -> String {
    if v.all_bad {
        return "all bad".into();
    }
    v.tiers
        .iter()
        .map(|t| t.iter().map(|&s| format!("{} ({})", labels(s), s + 1)).collect::<Vec<_>>().join(" = "))
        .collect::<Vec<_>>()
        .join(" > ")
}

/// A judge's reason and scores, in words ("" for a person's vote).
pub fn verdict_note(v: &Vote, labels: &dyn Fn(usize) -> String) -> String {
    let Some(d) = &v.detail else { return String::new() };
    let mut parts = Vec::new();
    if let Some(scores) = d.get("scores").and_then(|s| s.as_array()) {
        for (i, s) in scores.iter().enumerate() {
            let list: Vec<String> = s
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| Some(format!("{} {:.1}", p.get(0)?.as_str()?, p.get(1)?.as_f64()?)))
                .collect();
            if !list.is_empty() {
                parts.push(format!("{}: {}", labels(i), list.join(", ")));
            }
        }
    }
    if let Some(r) = d.get("reason").and_then(|r| r.as_str()).filter(|r| !r.trim().is_empty()) {
        parts.push(r.trim().replace('\n', " "));
    }
    parts.join(" · ")
}

/// Where slot `slot` placed in `v`: "1", "=1" when tied, "" when absent.
pub fn place(v: &Vote, slot: usize) -> String {
    v.tiers
        .iter()
        .position(|t| t.contains(&slot))
        .map(|i| if v.tiers[i].len() > 1 { format!("={}", i + 1) } else { (i + 1).to_string() })
        .unwrap_or_default()
}

fn is_first(sample: &u32) -> bool {
    *sample == 0
}

pub(super) fn read_vote(r: &rusqlite::Row<'_>) -> rusqlite::Result<Vote> {
    let tiers: String = r.get(5)?;
    Ok(Vote {
        id: r.get(0)?,
        run_id: r.get(1)?,
        prompt: r.get::<_, i64>(2)?.max(0) as usize,
        created_at: r.get(3)?,
        voter: r.get(4)?,
        tiers: serde_json::from_str(&tiers).unwrap_or_default(),
        all_bad: r.get(6)?,
        detail: r.get::<_, Option<String>>(7)?.and_then(|d| serde_json::from_str(&d).ok()),
        sample: r.get::<_, Option<i64>>(8)?.unwrap_or(0).max(0) as u32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How long a model may answer, with which seed or threads, is not which
    /// model it is: only settings that change its answers make a variant.
    #[test]
    fn a_model_s_identity_holds_only_what_changes_its_answers() {
        let m = ModelRecord { name: "SmolLM2".into(), engine: "llama".into(), fingerprint: "f00d".into(), ..Default::default() };
        let mut s = Settings::default();
        let plain = identity(&m, Some(&s));
        for (k, v) in [("max_tokens", "48"), ("timeout_secs", "0"), ("seed", "7"), ("threads", "3"), ("context_size", "2048")] {
            s.set(k, v).unwrap();
        }
        assert_eq!(identity(&m, Some(&s)), plain, "no split for {s:?}");
        s.set("temperature", "0").unwrap();
        let (key, name) = identity(&m, Some(&s));
        assert_ne!(key, plain.0);
        assert_eq!(name, "SmolLM2@llama,temperature=0.0");
    }
}
