//! The parent's side of the worker: the inference thread becomes a
//! supervisor that sends each run's local part to a worker process and
//! forwards its events, runs the remote entries itself (they hold no
//! model), and watches the worker. When the worker dies (an abort, a
//! segfault, the OOM killer, or a kill of ours: a cancel it did not honour
//! in time, no progress past the entry's timeout) the model it was running
//! is told why, the models it held are marked unloaded, and the rest of the
//! run goes on in a fresh worker. Nothing already streamed is lost: it left
//! the worker as it was made.

use std::collections::{BTreeSet, VecDeque};
use std::io::{BufRead, BufReader};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

use super::super::job::{Loader, prompts_of, samples_of, send_sample};
use super::super::memory::MemoryConfig;
use super::super::resident::KeepLoaded;
use super::super::scheduler::{finish_part, is_local, queued, start_remote};
use super::wire::{self, FromWorker, ToWorker, WireEntry};
use super::{Isolation, state};
use crate::engine::{EngineEvent, EventKind, RunRequest};
use crate::error::Error;

/// How often the supervisor looks at cancel flags and deadlines.
const TICK: Duration = Duration::from_millis(50);
/// How long a cancelled run has to stop before its worker is ended: long
/// enough for an engine that checks its flag per token or per load step.
pub const CANCEL_GRACE: Duration = Duration::from_millis(1500);
/// Past an entry's `timeout_secs` without a single event, its worker is
/// ended (the sink ends a slow answer at the timeout itself; this catches
/// a call that never returns).
const HANG_GRACE: Duration = Duration::from_secs(10);
/// Deaths in a row without an answer before a run's local part gives up.
const MAX_DEATHS: usize = 3;
/// Lines of the worker's log kept to say why it died.
const TAIL: usize = 40;

/// What the supervisor thread is told.
pub enum Input {
    Run(RunRequest),
    Shutdown,
    /// A message of worker `generation`.
    Message(u64, FromWorker),
    /// Worker `generation`'s output ended, with why when it was unreadable.
    Gone(u64, Option<String>),
}

/// Why we ended a worker ourselves.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Killed {
    Cancel,
    /// Entry `slot` was skipped and did not stop in time.
    Skip(usize),
    Hang {
        secs: u64,
    },
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    generation: u64,
    tail: Arc<Mutex<VecDeque<String>>>,
    killed: Option<Killed>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Loading,
    Generating,
}

/// The run whose local part the worker is answering.
struct Current {
    req: RunRequest,
    /// Local answers (slot, prompt, sample) without their final event yet.
    pending: BTreeSet<(usize, usize, u32)>,
    active: Option<(usize, usize, Phase)>,
    last_event: Instant,
    cancel_sent: Option<Instant>,
    /// Entries whose skip was passed on, and when.
    skips_sent: Vec<(usize, Instant)>,
    parts: Arc<AtomicUsize>,
    deaths: usize,
}

pub struct Supervisor {
    iso: Isolation,
    memory: MemoryConfig,
    keep: KeepLoaded,
    loader: Loader,
    events: UnboundedSender<EngineEvent>,
    inbox: mpsc::Sender<Input>,
    worker: Option<Worker>,
    generation: u64,
    waiting: VecDeque<RunRequest>,
    current: Option<Current>,
    /// The models the worker holds, as it last said.
    residents: Vec<String>,
}

impl Supervisor {
    pub fn new(
        iso: Isolation,
        memory: MemoryConfig,
        keep: KeepLoaded,
        events: UnboundedSender<EngineEvent>,
        inbox: mpsc::Sender<Input>,
    ) -> Supervisor {
        let loader: Loader = Arc::new(|e, p| crate::engine::load(e, p));
        Supervisor {
            iso,
            memory,
            keep,
            loader,
            events,
            inbox,
            worker: None,
            generation: 0,
            waiting: VecDeque::new(),
            current: None,
            residents: Vec::new(),
        }
    }

