//! The history store: every comparison, written to SQLite (WAL) as it
//! streams, so that a dropped SSH session or a `kill -9` loses at most about
//! a second of tokens and never corrupts the file.
//!
//! `Store` is the database (schema, migrations, reads for history and
//! export); `recorder` runs the writes on their own thread so that disk I/O
//! never stalls the UI or the engine.

pub mod battles;
pub mod export;
pub mod html;
pub mod leaderboard;
pub mod matrix;
pub mod query;
pub mod recorder;
pub mod samples;
mod schema;
pub mod turns;
pub mod votes;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::engine::Stats;
use crate::engine::protocol::answer::Status;
use crate::params::Settings;

/// Where a stored run stands. `Running` rows whose process is gone read as
/// `Interrupted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    Running,
    Complete,
    Failed,
    Cancelled,
    Interrupted,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Complete => "complete",
            RunState::Failed => "failed",
            RunState::Cancelled => "cancelled",
            RunState::Interrupted => "interrupted",
        }
    }

    fn parse(s: &str) -> RunState {
        match s {
            "complete" => RunState::Complete,
            "failed" => RunState::Failed,
            "cancelled" => RunState::Cancelled,
            "interrupted" => RunState::Interrupted,
            _ => RunState::Running,
        }
    }
}

/// What is kept of a model: enough to know exactly which file ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ModelRecord {
    pub name: String,
    pub path: String,
    pub format: String,
    pub engine: String,
    pub size_bytes: u64,
    pub architecture: Option<String>,
    pub quantization: Option<String>,
    /// sha256 over the size and the first and last 4 MiB of every file: a
    /// fingerprint that tells files apart without reading gigabytes.
    pub fingerprint: String,
}

/// One model's answer in a stored run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredOutput {
    pub slot: usize,
    pub label: String,
    pub model: ModelRecord,
    /// None when the stored settings could not be read (see `problems`).
    pub settings: Option<Settings>,
    pub rendered_prompt: String,
    pub text: String,
    /// A reasoning model's thinking, apart from its answer.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub thinking: String,
    pub status: Status,
    pub error: Option<String>,
    pub stats: Option<Stats>,
    /// Its further samples of the same prompt (`samples`), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<samples::StoredSample>,
}

impl StoredOutput {
    /// One figure of this answer for people; "–" when it was not measured
    /// (the stop figure says the answer's status instead).
    pub fn figure(&self, f: &crate::engine::protocol::figures::Figure) -> String {
        match self.stats.as_ref().and_then(|s| (f.get)(s)) {
            Some(v) => v.human(),
            None if f.key == "stop_reason" => self.status.to_string(),
            None => "–".into(),
        }
    }
}

/// A JSON column read back; a damaged one is logged and noted in
/// `problems` (named by `what`), never silently replaced by defaults.
fn decode<T: serde::de::DeserializeOwned>(json: &str, problems: &mut Vec<String>, what: impl Fn() -> String) -> Option<T> {
    match serde_json::from_str(json) {
        Ok(v) => Some(v),
        Err(e) => {
            let msg = format!("{} cannot be read ({e})", what());
            tracing::warn!("{msg}");
            problems.push(msg);
            None
        }
    }
}

/// A stored status; one that this version does not know (written by a
/// newer one) reads as cancelled, and is logged.
fn status_of(s: &str) -> Status {
    Status::parse(s).unwrap_or_else(|| {
        tracing::warn!("history: unknown answer status {s:?}, shown as cancelled");
        Status::Cancelled
    })
}

/// A comparison as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredRun {
    pub id: i64,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub state: RunState,
    pub prompt: String,
    pub system_prompt: String,
    pub version: String,
    pub host: String,
    pub device: String,
    pub batch: Option<String>,
    pub outputs: Vec<StoredOutput>,
    /// Parts of the stored run that could not be read (a damaged row),
    /// shown wherever the run is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// Blind votes (and judges' verdicts) on this comparison.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub votes: Vec<votes::Vote>,
    /// Follow-up turns, in order (the first turn is `prompt` and `outputs`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub turns: Vec<turns::StoredTurn>,
}

