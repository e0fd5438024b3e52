//! What the parent and its worker process say to each other: one JSON
//! object per line, the worker's first line giving the protocol version.
//! Model paths travel as their bytes beside the entry, so a file whose
//! name is not UTF-8 opens in the worker exactly as it was found.

use std::io::{BufRead, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::super::memory::MemoryConfig;
use super::super::resident::KeepLoaded;
use crate::engine::{EngineEvent, RunEntry, RunId};

/// Bumped whenever a message changes; a worker of another version is not used.
pub const VERSION: u32 = 1;

/// The parent to its worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "to_worker", rename_all = "snake_case")]
pub enum ToWorker {
    /// The first message: how the worker runs its queue, and its log
    /// filter (the parent's).
    Init {
        version: u32,
        memory: MemoryConfig,
        keep: KeepLoaded,
        log: String,
    },
    /// The local part of a run: entries keep their slots; those with
    /// nothing to answer here have an empty prompt list.
    Run {
        id: RunId,
        prompts: Vec<String>,
        entries: Vec<WireEntry>,
        #[serde(default)]
        replay: Vec<crate::engine::protocol::ReplayStep>,
    },
    /// Stop run `run`: its current model on its next token, the rest
    /// before they load.
    Cancel {
        run: RunId,
    },
    /// Skip entry `slot` of run `run`: its answer stops on the next token,
    /// the run goes on.
    Skip {
        run: RunId,
        slot: usize,
    },
    Shutdown,
}

/// The worker to its parent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "from_worker", rename_all = "snake_case")]
pub enum FromWorker {
    Ready { version: u32, pid: u32 },
    Event(EngineEvent),
}

/// A run entry with what serde cannot carry: which prompts it answers and
/// its model's paths as bytes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireEntry {
    pub entry: RunEntry,
    pub prompts: Option<Vec<usize>>,
    pub path: Vec<u8>,
    pub files: Vec<Vec<u8>>,
}

impl WireEntry {
    pub fn new(entry: &RunEntry) -> WireEntry {
        WireEntry {
            entry: entry.clone(),
            prompts: entry.prompts.clone(),
            path: entry.model.path.as_os_str().as_bytes().to_vec(),
            files: entry.model.files.iter().map(|f| f.as_os_str().as_bytes().to_vec()).collect(),
        }
    }

    /// The entry as the parent had it.
    pub fn into_entry(self) -> RunEntry {
        let mut e = self.entry;
        e.prompts = self.prompts;
        e.model.path = PathBuf::from(std::ffi::OsString::from_vec(self.path));
        e.model.files = self.files.into_iter().map(|f| PathBuf::from(std::ffi::OsString::from_vec(f))).collect();
        e
    }
}

/// Write one message as a line and flush it (each event reaches the
/// parent as it happens).
pub fn send<T: Serialize>(out: &mut impl Write, msg: &T) -> std::io::Result<()> {
    // Every message serializes (a test keeps each event kind and error
    // so); were one not to, it would be a bug to say, not a silence.
    let mut line = serde_json::to_vec(msg)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("a message that cannot be written: {e}")))?;
    line.push(b'\n');
    out.write_all(&line)?;
    out.flush()
}

/// The next message, None at the end of the stream. A line that does not
/// parse is an error naming it (a version mismatch, or a corrupted pipe).
pub fn receive<T: for<'de> Deserialize<'de>>(input: &mut impl BufRead) -> std::io::Result<Option<T>> {
    let mut line = String::new();
    if input.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    serde_json::from_str(&line).map(Some).map_err(|e| {
        let start: String = line.chars().take(120).collect();
        std::io::Error::other(format!("unreadable message from the other side ({e}): {start}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{EngineEvent, EventKind, Stats};
    use crate::error::Error;

    /// Every event and every error crosses the pipe and comes back equal:
    /// one that did not would silence the worker's events after it.
    #[test]
    fn every_event_and_error_crosses_the_pipe() {
        let errors = vec![
            Error::ModelNotFound { spec: "x".into(), hint: " (h)".into() },
            Error::ModelLoad { model: "m".into(), reason: "r".into() },
            Error::InsufficientMemory { model: "m".into(), what: "RAM".into(), needed: 1, available: 0, fix: "f".into() },
            Error::UnsupportedFormat("u".into()),
            Error::Crashed { model: "m".into(), what: "w".into() },
            Error::Inference("i".into()),
            Error::ContextOverflow { tokens: 9, n_ctx: 8, turns: 1 },
            Error::Tokenization("t".into()),
            Error::GenerationTimeout { secs: 3 },
            Error::Usage("u".into()),
            Error::Io { path: "p".into(), message: "m".into() },
        ];
        let mut kinds = vec![
            EventKind::Queued,
            EventKind::Loading,
            EventKind::LoadProgress { fraction: 0.5 },
            EventKind::Loaded { load_ms: 1.0, rss_bytes: 2 },
            EventKind::answer("hi"),
            EventKind::Finished { stats: Stats { ttft_ms: Some(3.0), ..Stats::default() } },
            EventKind::Cancelled { stats: None },
            EventKind::Resident { models: vec!["m".into()] },
            EventKind::RunDone,
        ];
        kinds.extend(errors.into_iter().map(|error| EventKind::Failed { error, stats: Some(Stats::default()) }));
        for kind in kinds {
            let msg = FromWorker::Event(EngineEvent { run: 1, slot: 2, prompt: 3, sample: 0, kind: kind.clone() });
            let mut out = Vec::new();
            send(&mut out, &msg).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
            let back: FromWorker = receive(&mut &out[..]).unwrap().unwrap();
            let FromWorker::Event(ev) = back else { panic!("not an event") };
            assert_eq!(ev.kind, kind);
        }
    }
}
