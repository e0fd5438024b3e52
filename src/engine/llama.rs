//! llama.cpp through `llama-cpp-2`: GGUF models on CPU or GPU.
//!
//! The backend keeps only the model; a context (KV cache) is created per
//! generation because `LlamaContext` borrows the model. llama.cpp's logs go
//! to tracing through our own callback, which also keeps the last error lines
//! so that a failed load says *why* (llama.cpp returns only a null pointer).

use std::ffi::{CStr, c_char, c_void};
use std::num::NonZeroU32;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;

use super::sink::{Flow, Sink};
use super::template::{ChatTemplate, starts_with_bos};
use super::{Backend, PromptReport};
use crate::catalog::ModelInfo;
use crate::catalog::gguf::{Arrays, Header};
use crate::error::Error;
use crate::params::{BackendSettings, GenerationParams};

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
/// reason and put the terminal back before the process dies.
unsafe extern "C" fn abort_callback(message: *const c_char) {
    let msg = if message.is_null() {
        String::from("(no message)")
    } else {
        // SAFETY: ggml passes a NUL-terminated message.
        unsafe { CStr::from_ptr(message) }.to_string_lossy().into_owned()
    };
    tracing::error!(target: "llama.cpp", "ggml aborted: {msg}");
    crate::terminal::emergency_restore();
    crate::terminal::report_fatal(&format!("llama.cpp aborted: {msg}"));
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

fn take_errors() -> Vec<String> {
    ERRORS.lock().map(|mut e| std::mem::take(&mut *e)).unwrap_or_default()
}

/// "llama_model_load: error loading model: …" → "error loading model: …".
fn clean(line: &str) -> &str {
    match line.split_once(": ") {
        Some((head, rest)) if !head.contains(' ') => rest,
        _ => line,
    }
}

pub struct LlamaCpp {
    model: LlamaModel,
    name: String,
    settings: BackendSettings,
    template: super::template::Loaded,
    bos_text: String,
}

impl LlamaCpp {
    /// Load with `gpu_layers` layers offloaded (see `memory::gpu_layers`).
    pub fn load_with(info: &ModelInfo, settings: &BackendSettings, gpu_layers: u32) -> Result<LlamaCpp, Error> {
        let mut s = settings.clone();
        s.n_gpu_layers = i32::try_from(gpu_layers).unwrap_or(i32::MAX);
        LlamaCpp::load(info, &s)
    }

    pub fn load(info: &ModelInfo, settings: &BackendSettings) -> Result<LlamaCpp, Error> {
        let load_err = |reason: String| Error::ModelLoad { model: info.name.clone(), reason };
        // Our own header check first: clearer messages, and llama.cpp never
        // sees a file that would make it misbehave.
        let header = Header::read(&info.path, Arrays::Skip).map_err(load_err)?;
        if info.files.len() <= 1 {
            header.check_bounds().map_err(load_err)?;
        }
        let backend = backend()?;
        let n_gpu_layers = match settings.n_gpu_layers {
            n if n < 0 => {
                if backend.supports_gpu_offload() {
                    999
                } else {
                    0
                }
            }
            n => n.unsigned_abs(),
        };
        let params = LlamaModelParams::default().with_n_gpu_layers(n_gpu_layers).with_use_mmap(true);
        take_errors();
        let model = LlamaModel::load_from_file(backend, &info.path, &params).map_err(|e| {
            let errors = take_errors();
            let reason = if errors.is_empty() {
                format!("llama.cpp could not load the file ({e})")
            } else {
                let mut lines: Vec<&str> = errors.iter().map(|l| clean(l)).collect();
                lines.dedup();
                lines.join("; ")
            };
            load_err(reason)
        })?;
        let vocab = model.vocab();
        let piece = |t| String::from_utf8_lossy(&vocab.token_to_piece(t, true, None)).into_owned();
        let bos_text = piece(vocab.bos());
        let eos_text = piece(vocab.eos());
        let template = model
            .meta_val_str("tokenizer.chat_template")
            .ok()
            .map(|src| ChatTemplate::new(&src, &bos_text, &eos_text).map_err(|e| e.to_string()));
        drop(vocab);
        Ok(LlamaCpp { model, name: info.name.clone(), settings: settings.clone(), template, bos_text })
    }

    fn n_ctx(&self) -> u32 {
        let trained = self.model.n_ctx_train().max(1);
        match self.settings.context_size {
            0 => trained,
            n => n.min(trained),
        }
    }

    /// Token ids for `text` exactly as generation would feed them.
    pub fn tokenize(&self, text: &str) -> Vec<i32> {
        let add_bos = !starts_with_bos(text, &self.bos_text);
        self.model.vocab().tokenize(text.as_bytes(), add_bos, true).into_iter().map(|t| t.0).collect()
    }

    /// Teacher forcing, for comparing engines: feed `prompt` then `forced`,
    /// and return at each position after the prompt the greedy token and its
    /// lead over the runner-up (a lead near 0 is a tie any kernel may break
    /// either way).
    pub fn forced_greedy(&self, prompt: &str, forced: &[u32]) -> Result<Vec<(u32, f32)>, Error> {
        let err = |e: &dyn std::fmt::Display| Error::Inference(e.to_string());
        let tokens = self.tokenize(prompt);
        let mut ctx = self.context(self.n_ctx())?;
        let mut batch = LlamaBatch::new(tokens.len().max(1), 1);
        for (i, t) in tokens.iter().enumerate() {
            batch.add(LlamaToken(*t), i as i32, &[0], i + 1 == tokens.len()).map_err(|e| err(&e))?;
        }
        ctx.decode(&mut batch).map_err(|e| err(&e))?;
        let lead = |l: &[f32]| {
            let best = super::argmax(l) as usize;
            let second = l.iter().enumerate().filter(|(j, _)| *j != best).map(|(_, v)| *v).fold(f32::NEG_INFINITY, f32::max);
            (best as u32, l[best] - second)
        };
        // One token at a time, as generation decodes: the batched path uses
        // other kernels, whose rounding moves logits by a tenth or so.
        let mut out = vec![lead(ctx.get_logits_ith(batch.n_tokens() - 1))];
        for (i, &t) in forced.iter().enumerate() {
            batch.clear();
            batch.add(LlamaToken(t as i32), (tokens.len() + i) as i32, &[0], true).map_err(|e| err(&e))?;
            ctx.decode(&mut batch).map_err(|e| err(&e))?;
            out.push(lead(ctx.get_logits_ith(0)));
        }
        Ok(out)
    }

    fn context(&self, n_ctx: u32) -> Result<LlamaContext<'_>, Error> {
        let threads = i32::try_from(super::effective_threads(self.settings.threads)).unwrap_or(1);
        let batch = self.settings.batch_size.min(n_ctx);
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(n_ctx))
            .with_n_batch(batch)
            .with_n_ubatch(batch)
            .with_n_threads(threads)
            .with_n_threads_batch(threads);
        take_errors();
        self.model.new_context(backend()?, params).map_err(|e| {
            let why = take_errors().iter().map(|l| clean(l).to_string()).collect::<Vec<_>>().join("; ");
            Error::ModelLoad {
                model: self.name.clone(),
                reason: format!(
                    "could not create a context of {n_ctx} tokens ({e}{}{why}); lower backend.context_size",
                    if why.is_empty() { "" } else { ": " }
                ),
            }
        })
    }
}

