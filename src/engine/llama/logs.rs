//! llama.cpp's process-wide backend, with its logs routed to tracing and
//! its aborts through our handler. The log callback also keeps the last
//! error lines, so that a failed load can say *why* (llama.cpp itself
//! returns only a null pointer).

use std::ffi::{CStr, c_char, c_void};
use std::sync::{Mutex, OnceLock};

use llama_cpp_2::llama_backend::LlamaBackend;

use crate::error::Error;

static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
static ERRORS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The process-wide llama.cpp backend, initialised once with logging routed
/// to tracing and aborts routed through our handler.
pub fn backend() -> Result<&'static LlamaBackend, Error> {
    BACKEND
        .get_or_init(|| {
            // SAFETY: the callbacks are plain functions that live for the whole process.
            unsafe {
                llama_cpp_sys_2::llama_log_set(Some(log_callback), std::ptr::null_mut());
                llama_cpp_sys_2::ggml_log_set(Some(log_callback), std::ptr::null_mut());
                llama_cpp_sys_2::ggml_set_abort_callback(Some(abort_callback));
            }
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| Error::ModelLoad { model: "llama.cpp".into(), reason: e.clone() })
}

unsafe extern "C" fn log_callback(level: llama_cpp_sys_2::ggml_log_level, text: *const c_char, _: *mut c_void) {
    if text.is_null() {
        return;
    }
    // SAFETY: llama.cpp passes a NUL-terminated string valid for this call.
    let text = unsafe { CStr::from_ptr(text) }.to_string_lossy();
    let line = text.trim_end();
    if line.is_empty() {
        return;
    }
    match level {
        llama_cpp_sys_2::GGML_LOG_LEVEL_ERROR => {
            tracing::error!(target: "llama.cpp", "{line}");
            if let Ok(mut errors) = ERRORS.lock() {
                if errors.len() >= 32 {
                    errors.remove(0);
                }
                errors.push(line.to_string());
            }
        }
        llama_cpp_sys_2::GGML_LOG_LEVEL_WARN => tracing::warn!(target: "llama.cpp", "{line}"),
        llama_cpp_sys_2::GGML_LOG_LEVEL_INFO => tracing::debug!(target: "llama.cpp", "{line}"),
        _ => tracing::trace!(target: "llama.cpp", "{line}"),
    }
}

/// ggml calls this instead of printing to stderr, then aborts: log the
/// reason and tell the process's fatal hook (the TUI puts the terminal
/// back) before the process dies.
unsafe extern "C" fn abort_callback(message: *const c_char) {
    let msg = if message.is_null() {
        String::from("(no message)")
    } else {
        // SAFETY: ggml passes a NUL-terminated message.
        unsafe { CStr::from_ptr(message) }.to_string_lossy().into_owned()
    };
    tracing::error!(target: "llama.cpp", "ggml aborted: {msg}");
    crate::engine::fatal(&format!("llama.cpp aborted: {msg}"));
}

/// The devices llama.cpp can use ("CPU", "CUDA0 (NVIDIA H100 …)"), which
/// shows whether a run-time loaded GPU backend was found.
pub fn devices() -> Vec<String> {
    if backend().is_err() {
        return Vec::new();
    }
    llama_cpp_2::list_llama_ggml_backend_devices()
        .into_iter()
        .map(|d| if d.description.is_empty() || d.description == d.name { d.name } else { format!("{} ({})", d.name, d.description) })
        .collect()
}

pub(super) fn take_errors() -> Vec<String> {
    ERRORS.lock().map(|mut e| std::mem::take(&mut *e)).unwrap_or_default()
}

/// "llama_model_load: error loading model: …" → "error loading model: …".
pub(super) fn clean(line: &str) -> &str {
    match line.split_once(": ") {
        Some((head, rest)) if !head.contains(' ') => rest,
        _ => line,
    }
}
