//! Votes as battles, shared as files in FastChat's battle format: one JSON
//! object per line, `{"model_a", "model_b", "winner"}` with `winner` one of
//! `model_a`, `model_b`, `tie`, `tie (bothbad)`, and optionally `tstamp`
//! (Unix seconds), `judge`, `question_id`, `prompt` and `conv_metadata`
//! (the answers' style counts, as LMArena's public files carry them).
//!
//! Local votes become battles when read (a ranking of several answers as
//! the pairs it implies); imported battles are stored in `battles`, each
//! with a digest of what it says so that importing a file twice adds
//! nothing. A model named only by a name stays that name (`--map` ties it
//! to a local model); a line exported by versus also carries the model's
//! identity key, so the same model from a teammate's history is the same
//! entry on the leaderboard. Exports carry this history's id, and importing
//! your own votes back skips them.

use std::collections::HashMap;

use rusqlite::params;
use serde::Serialize;

use super::votes::{Filter, HUMAN, identity};
use super::{ModelRecord, Store};
use crate::engine::protocol::receipt::sha256;
use crate::params::Settings;
use crate::rating::style::Style;

mod line;

pub use line::unix;
use line::{Line, metadata, parse, style_of};

/// Who won a battle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Winner {
    A,
    B,
    Tie,
    /// A tie in which both answers were bad.
    BothBad,
}

impl Winner {
    pub fn as_str(self) -> &'static str {
        match self {
            Winner::A => "model_a",
            Winner::B => "model_b",
            Winner::Tie => "tie",
            Winner::BothBad => "tie (bothbad)",
        }
    }

    fn parse(s: &str) -> Option<Winner> {
        Some(match s {
            "model_a" => Winner::A,
            "model_b" => Winner::B,
            "tie" => Winner::Tie,
            "tie (bothbad)" => Winner::BothBad,
            _ => return None,
        })
    }

    /// Model a's score: 1, ½ or 0.
    pub fn score(self) -> f64 {
        match self {
            Winner::A => 1.0,
            Winner::B => 0.0,
            Winner::Tie | Winner::BothBad => 0.5,
        }
    }
}

/// One battle, local or imported.
#[derive(Debug, Clone, PartialEq)]
pub struct Battle {
    /// Display names.
    pub model_a: String,
    pub model_b: String,
    /// Identity keys (`votes::identity`, or `name:NAME` for a bare name).
    pub key_a: String,
    pub key_b: String,
    pub winner: Winner,
    pub tstamp: Option<f64>,
    pub judge: Option<String>,
    pub question_id: Option<String>,
    pub prompt: Option<String>,
    /// Both answers' style counts, when known.
    pub style: Option<(Style, Style)>,
    /// A blind vote whose answer named its own model or maker.
    pub flagged: bool,
    /// The battles of one vote share it (a vote counts once per model).
    pub group: String,
    /// Where it came from: "local", or the file it was imported from.
    pub source: String,
    /// An imported battle's digest (what makes importing it again add
    /// nothing; exports carry it so a re-export stays the same battle).
    pub digest: Option<String>,
}

