//! What every front end starts from: the directories, the loaded config and
//! the log file, and the exit statuses of the process. Below both the TUI
//! and the headless commands, so neither borrows from the other.

use std::path::PathBuf;

use crate::catalog::Catalog;
use crate::config::Loaded;
use crate::paths::Dirs;

/// What every command starts from.
pub struct Context {
    pub dirs: Dirs,
    pub config: Loaded,
    /// The log file, or why there is none.
    pub log: Result<PathBuf, String>,
    /// The log filter in force (the worker process logs with it too).
    pub log_filter: String,
}

impl Context {
    /// How local models are isolated (`[scheduler] isolate`): in a worker
    /// process of this binary, or None to run them in this process.
    pub fn isolation(&self) -> Option<crate::engine::runtime::worker::Isolation> {
        if !self.config.config.scheduler.isolate {
            return None;
        }
        crate::engine::runtime::worker::Isolation::this_binary(self.dirs.state_dir.clone(), self.log_filter.clone())
    }

    /// Local models, then the models of every configured endpoint.
    pub fn discover(&self, paths: &[PathBuf]) -> Catalog {
        let mut catalog = crate::catalog::discover(&self.config.config.models, &self.dirs, paths);
        catalog.models.extend(crate::engine::remote::discover_endpoints(&self.config.config.endpoints));
        catalog
    }
}

/// Exit statuses of the headless commands.
pub mod exit {
    pub const OK: u8 = 0;
    /// Some model failed; the others ran.
    pub const MODEL_FAILED: u8 = 1;
    /// Bad flags, spec or config.
    pub const USAGE: u8 = 2;
    // A `versus run` cut short by a signal exits 128 + its number: 130
    // (SIGINT), 143 (SIGTERM), 129 (SIGHUP); see `session::Ending`.
}
