//! Conversations: a comparison's follow-up turns. Turn 0 is the comparison
//! itself (`runs.prompt` and `outputs`); each follow-up adds a row to
//! `turns` and one per model to `turn_outputs`, so a comparison read by an
//! older reader still shows its first turn.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::{Store, StoredOutput, StoredRun, decode, hostname, now, status_of};
use crate::engine::Turn;

/// A follow-up turn of a stored comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredTurn {
    /// 1 for the first follow-up.
    pub turn: usize,
    pub prompt: String,
    pub started_at: String,
    /// One per model (label, model and settings as in turn 0).
    pub outputs: Vec<StoredOutput>,
}

impl StoredRun {
    /// The prompts of every turn, the first one included.
    pub fn prompts(&self) -> Vec<&str> {
        std::iter::once(self.prompt.as_str()).chain(self.turns.iter().map(|t| t.prompt.as_str())).collect()
    }

    /// Slot `slot`'s answers, turn by turn (None where it has none).
    pub fn answers_of(&self, slot: usize) -> Vec<Option<&StoredOutput>> {
        std::iter::once(self.outputs.iter().find(|o| o.slot == slot))
            .chain(self.turns.iter().map(|t| t.outputs.iter().find(|o| o.slot == slot)))
            .collect()
    }

    /// The conversation model `slot` has had: each turn it answered in full.
    /// A turn it failed or was cancelled in is left out (its follow-up is
    /// asked without it).
    pub fn conversation(&self, slot: usize) -> Vec<Turn> {
        let turns = self.prompts().into_iter().zip(self.answers_of(slot));
        crate::conversation::answered(turns.filter_map(|(p, o)| o.map(|o| (p, o.status, o.text.as_str()))))
    }

    /// The latest turn's outputs (the first turn's when there is no follow-up).
    pub fn latest(&self) -> &[StoredOutput] {
        self.turns.last().map_or(&self.outputs, |t| &t.outputs)
    }
}

impl Store {
    /// The `limit` prompts asked last (first turns and follow-ups), oldest
    /// first, each once.
    pub fn recent_prompts(&self, limit: usize) -> rusqlite::Result<Vec<String>> {
        let mut q = self.conn.prepare(
            "SELECT prompt FROM (SELECT prompt, started_at FROM runs UNION ALL SELECT prompt, started_at FROM turns)
             ORDER BY started_at DESC LIMIT ?1",
        )?;
        let rows: Vec<String> = q.query_map([limit as i64 * 4], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        let mut seen = std::collections::HashSet::new();
        let mut out: Vec<String> = rows.into_iter().filter(|p| !p.trim().is_empty() && seen.insert(p.clone())).take(limit).collect();
        out.reverse();
        Ok(out)
    }

    /// Start follow-up turn of comparison `id`: the comparison runs again
    /// (its state is `running` until the turn ends). Returns the turn number.
    pub fn begin_turn(&mut self, id: i64, prompt: &str) -> rusqlite::Result<usize> {
        let tx = self.conn.transaction()?;
        let last: Option<i64> = tx.query_row("SELECT MAX(turn) FROM turns WHERE run_id = ?1", [id], |r| r.get(0)).optional()?.flatten();
        let turn = last.unwrap_or(0) + 1;
        tx.execute("INSERT INTO turns (run_id, turn, prompt, started_at) VALUES (?1, ?2, ?3, ?4)", params![id, turn, prompt, now()])?;
        tx.execute(
            "UPDATE runs SET state = 'running', finished_at = NULL, pid = ?2, host = ?3 WHERE id = ?1",
            params![id, i64::from(std::process::id()), hostname()],
        )?;
        tx.commit()?;
        Ok(turn as usize)
    }

    /// The follow-up turns of comparison `id`; `first`: its turn-0 outputs,
    /// whose labels, models and settings each turn shares.
    pub(super) fn turns(&self, id: i64, first: &[StoredOutput], problems: &mut Vec<String>) -> rusqlite::Result<Vec<StoredTurn>> {
        let mut q = self.conn.prepare("SELECT turn, prompt, started_at FROM turns WHERE run_id = ?1 ORDER BY turn")?;
        let heads = q
            .query_map([id], |r| Ok((r.get::<_, i64>(0)? as usize, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut o = self.conn.prepare(
            "SELECT slot, rendered_prompt, text, thinking, status, error, stats FROM turn_outputs WHERE run_id = ?1 AND turn = ?2 ORDER BY slot",
        )?;
        let mut turns = Vec::with_capacity(heads.len());
        for (turn, prompt, started_at) in heads {
            let rows = o
                .query_map(params![id, turn as i64], |r| {
                    Ok((
                        r.get::<_, i64>(0)? as usize,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, Option<String>>(5)?,
                        r.get::<_, Option<String>>(6)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut outputs = Vec::with_capacity(rows.len());
            for (slot, rendered_prompt, text, thinking, status, error, stats) in rows {
                let Some(base) = first.iter().find(|f| f.slot == slot) else { continue };
                let what = || format!("comparison #{id}, turn {}, {}: the stored stats", turn + 1, base.label);
                outputs.push(StoredOutput {
                    rendered_prompt,
                    text,
                    thinking,
                    status: status_of(&status),
                    error,
                    stats: stats.and_then(|s| decode(&s, problems, what)),
                    samples: Vec::new(),
                    ..base.clone()
                });
            }
            let mut more = self.samples_of(id, turn, problems)?;
            for o in &mut outputs {
                o.samples = more.remove(&o.slot).unwrap_or_default();
            }
            turns.push(StoredTurn { turn, prompt, started_at, outputs });
        }
        Ok(turns)
    }
}