/// A row of `history list`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    pub id: i64,
    pub started_at: String,
    pub state: RunState,
    pub prompt: String,
    pub models: Vec<String>,
}

pub struct Store {
    conn: Connection,
    pub path: PathBuf,
}

pub fn now() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Whether process `pid` still exists on this machine.
fn alive(pid: i64) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|s| s.trim().to_string()).unwrap_or_default()
}

impl Store {
    /// Open (creating if needed) and migrate. Two versus processes may use
    /// one store: WAL lets readers and a writer proceed, the busy timeout
    /// waits out the other's write.
    pub fn open(path: &Path) -> Result<Store, String> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let conn = Connection::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let setup = || -> rusqlite::Result<()> {
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.pragma_update(None, "foreign_keys", "ON")?;
            Ok(())
        };
        // Switching a new file to WAL while another process does the same
        // fails at once with "database is locked" (SQLite does not call the
        // busy handler for it), so that step is retried for the same 5 s.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let busy = |e: &rusqlite::Error| {
            matches!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked))
        };
        loop {
            match setup() {
                Err(e) if busy(&e) && std::time::Instant::now() < deadline => std::thread::sleep(std::time::Duration::from_millis(20)),
                r => break r,
            }
        }
        .map_err(|e| format!("{}: {e}", path.display()))?;
        let mut store = Store { conn, path: path.to_path_buf() };
        store.migrate()?;
        Ok(store)
    }

    /// A store in memory: what a session records when the file cannot be
    /// opened, so that its own exports and votes still work.
    pub fn in_memory() -> Result<Store, String> {
        let conn = Connection::open_in_memory().map_err(|e| e.to_string())?;
        let mut store = Store { conn, path: PathBuf::from(":memory:") };
        store.migrate()?;
        Ok(store)
    }

    /// Apply the migrations this file lacks. The check and the changes run
    /// in one IMMEDIATE transaction, so two processes opening a new store at
    /// once do not both create the tables.
    fn migrate(&mut self) -> Result<(), String> {
        let path = self.path.display().to_string();
        let err = |e: rusqlite::Error| format!("{path}: {e}");
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(err)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(err)?;
        if version as usize > schema::MIGRATIONS.len() {
            return Err(format!("{path} was written by a newer versus (schema {version}); this one knows {}", schema::MIGRATIONS.len()));
        }
        for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(sql).map_err(err)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64).map_err(err)?;
        }
        tx.commit().map_err(err)
    }

    pub fn conn(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Start a run; returns its id.
    pub fn begin(&mut self, prompt: &str, system: &str, device: &str, batch: Option<&str>) -> rusqlite::Result<i64> {
        self.conn.execute(
            "INSERT INTO runs (started_at, prompt, system_prompt, state, pid, host, version, device, batch)
             VALUES (?1, ?2, ?3, 'running', ?4, ?5, ?6, ?7, ?8)",
            params![now(), prompt, system, i64::from(std::process::id()), hostname(), env!("CARGO_PKG_VERSION"), device, batch],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    fn state_of(&self, state: &str, pid: i64, host: &str) -> RunState {
        match RunState::parse(state) {
            // Only this machine can tell whether the writer is still alive.
            RunState::Running if host == hostname() && !alive(pid) => RunState::Interrupted,
            s => s,
        }
    }

    pub fn list(&self, limit: usize) -> rusqlite::Result<Vec<RunSummary>> {
        let mut stmt = self.conn.prepare(
            "SELECT r.id, r.started_at, r.state, r.pid, r.host, r.prompt,
                    (SELECT group_concat(label, char(31)) FROM (SELECT label FROM outputs WHERE run_id = r.id ORDER BY slot))
             FROM runs r ORDER BY r.id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            let state: String = r.get(2)?;
            let pid: i64 = r.get(3)?;
            let host: String = r.get(4)?;
            let models: Option<String> = r.get(6)?;
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, state, pid, host, r.get::<_, String>(5)?, models))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, started_at, state, pid, host, prompt, models) = row?;
            out.push(RunSummary {
                id,
                started_at,
                state: self.state_of(&state, pid, &host),
                prompt,
                models: models.map(|m| m.split('\u{1f}').map(str::to_string).collect()).unwrap_or_default(),
            });
        }
        Ok(out)
    }

    pub fn get(&self, id: i64) -> rusqlite::Result<Option<StoredRun>> {
        let run = self
            .conn
            .query_row(
                "SELECT id, started_at, finished_at, state, pid, host, prompt, system_prompt, version, device, batch FROM runs WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, String>(6)?,
                        r.get::<_, String>(7)?,
                        r.get::<_, String>(8)?,
                        r.get::<_, String>(9)?,
                        r.get::<_, Option<String>>(10)?,
                    ))
                },
            )
            .optional()?;
        let Some((id, started_at, finished_at, state, pid, host, prompt, system_prompt, version, device, batch)) = run else {
            return Ok(None);
        };
        let mut stmt = self.conn.prepare(
            "SELECT slot, label, model, settings, rendered_prompt, text, status, error, stats, thinking FROM outputs WHERE run_id = ?1 ORDER BY slot",
        )?;
        let mut problems = Vec::new();
        let rows = stmt
            .query_map([id], |r| {
                Ok((
                    r.get::<_, i64>(0)? as usize,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, Option<String>>(7)?,
                    r.get::<_, Option<String>>(8)?,
                    r.get::<_, String>(9)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut outputs = Vec::with_capacity(rows.len());
        for (slot, label, model, settings, rendered_prompt, text, status, error, stats, thinking) in rows {
            let what = |w: &str| format!("comparison #{id}, {label}: the stored {w}");
            let model: ModelRecord = decode(&model, &mut problems, || what("model")).unwrap_or_default();
            let settings: Option<Settings> = decode(&settings, &mut problems, || what("settings"));
            let stats: Option<Stats> = stats.and_then(|s| decode(&s, &mut problems, || what("stats")));
            outputs.push(StoredOutput {
                slot,
                label,
                model,
                settings,
                rendered_prompt,
                text,
                thinking,
                status: status_of(&status),
                error,
                stats,
                samples: Vec::new(),
            });
        }
        let mut more = self.samples_of(id, 0, &mut problems)?;
        for o in &mut outputs {
            o.samples = more.remove(&o.slot).unwrap_or_default();
        }
        let state = self.state_of(&state, pid, &host);
        let votes = self.votes(id)?;
        let turns = self.turns(id, &outputs, &mut problems)?;
        Ok(Some(StoredRun {
            id,
            started_at,
            finished_at,
            state,
            prompt,
            system_prompt,
            version,
            host,
            device,
            batch,
            outputs,
            problems,
            votes,
            turns,
        }))
    }

    pub fn remove(&mut self, id: i64) -> rusqlite::Result<bool> {
        Ok(self.conn.execute("DELETE FROM runs WHERE id = ?1", [id])? > 0)
    }

    /// Mark every run this process left running as interrupted.
    pub fn interrupt_mine(&mut self) -> rusqlite::Result<usize> {
        self.conn.execute(
            "UPDATE runs SET state = 'interrupted', finished_at = ?1 WHERE state = 'running' AND pid = ?2 AND host = ?3",
            params![now(), i64::from(std::process::id()), hostname()],
        )
    }
}

pub use crate::catalog::fingerprint;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_lists_runs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite3");
        let mut s = Store::open(&path).unwrap();
        let id = s.begin("hello", "", "cpu", None).unwrap();
        drop(s);
        let s = Store::open(&path).unwrap();
        let list = s.list(10).unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].id, id);
        assert_eq!(list[0].state, RunState::Running, "this process is alive");
        let v: i64 = s.conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(v as usize, schema::MIGRATIONS.len());
    }

    #[test]
    fn dead_writers_read_as_interrupted() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("h.sqlite3")).unwrap();
        let id = s.begin("x", "", "cpu", None).unwrap();
        s.conn.execute("UPDATE runs SET pid = 999999999 WHERE id = ?1", [id]).unwrap();
        assert_eq!(s.get(id).unwrap().unwrap().state, RunState::Interrupted);
    }
}
