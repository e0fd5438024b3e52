//! A comparison's life, owned in one place: the inference thread that runs
//! it, the history recorder that saves it as it streams, the cancel flag of
//! each run, the signals that end it, and closing. The TUI and `versus
//! run` (single prompt and batch) both drive a `Session`; they only
//! present what it reports.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::engine::runtime::memory::MemoryConfig;
use crate::engine::runtime::resident::KeepLoaded;
use crate::engine::runtime::worker::Isolation;
use crate::engine::{Engine, EngineEvent, EventKind, RunEntry, RunId, RunRequest};
use crate::store::Store;
use crate::store::query::{Query, Reply, Target};
use crate::store::recorder::{Msg, Recorder};

/// What to run: prompts (several for a batch) on entries.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub prompts: Vec<String>,
    pub entries: Vec<RunEntry>,
    /// The batch file, recorded with each prompt's comparison.
    pub batch: Option<String>,
    /// A follow-up: the comparison this run is the next turn of (by its
    /// id, or by the run of this session that recorded it).
    pub continues: Option<Target>,
    /// With `continues`: this run answers that comparison's turn N again
    /// (a retry of the models that failed it) instead of a new turn.
    pub retry: Option<usize>,
}

/// What a session reports.
#[derive(Debug)]
pub enum Next {
    Event(EngineEvent),
    /// The history's answer to a `query`.
    Store(Reply),
    Ending(Ending),
    /// The inference thread is gone.
    Closed,
}

/// A signal that ends the session: SIGINT, SIGTERM or SIGHUP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Interrupt,
    Terminate,
    Hangup,
}

impl Ending {
    /// The exit status of a run this signal cut short: 128 + the signal's
    /// number, as shells report it (130 SIGINT, 143 SIGTERM, 129 SIGHUP),
    /// so a script tells it from "a model failed" (1).
    pub fn exit_status(self) -> u8 {
        match self {
            Ending::Interrupt => 130,
            Ending::Terminate => 143,
            Ending::Hangup => 129,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Ending::Interrupt => "interrupted",
            Ending::Terminate => "terminated",
            Ending::Hangup => "hangup",
        }
    }
}

pub struct Session {
    engine: Option<Engine>,
    events: UnboundedReceiver<EngineEvent>,
    recorder: Option<Recorder>,
    /// The store thread's answers to queries (and ours, with no store).
    answers: UnboundedReceiver<Reply>,
    answer_tx: tokio::sync::mpsc::UnboundedSender<Reply>,
    cancels: HashMap<RunId, Arc<AtomicBool>>,
    skips: HashMap<RunId, Arc<[AtomicBool]>>,
    /// Runs submitted whose `RunDone` has not come yet.
    active: HashSet<RunId>,
    /// Runs not saved in the history (a judge's).
    unrecorded: HashSet<RunId>,
    term: Option<Signal>,
    hup: Option<Signal>,
    /// Why the history is off, until someone reads it.
    problem: Option<String>,
}

impl Session {
    /// Start the inference thread, and the recorder on `history` (None: do
    /// not save). A history that cannot be opened is reported once by
    /// `problem` and the session records in memory instead (exports and
    /// votes of this session still work; nothing reaches the disk). Call
    /// inside a tokio runtime: the signal handlers are registered here.
    /// With `iso`, local models run in a worker process that may die
    /// without taking the session with it; without, in this process.
    pub fn open(memory: MemoryConfig, keep: KeepLoaded, history: Option<&Path>, iso: Option<Isolation>) -> std::io::Result<Session> {
        let (tx, events) = tokio::sync::mpsc::unbounded_channel();
        let engine = match iso {
            Some(iso) => Engine::isolated(tx, memory, keep, iso)?,
            None => Engine::keeping(tx, memory, keep)?,
        };
        let (answer_tx, answers) = tokio::sync::mpsc::unbounded_channel();
        let (store, problem) = match history.map(Store::open) {
            Some(Ok(s)) => (Some(s), None),
            Some(Err(e)) => {
                tracing::warn!("history store unavailable: {e}");
                (Store::in_memory().ok(), Some(format!("history is off for this run (kept in memory only): {e}")))
            }
            None => (None, None),
        };
        let recorder = match store.map(|s| Recorder::start(s, answer_tx.clone())).transpose() {
            Ok(r) => r,
            Err(e) => return Err(e),
        };
        Ok(Session {
            engine: Some(engine),
            events,
            recorder,
            answers,
            answer_tx,
            cancels: HashMap::new(),
            skips: HashMap::new(),
            active: HashSet::new(),
            unrecorded: HashSet::new(),
            term: signal(SignalKind::terminate()).ok(),
            hup: signal(SignalKind::hangup()).ok(),
            problem,
        })
    }

