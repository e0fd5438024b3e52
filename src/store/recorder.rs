//! Writing runs to the store as they stream, on a thread of its own.
//!
//! Token text is buffered and flushed at least once a second, and at the end
//! of every model's answer, so a `kill -9` loses at most about a second of
//! text. A store that cannot be written is reported once (`problem`) and the
//! app keeps working without it.

use std::collections::HashMap;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::params;

use super::query::{Query, Reply, Target};
use super::{ModelRecord, RunState, Store, fingerprint, now};
use crate::engine::protocol::answer::{Answer, Status};
use crate::engine::{EngineEvent, EventKind, RunEntry, RunId};

/// How often buffered text reaches the database.
pub const FLUSH_EVERY: Duration = Duration::from_millis(500);

pub enum Msg {
    /// A run starts: one stored run per prompt.
    Begin {
        run: RunId,
        prompts: Vec<String>,
        system: String,
        entries: Vec<RunEntry>,
        batch: Option<String>,
        /// A follow-up turn of this comparison (one prompt).
        continues: Option<Target>,
        /// With `continues`: answer its turn N again (the entries that
        /// have no prompt are left as they are).
        retry: Option<usize>,
    },
    Event(EngineEvent),
    /// Flush everything and mark this process's unfinished runs interrupted
    /// (SIGTERM, SIGHUP, Ctrl-C); answers when done.
    Interrupt(mpsc::Sender<()>),
    /// Flush everything; answers when done.
    Flush(mpsc::Sender<()>),
    /// A read (or a vote), answered through the answers channel once
    /// everything sent before it is written.
    Query(Query),
}

/// An answer being recorded, and whether its text grew since the last flush.
struct Output {
    answer: Answer,
    dirty: bool,
}

pub struct Recorder {
    tx: mpsc::Sender<Msg>,
    /// The first write error, for the UI to show once.
    pub problem: Arc<Mutex<Option<String>>>,
    /// Stored run ids by (engine run, prompt index).
    pub ids: Arc<Mutex<HashMap<(RunId, usize), i64>>>,
}

impl Recorder {
    /// The store's thread on `store`; answers to queries go to `answers`.
    pub fn start(store: Store, answers: tokio::sync::mpsc::UnboundedSender<Reply>) -> std::io::Result<Recorder> {
        let (tx, rx) = mpsc::channel();
        let problem = Arc::new(Mutex::new(None));
        let ids = Arc::new(Mutex::new(HashMap::new()));
        let (p, i) = (problem.clone(), ids.clone());
        std::thread::Builder::new().name("versus-store".into()).spawn(move || Writer::new(store, p, i, answers).run(rx))?;
        Ok(Recorder { tx, problem, ids })
    }

    pub fn send(&self, msg: Msg) {
        let _ = self.tx.send(msg);
    }

    /// Flush, waiting at most `timeout` for the writer.
    pub fn flush(&self, timeout: Duration) {
        let (tx, rx) = mpsc::channel();
        self.send(Msg::Flush(tx));
        let _ = rx.recv_timeout(timeout);
    }

    /// Flush and mark unfinished runs interrupted, waiting at most `timeout`.
    pub fn interrupt(&self, timeout: Duration) {
        let (tx, rx) = mpsc::channel();
        self.send(Msg::Interrupt(tx));
        let _ = rx.recv_timeout(timeout);
    }

    pub fn stored_id(&self, run: RunId, prompt: usize) -> Option<i64> {
        self.ids.lock().ok()?.get(&(run, prompt)).copied()
    }
}

struct Writer {
    store: Store,
    problem: Arc<Mutex<Option<String>>>,
    ids: Arc<Mutex<HashMap<(RunId, usize), i64>>>,
    /// Answers being recorded, by (comparison, slot, sample).
    outputs: HashMap<(i64, usize, u32), Output>,
    device: String,
    /// The follow-up turn being recorded, by stored comparison.
    turns: HashMap<i64, usize>,
    answers: tokio::sync::mpsc::UnboundedSender<Reply>,
}

/// What is recorded of a model: identity and a cheap content fingerprint.
pub fn model_record(e: &RunEntry) -> ModelRecord {
    let m = &e.model;
    ModelRecord {
        name: m.name.clone(),
        path: m.path.display().to_string(),
        format: m.format.label().into(),
        engine: e.engine.label().into(),
        size_bytes: m.size_bytes,
        architecture: m.architecture.clone(),
        quantization: m.quantization.clone(),
        fingerprint: fingerprint(&m.files),
    }
}

