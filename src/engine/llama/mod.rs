//! llama.cpp through `llama-cpp-2`: GGUF models on CPU or GPU.
//!
//! The backend keeps the model and, once it has answered, its context (the
//! KV cache) with the tokens it holds: the next prompt (a follow-up, which
//! starts with the conversation so far) processes only what follows the
//! common prefix, as llama-server's prompt cache does. `LlamaContext`
//! borrows the model, so the model lives in a leaked box that `Drop` frees
//! after the context. llama.cpp's logs go to tracing (`logs`); sampling and
//! UTF-8 assembly are in `sampler`.
//!
//! Context parameters follow llama-server's defaults (flash attention
//! `auto`, f16 cache, batches of 2048 computed 512 at a time, a sliding
//! window cache only as large as the window), so that versus shows the
//! tokens a user's own llama-server shows for the same file
//! (tests/parity.rs, docs/parity.md).

use std::num::NonZeroU32;
use std::time::Instant;

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::model::params::{LlamaModelParams, LlamaSplitMode};
use llama_cpp_2::token::LlamaToken;

use super::LoadProgress;
use super::template::{ChatTemplate, starts_with_bos};
use super::{Backend, PromptReport};
use crate::catalog::ModelInfo;
use crate::catalog::gguf::{Arrays, Header};
use crate::engine::runtime::sink::{Flow, Sink};
use crate::error::Error;
use crate::params::{BackendSettings, GenerationParams, SplitMode};

mod engine;
mod logs;
mod sampler;

pub(crate) use engine::ENGINE;
pub use engine::{CRATE_VERSION, gpu_layers};

pub use logs::{backend, devices};
pub use sampler::{Utf8Stream, top_k};

use logs::{clean, take_errors};
use sampler::Sampler;

pub struct LlamaCpp {
    /// Freed in `Drop`, after `cache` (whose context borrows it).
    model: &'static LlamaModel,
    /// The generation context and the tokens its KV cache holds, in order
    /// from position 0.
    cache: Option<(LlamaContext<'static>, Vec<i32>)>,
    name: String,
    settings: BackendSettings,
    template: super::template::Loaded,
    bos_text: String,
}

impl LlamaCpp {
    /// Load with `gpu_layers` layers offloaded (see `memory::gpu_layers`).
    pub fn load_with(
        info: &ModelInfo,
        settings: &BackendSettings,
        gpu_layers: u32,
        progress: Option<LoadProgress>,
    ) -> Result<LlamaCpp, Error> {
        let mut s = settings.clone();
        s.n_gpu_layers = i32::try_from(gpu_layers).unwrap_or(i32::MAX);
        LlamaCpp::open(info, &s, false, progress)
    }

    pub fn load(info: &ModelInfo, settings: &BackendSettings) -> Result<LlamaCpp, Error> {
        LlamaCpp::open(info, settings, false, None)
    }

    /// The vocabulary and chat template only, without the weights: what
    /// `versus tokenize` needs, in milliseconds whatever the model's size.
    pub fn load_vocab(info: &ModelInfo, settings: &BackendSettings) -> Result<LlamaCpp, Error> {
        LlamaCpp::open(info, settings, true, None)
    }