    /// Serve until told to shut down (or the engine handle is gone).
    pub fn run(mut self, rx: mpsc::Receiver<Input>) {
        loop {
            match rx.recv_timeout(TICK) {
                Ok(Input::Run(req)) => self.waiting.push_back(req),
                Ok(Input::Shutdown) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Ok(Input::Message(g, msg)) if self.is_current(g) => self.message(msg),
                Ok(Input::Gone(g, why)) if self.is_current(g) => self.died(why),
                // A worker already replaced.
                Ok(Input::Message(..) | Input::Gone(..)) => {}
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            self.watch();
            if self.current.is_none() {
                if let Some(req) = self.waiting.pop_front() {
                    self.start(req);
                }
            }
        }
        self.stop_worker();
    }

    fn is_current(&self, generation: u64) -> bool {
        self.worker.as_ref().is_some_and(|w| w.generation == generation)
    }

    /// Begin a run: its remote entries on threads, its local part in the worker.
    fn start(&mut self, req: RunRequest) {
        queued(&req, &self.events, |_| true);
        let parts = start_remote(&req, &self.events, &self.memory, &self.loader, 1);
        let pending: BTreeSet<(usize, usize, u32)> = (0..req.entries.len())
            .filter(|&s| is_local(&req.entries[s]))
            .flat_map(|s| {
                let samples = samples_of(&req, &req.entries[s]);
                prompts_of(&req, &req.entries[s]).into_iter().flat_map(move |p| (0..samples).map(move |k| (s, p, k)))
            })
            .collect();
        if pending.is_empty() {
            return finish_part(&parts, &self.events, &req);
        }
        let current =
            Current { req, pending, active: None, last_event: Instant::now(), cancel_sent: None, skips_sent: Vec::new(), parts, deaths: 0 };
        self.current = Some(current);
        self.submit();
    }

    /// Send what the current run's local part still has to answer to the
    /// worker, starting one when there is none.
    fn submit(&mut self) {
        let Some(cur) = &self.current else { return };
        let entries: Vec<WireEntry> = cur
            .req
            .entries
            .iter()
            .enumerate()
            .map(|(slot, e)| {
                let mut e = e.clone();
                let mut todo: Vec<usize> = cur.pending.iter().filter(|(s, ..)| *s == slot).map(|(_, p, _)| *p).collect();
                todo.dedup();
                e.prompts = Some(if is_local(&e) { todo } else { Vec::new() });
                WireEntry::new(&e)
            })
            .collect();
        let msg = ToWorker::Run { id: cur.req.id, prompts: cur.req.prompts.clone(), entries, replay: cur.req.replay.clone() };
        if self.worker.is_none() {
            if let Err(e) = self.spawn() {
                let error = Error::Inference(format!(
                    "could not start the worker process {} ({e}); set [scheduler] isolate = false to run models inside versus",
                    self.iso.exe.display()
                ));
                return self.give_up(&error);
            }
        }
        let sent = self.worker.as_mut().map(|w| wire::send(&mut w.stdin, &msg));
        if let Some(Err(e)) = sent {
            // It died before reading: its output ends and `died` resubmits.
            tracing::warn!("the worker did not take the run: {e}");
        }
        if let Some(cur) = self.current.as_mut() {
            cur.last_event = Instant::now();
        }
    }

    fn spawn(&mut self) -> std::io::Result<()> {
        self.generation += 1;
        let generation = self.generation;
        let mut child = Command::new(&self.iso.exe)
            .arg("worker")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group: Ctrl-C at the terminal reaches versus,
            // which decides; the worker dies with it (PR_SET_PDEATHSIG).
            .process_group(0)
            .spawn()?;
        let (Some(mut stdin), Some(stdout), Some(stderr)) = (child.stdin.take(), child.stdout.take(), child.stderr.take()) else {
            let _ = child.kill();
            return Err(std::io::Error::other("no pipes to the worker"));
        };
        let init = ToWorker::Init { version: wire::VERSION, memory: self.memory.clone(), keep: self.keep, log: self.iso.log.clone() };
        wire::send(&mut stdin, &init)?;
        let inbox = self.inbox.clone();
        std::thread::Builder::new().name("versus-worker-events".into()).spawn(move || {
            let mut out = BufReader::new(stdout);
            loop {
                match wire::receive::<FromWorker>(&mut out) {
                    Ok(Some(msg)) => {
                        if inbox.send(Input::Message(generation, msg)).is_err() {
                            return;
                        }
                    }
                    Ok(None) => return drop(inbox.send(Input::Gone(generation, None))),
                    Err(e) => return drop(inbox.send(Input::Gone(generation, Some(e.to_string())))),
                }
            }
        })?;
        let tail: Arc<Mutex<VecDeque<String>>> = Arc::default();
        let keep_tail = tail.clone();
        std::thread::Builder::new().name("versus-worker-log".into()).spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                tracing::info!(target: "versus::worker", "{line}");
                if let Ok(mut t) = keep_tail.lock() {
                    if t.len() == TAIL {
                        t.pop_front();
                    }
                    t.push_back(line);
                }
            }
        })?;
        tracing::info!(pid = child.id(), "worker started");
        state::started(&self.iso.state_dir, child.id());
        self.worker = Some(Worker { child, stdin, generation, tail, killed: None });
        Ok(())
    }

    fn message(&mut self, msg: FromWorker) {
        let ev = match msg {
            FromWorker::Ready { version, pid } => return tracing::debug!(version, pid, "worker ready"),
            FromWorker::Event(ev) => ev,
        };
        if let EventKind::Resident { models } = &ev.kind {
            self.residents = models.clone();
        }
        if matches!(ev.kind, EventKind::RunDone) {
            // The local part is over; the run ends when its remote parts do.
            if let Some(c) = self.current.take_if(|c| c.req.id == ev.run) {
                finish_part(&c.parts, &self.events, &c.req);
            }
            if self.keep == KeepLoaded::Never {
                // Nothing stays loaded: the worker goes, and its memory with it.
                self.stop_worker();
            }
            return;
        }
        let Some(cur) = self.current.as_mut().filter(|c| c.req.id == ev.run) else {
            let _ = self.events.send(ev);
            return;
        };
        cur.last_event = Instant::now();
        let answer = (ev.slot, ev.prompt, ev.sample);
        match &ev.kind {
            EventKind::Loading | EventKind::LoadProgress { .. } => cur.active = Some((ev.slot, ev.prompt, Phase::Loading)),
            EventKind::Loaded { .. } | EventKind::Token { .. } => cur.active = Some((ev.slot, ev.prompt, Phase::Generating)),
            EventKind::Finished { .. } | EventKind::Failed { .. } | EventKind::Cancelled { .. } => {
                cur.pending.remove(&answer);
                cur.deaths = 0;
                if cur.active.is_some_and(|(s, p, _)| (s, p) == (answer.0, answer.1)) {
                    cur.active = None;
                }
            }
            EventKind::Queued | EventKind::Resident { .. } | EventKind::RunDone => {}
        }
        let _ = self.events.send(ev);
    }

    /// Cancels sent on, and ended when not honoured in time; a worker
    /// without progress past its entry's timeout ended.
    fn watch(&mut self) {
        let Some(cur) = self.current.as_mut() else { return };
        if cur.req.cancel.load(Ordering::Relaxed) && cur.cancel_sent.is_none() {
            cur.cancel_sent = Some(Instant::now());
            let id = cur.req.id;
            if let Some(w) = self.worker.as_mut() {
                let _ = wire::send(&mut w.stdin, &ToWorker::Cancel { run: id });
            }
        }
        // Skips go on as they come; a skipped entry still answering after
        // the grace has its worker ended (the rest of the run goes on).
        let new_skips: Vec<usize> = (0..cur.req.skip.len())
            .filter(|&s| cur.req.skip[s].load(Ordering::Relaxed) && !cur.skips_sent.iter().any(|(t, _)| *t == s))
            .collect();
        for slot in new_skips {
            cur.skips_sent.push((slot, Instant::now()));
            let id = cur.req.id;
            if let Some(w) = self.worker.as_mut() {
                let _ = wire::send(&mut w.stdin, &ToWorker::Skip { run: id, slot });
            }
        }
        let Some(cur) = self.current.as_ref() else { return };
        let stuck = cur.active.and_then(|(slot, ..)| cur.skips_sent.iter().find(|(s, at)| *s == slot && at.elapsed() > CANCEL_GRACE));
        if let Some(&(slot, _)) = stuck {
            tracing::warn!("entry {slot} was skipped but its engine did not stop within {CANCEL_GRACE:?}: ending its worker");
            return self.kill(Killed::Skip(slot));
        }
        if cur.cancel_sent.is_some_and(|at| at.elapsed() > CANCEL_GRACE) {
            tracing::warn!("the run was cancelled but the engine did not stop within {CANCEL_GRACE:?}: ending its worker");
            return self.kill(Killed::Cancel);
        }
        let timeout = cur.active.map_or(0, |(slot, _, _)| cur.req.entries[slot].settings.backend.timeout_secs);
        if timeout > 0 && cur.last_event.elapsed() > Duration::from_secs(timeout) + HANG_GRACE {
            let secs = cur.last_event.elapsed().as_secs();
            tracing::warn!("no progress for {secs} s (timeout_secs {timeout}): ending the worker");
            self.kill(Killed::Hang { secs });
        }
    }

    fn kill(&mut self, why: Killed) {
        if let Some(w) = self.worker.as_mut().filter(|w| w.killed.is_none()) {
            w.killed = Some(why);
            let _ = w.child.kill();
        }
    }

    /// The worker's output ended: find out how it died, tell the model it
    /// was running, and go on with the rest of the run in a fresh worker.
    fn died(&mut self, unreadable: Option<String>) {
        let Some(mut w) = self.worker.take() else { return };
        if let Some(why) = &unreadable {
            tracing::warn!("the worker's messages became unreadable: {why}");
            let _ = w.child.kill();
        }
        let status = reap(&mut w.child);
        state::stopped(&self.iso.state_dir);
        let tail: Vec<String> = w.tail.lock().map(|t| t.iter().cloned().collect()).unwrap_or_default();
        if !self.residents.is_empty() {
            // What it held died with it.
            self.residents.clear();
            let run = self.current.as_ref().map_or(0, |c| c.req.id);
            let slot = self.current.as_ref().map_or(0, |c| c.req.entries.len());
            let _ = self.events.send(EngineEvent { run, slot, prompt: 0, sample: 0, kind: EventKind::Resident { models: Vec::new() } });
        }
        let Some(mut cur) = self.current.take() else {
            tracing::warn!(?status, "the idle worker died");
            return;
        };
        if w.killed == Some(Killed::Cancel) || cur.req.cancel.load(Ordering::Relaxed) {
            for &(slot, p, k) in &cur.pending {
                send_sample(&self.events, cur.req.id, slot, p, k, EventKind::Cancelled { stats: None });
            }
            return finish_part(&cur.parts, &self.events, &cur.req);
        }
        // Skipped entries are done with, whatever they had left.
        let skipped: Vec<(usize, usize, u32)> = cur.pending.iter().filter(|(s, ..)| cur.req.stopped(*s)).copied().collect();
        for (slot, p, k) in skipped {
            cur.pending.remove(&(slot, p, k));
            send_sample(&self.events, cur.req.id, slot, p, k, EventKind::Cancelled { stats: None });
        }
        if let Some(Killed::Skip(_)) = w.killed {
            cur.active = None;
            self.current = Some(cur);
            return self.go_on();
        }
        let (slot, phase) = match cur.active {
            Some((s, _, phase)) => (Some(s), phase),
            None => (None, Phase::Loading),
        };
        let entry = slot.map(|s| &cur.req.entries[s]);
        let engine = entry.map_or("the engine", |e| crate::engine::registry::info(e.engine).title);
        let what = describe(status, w.killed, engine, slot.map(|_| phase), &tail, unreadable.as_deref());
        tracing::warn!("worker died: {what}");
        state::crashed(&self.iso.state_dir, entry.map_or("", |e| e.label.as_str()), engine, &what);
        if let Some((s, p, phase)) = cur.active.take() {
            let label = cur.req.entries[s].label.clone();
            let error = Error::Crashed { model: label, what: what.clone() };
            // A load that died fails every prompt of its model; an answer,
            // its prompt's samples (those not given yet are not run again).
            let dead: Vec<(usize, usize, u32)> = match phase {
                Phase::Loading => cur.pending.iter().filter(|(t, ..)| *t == s).copied().collect(),
                Phase::Generating => cur.pending.iter().filter(|(t, q, _)| (*t, *q) == (s, p)).copied().collect(),
            };
            for (slot, q, k) in dead {
                cur.pending.remove(&(slot, q, k));
                send_sample(&self.events, cur.req.id, slot, q, k, EventKind::Failed { error: error.clone(), stats: None });
            }
        }
        cur.deaths += 1;
        self.current = Some(cur);
        if self.current.as_ref().is_some_and(|c| c.deaths >= MAX_DEATHS) {
            let error = Error::Inference(format!("the engine process died {MAX_DEATHS} times in a row ({what})"));
            return self.give_up(&error);
        }
        self.go_on();
    }

    /// After a worker died: the rest of the current run in a fresh one, or
    /// its end when nothing is left.
    fn go_on(&mut self) {
        if self.current.as_ref().is_some_and(|c| c.pending.is_empty()) {
            if let Some(c) = self.current.take() {
                finish_part(&c.parts, &self.events, &c.req);
            }
            return;
        }
        self.submit();
    }

    /// Fail what the current run's local part had left, and end it.
    fn give_up(&mut self, error: &Error) {
        let Some(cur) = self.current.take() else { return };
        for &(slot, p, k) in &cur.pending {
            send_sample(&self.events, cur.req.id, slot, p, k, EventKind::Failed { error: error.clone(), stats: None });
        }
        finish_part(&cur.parts, &self.events, &cur.req);
    }

    /// Ask the worker to go, and end it if it does not within a second.
    fn stop_worker(&mut self) {
        let Some(mut w) = self.worker.take() else { return };
        let _ = wire::send(&mut w.stdin, &ToWorker::Shutdown);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(1) {
            if matches!(w.child.try_wait(), Ok(Some(_))) {
                state::stopped(&self.iso.state_dir);
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = w.child.kill();
        let _ = w.child.wait();
        state::stopped(&self.iso.state_dir);
    }
}

/// Wait for a worker whose output ended (it is exiting); one that lingers
/// is ended.
fn reap(child: &mut Child) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(2) {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => return None,
        }
    }
    let _ = child.kill();
    child.wait().ok()
}