impl Backend for LlamaCpp {
    fn render(&self, prompt: &str, params: &GenerationParams) -> Result<String, Error> {
        super::template::render(&self.template, prompt, params)
    }

    fn generate(&mut self, rendered: &str, params: &GenerationParams, seed: u32, sink: &mut Sink<'_>) -> Result<PromptReport, Error> {
        let n_ctx = self.n_ctx();
        let tokens = self.tokenize(rendered);
        super::template::check_fits(tokens.len(), n_ctx as usize)?;
        let mut ctx = self.context(n_ctx)?;
        let n_batch = ctx.n_batch().max(1) as usize;
        let mut batch = LlamaBatch::new(n_batch, 1);
        let inference = |e: &dyn std::fmt::Display| Error::Inference(e.to_string());

        sink.start();
        let t0 = Instant::now();
        // Never more than n_batch tokens per decode: llama.cpp aborts otherwise.
        let last = tokens.len() - 1;
        for (chunk_idx, chunk) in tokens.chunks(n_batch).enumerate() {
            if sink.interrupted() {
                return Ok(PromptReport { prompt_tokens: tokens.len() as u64, prompt_ms: ms(t0), eos: false, ..PromptReport::default() });
            }
            batch.clear();
            for (i, t) in chunk.iter().enumerate() {
                let pos = chunk_idx * n_batch + i;
                batch.add(LlamaToken(*t), pos as i32, &[0], pos == last).map_err(|e| inference(&e))?;
            }
            ctx.decode(&mut batch).map_err(|e| inference(&e))?;
        }
        let prompt_ms = ms(t0);

        let vocab = self.model.vocab();
        let mut sampler = Sampler::new(params, seed, self.model.n_vocab());
        let mut utf8 = Utf8Stream::default();
        let mut piece = Vec::with_capacity(32);
        let mut n_past = tokens.len();
        let mut logits_idx = batch.n_tokens() - 1;
        let mut eos = false;
        loop {
            let token = sampler.sample(&ctx, logits_idx);
            if vocab.is_eog(token) && !params.ignore_eos {
                eos = true;
                break;
            }
            piece.clear();
            vocab.token_to_piece_into(token, &mut piece, false, None);
            let text = utf8.push(&piece);
            if sink.token(token.0 as u32, &text) == Flow::Stop {
                break;
            }
            if n_past >= n_ctx as usize {
                sink.context_full();
                break;
            }
            batch.clear();
            batch.add(token, n_past as i32, &[0], true).map_err(|e| inference(&e))?;
            ctx.decode(&mut batch).map_err(|e| inference(&e))?;
            n_past += 1;
            logits_idx = 0;
        }
        let rest = utf8.finish();
        if !rest.is_empty() {
            sink.flush_text(&rest);
        }
        Ok(PromptReport { prompt_tokens: tokens.len() as u64, prompt_ms, eos, ..PromptReport::default() })
    }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}