    fn open(info: &ModelInfo, settings: &BackendSettings, vocab_only: bool, progress: Option<LoadProgress>) -> Result<LlamaCpp, Error> {
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
        let split = match settings.split_mode {
            SplitMode::Layer => LlamaSplitMode::Layer,
            SplitMode::Row => LlamaSplitMode::Row,
            SplitMode::None => LlamaSplitMode::None,
        };
        let mut params = LlamaModelParams::default()
            .with_n_gpu_layers(n_gpu_layers)
            .with_use_mmap(true)
            .with_vocab_only(vocab_only)
            .with_split_mode(split)
            .with_main_gpu(i32::try_from(settings.main_gpu).unwrap_or(0))
            .with_tensor_split(&settings.tensor_split)
            .map_err(|e| load_err(format!("tensor_split: {e}")))?;
        let stopped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        if let Some(p) = progress {
            // llama.cpp calls this as tensors load; false makes it give up,
            // freeing what it loaded (Esc during a load).
            let flag = stopped.clone();
            params = params.with_progress_callback(move |f| {
                let go = p.report(f);
                if !go {
                    flag.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                go
            });
        }
        take_errors();
        let model = LlamaModel::load_from_file(backend, &info.path, &params).map_err(|e| {
            if stopped.load(std::sync::atomic::Ordering::Relaxed) {
                return load_err("loading was cancelled".into());
            }
            let errors = take_errors();
            let said = if errors.is_empty() {
                format!("llama.cpp could not load it ({e})")
            } else {
                let mut lines: Vec<&str> = errors.iter().map(|l| clean(l)).collect();
                lines.dedup();
                lines.join("; ")
            };
            let arch = info.architecture.as_deref().unwrap_or("unknown");
            load_err(format!(
                "{}: {said}; its architecture `{arch}` may be newer than this llama.cpp (llama-cpp-2 {}), or the file is damaged: download it again, or try it with @candle",
                info.path.display(),
                engine::CRATE_VERSION
            ))
        })?;
        let vocab = model.vocab();
        let n_vocab = model.n_vocab();
        // A vocabulary without BOS (T5-style) reports -1: llama.cpp throws a
        // C++ exception for ids outside the vocabulary, which would abort.
        let piece = |t: LlamaToken| {
            if (0..n_vocab).contains(&t.0) {
                String::from_utf8_lossy(&vocab.token_to_piece(t, true, None)).into_owned()
            } else {
                String::new()
            }
        };
        let bos_text = piece(vocab.bos());
        let eos_text = piece(vocab.eos());
        let template = model
            .meta_val_str("tokenizer.chat_template")
            .ok()
            .map(|src| ChatTemplate::new(&src, &bos_text, &eos_text).map_err(|e| e.to_string()));
        drop(vocab);
        let model: &'static LlamaModel = Box::leak(Box::new(model));
        Ok(LlamaCpp { model, cache: None, name: info.name.clone(), settings: settings.clone(), template, bos_text })
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

    /// The text of one token as the model sees it, special tokens included
    /// (bytes that are part of a character show as U+FFFD).
    pub fn piece(&self, token: i32) -> String {
        if !(0..self.model.n_vocab()).contains(&token) {
            return String::new();
        }
        String::from_utf8_lossy(&self.model.vocab().token_to_piece(LlamaToken(token), true, None)).into_owned()
    }

    /// Teacher forcing, for comparing engines: feed `prompt` then `forced`,
    /// and return at each position after the prompt the greedy token and its
    /// lead over the runner-up (a lead near 0 is a tie any kernel may break
    /// either way).
    pub fn forced_greedy(&self, prompt: &str, forced: &[u32]) -> Result<Vec<(u32, f32)>, Error> {
        Ok(self.forced_logits(prompt, forced)?.iter().map(|l| super::lead(l)).collect())
    }

    /// The logits at each position after `prompt`, with `forced` fed one
    /// token at a time as generation decodes (the batched path uses other
    /// kernels, whose rounding moves logits by a tenth or so).
    pub fn forced_logits(&self, prompt: &str, forced: &[u32]) -> Result<Vec<Vec<f32>>, Error> {
        let err = |e: &dyn std::fmt::Display| Error::Inference(e.to_string());
        let tokens = self.tokenize(prompt);
        let n_ctx = self.n_ctx();
        super::template::check_fits(tokens.len() + forced.len(), n_ctx as usize)?;
        let mut ctx = self.context(n_ctx, false)?;
        let n_batch = ctx.n_batch().max(1) as usize;
        let mut batch = LlamaBatch::new(n_batch, 1);
        let last = tokens.len() - 1;
        for (c, chunk) in tokens.chunks(n_batch).enumerate() {
            batch.clear();
            for (i, t) in chunk.iter().enumerate() {
                let pos = c * n_batch + i;
                batch.add(LlamaToken(*t), pos as i32, &[0], pos == last).map_err(|e| err(&e))?;
            }
            ctx.decode(&mut batch).map_err(|e| err(&e))?;
        }
        let mut out = vec![ctx.get_logits_ith(batch.n_tokens() - 1).to_vec()];
        for (i, &t) in forced.iter().enumerate() {
            batch.clear();
            batch.add(LlamaToken(t as i32), (tokens.len() + i) as i32, &[0], true).map_err(|e| err(&e))?;
            ctx.decode(&mut batch).map_err(|e| err(&e))?;
            out.push(ctx.get_logits_ith(0).to_vec());
        }
        Ok(out)
    }

    /// A context; `swa_full`: a sliding-window cache as large as the
    /// context (llama-server's `--swa-full`: the same logits, and a follow-up
    /// can reuse the whole conversation, not only the window's last tokens).
    fn context(&self, n_ctx: u32, swa_full: bool) -> Result<LlamaContext<'static>, Error> {
        let threads = i32::try_from(super::effective_threads(self.settings.threads)).unwrap_or(1);
        // As llama-server: logical batches of 2048 tokens computed in
        // physical ones of `batch_size` (512), and a sliding-window cache
        // only as large as the window needs (the same logits, less memory).
        let ubatch = self.settings.batch_size.min(n_ctx);
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(n_ctx))
            .with_n_batch(N_BATCH.max(ubatch).min(n_ctx))
            .with_n_ubatch(ubatch)
            .with_swa_full(swa_full)
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
    fn render(&self, turns: &[super::Turn], prompt: &str, params: &GenerationParams) -> Result<String, Error> {
        super::template::render(&self.template, turns, prompt, params)
    }

    fn generate(&mut self, rendered: &str, params: &GenerationParams, seed: u32, sink: &mut Sink<'_>) -> Result<PromptReport, Error> {
        let n_ctx = self.n_ctx();
        let tokens = self.tokenize(rendered);
        super::template::check_fits(tokens.len(), n_ctx as usize)?;
        let (mut ctx, mut held) = match self.cache.take() {
            Some(c) => c,
            None => (self.context(n_ctx, true)?, Vec::new()),
        };
        // Reuse the cache up to where it and the new prompt part (at least
        // one token is decoded, for its logits); drop the rest. Only when the
        // prompt continues the cached one (a follow-up): a shared template
        // header alone saves little, and the same prompt computed in other
        // batches may break a near-tie the other way than from scratch.
        let before = crate::engine::protocol::receipt::ids_hash(&held);
        let mut reused = held.iter().zip(&tokens).take_while(|(a, b)| a == b).count().min(tokens.len() - 1);
        if reused * 2 < tokens.len() {
            reused = 0;
        }
        if reused < held.len() && !ctx.clear_kv_cache_seq(Some(0), Some(reused as u32), None).unwrap_or(false) {
            ctx.clear_kv_cache();
            reused = 0;
        }
        held.truncate(reused);
        let result = self.decode(&mut ctx, &mut held, &tokens, reused, params, seed, sink).map(|mut report| {
            if let Some(r) = report.receipt.as_mut() {
                r.cache_before = before;
                r.cache_after = crate::engine::protocol::receipt::ids_hash(&held);
            }
            report
        });
        // The cache now holds the prompt and the answer (a follow-up starts
        // with both). Its numbers were computed in other batches than a
        // from-scratch run would use, which rounds differently: a near-tie
        // may break the other way (tests/conversation.rs checks that both
        // are greedy answers). What it holds is known only when decoding
        // went through.
        if result.is_ok() {
            self.cache = Some((ctx, held));
        }
        result
    }

    fn cached_tokens(&self) -> usize {
        self.cache.as_ref().map_or(0, |(_, held)| held.len())
    }

    fn forget(&mut self) {
        self.cache = None;
    }

    fn token_ids(&self, text: &str) -> Result<Vec<u32>, Error> {
        // As llama-perplexity: the vocabulary's own BOS rule, special-token
        // text read as text.
        Ok(self.model.vocab().tokenize(text.as_bytes(), true, false).into_iter().map(|t| t.0 as u32).collect())
    }

    fn bos(&self) -> Option<u32> {
        let vocab = self.model.vocab();
        vocab.should_add_bos().then(|| vocab.bos().0 as u32)
    }

    /// As llama-perplexity: one context of the chunk's length, cleared
    /// between chunks, each chunk decoded in logical batches of up to 2048
    /// tokens with logits asked for only where they are scored.
    fn score(&mut self, chunks: &[Vec<u32>], from: usize, each: &mut dyn FnMut(usize, usize, &[f32]) -> bool) -> Result<(), Error> {
        let err = |e: &dyn std::fmt::Display| Error::Inference(e.to_string());
        let Some(n) = chunks.iter().map(Vec::len).max() else { return Ok(()) };
        self.cache = None;
        let mut ctx = self.context(u32::try_from(n).unwrap_or(u32::MAX), true)?;
        let n_batch = ctx.n_batch().max(1) as usize;
        let mut batch = LlamaBatch::new(n_batch, 1);
        for (c, chunk) in chunks.iter().enumerate() {
            ctx.clear_kv_cache();
            let last = chunk.len().saturating_sub(1);
            for (b, part) in chunk.chunks(n_batch).enumerate() {
                batch.clear();
                for (k, t) in part.iter().enumerate() {
                    let pos = b * n_batch + k;
                    batch.add(LlamaToken(*t as i32), pos as i32, &[0], pos >= from && pos < last).map_err(|e| err(&e))?;
                }
                ctx.decode(&mut batch).map_err(|e| err(&e))?;
                for k in 0..part.len() {
                    let pos = b * n_batch + k;
                    if pos >= from && pos < last && !each(c, pos, ctx.get_logits_ith(k as i32)) {
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }
}

impl Drop for LlamaCpp {
    fn drop(&mut self) {
        // The context borrows the model: it goes first.
        self.cache = None;
        // SAFETY: `model` came from `Box::leak` in `open` and nothing else
        // refers to it once the context is gone.
        unsafe { drop(Box::from_raw(std::ptr::from_ref(self.model).cast_mut())) };
    }
}

impl LlamaCpp {
    /// Decode `tokens` from position `reused` (the cache holds those
    /// before), then generate; `held` follows what the cache holds.
    #[allow(clippy::too_many_arguments)]
    fn decode(
        &self,
        ctx: &mut LlamaContext<'static>,
        held: &mut Vec<i32>,
        tokens: &[i32],
        reused: usize,
        params: &GenerationParams,
        seed: u32,
        sink: &mut Sink<'_>,
    ) -> Result<PromptReport, Error> {
        let n_ctx = ctx.n_ctx();
        let n_batch = ctx.n_batch().max(1) as usize;
        let mut batch = LlamaBatch::new(n_batch, 1);
        let inference = |e: &dyn std::fmt::Display| Error::Inference(e.to_string());
        let receipt = crate::engine::protocol::receipt::EngineReceipt {
            engine: format!("llama.cpp via llama-cpp-2 {}", engine::CRATE_VERSION),
            threads: super::effective_threads(self.settings.threads),
            n_ctx,
            n_batch: n_batch as u32,
            n_ubatch: ctx.n_ubatch(),
            sampler: sampler::describe(params),
            template: super::template::hash_of(&self.template, params.raw),
            prompt_tokens: tokens.len(),
            prompt_ids: crate::engine::protocol::receipt::ids_hash(tokens),
            ..Default::default()
        };
        let report = |prompt_ms: f64, eos: bool| PromptReport {
            prompt_tokens: (tokens.len() - reused) as u64,
            reused_tokens: reused as u64,
            prompt_ms,
            eos,
            receipt: Some(receipt.clone()),
            ..PromptReport::default()
        };

        sink.start();
        let t0 = Instant::now();
        let last = tokens.len() - 1;
        // Never more than n_batch tokens per decode: llama.cpp aborts otherwise.
        for chunk in tokens[reused..].chunks(n_batch) {
            if sink.interrupted() {
                return Ok(report(ms(t0), false));
            }
            batch.clear();
            for t in chunk {
                let pos = held.len() + batch.n_tokens() as usize;
                batch.add(LlamaToken(*t), pos as i32, &[0], pos == last).map_err(|e| inference(&e))?;
            }
            ctx.decode(&mut batch).map_err(|e| inference(&e))?;
            held.extend_from_slice(chunk);
        }
        let prompt_ms = ms(t0);

        let vocab = self.model.vocab();
        let mut sampler = Sampler::new(params, seed, self.model.n_vocab());
        let mut utf8 = Utf8Stream::default();
        let mut piece = Vec::with_capacity(32);
        let mut logits_idx = batch.n_tokens() - 1;
        let mut eos = false;
        loop {
            let token = sampler.sample(ctx, logits_idx);
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
            // `held` is what the cache holds: its length is the next position.
            if held.len() >= n_ctx as usize {
                sink.context_full();
                break;
            }
            batch.clear();
            batch.add(token, held.len() as i32, &[0], true).map_err(|e| inference(&e))?;
            ctx.decode(&mut batch).map_err(|e| inference(&e))?;
            held.push(token.0);
            logits_idx = 0;
        }
        let rest = utf8.finish();
        if !rest.is_empty() {
            sink.flush_text(&rest);
        }
        Ok(report(prompt_ms, eos))
    }
}

/// llama.cpp's default logical batch (llama-server's `-b`).
const N_BATCH: u32 = 2048;

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}