impl Battle {
    /// A battle known only by who met — (key, name) each — and who won,
    /// one vote of its own (`group`), nothing else known.
    pub fn between(a: (&str, &str), b: (&str, &str), winner: Winner, group: &str) -> Battle {
        Battle {
            model_a: a.1.into(),
            model_b: b.1.into(),
            key_a: a.0.into(),
            key_b: b.0.into(),
            winner,
            tstamp: None,
            judge: None,
            question_id: None,
            prompt: None,
            style: None,
            flagged: false,
            group: group.into(),
            source: "given".into(),
            digest: None,
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Imported {
    pub added: usize,
    /// Already in the history (this file before, or your own export).
    pub known: usize,
    /// (line number, what is wrong with it).
    pub malformed: Vec<(usize, String)>,
}

/// A model of an imported file, as `--map NAME=SPEC` resolved it: (key, name).
pub type Mapping = HashMap<String, (String, String)>;

/// The identity (key, display name) of a resolved spec, for `--map`.
pub fn mapped(model: &ModelRecord, settings: &Settings) -> (String, String) {
    identity(model, Some(settings))
}

impl Store {
    /// This history's id, made once: exports carry it, so importing your
    /// own votes back counts nothing twice.
    pub fn history_id(&self) -> rusqlite::Result<String> {
        let id: Option<String> = self.conn.query_row("SELECT value FROM meta WHERE key = 'history'", [], |r| r.get(0)).ok();
        if let Some(id) = id {
            return Ok(id);
        }
        let seed = format!("{}|{}|{}|{:?}", super::now(), super::hostname(), std::process::id(), std::time::Instant::now());
        let id = sha256(seed.as_bytes())[..16].to_string();
        self.conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('history', ?1)", [&id])?;
        self.conn.query_row("SELECT value FROM meta WHERE key = 'history'", [], |r| r.get(0))
    }

    /// Import a battle file's `text`; `source` names it. Each line is its
    /// own statement: a malformed one is reported and skipped.
    pub fn import_battles(&mut self, text: &str, source: &str, map: &Mapping) -> rusqlite::Result<Imported> {
        let mine = self.history_id()?;
        let mut report = Imported::default();
        let mut seen: HashMap<String, usize> = HashMap::new();
        // A line with neither a time nor a question id says too little to
        // be told from the same line of another file: its digest holds the
        // file's too (the same file twice still adds nothing).
        let file = sha256(text.as_bytes());
        // An arena's public file is one JSON array; a shared export is JSON
        // Lines. Either way each battle is numbered from 1.
        let entries: Vec<String> = match text.trim_start().starts_with('[') {
            true => match serde_json::from_str::<Vec<serde_json::Value>>(text) {
                Ok(items) => items.iter().map(|v| v.to_string()).collect(),
                Err(e) => {
                    report.malformed.push((e.line(), format!("not a JSON array of battles: {e}")));
                    return Ok(report);
                }
            },
            false => text.lines().map(str::to_string).collect(),
        };
        let tx = self.conn.transaction()?;
        for (i, raw) in entries.iter().enumerate() {
            if raw.trim().is_empty() {
                continue;
            }
            let line = match parse(raw) {
                Ok(l) => l,
                Err(e) => {
                    report.malformed.push((i + 1, e));
                    continue;
                }
            };
            if line.versus_history.as_deref() == Some(mine.as_str()) {
                report.known += 1;
                continue;
            }
            // The same statement twice in one file is two battles; the
            // same file twice is not.
            let content = serde_json::to_string(&(
                &line.model_a,
                &line.model_b,
                &line.winner,
                line.tstamp,
                &line.judge,
                &line.question_id,
                &line.prompt,
                &line.versus_history,
            ))
            .unwrap_or_default();
            let nth = seen.entry(content.clone()).or_insert(0);
            *nth += 1;
            let anonymous = line.tstamp.is_none() && line.question_id.is_none();
            let digest = match &line.digest {
                Some(d) => d.clone(),
                None if anonymous => sha256(format!("{file}:{content}#{nth}").as_bytes()),
                None => sha256(format!("{content}#{nth}").as_bytes()),
            };
            let who = |name: &str, key: &Option<String>| match map.get(name) {
                Some(m) => m.clone(),
                None => (key.clone().unwrap_or_else(|| format!("name:{name}")), name.to_string()),
            };
            let ((key_a, name_a), (key_b, name_b)) = (who(&line.model_a, &line.key_a), who(&line.model_b, &line.key_b));
            let style = style_of(line.conv_metadata.as_ref()).and_then(|s| serde_json::to_string(&s).ok());
            let added = tx.execute(
                "INSERT OR IGNORE INTO battles (digest, model_a, model_b, key_a, key_b, winner, tstamp, judge, question_id, prompt, style, flagged, vote, source, line, imported_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
                params![
                    digest, name_a, name_b, key_a, key_b, line.winner, line.tstamp, line.judge, line.question_id, line.prompt, style, line.flagged,
                    line.vote, source, (i + 1) as i64, super::now()
                ],
            )?;
            if added == 1 { report.added += 1 } else { report.known += 1 }
        }
        tx.commit()?;
        Ok(report)
    }

    /// Every battle that `filter` keeps: the local votes' (as the pairs
    /// they imply) and the imported ones.
    pub fn battles(&self, filter: &Filter) -> rusqlite::Result<Vec<Battle>> {
        let mut out = self.local_battles(filter)?;
        if filter.runs.is_some() {
            return Ok(out);
        }
        let since = filter.since.as_deref().and_then(unix);
        let mut q = self.conn.prepare(
            "SELECT id, model_a, model_b, key_a, key_b, winner, tstamp, judge, question_id, prompt, style, flagged, source, vote, digest FROM battles
             WHERE (?1 IS NULL OR instr(lower(prompt), lower(?1)) > 0) AND (?2 IS NULL OR tstamp >= ?2) ORDER BY id",
        )?;
        let rows = q.query_map(params![filter.prompt, since], |r| {
            let winner: String = r.get(5)?;
            Ok(Battle {
                group: match r.get::<_, Option<String>>(13)? {
                    Some(vote) => format!("vote:{vote}"),
                    None => format!("battle:{}", r.get::<_, i64>(0)?),
                },
                model_a: r.get(1)?,
                model_b: r.get(2)?,
                key_a: r.get(3)?,
                key_b: r.get(4)?,
                winner: Winner::parse(&winner).unwrap_or(Winner::Tie),
                tstamp: r.get(6)?,
                judge: r.get(7)?,
                question_id: r.get(8)?,
                prompt: r.get(9)?,
                style: r.get::<_, Option<String>>(10)?.and_then(|s| serde_json::from_str(&s).ok()),
                flagged: r.get(11)?,
                source: r.get(12)?,
                digest: r.get(14)?,
            })
        })?;
        for b in rows {
            out.push(b?);
        }
        Ok(out)
    }

    /// The local votes as battles, each answer's style counted from its
    /// stored text; a person's blind vote is flagged when an answer names
    /// its own model or maker.
    fn local_battles(&self, filter: &Filter) -> rusqlite::Result<Vec<Battle>> {
        let mut out = Vec::new();
        let history = self.history_id()?;
        for (v, prompt) in self.filtered_votes(filter)? {
            let answers = self.answers_voted(v.run_id, v.sample)?;
            let tiers: Vec<Vec<usize>> = v
                .tiers
                .iter()
                .map(|t| t.iter().copied().filter(|s| answers.contains_key(s)).collect::<Vec<_>>())
                .filter(|t| !t.is_empty())
                .collect();
            let flagged = v.voter == HUMAN && tiers.concat().iter().any(|s| answers[s].names_itself());
            let tstamp = unix(&v.created_at);
            for g in crate::rating::pairs(&tiers) {
                let (a, b) = (&answers[&g.a], &answers[&g.b]);
                let winner = match g.score {
                    s if s == 1.0 => Winner::A,
                    _ if v.all_bad => Winner::BothBad,
                    _ => Winner::Tie,
                };
                out.push(Battle {
                    model_a: a.name.clone(),
                    model_b: b.name.clone(),
                    key_a: a.key.clone(),
                    key_b: b.key.clone(),
                    winner,
                    tstamp,
                    judge: Some(v.voter.clone()),
                    question_id: Some(format!("versus:{}:{}:{}", v.run_id, v.prompt, v.sample)),
                    prompt: Some(prompt.clone()),
                    style: Some((a.style, b.style)),
                    flagged,
                    group: format!("vote:{history}:{}", v.id),
                    source: "local".into(),
                    digest: None,
                });
            }
        }
        Ok(out)
    }

    /// The battles `filter` keeps as lines of a battle file.
    pub fn export_battles(&self, filter: &Filter) -> rusqlite::Result<String> {
        let history = self.history_id()?;
        let mut text = String::new();
        for b in self.battles(filter)? {
            let local = b.source == "local";
            let line = Line {
                model_a: b.model_a,
                model_b: b.model_b,
                winner: b.winner.as_str().into(),
                tstamp: b.tstamp,
                anony: (local && b.judge.as_deref() == Some(HUMAN)).then_some(true),
                judge: b.judge,
                question_id: b.question_id,
                prompt: b.prompt,
                conv_metadata: b.style.as_ref().map(metadata),
                flagged: b.flagged,
                key_a: (!b.key_a.starts_with("name:")).then_some(b.key_a),
                key_b: (!b.key_b.starts_with("name:")).then_some(b.key_b),
                versus_history: local.then(|| history.clone()),
                vote: b.group.strip_prefix("vote:").map(str::to_string),
                digest: b.digest,
            };
            text.push_str(&serde_json::to_string(&line).unwrap_or_default());
            text.push('\n');
        }
        Ok(text)
    }
}

/// One answer a vote ranked, as the leaderboard needs it.
struct Voted {
    key: String,
    name: String,
    model: ModelRecord,
    text: String,
    style: Style,
}

impl Voted {
    fn names_itself(&self) -> bool {
        crate::rating::leak::names_itself(&self.text, &[self.model.name.as_str()])
    }
}

impl Store {
    /// The votes `filter` keeps, each with its comparison's prompt.
    fn filtered_votes(&self, filter: &Filter) -> rusqlite::Result<Vec<(super::votes::Vote, String)>> {
        let mut q = self.conn.prepare(
            "SELECT v.id, v.run_id, v.prompt_index, v.created_at, v.voter, v.tiers, v.all_bad, v.detail, v.sample, r.prompt FROM votes v JOIN runs r ON r.id = v.run_id
             WHERE (?1 IS NULL OR instr(lower(r.prompt), lower(?1)) > 0) AND (?2 IS NULL OR v.created_at >= ?2) ORDER BY v.id",
        )?;
        let rows = q.query_map(params![filter.prompt, filter.since], |r| Ok((super::votes::read_vote(r)?, r.get::<_, String>(9)?)))?;
        let mut out: Vec<_> = rows.collect::<rusqlite::Result<_>>()?;
        if let Some(runs) = &filter.runs {
            out.retain(|(v, _)| runs.contains(&v.run_id));
        }
        Ok(out)
    }

    /// Comparison `run_id`'s answers by slot (sample `sample` of each).
    fn answers_voted(&self, run_id: i64, sample: u32) -> rusqlite::Result<HashMap<usize, Voted>> {
        let mut q = self.conn.prepare_cached(
            "SELECT o.slot, o.model, o.settings, coalesce(s.text, o.text), coalesce(s.stats, o.stats) FROM outputs o
             LEFT JOIN samples s ON s.run_id = o.run_id AND s.turn = 0 AND s.slot = o.slot AND s.sample = ?2 WHERE o.run_id = ?1",
        )?;
        let rows = q.query_map(params![run_id, i64::from(sample)], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })?;
        let mut out = HashMap::new();
        for row in rows {
            let (slot, model, settings, text, stats) = row?;
            let Ok(model) = serde_json::from_str::<ModelRecord>(&model) else { continue };
            let settings = serde_json::from_str::<Settings>(&settings).ok();
            let (key, name) = identity(&model, settings.as_ref());
            let tokens = stats
                .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
                .and_then(|s| s.get("generated_tokens").and_then(|t| t.as_u64()))
                .unwrap_or(0);
            let style = Style::of(&text, tokens);
            out.insert(slot.max(0) as usize, Voted { key, name, model, text, style });
        }
        Ok(out)
    }
}
