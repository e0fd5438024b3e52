//! Where do candle and llama.cpp part on a prompt? Runs the prompt through
//! llama.cpp with an eval callback that records every layer's output
//! (`l_out-N`, `result_norm`), through candle with its trace on, and prints
//! the relative difference of the last position's row layer by layer. A
//! difference that jumps at one layer points at an operation computed
//! differently there (docs/performance-notes.md, "Faithful candle").
//!
//!   cargo run --example llama_trace -- MODEL.gguf "prompt"

use std::ffi::{CStr, CString, c_void};
use std::sync::Mutex;

use llama_cpp_sys_2 as sys;
use versus::catalog::describe_path;
use versus::config::Config;
use versus::engine::candle::{CandleBackend, trace_begin, trace_end};
use versus::engine::llama::LlamaCpp;

/// (name, last row) of every f32 tensor llama.cpp computed.
static ROWS: Mutex<Vec<(String, Vec<f32>)>> = Mutex::new(Vec::new());

unsafe extern "C" fn record(t: *mut sys::ggml_tensor, ask: bool, _: *mut c_void) -> bool {
    if ask {
        return true;
    }
    // SAFETY: llama.cpp passes a computed tensor whose CPU data is valid
    // for the duration of the call; rows are read within ne/nb bounds.
    unsafe {
        let t = &*t;
        let contiguous_rows = t.type_ == sys::GGML_TYPE_F32 && !t.data.is_null() && t.nb[0] == 4 && t.ne[2] == 1 && t.ne[3] == 1;
        if contiguous_rows {
            let name = CStr::from_ptr(t.name.as_ptr()).to_string_lossy().into_owned();
            let last = (t.ne[1] as usize).saturating_sub(1);
            let row = std::slice::from_raw_parts((t.data as *const u8).add(last * t.nb[1]) as *const f32, t.ne[0] as usize).to_vec();
            if let Ok(mut rows) = ROWS.lock() {
                rows.push((name, row));
            }
        }
    }
    true
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(path), Some(prompt)) = (args.get(1), args.get(2)) else {
        return Err("usage: llama_trace MODEL.gguf PROMPT".into());
    };
    let info = describe_path(std::path::Path::new(path)).ok_or("not a model")?;
    let settings = Config::defaults().settings_for("");
    let mut tokens = LlamaCpp::load_vocab(&info, &settings.backend)?.tokenize(prompt);
    let threads = versus::engine::effective_threads(settings.backend.threads) as i32;
    versus::engine::llama::backend()?;
    // SAFETY: plain llama.cpp C API use: the model and context live until
    // the end of the block and are freed there; the callback is a plain fn.
    unsafe {
        let cpath = CString::new(path.as_str())?;
        let mut mp = sys::llama_model_default_params();
        mp.n_gpu_layers = 0;
        let model = sys::llama_model_load_from_file(cpath.as_ptr(), mp);
        if model.is_null() {
            return Err("llama.cpp could not load the model".into());
        }
        let mut cp = sys::llama_context_default_params();
        cp.n_ctx = 4096;
        cp.n_threads = threads;
        cp.n_threads_batch = threads;
        cp.cb_eval = Some(record);
        let ctx = sys::llama_init_from_model(model, cp);
        let batch = sys::llama_batch_get_one(tokens.as_mut_ptr(), tokens.len() as i32);
        sys::llama_decode(ctx, batch);
        sys::llama_free(ctx);
        sys::llama_model_free(model);
    }
    let mut candle = CandleBackend::load(&info, &settings.backend)?;
    trace_begin();
    candle.forced_logits(prompt, &[])?;
    let ours = trace_end();
    let rows = ROWS.lock().map_err(|_| "poisoned")?;
    println!("{:16} {:>10} {:>12}", "tensor", "rms", "rel. diff");
    for (name, theirs) in rows.iter() {
        let Some((_, mine)) = ours.iter().find(|(n, _)| n == name) else { continue };
        if mine.len() != theirs.len() {
            continue;
        }
        let rms = (theirs.iter().map(|x| x * x).sum::<f32>() / theirs.len() as f32).sqrt();
        let diff = (theirs.iter().zip(mine).map(|(a, b)| (a - b) * (a - b)).sum::<f32>() / theirs.len() as f32).sqrt();
        println!("{name:16} {rms:10.4} {:12.2e}", diff / rms.max(1e-12));
    }
    Ok(())
}