/// How a worker died, in words: "llama.cpp aborted while loading: <its last
/// log line>", "killed after 130 s without progress", "was killed
/// (SIGKILL) while generating: most likely out of memory".
fn describe(
    status: Option<std::process::ExitStatus>,
    killed: Option<Killed>,
    engine: &str,
    phase: Option<Phase>,
    tail: &[String],
    unreadable: Option<&str>,
) -> String {
    let during = match phase {
        Some(Phase::Loading) => "while loading",
        Some(Phase::Generating) => "while generating",
        None => "between models",
    };
    if let Some(Killed::Hang { secs }) = killed {
        return format!("{engine} was ended after {secs} s without progress {during} (past its backend.timeout_secs)");
    }
    if let Some(why) = unreadable {
        return format!("the worker's messages became unreadable {during}: {why}");
    }
    let line = last_words(tail);
    match status.and_then(|s| s.signal()) {
        Some(libc::SIGKILL) => {
            format!(
                "{engine} was killed (SIGKILL) {during}: most likely the system ran out of memory (the kernel's OOM killer); lower backend.context_size (--context-size), raise [memory] reserve_mib so the guard leaves more room, or set [scheduler] keep_loaded = \"never\" to hold one model at a time"
            )
        }
        Some(libc::SIGABRT) => {
            let line = line.strip_prefix(&format!("{engine} aborted: ")).unwrap_or(&line);
            format!("{engine} aborted {during}: {line}")
        }
        Some(sig) => format!("{engine} crashed ({}) {during}: {line}", signal_name(sig)),
        None => match status.and_then(|s| s.code()) {
            Some(code) => format!("{engine} exited with status {code} {during}: {line}"),
            None => format!("{engine} stopped {during}: {line}"),
        },
    }
}

