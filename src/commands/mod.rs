//! Headless subcommands. Each takes the loaded context and returns an exit
//! status; none of them touches the TUI.

pub mod doctor;
pub mod history;
pub mod list;
pub mod run;

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
}

impl Context {
    /// Local models, then the models of every configured endpoint.
    pub fn discover(&self, paths: &[PathBuf]) -> Catalog {
        let mut catalog = crate::catalog::discover(&self.config.config.models, &self.dirs, paths);
        catalog.models.extend(crate::catalog::discover_endpoints(&self.config.config.endpoints));
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
}