    /// Record and submit a comparison as run `id`; runs execute in order.
    pub fn start(&mut self, id: RunId, c: Comparison) {
        let cancel = Arc::new(AtomicBool::new(false));
        self.cancels.insert(id, cancel.clone());
        self.active.insert(id);
        if let Some(r) = &self.recorder {
            let system = c.entries.first().map(|e| e.settings.generation.system_prompt.clone()).unwrap_or_default();
            r.send(Msg::Begin {
                run: id,
                prompts: c.prompts.clone(),
                system,
                entries: c.entries.clone(),
                batch: c.batch,
                continues: c.continues,
                retry: c.retry,
            });
        }
        self.submit(RunRequest::new(id, c.prompts, c.entries, cancel));
    }

    fn submit(&mut self, req: RunRequest) {
        self.skips.insert(req.id, req.skip.clone());
        if let Some(engine) = &self.engine {
            engine.submit(req);
        }
    }

    /// Submit run `id` without saving it in the history (a judge reading
    /// the answers: its verdict is saved as a vote instead).
    pub fn start_unrecorded(&mut self, id: RunId, c: Comparison) {
        let cancel = Arc::new(AtomicBool::new(false));
        self.cancels.insert(id, cancel.clone());
        self.active.insert(id);
        self.unrecorded.insert(id);
        self.submit(RunRequest::new(id, c.prompts, c.entries, cancel));
    }

    /// Run answers again from their receipts (`versus replay`), unrecorded:
    /// `prompts` are rendered already, one `ReplayStep` each.
    pub fn start_replay(
        &mut self,
        id: RunId,
        prompts: Vec<String>,
        entries: Vec<RunEntry>,
        steps: Vec<crate::engine::protocol::ReplayStep>,
    ) {
        let cancel = Arc::new(AtomicBool::new(false));
        self.cancels.insert(id, cancel.clone());
        self.active.insert(id);
        self.unrecorded.insert(id);
        let mut req = RunRequest::new(id, prompts, entries, cancel);
        req.replay = steps;
        self.submit(req);
    }

    /// Stop run `id`: its current model on its next token, the rest before
    /// they load.
    pub fn cancel(&self, id: RunId) {
        if let Some(flag) = self.cancels.get(&id) {
            flag.store(true, Ordering::SeqCst);
        }
    }

    /// Skip entry `slot` of run `id`: its answer stops on the next token
    /// (or before it loads) and the run goes on with the next model.
    pub fn skip(&self, id: RunId, slot: usize) {
        if let Some(flag) = self.skips.get(&id).and_then(|s| s.get(slot)) {
            flag.store(true, Ordering::SeqCst);
        }
    }

    /// Ask the history; the answer comes from `next` as `Next::Store`, after
    /// everything recorded before it is written. Nothing here waits.
    pub fn query(&self, query: Query) {
        match &self.recorder {
            Some(r) => r.send(Msg::Query(query)),
            None => {
                let off = "the history is off (--no-history)".to_string();
                let answer = match query {
                    Query::List { .. } => Reply::List(Err(off)),
                    Query::Prompts { .. } => Reply::Prompts(Err(off)),
                    Query::Open { .. } => Reply::Opened(Err(off)),
                    Query::Leaderboard { show, .. } => Reply::Leaderboard { show, board: Err(off) },
                    Query::Matrix(id) => Reply::Matrix { id, result: Err(off) },
                    Query::Export { .. } => Reply::Exported(Err(off)),
                    Query::Vote { .. } => Reply::VoteFailed(off),
                };
                let _ = self.answer_tx.send(answer);
            }
        }
    }

