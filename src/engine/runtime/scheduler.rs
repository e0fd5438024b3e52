//! The sequential scheduler: one named thread owns whatever model is loaded
//! and runs each entry of a run in turn: memory check → load → generate →
//! drop (or keep it loaded, `resident.rs`) → next. Models still loaded from
//! an earlier run go first and answer without a load. A failure (error or
//! panic) becomes that entry's `Failed` event and the next entry runs;
//! cancellation is checked on every token and between entries.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

use super::job::{Job, Keep, Loader, prompts_of, send};
use super::memory::MemoryConfig;
use super::resident::{self, KeepLoaded, Residents};
use super::worker::Isolation;
use super::worker::supervisor::{Input, Supervisor};
use crate::engine::{EngineEvent, EventKind, RunEntry, RunRequest};
use crate::error::Error;

/// The name of the inference thread; the panic hook leaves panics there to
/// `catch_unwind` instead of tearing down the UI.
pub const THREAD_NAME: &str = "versus-inference";

/// Threads whose panics the engine catches itself (each becomes that
/// model's failure): the inference thread and the remote streams.
pub const CAUGHT_THREADS: &[&str] = &[THREAD_NAME, "versus-remote-"];

enum Command {
    Run(RunRequest),
    Shutdown,
}

/// Where runs go: the queue on the inference thread itself, or the
/// supervisor of a worker process (`worker/`).
enum Tx {
    Queue(mpsc::Sender<Command>),
    Worker(mpsc::Sender<Input>),
}

/// Handle to the inference thread.
pub struct Engine {
    tx: Tx,
    thread: Option<JoinHandle<()>>,
}

impl Engine {
    /// The inference thread with the real engines, one model loaded at a
    /// time (benchmarks and tests that count loads).
    pub fn start(events: UnboundedSender<EngineEvent>, memory: MemoryConfig) -> std::io::Result<Engine> {
        Engine::keeping(events, memory, KeepLoaded::Never)
    }

    /// The inference thread, keeping models loaded between runs by `policy`.
    pub fn keeping(events: UnboundedSender<EngineEvent>, memory: MemoryConfig, policy: KeepLoaded) -> std::io::Result<Engine> {
        Engine::with_loader(events, memory, policy, Arc::new(|e: &RunEntry, p| crate::engine::load(e, p)))
    }

    pub fn with_loader(
        events: UnboundedSender<EngineEvent>,
        memory: MemoryConfig,
        policy: KeepLoaded,
        loader: Loader,
    ) -> std::io::Result<Engine> {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new().name(THREAD_NAME.into()).spawn(move || {
            let mut queue = Queue { loader, ..Queue::new(memory, policy) };
            while let Ok(Command::Run(req)) = rx.recv() {
                queue.run(&req, &events);
            }
        })?;
        Ok(Engine { tx: Tx::Queue(tx), thread: Some(thread) })
    }

    /// Local models in a worker process (`worker/`): an engine that dies
    /// costs one model's answer; the inference thread supervises it.
    pub fn isolated(
        events: UnboundedSender<EngineEvent>,
        memory: MemoryConfig,
        policy: KeepLoaded,
        iso: Isolation,
    ) -> std::io::Result<Engine> {
        let (tx, rx) = mpsc::channel();
        let inbox = tx.clone();
        let thread = std::thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn(move || Supervisor::new(iso, memory, policy, events, inbox).run(rx))?;
        Ok(Engine { tx: Tx::Worker(tx), thread: Some(thread) })
    }

    /// Queue a run; runs execute in submission order.
    pub fn submit(&self, req: RunRequest) {
        let _ = match &self.tx {
            Tx::Queue(tx) => tx.send(Command::Run(req)).is_ok(),
            Tx::Worker(tx) => tx.send(Input::Run(req)).is_ok(),
        };
    }

    fn shutdown(&self) {
        let _ = match &self.tx {
            Tx::Queue(tx) => tx.send(Command::Shutdown).is_ok(),
            Tx::Worker(tx) => tx.send(Input::Shutdown).is_ok(),
        };
    }
}

impl Engine {
    /// Ask the thread to stop after the current run without waiting for it:
    /// used when the process is about to exit.
    pub fn detach(mut self) {
        self.shutdown();
        self.thread.take();
    }
}

/// How long dropping the engine waits for its thread to finish the current
/// step: a cancelled run stops within a token, but a call into an engine
/// that never returns (a C++ loop, a stuck driver) must not hold up quitting.
const STOP_WAIT: Duration = Duration::from_secs(2);

/// An inference thread was left running: `main` then ends with `_exit`, as C++
/// static destructors would tear down a backend that thread is still inside.
pub static LEFT_BEHIND: AtomicBool = AtomicBool::new(false);

impl Drop for Engine {
    fn drop(&mut self) {
        self.shutdown();
        let Some(t) = self.thread.take() else { return };
        let start = Instant::now();
        while !t.is_finished() && start.elapsed() < STOP_WAIT {
            std::thread::sleep(Duration::from_millis(5));
        }
        if !t.is_finished() {
            tracing::warn!("the inference thread did not stop within {STOP_WAIT:?}; leaving it behind");
            return LEFT_BEHIND.store(true, Ordering::SeqCst);
        }
        let _ = t.join();
    }
}