/// Bytes in, complete UTF-8 text out: a character split across tokens is
/// held until its last byte arrives; invalid bytes become U+FFFD.
#[derive(Default)]
pub struct Utf8Stream {
    pending: Vec<u8>,
}

impl Utf8Stream {
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        loop {
            match std::str::from_utf8(&self.pending) {
                Ok(s) => {
                    out.push_str(s);
                    self.pending.clear();
                    return out;
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    // SAFETY-free: the prefix was just validated.
                    out.push_str(std::str::from_utf8(&self.pending[..valid]).unwrap_or_default());
                    match e.error_len() {
                        Some(bad) => {
                            out.push('\u{FFFD}');
                            self.pending.drain(..valid + bad);
                        }
                        None => {
                            self.pending.drain(..valid);
                            return out;
                        }
                    }
                }
            }
        }
    }

    /// Whatever is left at the end (an incomplete character) as U+FFFD.
    pub fn finish(&mut self) -> String {
        if self.pending.is_empty() {
            String::new()
        } else {
            self.pending.clear();
            "\u{FFFD}".into()
        }
    }
}

/// Sampling with a cheap front end: greedy is a plain argmax over the
/// logits, and otherwise only the top-k candidates (found in one pass) go
/// through llama.cpp's sampler chain. llama.cpp's own `sample` builds and
/// sorts a candidate array of the whole vocabulary (262k entries for Gemma)
/// on every token, which costs milliseconds.
struct Sampler {
    greedy: bool,
    top_k: usize,
    chain: Option<LlamaSampler>,
    penalty: f32,
    window: usize,
    recent: std::collections::VecDeque<i32>,
    scratch: Vec<f32>,
    cands: Vec<(f32, i32)>,
}

impl Sampler {
    fn new(p: &GenerationParams, seed: u32, n_vocab: i32) -> Sampler {
        let greedy = p.temperature <= 0.0;
        let chain = (!greedy).then(|| {
            let mut stages = Vec::new();
            if p.top_p < 1.0 {
                stages.push(LlamaSampler::top_p(p.top_p, 1));
            }
            if p.min_p > 0.0 {
                stages.push(LlamaSampler::min_p(p.min_p, 1));
            }
            stages.push(LlamaSampler::temp(p.temperature));
            stages.push(LlamaSampler::dist(seed));
            LlamaSampler::chain_simple(stages)
        });
        let top_k = if p.top_k == 0 { n_vocab.max(1) as usize } else { p.top_k as usize };
        Sampler {
            greedy,
            top_k,
            chain,
            penalty: p.repeat_penalty,
            window: p.repeat_last_n as usize,
            recent: std::collections::VecDeque::new(),
            scratch: Vec::new(),
            cands: Vec::new(),
        }
    }

