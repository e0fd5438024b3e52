//! Process-level setup that must happen before any library initialises.
//!
//! libgomp reads `OMP_WAIT_POLICY` once, when it is loaded, before `main`.
//! Its default (spin a moment, then sleep) is what llama.cpp's own tools run
//! with and decodes about twice as fast as `passive` on a quiet 2-core
//! machine; `passive` holds up better when other processes keep the cores
//! busy (docs/performance.md has both). So versus leaves the variable alone
//! unless `cpu.omp_wait_policy` asks for another policy, and then re-executes
//! itself once with it set, since setting it from inside is too late. A
//! policy the user put in the environment always wins.
//!
//! `GGML_NO_BACKTRACE` keeps ggml from spawning gdb on an abort; ggml reads
//! it at the moment of the abort, so setting it in-process is enough.

use std::os::unix::process::CommandExt;

use serde::{Deserialize, Serialize};

const MARKER: &str = "VERSUS_REEXECED";

/// How OpenMP worker threads wait (`OMP_WAIT_POLICY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum WaitPolicy {
    /// libgomp's own: spin briefly, then sleep.
    #[default]
    Default,
    Passive,
    Active,
}

impl WaitPolicy {
    /// The value for `OMP_WAIT_POLICY`, or None to leave libgomp's default.
    fn env_value(self) -> Option<&'static str> {
        match self {
            WaitPolicy::Default => None,
            WaitPolicy::Passive => Some("passive"),
            WaitPolicy::Active => Some("active"),
        }
    }
}

/// The policy in effect and where it came from, for `versus doctor`.
pub fn wait_policy_in_effect() -> String {
    match std::env::var("OMP_WAIT_POLICY") {
        Ok(v) if std::env::var_os(MARKER).is_some() => format!("{} (cpu.omp_wait_policy)", v.to_lowercase()),
        Ok(v) => format!("{} (OMP_WAIT_POLICY in the environment)", v.to_lowercase()),
        Err(_) => "default: spin briefly, then sleep".to_string(),
    }
}

/// Call from `main` while the process is still single-threaded, after the
/// config is loaded. Re-executes at most once; returns Ok when nothing is to
/// do, and the error when the re-exec failed (versus can still run, with
/// libgomp's default).
pub fn prepare(policy: WaitPolicy) -> std::io::Result<()> {
    if std::env::var_os("GGML_NO_BACKTRACE").is_none() {
        // SAFETY: main calls this before it starts any thread (logging,
        // runtime, engine), so nothing reads the environment concurrently.
        unsafe { std::env::set_var("GGML_NO_BACKTRACE", "1") };
    }
    let Some(value) = policy.env_value() else { return Ok(()) };
    if std::env::var_os(MARKER).is_some() || std::env::var_os("OMP_WAIT_POLICY").is_some() {
        return Ok(());
    }
    let exe = std::env::current_exe()?;
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
    // `exec` only returns on failure.
    Err(std::process::Command::new(&exe).arg0(arg0).args(args).env(MARKER, "1").env("OMP_WAIT_POLICY", value).exec())
}
/// End the process now with `code`, after flushing stdout and stderr. For
/// when an inference thread may still be inside a C++ backend: `_exit`
/// skips the static destructors that would tear that backend down under it.
pub fn exit_now(code: u8) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: _exit ends the process; nothing runs after it.
    unsafe { libc::_exit(i32::from(code)) }
}
