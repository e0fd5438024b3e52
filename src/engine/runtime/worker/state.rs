//! What a worker leaves for `versus doctor`, which runs in another process:
//! `workers/PARENT_PID` holds the pid of the worker a versus process runs
//! now (removed when it stops), and `worker-crashes.jsonl` one line per
//! death that was not ours to cause (the latest 200 kept).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const CRASH_LOG: &str = "worker-crashes.jsonl";
pub const KEEP: usize = 200;

/// One worker death.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Crash {
    pub at: String,
    pub model: String,
    pub engine: String,
    pub what: String,
}

fn pid_file(state_dir: &Path) -> PathBuf {
    state_dir.join("workers").join(std::process::id().to_string())
}

pub fn started(state_dir: &Path, pid: u32) {
    let file = pid_file(state_dir);
    let written = file.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| std::fs::write(&file, pid.to_string()));
    if let Err(e) = written {
        tracing::debug!("{}: {e}", file.display());
    }
}

pub fn stopped(state_dir: &Path) {
    let _ = std::fs::remove_file(pid_file(state_dir));
}

pub fn crashed(state_dir: &Path, model: &str, engine: &str, what: &str) {
    // RFC 3339, as the history's times.
    let at = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let crash = Crash { at, model: model.into(), engine: engine.into(), what: what.into() };
    let path = state_dir.join(CRASH_LOG);
    let mut lines: Vec<String> = std::fs::read_to_string(&path).unwrap_or_default().lines().map(str::to_string).collect();
    lines.push(serde_json::to_string(&crash).unwrap_or_default());
    let start = lines.len().saturating_sub(KEEP);
    let written = std::fs::create_dir_all(state_dir)
        .and_then(|()| std::fs::File::create(&path))
        .and_then(|mut f| f.write_all((lines[start..].join("\n") + "\n").as_bytes()));
    if let Err(e) = written {
        tracing::warn!("{}: {e}", path.display());
    }
}

/// The workers running now: (versus pid, worker pid), for those whose
/// versus is alive.
pub fn running(state_dir: &Path) -> Vec<(u32, u32)> {
    let Ok(dir) = std::fs::read_dir(state_dir.join("workers")) else { return Vec::new() };
    let mut out: Vec<(u32, u32)> = dir
        .flatten()
        .filter_map(|e| {
            let parent: u32 = e.file_name().to_str()?.parse().ok()?;
            let worker: u32 = std::fs::read_to_string(e.path()).ok()?.trim().parse().ok()?;
            // SAFETY: signal 0 only asks whether the process exists.
            (unsafe { libc::kill(parent as i32, 0) } == 0).then_some((parent, worker))
        })
        .collect();
    out.sort_unstable();
    out
}

/// The crashes recorded, oldest first.
pub fn crashes(state_dir: &Path) -> Vec<Crash> {
    let text = std::fs::read_to_string(state_dir.join(CRASH_LOG)).unwrap_or_default();
    text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}