impl Writer {
    fn new(
        store: Store,
        problem: Arc<Mutex<Option<String>>>,
        ids: Arc<Mutex<HashMap<(RunId, usize), i64>>>,
        answers: tokio::sync::mpsc::UnboundedSender<Reply>,
    ) -> Writer {
        Writer { store, problem, ids, outputs: HashMap::new(), device: crate::gpu::run_device(), turns: HashMap::new(), answers }
    }

    /// A comparison of this session by its run, or by its id.
    fn target(&self, t: Target) -> Option<i64> {
        match t {
            Target::Stored(id) => Some(id),
            Target::Run(run) => self.id(run, 0),
        }
    }

    fn report(&self, what: &str, e: impl std::fmt::Display) {
        tracing::warn!("history store: {what}: {e}");
        if let Ok(mut p) = self.problem.lock() {
            p.get_or_insert_with(|| format!("history not saved ({}): {e}", self.store.path.display()));
        }
    }

    fn run(mut self, rx: mpsc::Receiver<Msg>) {
        let mut last = Instant::now();
        loop {
            match rx.recv_timeout(FLUSH_EVERY) {
                Ok(msg) => self.handle(msg),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    self.flush();
                    break;
                }
            }
            if last.elapsed() >= FLUSH_EVERY {
                self.flush();
                last = Instant::now();
            }
        }
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Begin { run, prompts, system, entries, batch, continues: None, .. } => {
                self.begin(run, &prompts, &system, &entries, batch.as_deref())
            }
            Msg::Begin { run, entries, continues: Some(t), retry, prompts, .. } => match (self.target(t), retry) {
                (Some(id), Some(turn)) => self.begin_retry(run, id, turn, &entries),
                (Some(id), None) => self.begin_turn(run, id, prompts.first().map_or("", String::as_str), &entries),
                (None, _) => self.report("continuing a comparison", "it is not in the history"),
            },
            Msg::Event(ev) => self.event(ev),
            Msg::Flush(ack) => {
                self.flush();
                let _ = ack.send(());
            }
            Msg::Query(query) => {
                // A read sees every answer's text so far.
                self.flush();
                let ids = self.ids.clone();
                let stored = move |run: RunId| ids.lock().ok()?.get(&(run, 0)).copied();
                if let Some(answer) = super::query::answer(&mut self.store, query, &stored) {
                    let _ = self.answers.send(answer);
                }
            }
            Msg::Interrupt(ack) => {
                self.flush();
                if let Err(e) = self.store.interrupt_mine() {
                    self.report("marking runs interrupted", e);
                }
                let _ = ack.send(());
            }
        }
    }

    fn begin(&mut self, run: RunId, prompts: &[String], system: &str, entries: &[RunEntry], batch: Option<&str>) {
        let records: Vec<ModelRecord> = entries.iter().map(model_record).collect();
        for (p, prompt) in prompts.iter().enumerate() {
            let result = (|| -> rusqlite::Result<i64> {
                let id = self.store.begin(prompt, system, &self.device, batch)?;
                let tx = self.store.conn().transaction()?;
                for (slot, e) in entries.iter().enumerate() {
                    if e.prompts.as_ref().is_some_and(|ps| !ps.contains(&p)) {
                        continue;
                    }
                    tx.execute(
                        "INSERT INTO outputs (run_id, slot, label, model, settings, status, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                        params![
                            id,
                            slot as i64,
                            e.label,
                            serde_json::to_string(&records[slot]).unwrap_or_default(),
                            serde_json::to_string(&e.settings).unwrap_or_default(),
                            Status::Queued.as_str(),
                            now()
                        ],
                    )?;
                }
                tx.commit()?;
                Ok(id)
            })();
            match result {
                Ok(id) => {
                    if let Ok(mut ids) = self.ids.lock() {
                        ids.insert((run, p), id);
                    }
                }
                Err(e) => self.report("starting a run", e),
            }
        }
    }

    /// A follow-up of stored comparison `id`: its next turn.
    fn begin_turn(&mut self, run: RunId, id: i64, prompt: &str, entries: &[RunEntry]) {
        let result = (|| -> rusqlite::Result<usize> {
            let turn = self.store.begin_turn(id, prompt)?;
            let tx = self.store.conn().transaction()?;
            for slot in 0..entries.len() {
                tx.execute(
                    "INSERT INTO turn_outputs (run_id, turn, slot, status, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![id, turn as i64, slot as i64, Status::Queued.as_str(), now()],
                )?;
            }
            tx.commit()?;
            Ok(turn)
        })();
        match result {
            Ok(turn) => {
                self.turns.insert(id, turn);
                if let Ok(mut ids) = self.ids.lock() {
                    ids.insert((run, 0), id);
                }
            }
            Err(e) => self.report("starting a follow-up", e),
        }
    }

    /// A retry of turn `turn` of stored comparison `id`: the entries that
    /// answer again start over as queued; the others keep their answers.
    fn begin_retry(&mut self, run: RunId, id: i64, turn: usize, entries: &[RunEntry]) {
        let (table, cond) = if turn == 0 { ("outputs", String::new()) } else { ("turn_outputs", format!(" AND turn = {turn}")) };
        let result = (|| -> rusqlite::Result<()> {
            let tx = self.store.conn().transaction()?;
            for (slot, e) in entries.iter().enumerate() {
                if e.prompts.as_ref().is_some_and(Vec::is_empty) {
                    continue;
                }
                tx.execute(
                    &format!("UPDATE {table} SET status = ?3, text = '', thinking = '', error = NULL, stats = NULL, updated_at = ?4 WHERE run_id = ?1 AND slot = ?2{cond}"),
                    params![id, slot as i64, Status::Queued.as_str(), now()],
                )?;
            }
            tx.execute(
                "UPDATE runs SET state = 'running', finished_at = NULL, pid = ?2, host = ?3 WHERE id = ?1",
                params![id, i64::from(std::process::id()), super::hostname()],
            )?;
            tx.commit()
        })();
        match result {
            Ok(()) => {
                if turn > 0 {
                    self.turns.insert(id, turn);
                }
                if let Ok(mut ids) = self.ids.lock() {
                    ids.insert((run, 0), id);
                }
            }
            Err(e) => self.report("starting a retry", e),
        }
    }

    /// Where answers of comparison `id` go: the first turn's table, or the
    /// follow-ups' with the turn.
    fn table(&self, id: i64) -> (&'static str, String) {
        match self.turns.get(&id) {
            Some(t) => ("turn_outputs", format!(" AND turn = {t}")),
            None => ("outputs", String::new()),
        }
    }

    fn id(&self, run: RunId, prompt: usize) -> Option<i64> {
        self.ids.lock().ok()?.get(&(run, prompt)).copied()
    }

    fn status(&mut self, id: i64, slot: usize, status: Status) {
        let (table, turn) = self.table(id);
        if let Err(e) = self.store.conn().execute(
            &format!("UPDATE {table} SET status = ?3, updated_at = ?4 WHERE run_id = ?1 AND slot = ?2{turn}"),
            params![id, slot as i64, status.as_str(), now()],
        ) {
            self.report("updating a status", e);
        }
    }

    fn event(&mut self, ev: EngineEvent) {
        if let EventKind::RunDone = ev.kind {
            return self.run_done(ev.run);
        }
        let Some(id) = self.id(ev.run, ev.prompt) else { return };
        let key = (id, ev.slot, ev.sample);
        let out = self.outputs.entry(key).or_insert(Output { answer: Answer::default(), dirty: false });
        let before = out.answer.status;
        out.dirty |= matches!(ev.kind, EventKind::Token { .. });
        out.answer.apply(&ev.kind);
        let status = out.answer.status;
        if status.is_final() {
            if let Some(done) = self.outputs.remove(&key) {
                match key.2 {
                    0 => self.finish((id, ev.slot), &done.answer),
                    _ => self.write_sample(key, &done.answer),
                }
            }
        } else if status != before {
            match key.2 {
                0 => self.status(id, ev.slot, status),
                _ => {
                    let answer = self.outputs.get(&key).map(|o| o.answer.clone()).unwrap_or_default();
                    self.write_sample(key, &answer);
                }
            }
        }
    }

    /// A further sample's row, as it stands.
    fn write_sample(&mut self, (id, slot, sample): (i64, usize, u32), a: &Answer) {
        let turn = self.turns.get(&id).copied().unwrap_or(0);
        let written = super::samples::write(
            self.store.conn(),
            (id, turn, slot, sample),
            &a.text,
            &a.thinking,
            a.status,
            a.error.as_deref(),
            a.stats.as_ref(),
        );
        if let Err(e) = written {
            self.report("saving a sample", e);
        }
    }

    fn finish(&mut self, key: (i64, usize), answer: &Answer) {
        let stats = answer.stats.as_ref();
        let (table, turn) = self.table(key.0);
        let result = self.store.conn().execute(
            &format!(
                "UPDATE {table} SET status = ?3, error = ?4, stats = ?5,
                    rendered_prompt = COALESCE(?6, rendered_prompt), text = ?7, updated_at = ?8, thinking = ?9
                 WHERE run_id = ?1 AND slot = ?2{turn}"
            ),
            params![
                key.0,
                key.1 as i64,
                answer.status.as_str(),
                answer.error,
                stats.map(|s| serde_json::to_string(s).unwrap_or_default()),
                stats.map(|s| s.rendered_prompt.clone()),
                answer.text,
                now(),
                answer.thinking
            ],
        );
        if let Err(e) = result {
            self.report("saving an answer", e);
        }
    }

    fn run_done(&mut self, run: RunId) {
        self.flush();
        let ids: Vec<i64> =
            self.ids.lock().map(|ids| ids.iter().filter(|((r, _), _)| *r == run).map(|(_, id)| *id).collect()).unwrap_or_default();
        for id in ids {
            let (table, turn) = self.table(id);
            self.turns.remove(&id);
            let unfinished = [Status::Cancelled, Status::Queued, Status::Loading, Status::Generating].map(|s| format!("'{s}'")).join(", ");
            let sql = format!(
                "UPDATE runs SET finished_at = ?2, state = CASE
                    WHEN EXISTS (SELECT 1 FROM {table} WHERE run_id = ?1{turn} AND status = '{failed}') THEN '{failed_run}'
                    WHEN EXISTS (SELECT 1 FROM {table} WHERE run_id = ?1{turn} AND status IN ({unfinished})) THEN '{cancelled_run}'
                    ELSE '{complete}' END
                 WHERE id = ?1 AND state = '{running}'",
                failed = Status::Failed,
                failed_run = RunState::Failed.as_str(),
                cancelled_run = RunState::Cancelled.as_str(),
                complete = RunState::Complete.as_str(),
                running = RunState::Running.as_str(),
            );
            let result = self.store.conn().execute(&sql, params![id, now()]);
            if let Err(e) = result {
                self.report("finishing a run", e);
            }
        }
    }

    /// Write the text of every answer that grew since the last flush.
    fn flush(&mut self) {
        let further: Vec<((i64, usize, u32), Answer)> = self
            .outputs
            .iter_mut()
            .filter(|(k, o)| o.dirty && k.2 > 0)
            .map(|(k, o)| {
                o.dirty = false;
                (*k, o.answer.clone())
            })
            .collect();
        for (k, a) in further {
            self.write_sample(k, &a);
        }
        let turns = &self.turns;
        let dirty: Vec<((i64, usize), String, String, String)> = self
            .outputs
            .iter_mut()
            .filter(|(_, o)| o.dirty)
            .map(|(k, o)| {
                let k = &(k.0, k.1);
                o.dirty = false;
                let sql = match turns.get(&k.0) {
                    Some(t) => format!(
                        "UPDATE turn_outputs SET text = ?3, thinking = ?5, updated_at = ?4 WHERE run_id = ?1 AND slot = ?2 AND turn = {t}"
                    ),
                    None => "UPDATE outputs SET text = ?3, thinking = ?5, updated_at = ?4 WHERE run_id = ?1 AND slot = ?2".to_string(),
                };
                (*k, o.answer.text.clone(), o.answer.thinking.clone(), sql)
            })
            .collect();
        if dirty.is_empty() {
            return;
        }
        let result = (|| -> rusqlite::Result<()> {
            let tx = self.store.conn().transaction()?;
            for ((id, slot), text, thinking, sql) in &dirty {
                tx.execute(sql, params![id, *slot as i64, text, now(), thinking])?;
            }
            tx.commit()
        })();
        if let Err(e) = result {
            self.report("saving streamed text", e);
        }
    }
}