/// The worker's last log line that says what went wrong ("FATAL …",
/// "ERROR …", a panic), without its level and target; else its last line.
fn last_words(tail: &[String]) -> String {
    let telling = |l: &&String| {
        let u = l.to_ascii_uppercase();
        ["FATAL", "ERROR", "PANICKED", "ABORT", "ASSERT"].iter().any(|w| u.contains(w))
    };
    let line = tail.iter().rev().find(telling).or_else(|| tail.last()).map_or("(it wrote nothing)", String::as_str).trim();
    // "ERROR llama.cpp: text" → "text"
    let levels = ["TRACE ", "DEBUG ", "INFO ", "WARN ", "ERROR ", "FATAL "];
    let words = match levels.iter().find_map(|l| line.strip_prefix(l)).and_then(|rest| rest.split_once(": ")) {
        Some((target, text)) if !target.contains(' ') => text,
        _ => line,
    };
    words.chars().take(300).collect()
}

fn signal_name(sig: i32) -> String {
    match sig {
        libc::SIGSEGV => "segmentation fault".into(),
        libc::SIGBUS => "bus error".into(),
        libc::SIGILL => "illegal instruction".into(),
        libc::SIGFPE => "arithmetic error".into(),
        libc::SIGTERM => "terminated".into(),
        n => format!("signal {n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deaths_are_put_in_words_with_the_last_telling_line() {
        let tail = vec![
            "INFO llama.cpp: load_tensors: loading".to_string(),
            "FATAL versus::worker: llama.cpp aborted: GGML_ASSERT(n > 0) failed".to_string(),
            "INFO versus::worker: bye".to_string(),
        ];
        let abort = Some(std::process::ExitStatus::from_raw(libc::SIGABRT));
        let said = describe(abort, None, "llama.cpp", Some(Phase::Loading), &tail, None);
        assert_eq!(said, "llama.cpp aborted while loading: GGML_ASSERT(n > 0) failed");
        let oom = Some(std::process::ExitStatus::from_raw(libc::SIGKILL));
        assert!(describe(oom, None, "candle", Some(Phase::Generating), &[], None).contains("out of memory"));
        assert!(describe(oom, Some(Killed::Hang { secs: 130 }), "candle", Some(Phase::Loading), &[], None).contains("after 130 s"));
        let segv = Some(std::process::ExitStatus::from_raw(libc::SIGSEGV));
        assert!(describe(segv, None, "candle", None, &[], None).contains("segmentation fault) between models: (it wrote nothing)"));
    }
}