/// What the inference thread owns: the memory rules, how to load, and the
/// models it keeps loaded between runs.
pub struct Queue {
    pub mem: MemoryConfig,
    pub loader: Loader,
    pub policy: KeepLoaded,
    pub residents: Residents,
}

impl Queue {
    pub fn new(mem: MemoryConfig, policy: KeepLoaded) -> Queue {
        Queue { mem, loader: Arc::new(|e: &RunEntry, p| crate::engine::load(e, p)), policy, residents: Residents::default() }
    }

    /// Run every entry of `req`, reporting through `events`: local entries
    /// one after another on this thread (those already loaded first),
    /// remote ones concurrently beside them.
    pub fn run(&mut self, req: &RunRequest, events: &UnboundedSender<EngineEvent>) {
        queued(req, events, |_| true);
        // Remote entries use no local memory: each streams on a thread of its
        // own while the local queue runs; the last part to finish ends the run.
        let parts = start_remote(req, events, &self.mem, &self.loader, 1);
        self.run_local(req, events);
        finish_part(&parts, events, req);
    }

    /// The local entries of `req`, one after another (those already loaded
    /// first), then what stays loaded (`Resident`). Their `Queued` events
    /// are the caller's.
    pub fn run_local(&mut self, req: &RunRequest, events: &UnboundedSender<EngineEvent>) {
        let (mem, loader) = (self.mem.clone(), self.loader.clone());
        let mut order: Vec<usize> = (0..req.entries.len()).filter(|&s| is_local(&req.entries[s])).collect();
        order.sort_by_key(|&s| !self.residents.holds(&resident::key(&req.entries[s])));
        for (k, &slot) in order.iter().enumerate() {
            let next: Vec<&RunEntry> = order[k + 1..]
                .iter()
                .map(|&s| &req.entries[s])
                .filter(|e| e.model.error.is_none() && !self.residents.holds(&resident::key(e)))
                .collect();
            let mut keep = Keep { policy: self.policy, residents: &mut self.residents, next };
            Job::new(req, slot, events).run(&mem, &loader, &mut keep);
        }
        if !order.is_empty() {
            send(events, req.id, req.entries.len(), 0, EventKind::Resident { models: self.residents.describe() });
        }
    }
}

/// The entry holds its model in this process (or the worker's): it takes
/// its turn in the sequential queue.
pub fn is_local(e: &RunEntry) -> bool {
    crate::engine::registry::info(e.engine).local
}

/// `Queued` for each entry `which` lets through that has something to
/// answer (entries with nothing to answer, a batch resumed or a retry of
/// the others, stay as they are on screen).
pub fn queued(req: &RunRequest, events: &UnboundedSender<EngineEvent>, which: impl Fn(&RunEntry) -> bool) {
    for (slot, e) in req.entries.iter().enumerate().filter(|(_, e)| which(e)) {
        if let Some(&p) = prompts_of(req, e).first() {
            send(events, req.id, slot, p, EventKind::Queued);
        }
    }
}

/// Start a thread per remote entry of `req`; returns the count of the
/// run's parts still to finish (those threads plus `others`), which the
/// last part to finish brings to 0 and answers with `RunDone`.
pub fn start_remote(
    req: &RunRequest,
    events: &UnboundedSender<EngineEvent>,
    mem: &MemoryConfig,
    loader: &Loader,
    others: usize,
) -> Arc<AtomicUsize> {
    let remote: Vec<usize> = (0..req.entries.len()).filter(|&i| !is_local(&req.entries[i])).collect();
    let parts = Arc::new(AtomicUsize::new(others + remote.len()));
    for slot in remote {
        let (r, ev, m, p, l) = (req.clone(), events.clone(), mem.clone(), parts.clone(), loader.clone());
        let spawned = std::thread::Builder::new().name(format!("versus-remote-{slot}")).spawn(move || {
            let mut none = Residents::default();
            let mut keep = Keep { policy: KeepLoaded::Never, residents: &mut none, next: Vec::new() };
            Job::new(&r, slot, &ev).run(&m, &l, &mut keep);
            finish_part(&p, &ev, &r);
        });
        if let Err(e) = spawned {
            let error = Error::Inference(format!("could not start a thread for this endpoint: {e}"));
            for p in prompts_of(req, &req.entries[slot]) {
                send(events, req.id, slot, p, EventKind::Failed { error: error.clone(), stats: None });
            }
            finish_part(&parts, events, req);
        }
    }
    parts
}

/// One part of run `req` is done; the last one sends `RunDone`.
pub fn finish_part(parts: &AtomicUsize, events: &UnboundedSender<EngineEvent>, req: &RunRequest) {
    if parts.fetch_sub(1, Ordering::SeqCst) == 1 {
        send(events, req.id, req.entries.len(), 0, EventKind::RunDone);
    }
}

#[cfg(test)]
#[path = "scheduler_tests.rs"]
mod tests;