    fn sample(&mut self, ctx: &LlamaContext<'_>, idx: i32) -> LlamaToken {
        let raw = ctx.get_logits_ith(idx);
        let penalise = self.penalty != 1.0 && self.window > 0 && !self.recent.is_empty();
        let logits: &[f32] = if penalise {
            self.scratch.clear();
            self.scratch.extend_from_slice(raw);
            let mut seen = std::collections::HashSet::new();
            for &t in &self.recent {
                if let Some(l) = self.scratch.get_mut(t as usize) {
                    if seen.insert(t) {
                        // llama.cpp's rule: shrink positive logits, grow negative ones.
                        *l = if *l > 0.0 { *l / self.penalty } else { *l * self.penalty };
                    }
                }
            }
            &self.scratch
        } else {
            raw
        };
        let token = if self.greedy {
            super::argmax(logits) as i32
        } else {
            top_k(logits, self.top_k, &mut self.cands);
            let data = self.cands.iter().map(|&(l, id)| LlamaTokenData::new(LlamaToken(id), l, 0.0)).collect();
            let mut array = LlamaTokenDataArray::new(data, false);
            if let Some(chain) = self.chain.as_mut() {
                array.apply_sampler(chain);
            }
            array.selected_token().map_or_else(|| super::argmax(logits) as i32, |t| t.0)
        };
        if self.window > 0 {
            self.recent.push_back(token);
            if self.recent.len() > self.window {
                self.recent.pop_front();
            }
        }
        LlamaToken(token)
    }
}

/// The `k` largest logits (in no particular order) in one pass: candidates
/// below the running threshold are skipped, the buffer is pruned when full.
pub fn top_k(logits: &[f32], k: usize, out: &mut Vec<(f32, i32)>) {
    out.clear();
    let k = k.max(1);
    if k >= logits.len() {
        out.extend(logits.iter().enumerate().map(|(i, &l)| (l, i as i32)));
        return;
    }
    let mut threshold = f32::NEG_INFINITY;
    // Blocks of 16 with nothing at or above the threshold are skipped whole:
    // the test vectorises (no short-circuit), and once the threshold has
    // risen almost every block is skipped. Over Gemma's 262,144 logits this
    // takes 32 µs instead of 127 µs for one comparison at a time.
    const BLOCK: usize = 16;
    for (b, block) in logits.chunks(BLOCK).enumerate() {
        if !block.iter().fold(false, |any, &l| any | (l >= threshold)) {
            continue;
        }
        for (j, &l) in block.iter().enumerate() {
            if l < threshold {
                continue;
            }
            out.push((l, (b * BLOCK + j) as i32));
            if out.len() >= 2 * k {
                out.select_nth_unstable_by(k - 1, |a, b| b.0.total_cmp(&a.0));
                out.truncate(k);
                threshold = out.iter().map(|c| c.0).fold(f32::INFINITY, f32::min);
            }
        }
    }
    if out.len() > k {
        out.select_nth_unstable_by(k - 1, |a, b| b.0.total_cmp(&a.0));
        out.truncate(k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_stream_never_splits_a_character() {
        let mut s = Utf8Stream::default();
        let bytes = "a𓀀b".as_bytes();
        let mut out = String::new();
        for b in bytes {
            out.push_str(&s.push(&[*b]));
        }
        assert_eq!(out, "a𓀀b");
        assert_eq!(s.push(&[0xF0, 0x93]), "");
        assert_eq!(s.finish(), "\u{FFFD}");
        assert_eq!(s.push(&[0xFF, b'x']), "\u{FFFD}x");
    }

    #[test]
    fn top_k_finds_the_largest() {
        let logits: Vec<f32> = (0..1000).map(|i| ((i * 7919) % 1000) as f32).collect();
        let mut out = Vec::new();
        top_k(&logits, 5, &mut out);
        let mut got: Vec<f32> = out.iter().map(|c| c.0).collect();
        got.sort_by(|a, b| b.total_cmp(a));
        assert_eq!(got, vec![999.0, 998.0, 997.0, 996.0, 995.0]);
        assert_eq!(super::super::argmax(&logits) as i32, logits.iter().position(|&v| v == 999.0).unwrap() as i32);

        // A vocabulary-sized vector whose length is not a multiple of the
        // block, against a full sort.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let logits: Vec<f32> = (0..100_003)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 40) as f32 / 1000.0
            })
            .collect();
        top_k(&logits, 40, &mut out);
        let mut got: Vec<f32> = out.iter().map(|c| c.0).collect();
        got.sort_by(|a, b| b.total_cmp(a));
        let mut all = logits.clone();
        all.sort_by(|a, b| b.total_cmp(a));
        assert_eq!(got, all[..40]);
        assert!(out.iter().all(|&(l, i)| logits[i as usize] == l));
    }
}
