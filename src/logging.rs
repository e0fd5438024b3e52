//! Logging to a file in the state dir through tracing. Never to the
//! terminal: the TUI owns it. The writer is synchronous so that the last
//! lines before a crash are on disk.

use std::path::{Path, PathBuf};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::MakeWriterExt;

/// Keep one old log; start afresh past this size.
const ROTATE_AT: u64 = 32 << 20;

pub fn log_file(state_dir: &Path) -> PathBuf {
    state_dir.join("versus.log")
}

/// The filter: the flag wins, then RUST_LOG, then the config.
pub fn filter(flag: Option<&str>, config_level: &str) -> EnvFilter {
    let spec = flag
        .map(str::to_string)
        .or_else(|| std::env::var("RUST_LOG").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| config_level.to_string());
    EnvFilter::try_new(&spec).unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Install the subscriber. Returns the log file's path, or an error message
/// when the state dir cannot be written (logging is then off).
pub fn init(state_dir: &Path, filter: EnvFilter) -> Result<PathBuf, String> {
    std::fs::create_dir_all(state_dir).map_err(|e| format!("{}: {e}", state_dir.display()))?;
    let path = log_file(state_dir);
    if std::fs::metadata(&path).is_ok_and(|m| m.len() > ROTATE_AT) {
        let _ = std::fs::rename(&path, state_dir.join("versus.log.1"));
    }
    // Probe writability here: the appender would otherwise fail silently.
    std::fs::OpenOptions::new().create(true).append(true).open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let appender = tracing_appender::rolling::never(state_dir, "versus.log");
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_thread_names(true)
        .with_writer(appender.with_max_level(tracing::Level::TRACE))
        .finish();
    tracing::subscriber::set_global_default(subscriber).map_err(|e| e.to_string())?;
    Ok(path)
}
