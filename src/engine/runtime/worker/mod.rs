//! Local models run in a worker process: the same binary, started by
//! versus as `versus worker`, talking over pipes (`wire.rs`: one JSON
//! message per line, versioned). The worker (`child.rs`) owns the loaded
//! models and runs the sequential queue; the parent's inference thread
//! becomes its supervisor (`supervisor.rs`), which runs remote entries
//! itself, forwards every event, and survives the worker: an engine that
//! aborts, segfaults, is killed for memory or stops answering costs one
//! model's answer, never the session, the other columns or the terminal.
//! `state.rs` leaves what `versus doctor` reports (the worker's pid while it
//! runs, the crashes seen); `stall.rs` is a fault injected by tests.

pub mod child;
pub mod stall;
pub mod state;
pub mod supervisor;
pub mod wire;

use std::path::PathBuf;

/// How local models are isolated: the binary to start as the worker, where
/// it leaves its state, and the log filter it runs with.
#[derive(Debug, Clone)]
pub struct Isolation {
    pub exe: PathBuf,
    pub state_dir: PathBuf,
    pub log: String,
}

impl Isolation {
    /// This process's own binary as the worker, when it is versus (a test
    /// harness or a benchmark is not: it runs models in its own process
    /// unless it names the binary with `VERSUS_WORKER_EXE`).
    pub fn this_binary(state_dir: PathBuf, log: String) -> Option<Isolation> {
        let exe = std::env::var_os("VERSUS_WORKER_EXE").map(PathBuf::from).or_else(|| {
            let me = std::env::current_exe().ok()?;
            let name = me.file_name()?.to_string_lossy().into_owned();
            (name == "versus").then_some(me)
        })?;
        Some(Isolation { exe, state_dir, log })
    }
}
