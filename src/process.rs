//! Process-level setup that must happen before any library initialises.
//!
//! libgomp reads `OMP_WAIT_POLICY` when it is loaded, before `main`; with
//! its default (active) policy, llama.cpp's OpenMP threads spin and decode
//! up to 46× slower when another process holds a core. Setting the variable
//! from inside the process is too late, so versus re-executes itself once
//! with it set (unless the user set it). `GGML_NO_BACKTRACE` keeps ggml from
//! spawning gdb on an abort.

use std::os::unix::process::CommandExt;

const REQUIRED: &[(&str, &str)] = &[("OMP_WAIT_POLICY", "passive"), ("GGML_NO_BACKTRACE", "1")];
const MARKER: &str = "VERSUS_REEXECED";

pub fn ensure_env() {
    if std::env::var_os(MARKER).is_some() {
        return;
    }
    let missing: Vec<&(&str, &str)> = REQUIRED.iter().filter(|(k, _)| std::env::var_os(k).is_none()).collect();
    if missing.is_empty() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else { return };
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
    let mut cmd = std::process::Command::new(&exe);
    cmd.arg0(arg0).args(args).env(MARKER, "1");
    for (k, v) in missing {
        cmd.env(k, v);
    }
    // `exec` only returns on failure; then carry on without the variables.
    let err = cmd.exec();
    eprintln!("versus: could not re-execute with OMP_WAIT_POLICY set ({err}); continuing");
}
