//! A model's further samples of one prompt (`samples`): sample 0 is the
//! answer in `outputs` (or `turn_outputs`), the others live here, one row
//! each, so a reader that knows nothing of samples still reads the first.

use std::collections::HashMap;

use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::{Store, decode, now, status_of};
use crate::engine::Stats;
use crate::engine::protocol::answer::Status;

/// One further sample of an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSample {
    /// 1 for the second sample.
    pub sample: u32,
    pub text: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub thinking: String,
    pub status: Status,
    pub error: Option<String>,
    pub stats: Option<Stats>,
}

impl Store {
    /// The further samples of comparison `id`'s turn `turn` (0: the first),
    /// by slot, in sample order.
    pub(super) fn samples_of(
        &self,
        id: i64,
        turn: usize,
        problems: &mut Vec<String>,
    ) -> rusqlite::Result<HashMap<usize, Vec<StoredSample>>> {
        let mut q = self.conn.prepare(
            "SELECT slot, sample, text, thinking, status, error, stats FROM samples WHERE run_id = ?1 AND turn = ?2 ORDER BY slot, sample",
        )?;
        let rows = q
            .query_map(params![id, turn as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)? as usize,
                    r.get::<_, i64>(1)? as u32,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut out: HashMap<usize, Vec<StoredSample>> = HashMap::new();
        for (slot, sample, text, thinking, status, error, stats) in rows {
            let what = || format!("comparison #{id}, turn {}, slot {}, sample {}: the stored stats", turn + 1, slot + 1, sample + 1);
            let stats = stats.and_then(|s| decode(&s, problems, what));
            out.entry(slot).or_default().push(StoredSample { sample, text, thinking, status: status_of(&status), error, stats });
        }
        Ok(out)
    }
}

/// Write one sample's state (its row is made on the first write).
pub(super) fn write(
    conn: &rusqlite::Connection,
    (id, turn, slot, sample): (i64, usize, usize, u32),
    text: &str,
    thinking: &str,
    status: Status,
    error: Option<&str>,
    stats: Option<&Stats>,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO samples (run_id, turn, slot, sample, text, thinking, status, error, stats, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (run_id, turn, slot, sample) DO UPDATE SET
            text = excluded.text, thinking = excluded.thinking, status = excluded.status, error = excluded.error,
            stats = COALESCE(excluded.stats, samples.stats), updated_at = excluded.updated_at",
        params![
            id,
            turn as i64,
            slot as i64,
            i64::from(sample),
            text,
            thinking,
            status.as_str(),
            error,
            stats.map(|s| serde_json::to_string(s).unwrap_or_default()),
            now()
        ],
    )?;
    Ok(())
}

/// Where one answer is: comparison, turn (0: the first), slot and sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AnswerAt {
    pub run: i64,
    pub turn: usize,
    pub slot: usize,
    pub sample: u32,
}

impl Store {
    /// The latest answer before `before` whose receipt says it left the
    /// model's cache holding `hash` (`cache_after`): the answer a later one
    /// reused the cache of.
    pub fn answer_leaving(&self, hash: &str, before: AnswerAt) -> rusqlite::Result<Option<AnswerAt>> {
        if hash.is_empty() {
            return Ok(None);
        }
        let needle = format!("%\"cache_after\":\"{hash}\"%");
        let mut q = self.conn.prepare(
            "SELECT run_id, 0, slot, 0 FROM outputs WHERE stats LIKE ?1
             UNION ALL SELECT run_id, turn, slot, 0 FROM turn_outputs WHERE stats LIKE ?1
             UNION ALL SELECT run_id, turn, slot, sample FROM samples WHERE stats LIKE ?1",
        )?;
        let found = q
            .query_map(params![needle], |r| {
                Ok(AnswerAt {
                    run: r.get(0)?,
                    turn: r.get::<_, i64>(1)? as usize,
                    slot: r.get::<_, i64>(2)? as usize,
                    sample: r.get::<_, i64>(3)? as u32,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let order = |a: &AnswerAt| (a.run, a.turn, a.slot, a.sample);
        Ok(found.into_iter().filter(|a| order(a) < order(&before)).max_by_key(order))
    }
}
