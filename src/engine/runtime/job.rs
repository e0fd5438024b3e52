//! One entry of a run, on the thread that runs it: memory check → load (or
//! take it from the resident models) → answer each of its prompts, as many
//! times as it has samples (seeds seed, seed+1, …) → keep it loaded or
//! unload it. A failure (error or panic) becomes that entry's `Failed`
//! event; cancellation is checked before the load, between answers and,
//! through the sink, on every token. Every answer carries its receipt.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

use super::memory::{self, Estimate, MemoryConfig};
use super::resident::{self, KeepLoaded, Residents};
use crate::engine::{Backend, EngineEvent, EventKind, LoadProgress, RunEntry, RunRequest, Sink, Stats, StopReason};
use crate::error::Error;

/// How the scheduler turns an entry into a loaded model: `engine::load`
/// (each engine's row in the registry), or a scripted backend in tests of
/// the queue itself.
pub type Loader = Arc<dyn Fn(&RunEntry, LoadProgress) -> Result<Box<dyn Backend>, Error> + Send + Sync>;

pub(super) fn send(events: &UnboundedSender<EngineEvent>, run: u64, slot: usize, prompt: usize, kind: EventKind) {
    send_sample(events, run, slot, prompt, 0, kind);
}

pub(super) fn send_sample(events: &UnboundedSender<EngineEvent>, run: u64, slot: usize, prompt: usize, sample: u32, kind: EventKind) {
    let _ = events.send(EngineEvent { run, slot, prompt, sample, kind });
}

pub(super) fn prompts_of(req: &RunRequest, e: &RunEntry) -> Vec<usize> {
    e.prompts.clone().unwrap_or_else(|| (0..req.prompts.len()).collect())
}

/// Answers per prompt: the entry's samples (one in a replay).
pub(super) fn samples_of(req: &RunRequest, e: &RunEntry) -> u32 {
    if req.replay.is_empty() { e.settings.generation.samples.max(1) } else { 1 }
}

/// For one entry: the loaded models, and whether it stays loaded after it
/// answers (the models still to load in the run must fit beside it).
pub(super) struct Keep<'a> {
    pub policy: KeepLoaded,
    pub residents: &'a mut Residents,
    pub next: Vec<&'a RunEntry>,
}

/// One entry of a run and where its events go.
pub(super) struct Job<'a> {
    req: &'a RunRequest,
    slot: usize,
    entry: &'a RunEntry,
    /// The prompts it answers (indices into the run's prompts).
    prompts: Vec<usize>,
    events: &'a UnboundedSender<EngineEvent>,
    /// It holds the model in this process (not a server's).
    local: bool,
}

/// How the model of an entry came to be loaded.
struct Loaded {
    ms: f64,
    rss_before: u64,
    /// GPU memory in use before the load and once loaded.
    gpu_before: u64,
    gpu_loaded: u64,
    estimate: Estimate,
    /// It was still loaded from an earlier answer.
    resident: bool,
    /// The model's fingerprint, for the receipts.
    fingerprint: String,
    /// What the model already held before `rss_before` was read (a model
    /// still loaded: its memory then; a fresh load: nothing).
    held: u64,
}

