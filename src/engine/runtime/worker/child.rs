//! The worker process (`versus worker`, started by versus itself, never by
//! hand): it owns the loaded models and runs the sequential queue, so an
//! engine that aborts, segfaults or is killed for memory takes only this
//! process down. Messages come on standard input; events leave on the
//! original standard output; everything an engine prints, and this
//! process's log, goes to standard error, which the parent keeps (its last
//! lines say why a worker died).

use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use super::super::scheduler::Queue;
use super::wire::{self, FromWorker, ToWorker};
use crate::engine::{EngineEvent, RunRequest};

/// What the main thread is given by the thread reading standard input.
enum Work {
    Run(RunRequest),
    Stop,
}

/// Serve the parent until it says stop or goes away; the exit status.
pub fn serve() -> u8 {
    // The parent reads events from the standard output it gave us; engines
    // that print must not write into that stream, so it moves to a new
    // descriptor and standard output becomes standard error.
    // SAFETY: plain descriptor calls on this process's own descriptors,
    // before any other thread exists.
    let proto = unsafe {
        let fd = libc::dup(1);
        if fd < 0 || libc::dup2(2, 1) < 0 {
            eprintln!("versus worker: cannot set up its output");
            return 1;
        }
        // Die with the parent, even inside an engine call that never returns.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        std::fs::File::from_raw_fd(fd)
    };
    let out = Arc::new(Mutex::new(std::io::BufWriter::new(proto)));
    let mut input = BufReader::new(std::io::stdin());
    let (memory, keep, log) = match wire::receive::<ToWorker>(&mut input) {
        Ok(Some(ToWorker::Init { version, memory, keep, log })) if version == wire::VERSION => (memory, keep, log),
        Ok(Some(ToWorker::Init { version, .. })) => {
            eprintln!("versus worker: protocol {version} asked, this binary speaks {}", wire::VERSION);
            return 1;
        }
        other => {
            eprintln!("versus worker: expected Init first, got {other:?}");
            return 1;
        }
    };
    init_logging(&log);
    crate::engine::set_fatal_hook(|message| eprintln!("FATAL versus::worker: {message}"));
    let hello = FromWorker::Ready { version: wire::VERSION, pid: std::process::id() };
    if send(&out, &hello).is_err() {
        return 1;
    }

    // Cancel and skip flags by run, set by the reader as the parent asks.
    let flags: Arc<Mutex<HashMap<u64, (Arc<AtomicBool>, Arc<[AtomicBool]>)>>> = Arc::default();
    let (work_tx, work_rx) = mpsc::channel();
    let reader_flags = flags.clone();
    let reader = std::thread::Builder::new().name("versus-worker-in".into()).spawn(move || {
        loop {
            match wire::receive::<ToWorker>(&mut input) {
                Ok(Some(ToWorker::Run { id, prompts, entries, replay })) => {
                    let entries = entries.into_iter().map(wire::WireEntry::into_entry).collect();
                    let mut req = RunRequest::new(id, prompts, entries, Arc::new(AtomicBool::new(false)));
                    req.replay = replay;
                    if let Ok(mut f) = reader_flags.lock() {
                        f.insert(id, (req.cancel.clone(), req.skip.clone()));
                    }
                    let _ = work_tx.send(Work::Run(req));
                }
                Ok(Some(ToWorker::Cancel { run })) => {
                    if let Some((flag, _)) = reader_flags.lock().ok().and_then(|f| f.get(&run).cloned()) {
                        flag.store(true, Ordering::SeqCst);
                    }
                }
                Ok(Some(ToWorker::Skip { run, slot })) => {
                    if let Some((_, skip)) = reader_flags.lock().ok().and_then(|f| f.get(&run).cloned()) {
                        if let Some(flag) = skip.get(slot) {
                            flag.store(true, Ordering::SeqCst);
                        }
                    }
                }
                Ok(Some(ToWorker::Init { .. })) => tracing::warn!("a second Init is ignored"),
                // Asked to stop, or the parent is gone: stop whatever runs.
                Ok(Some(ToWorker::Shutdown)) | Ok(None) | Err(_) => {
                    if let Ok(f) = reader_flags.lock() {
                        f.values().for_each(|(flag, _)| flag.store(true, Ordering::SeqCst));
                    }
                    let _ = work_tx.send(Work::Stop);
                    return;
                }
            }
        }
    });
    if reader.is_err() {
        eprintln!("versus worker: cannot start its reader thread");
        return 1;
    }

    // Events reach the parent through one writer thread, in order.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<EngineEvent>();
    let writer_out = out.clone();
    let writer = std::thread::Builder::new().name("versus-worker-out".into()).spawn(move || {
        while let Some(ev) = rx.blocking_recv() {
            if let Err(e) = send(&writer_out, &FromWorker::Event(ev)) {
                // The parent is gone: nothing is left to answer for.
                eprintln!("FATAL versus::worker: cannot write to versus ({e})");
                std::process::exit(1);
            }
        }
    });
    let Ok(writer) = writer else {
        eprintln!("versus worker: cannot start its writer thread");
        return 1;
    };
    let mut queue = Queue::new(memory, keep);
    queue.loader = super::stall::wrap(queue.loader);
    while let Ok(Work::Run(req)) = work_rx.recv() {
        queue.run_local(&req, &tx);
        // The local part is done: the parent ends the run with the rest.
        let _ =
            tx.send(EngineEvent { run: req.id, slot: req.entries.len(), prompt: 0, sample: 0, kind: crate::engine::EventKind::RunDone });
        if let Ok(mut f) = flags.lock() {
            f.remove(&req.id);
        }
    }
    drop(queue);
    drop(tx);
    let _ = writer.join();
    0
}

fn send(out: &Mutex<impl Write>, msg: &FromWorker) -> std::io::Result<()> {
    let mut out = out.lock().map_err(|_| std::io::Error::other("poisoned"))?;
    wire::send(&mut *out, msg)
}

/// The worker's log goes to standard error as "LEVEL target: message"
/// lines, which the parent writes to its own log file.
fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let subscriber =
        tracing_subscriber::fmt().with_env_filter(filter).with_ansi(false).without_time().with_writer(std::io::stderr).finish();
    let _ = tracing::subscriber::set_global_default(subscriber);
}