    /// Some run has not finished.
    pub fn busy(&self) -> bool {
        !self.active.is_empty()
    }

    fn record(&mut self, ev: &EngineEvent) {
        if let EventKind::RunDone = ev.kind {
            self.active.remove(&ev.run);
            self.cancels.remove(&ev.run);
            self.skips.remove(&ev.run);
        }
        if self.unrecorded.contains(&ev.run) {
            return;
        }
        if let Some(r) = &self.recorder {
            r.send(Msg::Event(ev.clone()));
        }
    }

    /// The next engine event (once recorded) or ending signal, whichever
    /// comes first.
    pub async fn next(&mut self) -> Next {
        async fn wait(s: &mut Option<Signal>) {
            match s {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        let next = tokio::select! {
            ev = self.events.recv() => match ev {
                Some(ev) => Next::Event(ev),
                None => Next::Closed,
            },
            Some(answer) = self.answers.recv() => Next::Store(answer),
            _ = tokio::signal::ctrl_c() => Next::Ending(Ending::Interrupt),
            _ = wait(&mut self.term) => Next::Ending(Ending::Terminate),
            _ = wait(&mut self.hup) => Next::Ending(Ending::Hangup),
        };
        if let Next::Event(ev) = &next {
            self.record(ev);
        }
        next
    }

    /// A store answer that has already arrived, if any.
    pub fn try_answer(&mut self) -> Option<Reply> {
        self.answers.try_recv().ok()
    }

    /// An event that has already arrived, if any, once recorded.
    pub fn try_next(&mut self) -> Option<EngineEvent> {
        let ev = self.events.try_recv().ok()?;
        self.record(&ev);
        Some(ev)
    }

    /// Why the history is not being saved, once (opening or writing failed).
    pub fn problem(&mut self) -> Option<String> {
        self.problem.take().or_else(|| self.recorder.as_ref().and_then(|r| r.problem.lock().ok().and_then(|mut p| p.take())))
    }

    /// The stored comparison of run `run`'s prompt `prompt`. The writer
    /// records on its own thread and may not have reached the comparison yet
    /// (a busy disk): then it is flushed, for at most two seconds.
    pub fn stored_id(&self, run: RunId, prompt: usize) -> Option<i64> {
        let r = self.recorder.as_ref()?;
        r.stored_id(run, prompt).or_else(|| {
            r.flush(Duration::from_secs(2));
            r.stored_id(run, prompt)
        })
    }

    /// Write everything recorded so far (before reading the history).
    pub fn flush(&self, timeout: Duration) {
        if let Some(r) = &self.recorder {
            r.flush(timeout);
        }
    }

    /// Stop everything: cancel every run, save what streamed (runs cut
    /// short are marked interrupted), and let go of the inference thread
    /// without waiting for a model that is still loading.
    pub fn close(mut self, timeout: Duration) {
        for flag in self.cancels.values() {
            flag.store(true, Ordering::SeqCst);
        }
        if let Some(r) = &self.recorder {
            if self.busy() { r.interrupt(timeout) } else { r.flush(timeout) }
        }
        if let Some(engine) = self.engine.take() {
            engine.detach();
        }
    }

    /// After an ending signal: cancel every run and mark what streamed as
    /// interrupted, but keep taking events (each model reports what it
    /// had) until the runs end.
    pub fn interrupt(&mut self, timeout: Duration) {
        for flag in self.cancels.values() {
            flag.store(true, Ordering::SeqCst);
        }
        if let Some(r) = &self.recorder {
            r.interrupt(timeout);
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // A session dropped without `close` (an error path) still saves.
        if let Some(r) = &self.recorder {
            r.flush(Duration::from_secs(2));
        }
    }
}