impl<'a> Job<'a> {
    pub fn new(req: &'a RunRequest, slot: usize, events: &'a UnboundedSender<EngineEvent>) -> Job<'a> {
        let entry = &req.entries[slot];
        let local = crate::engine::registry::info(entry.engine).local;
        Job { req, slot, entry, prompts: prompts_of(req, entry), events, local }
    }

    fn send(&self, prompt: usize, sample: u32, kind: EventKind) {
        send_sample(self.events, self.req.id, self.slot, prompt, sample, kind);
    }

    fn samples(&self) -> u32 {
        samples_of(self.req, self.entry)
    }

    /// The run was cancelled or this entry skipped.
    fn cancelled(&self) -> bool {
        self.req.stopped(self.slot)
    }

    /// Every prompt of the entry, or `Cancelled` for each if the run was
    /// cancelled before it began.
    pub fn run(&self, mem: &MemoryConfig, loader: &Loader, keep: &mut Keep<'_>) {
        let Some(&first) = self.prompts.first() else { return };
        if self.cancelled() {
            return self.end_all(&self.prompts, |_| EventKind::Cancelled { stats: None });
        }
        let entry = self.entry;
        if let Some(why) = &entry.model.error {
            return self.fail_all(Error::ModelLoad { model: entry.label.clone(), reason: why.clone() });
        }
        let key = resident::key(entry);
        // Only a local model can be held (a remote one is never taken out).
        if let Some(r) = self.local.then(|| keep.residents.take(&key)).flatten() {
            tracing::info!(model = %entry.label, "still loaded: no load");
            memory::reset_peak();
            let gpu = crate::gpu::used_all();
            let loaded = Loaded {
                ms: 0.0,
                rss_before: memory::rss_bytes(),
                gpu_before: gpu,
                gpu_loaded: gpu,
                estimate: r.estimate,
                resident: true,
                held: r.bytes,
                fingerprint: self.fingerprint(),
            };
            self.send(first, 0, EventKind::Loaded { load_ms: 0.0, rss_bytes: 0 });
            return self.answer_all(mem, keep, r.backend, loaded);
        }
        self.send(first, 0, EventKind::Loading);
        let mut estimate = Estimate::default();
        if self.local {
            let (fits, evicted) = resident::make_room(entry, mem, keep.residents);
            if !evicted.is_empty() {
                tracing::info!(model = %entry.label, "unloaded {} to make room", evicted.join(", "));
            }
            match fits {
                Ok(e) => estimate = e,
                Err(e) => return self.fail_all(e),
            }
            memory::trim();
            memory::reset_peak();
        }
        let rss_before = if self.local { memory::rss_bytes() } else { 0 };
        let gpu_before = self.gpu_now();
        let t_load = Instant::now();
        let loaded = catch_unwind(AssertUnwindSafe(|| loader(entry, self.load_progress(first))));
        let load_ms = t_load.elapsed().as_secs_f64() * 1e3;
        let backend = match loaded {
            Ok(Ok(b)) => b,
            // Cancelled while loading: whatever was loaded is freed already.
            Ok(Err(_)) if self.cancelled() => return self.end_all(&self.prompts, |_| EventKind::Cancelled { stats: None }),
            Ok(Err(e)) => return self.fail_all(e),
            Err(p) => {
                return self.fail_all(Error::ModelLoad {
                    model: entry.label.clone(),
                    reason: format!("the engine panicked: {}", panic_message(&*p)),
                });
            }
        };
        let rss_loaded = if self.local { memory::rss_bytes().saturating_sub(rss_before) } else { 0 };
        self.send(first, 0, EventKind::Loaded { load_ms, rss_bytes: rss_loaded });
        let loaded = Loaded {
            ms: load_ms,
            rss_before,
            gpu_before,
            gpu_loaded: self.gpu_now(),
            estimate,
            resident: false,
            held: 0,
            fingerprint: self.fingerprint(),
        };
        self.answer_all(mem, keep, backend, loaded);
    }

    /// The same final event for each answer of `prompts` (every sample).
    fn end_all(&self, prompts: &[usize], kind: impl Fn(usize) -> EventKind) {
        for &p in prompts {
            for s in 0..self.samples() {
                self.send(p, s, kind(p));
            }
        }
    }

    /// A model that cannot load fails every prompt it was to answer.
    fn fail_all(&self, error: Error) {
        tracing::warn!(model = %self.entry.label, %error, "model failed");
        self.end_all(&self.prompts, |_| EventKind::Failed { error: error.clone(), stats: None });
    }

    fn gpu_now(&self) -> u64 {
        if self.local { crate::gpu::used_all() } else { 0 }
    }

    fn rss_now(&self) -> u64 {
        if self.local { memory::rss_bytes() } else { 0 }
    }

    /// Progress events for a load (one per percent at most), and its stop
    /// when the run is cancelled.
    fn load_progress(&self, prompt: usize) -> LoadProgress {
        let (events, run, slot) = (self.events.clone(), self.req.id, self.slot);
        let (cancel, skip) = (self.req.cancel.clone(), self.req.skip.clone());
        let last = std::sync::Mutex::new(-1.0f32);
        LoadProgress::new(move |fraction| {
            if let Ok(mut l) = last.lock() {
                if fraction - *l >= 0.01 || (fraction >= 1.0 && *l < 1.0) {
                    *l = fraction;
                    send(&events, run, slot, prompt, EventKind::LoadProgress { fraction });
                }
            }
            let skipped = skip.get(slot).is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed));
            !(cancel.load(std::sync::atomic::Ordering::Relaxed) || skipped)
        })
    }

    /// Answer each prompt with the loaded `backend`, then keep it loaded or
    /// unload it.
    fn answer_all(&self, mem: &MemoryConfig, keep: &mut Keep<'_>, mut backend: Box<dyn Backend>, loaded: Loaded) {
        let mut last: Option<(usize, u32, Result<(), Error>, Stats)> = None;
        let mut own = loaded.held;
        let samples = self.samples();
        let answers: Vec<(usize, u32)> = self.prompts.iter().flat_map(|&p| (0..samples).map(move |s| (p, s))).collect();
        // One seed per prompt (replayed, configured, or drawn), plus the sample.
        let base = |p: usize| match self.req.replay.get(p) {
            Some(step) => step.seed,
            None => self.entry.settings.generation.seed.unwrap_or_else(crate::params::random_seed),
        };
        let mut seeds = std::collections::HashMap::new();
        for (i, &(p, s)) in answers.iter().enumerate() {
            if self.cancelled() {
                for &(q, t) in &answers[i..] {
                    self.send(q, t, EventKind::Cancelled { stats: None });
                }
                break;
            }
            let seed = seeds.entry(p).or_insert_with(|| base(p)).wrapping_add(s);
            let (result, mut stats) = self.generate(p, s, seed, backend.as_mut(), &loaded);
            if self.local {
                stats.model_bytes = loaded.held + stats.peak_rss_bytes.saturating_sub(loaded.rss_before);
                own = own.max(stats.model_bytes);
            }
            stats.gpu_before_bytes = loaded.gpu_before;
            stats.gpu_loaded_bytes = loaded.gpu_loaded;
            stats.resident = loaded.resident;
            if i + 1 < answers.len() {
                self.report(p, s, result, stats, self.rss_now());
            } else {
                last = Some((p, s, result, stats));
            }
            if self.local {
                memory::reset_peak();
            }
        }

        // Keep the model loaded when the policy says so; otherwise unload it
        // before reporting the last prompt, so its stats can say whether the
        // model's memory came back.
        let with_it = keep.residents.held() + loaded.estimate.total();
        if self.local && resident::stays(keep.policy, with_it, &keep.next, mem) {
            keep.residents.keep(resident::key(self.entry), self.entry.label.clone(), backend, loaded.estimate, own);
        } else {
            drop(backend);
            if self.local {
                memory::trim();
            }
        }
        if let Some((p, s, result, mut stats)) = last {
            stats.gpu_after_bytes = self.gpu_now();
            self.report(p, s, result, stats, self.rss_now());
        }
    }

    /// One answer through the sink: its text as `Token` events, its
    /// numbers and its receipt.
    fn generate(
        &self,
        prompt_index: usize,
        sample: u32,
        seed: u32,
        backend: &mut dyn Backend,
        loaded: &Loaded,
    ) -> (Result<(), Error>, Stats) {
        let (req, entry) = (self.req, self.entry);
        let (load_ms, rss_before) = (loaded.ms, loaded.rss_before);
        let prompt = req.prompts.get(prompt_index).map(String::as_str).unwrap_or_default();
        let step = req.replay.get(prompt_index);
        let params = step.map_or(&entry.settings.generation, |s| &s.params);
        let timeout = entry.settings.backend.timeout_secs;
        let deadline = (timeout > 0).then(|| Instant::now() + Duration::from_secs(timeout));
        let mut stats = Stats { load_ms, seed: Some(seed), rss_before_bytes: rss_before, ..Stats::default() };

        let mut emit = |kind: EventKind| self.send(prompt_index, sample, kind);
        let stop = crate::engine::runtime::sink::Stop { run: &req.cancel, entry: req.skip.get(self.slot) };
        let mut sink = Sink::new(&mut emit, stop, deadline, params.max_tokens, &params.stop);
        let t_gen = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            // Turns left out on request (`drop_turns`), never silently.
            let turns = &entry.history[(params.drop_turns as usize).min(entry.history.len())..];
            let rendered = match step {
                Some(step) => {
                    if step.fresh {
                        backend.forget();
                    }
                    prompt.to_string()
                }
                None => backend.render(turns, prompt, params)?,
            };
            stats.rendered_prompt = rendered.clone();
            // A template that ends by opening the thinking section (DeepSeek-R1
            // distills) starts the model inside it.
            sink.think_from(&params.thinking_tags, &rendered);
            backend.generate(&rendered, params, seed, &mut sink).map_err(|e| match e {
                Error::ContextOverflow { tokens, n_ctx, .. } => Error::ContextOverflow { tokens, n_ctx, turns: turns.len() },
                e => e,
            })
        }));
        let gen_ms = t_gen.elapsed().as_secs_f64() * 1e3;
        let result = match outcome {
            Ok(r) => r,
            Err(p) => Err(Error::Inference(format!("the engine panicked: {}", panic_message(&*p)))),
        };
        let reason = match &result {
            Ok(report) => sink.finish(report.eos),
            Err(_) => {
                sink.finish(false);
                sink.reason().cloned().unwrap_or(StopReason::Error)
            }
        };
        let ids = sink.ids().to_vec();
        stats.ttft_ms = sink.ttft_ms();
        stats.ttfa_ms = sink.ttfa_ms();
        stats.thinking_tokens = sink.thinking_tokens();
        stats.generated_tokens = sink.tokens();
        stats.decode_ms = sink.decode_ms();
        drop(sink);
        stats.remote = !self.local;
        if let Ok(report) = &result {
            // A server counts tokens; its stream chunks may hold several.
            if let Some(n) = report.generated_tokens {
                stats.generated_tokens = n;
            }
            stats.server_timings = report.server_timings.clone();
        }
        if stats.generated_tokens > 1 && stats.decode_ms > 0.0 {
            stats.decode_tps = (stats.generated_tokens - 1) as f64 / (stats.decode_ms / 1e3);
        }
        stats.receipt = Some(self.receipt(result.as_ref().ok().and_then(|r| r.receipt.clone()), seed, ids, &loaded.fingerprint));
        if let Some(r) = stats.receipt.as_mut() {
            r.params = Some(params.clone());
        }
        if let Ok(report) = &result {
            if let Some(r) = stats.receipt.as_mut() {
                r.reused = report.reused_tokens;
            }
            stats.prompt_tokens = report.prompt_tokens;
            stats.prompt_reused = report.reused_tokens;
            stats.prompt_ms = report.prompt_ms;
            if report.prompt_ms > 0.0 {
                stats.prompt_tps = report.prompt_tokens as f64 / (report.prompt_ms / 1e3);
            }
        }
        stats.total_ms = load_ms + gen_ms;
        stats.peak_rss_bytes = if stats.remote { 0 } else { memory::peak_rss_bytes() };
        stats.stop_reason = Some(match (&result, reason) {
            (Err(_), _) => StopReason::Error,
            (Ok(_), r) => r,
        });
        (result.map(|_| ()), stats)
    }

    /// The final event of one answer.
    fn report(&self, prompt: usize, sample: u32, result: Result<(), Error>, mut stats: Stats, rss_after: u64) {
        stats.rss_after_bytes = rss_after;
        let kind = match (result, stats.stop_reason.clone()) {
            (Err(error), _) => {
                tracing::warn!(model = %self.entry.label, %error, "generation failed");
                EventKind::Failed { error, stats: Some(stats) }
            }
            (Ok(()), Some(StopReason::Cancelled)) => EventKind::Cancelled { stats: Some(stats) },
            (Ok(()), Some(StopReason::Timeout)) => {
                EventKind::Failed { error: Error::GenerationTimeout { secs: self.entry.settings.backend.timeout_secs }, stats: Some(stats) }
            }
            (Ok(()), _) => EventKind::Finished { stats },
        };
        self.send(prompt, sample, kind);
    }

    /// The receipt of one answer: the backend's part, and what this job knows.
    fn receipt(
        &self,
        engine: Option<crate::engine::protocol::receipt::EngineReceipt>,
        seed: u32,
        ids: Vec<u32>,
        fingerprint: &str,
    ) -> crate::engine::protocol::receipt::Receipt {
        use crate::engine::protocol::receipt::Receipt;
        let not_replayable = if !self.local {
            Some("a served model: the server decides its tokens, not reproducible from here".to_string())
        } else if engine.is_none() {
            Some(format!("{} gives no receipt", crate::engine::registry::info(self.entry.engine).title))
        } else {
            None
        };
        Receipt {
            versus: env!("CARGO_PKG_VERSION").into(),
            engine: engine.unwrap_or_default(),
            fingerprint: fingerprint.into(),
            kernels: crate::cpu::kernels(),
            device: crate::gpu::run_device(),
            seed,
            params: None,
            reused: 0,
            ids,
            not_replayable,
        }
    }

    /// The model's fingerprint (local models; a server's has no file).
    fn fingerprint(&self) -> String {
        if self.local { crate::catalog::fingerprint(&self.entry.model.files) } else { String::new() }
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}
