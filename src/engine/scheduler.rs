//! The sequential scheduler: one named thread owns whatever model is loaded
//! and runs each entry of a run in turn: memory check → load → generate →
//! drop (or keep it loaded, `resident.rs`) → next. Models still loaded from
//! an earlier run go first and answer without a load. A failure (error or
//! panic) becomes that entry's `Failed` event and the next entry runs;
//! cancellation is checked on every token and between entries.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

use super::resident::{self, KeepLoaded, Residents};
use super::{EngineEvent, EventKind, RunEntry, RunRequest, Sink, Stats, StopReason, memory};
use crate::engine::memory::MemoryConfig;
use crate::error::Error;

/// The name of the inference thread; the panic hook leaves panics there to
/// `catch_unwind` instead of tearing down the UI.
pub const THREAD_NAME: &str = "versus-inference";

/// Threads whose panics the engine catches itself (each becomes that
/// model's failure): the inference thread and the remote streams.
pub const CAUGHT_THREADS: &[&str] = &[THREAD_NAME, "versus-remote-"];

enum Command {
    Run(RunRequest),
    Shutdown,
}

/// Handle to the inference thread.
pub struct Engine {
    tx: mpsc::Sender<Command>,
    thread: Option<JoinHandle<()>>,
}

/// How the scheduler turns an entry into a loaded model: `engine::load`
/// (each engine's row in the registry), or a scripted backend in tests of
/// the queue itself.
pub type Loader = Arc<dyn Fn(&RunEntry, super::LoadProgress) -> Result<Box<dyn super::Backend>, Error> + Send + Sync>;

impl Engine {
    /// The inference thread with the real engines, one model loaded at a
    /// time (benchmarks and tests that count loads).
    pub fn start(events: UnboundedSender<EngineEvent>, memory: MemoryConfig) -> std::io::Result<Engine> {
        Engine::keeping(events, memory, KeepLoaded::Never)
    }

    /// The inference thread, keeping models loaded between runs by `policy`.
    pub fn keeping(events: UnboundedSender<EngineEvent>, memory: MemoryConfig, policy: KeepLoaded) -> std::io::Result<Engine> {
        Engine::with_loader(events, memory, policy, Arc::new(|e: &RunEntry, p| super::load(e, p)))
    }

    pub fn with_loader(
        events: UnboundedSender<EngineEvent>,
        memory: MemoryConfig,
        policy: KeepLoaded,
        loader: Loader,
    ) -> std::io::Result<Engine> {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new().name(THREAD_NAME.into()).spawn(move || {
            let mut queue = Queue { mem: memory, loader, policy, residents: Residents::default() };
            while let Ok(Command::Run(req)) = rx.recv() {
                queue.run(&req, &events);
            }
        })?;
        Ok(Engine { tx, thread: Some(thread) })
    }

    /// Queue a run; runs execute in submission order.
    pub fn submit(&self, req: RunRequest) {
        let _ = self.tx.send(Command::Run(req));
    }
}

impl Engine {
    /// Ask the thread to stop after the current run without waiting for it:
    /// used when the process is about to exit.
    pub fn detach(mut self) {
        let _ = self.tx.send(Command::Shutdown);
        self.thread.take();
    }
}

/// How long dropping the engine waits for its thread to finish the current
/// step: a cancelled run stops within a token, but a call into an engine
/// that never returns (a C++ loop, a stuck driver) must not hold up quitting.
const STOP_WAIT: Duration = Duration::from_secs(2);

/// An inference thread was left running: `main` then ends with `_exit`, as C++
/// static destructors would tear down a backend that thread is still inside.
pub static LEFT_BEHIND: AtomicBool = AtomicBool::new(false);

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.tx.send(Command::Shutdown);
        let Some(t) = self.thread.take() else { return };
        let start = Instant::now();
        while !t.is_finished() && start.elapsed() < STOP_WAIT {
            std::thread::sleep(Duration::from_millis(5));
        }
        if !t.is_finished() {
            tracing::warn!("the inference thread did not stop within {STOP_WAIT:?}; leaving it behind");
            return LEFT_BEHIND.store(true, Ordering::SeqCst);
        }
        let _ = t.join();
    }
}

fn send(events: &UnboundedSender<EngineEvent>, run: u64, slot: usize, prompt: usize, kind: EventKind) {
    let _ = events.send(EngineEvent { run, slot, prompt, kind });
}

fn prompts_of(req: &RunRequest, e: &RunEntry) -> Vec<usize> {
    e.prompts.clone().unwrap_or_else(|| (0..req.prompts.len()).collect())
}

/// What the inference thread owns: the memory rules, how to load, and the
/// models it keeps loaded between runs.
pub struct Queue {
    pub mem: MemoryConfig,
    pub loader: Loader,
    pub policy: KeepLoaded,
    pub residents: Residents,
}

impl Queue {
    /// Run every entry of `req`, reporting through `events`: local entries
    /// one after another on this thread (those already loaded first),
    /// remote ones concurrently beside them.
    pub fn run(&mut self, req: &RunRequest, events: &UnboundedSender<EngineEvent>) {
        let (mem, loader) = (self.mem.clone(), self.loader.clone());
        // Entries with nothing to answer (a batch resumed, a retry of
        // the others) stay as they are on screen.
        for (slot, e) in req.entries.iter().enumerate() {
            if let Some(&p) = prompts_of(req, e).first() {
                send(events, req.id, slot, p, EventKind::Queued);
            }
        }
        // Remote entries use no local memory: each streams on a thread of its
        // own while the local queue runs; the last part to finish ends the run.
        let local = |e: &RunEntry| super::registry::info(e.engine).local;
        let remote: Vec<usize> = (0..req.entries.len()).filter(|&i| !local(&req.entries[i])).collect();
        let parts = Arc::new(AtomicUsize::new(1 + remote.len()));
        for slot in remote {
            let (r, ev, m, p, l) = (req.clone(), events.clone(), mem.clone(), parts.clone(), loader.clone());
            let spawned = std::thread::Builder::new().name(format!("versus-remote-{slot}")).spawn(move || {
                let mut none = Residents::default();
                run_slot(&r, slot, &ev, &m, &l, &mut Keep { policy: KeepLoaded::Never, residents: &mut none, next: Vec::new() });
                finish_part(&p, &ev, &r);
            });
            if let Err(e) = spawned {
                let error = Error::Inference(format!("could not start a thread for this endpoint: {e}"));
                for p in prompts_of(req, &req.entries[slot]) {
                    send(events, req.id, slot, p, EventKind::Failed { error: error.clone(), stats: None });
                }
                finish_part(&parts, events, req);
            }
        }
        let mut order: Vec<usize> = (0..req.entries.len()).filter(|&s| local(&req.entries[s])).collect();
        order.sort_by_key(|&s| !self.residents.holds(&resident::key(&req.entries[s])));
        for (k, &slot) in order.iter().enumerate() {
            let next: Vec<&RunEntry> = order[k + 1..]
                .iter()
                .map(|&s| &req.entries[s])
                .filter(|e| e.model.error.is_none() && !self.residents.holds(&resident::key(e)))
                .collect();
            let mut keep = Keep { policy: self.policy, residents: &mut self.residents, next };
            run_slot(req, slot, events, &mem, &loader, &mut keep);
        }
        if !order.is_empty() {
            send(events, req.id, req.entries.len(), 0, EventKind::Resident { models: self.residents.describe() });
        }
        finish_part(&parts, events, req);
    }
}

/// For one entry: the loaded models, and whether it stays loaded after it
/// answers (the models still to load in the run must fit beside it).
struct Keep<'a> {
    policy: KeepLoaded,
    residents: &'a mut Residents,
    next: Vec<&'a RunEntry>,
}

/// One entry: all its prompts, or `Cancelled` for each if the run was cancelled.
fn run_slot(
    req: &RunRequest,
    slot: usize,
    events: &UnboundedSender<EngineEvent>,
    mem: &MemoryConfig,
    loader: &Loader,
    keep: &mut Keep<'_>,
) {
    let entry = &req.entries[slot];
    let prompts = prompts_of(req, entry);
    if prompts.is_empty() {
        return;
    }
    if req.cancel.load(Ordering::Relaxed) {
        for p in prompts {
            send(events, req.id, slot, p, EventKind::Cancelled { stats: None });
        }
        return;
    }
    run_entry(req, slot, entry, &prompts, events, mem, loader, keep);
}

fn finish_part(parts: &AtomicUsize, events: &UnboundedSender<EngineEvent>, req: &RunRequest) {
    if parts.fetch_sub(1, Ordering::SeqCst) == 1 {
        send(events, req.id, req.entries.len(), 0, EventKind::RunDone);
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Progress events for a load (one per percent at most), and its stop
/// when the run is cancelled.
fn load_progress(events: &UnboundedSender<EngineEvent>, req: &RunRequest, slot: usize, prompt: usize) -> super::LoadProgress {
    let (events, cancel, run) = (events.clone(), req.cancel.clone(), req.id);
    let last = std::sync::Mutex::new(-1.0f32);
    super::LoadProgress::new(move |fraction| {
        if let Ok(mut l) = last.lock() {
            if fraction - *l >= 0.01 || (fraction >= 1.0 && *l < 1.0) {
                *l = fraction;
                send(&events, run, slot, prompt, EventKind::LoadProgress { fraction });
            }
        }
        !cancel.load(Ordering::Relaxed)
    })
}

/// Load `entry` once, answer each of `prompts`, unload.
#[allow(clippy::too_many_arguments)]
fn run_entry(
    req: &RunRequest,
    slot: usize,
    entry: &RunEntry,
    prompts: &[usize],
    events: &UnboundedSender<EngineEvent>,
    mem: &MemoryConfig,
    loader: &Loader,
    keep: &mut Keep<'_>,
) {
    let first = prompts[0];
    // A model that cannot load fails every prompt it was to answer.
    let fail_all = |error: Error| {
        tracing::warn!(model = %entry.label, %error, "model failed");
        for &p in prompts {
            send(events, req.id, slot, p, EventKind::Failed { error: error.clone(), stats: None });
        }
    };
    if let Some(why) = &entry.model.error {
        return fail_all(Error::ModelLoad { model: entry.label.clone(), reason: why.clone() });
    }
    // A remote entry holds no local memory, and must not touch the process's
    // peak-memory reading while a local model is being measured beside it.
    let local = super::registry::info(entry.engine).local;
    let key = resident::key(entry);
    // Only a local model can be held (a remote one is never taken out).
    if let Some(r) = local.then(|| keep.residents.take(&key)).flatten() {
        tracing::info!(model = %entry.label, "still loaded: no load");
        memory::reset_peak();
        let gpu = crate::gpu::used_all();
        let loaded =
            Loaded { ms: 0.0, rss_before: memory::rss_bytes(), gpu_before: gpu, gpu_loaded: gpu, estimate: r.estimate, resident: true };
        send(events, req.id, slot, first, EventKind::Loaded { load_ms: 0.0, rss_bytes: 0 });
        return answer_all(req, slot, entry, prompts, events, mem, keep, r.backend, loaded);
    }
    send(events, req.id, slot, first, EventKind::Loading);
    let mut estimate = memory::Estimate::default();
    if local {
        let (fits, evicted) = resident::make_room(entry, mem, keep.residents);
        if !evicted.is_empty() {
            tracing::info!(model = %entry.label, "unloaded {} to make room", evicted.join(", "));
        }
        match fits {
            Ok(e) => estimate = e,
            Err(e) => return fail_all(e),
        }
        memory::trim();
        memory::reset_peak();
    }
    let rss_before = if local { memory::rss_bytes() } else { 0 };
    let gpu_now = || if local { crate::gpu::used_all() } else { 0 };
    let gpu_before = gpu_now();
    let t_load = Instant::now();
    let loaded = catch_unwind(AssertUnwindSafe(|| loader(entry, load_progress(events, req, slot, first))));
    let load_ms = t_load.elapsed().as_secs_f64() * 1e3;
    let backend = match loaded {
        Ok(Ok(b)) => b,
        // Cancelled while loading: whatever was loaded is freed already.
        Ok(Err(_)) if req.cancel.load(Ordering::Relaxed) => {
            for &p in prompts {
                send(events, req.id, slot, p, EventKind::Cancelled { stats: None });
            }
            return;
        }
        Ok(Err(e)) => return fail_all(e),
        Err(p) => {
            return fail_all(Error::ModelLoad {
                model: entry.label.clone(),
                reason: format!("the engine panicked: {}", panic_message(&*p)),
            });
        }
    };
    let rss_loaded = if local { memory::rss_bytes().saturating_sub(rss_before) } else { 0 };
    send(events, req.id, slot, first, EventKind::Loaded { load_ms, rss_bytes: rss_loaded });
    let loaded = Loaded { ms: load_ms, rss_before, gpu_before, gpu_loaded: gpu_now(), estimate, resident: false };
    answer_all(req, slot, entry, prompts, events, mem, keep, backend, loaded);
}

/// How the model of an entry came to be loaded.
struct Loaded {
    ms: f64,
    rss_before: u64,
    /// GPU memory in use before the load and once loaded.
    gpu_before: u64,
    gpu_loaded: u64,
    estimate: memory::Estimate,
    /// It was still loaded from an earlier answer.
    resident: bool,
}

/// Answer each of `prompts` with the loaded `backend`, then keep it loaded
/// or unload it.
#[allow(clippy::too_many_arguments)]
fn answer_all(
    req: &RunRequest,
    slot: usize,
    entry: &RunEntry,
    prompts: &[usize],
    events: &UnboundedSender<EngineEvent>,
    mem: &MemoryConfig,
    keep: &mut Keep<'_>,
    mut backend: Box<dyn super::Backend>,
    loaded: Loaded,
) {
    let local = super::registry::info(entry.engine).local;
    let gpu_now = || if local { crate::gpu::used_all() } else { 0 };
    let (load_ms, rss_before, gpu_before, gpu_loaded) = (loaded.ms, loaded.rss_before, loaded.gpu_before, loaded.gpu_loaded);
    let mut last: Option<(usize, Result<(), Error>, Stats)> = None;
    for (i, &p) in prompts.iter().enumerate() {
        if req.cancel.load(Ordering::Relaxed) {
            for &rest in &prompts[i..] {
                send(events, req.id, slot, rest, EventKind::Cancelled { stats: None });
            }
            break;
        }
        let prompt = req.prompts.get(p).map(String::as_str).unwrap_or_default();
        let (result, mut stats) = generate_one(events, req, slot, p, entry, backend.as_mut(), prompt, load_ms, rss_before);
        stats.gpu_before_bytes = gpu_before;
        stats.gpu_loaded_bytes = gpu_loaded;
        stats.resident = loaded.resident;
        if i + 1 < prompts.len() {
            report(events, req.id, slot, p, entry, result, stats, if local { memory::rss_bytes() } else { 0 });
        } else {
            last = Some((p, result, stats));
        }
        if local {
            memory::reset_peak();
        }
    }

    // Keep the model loaded when the policy says so; otherwise unload it
    // before reporting the last prompt, so its stats can say whether the
    // model's memory came back.
    let with_it = keep.residents.held() + loaded.estimate.total();
    if local && resident::stays(keep.policy, with_it, &keep.next, mem) {
        keep.residents.keep(resident::key(entry), entry.label.clone(), backend, loaded.estimate);
    } else {
        drop(backend);
        if local {
            memory::trim();
        }
    }
    if let Some((p, result, mut stats)) = last {
        stats.gpu_after_bytes = gpu_now();
        report(events, req.id, slot, p, entry, result, stats, if local { memory::rss_bytes() } else { 0 });
    }
}

#[allow(clippy::too_many_arguments)]
fn generate_one(
    events: &UnboundedSender<EngineEvent>,
    req: &RunRequest,
    slot: usize,
    prompt_index: usize,
    entry: &RunEntry,
    backend: &mut dyn super::Backend,
    prompt: &str,
    load_ms: f64,
    rss_before: u64,
) -> (Result<(), Error>, Stats) {
    let params = &entry.settings.generation;
    let seed = params.seed.unwrap_or_else(crate::params::random_seed);
    let timeout = entry.settings.backend.timeout_secs;
    let deadline = (timeout > 0).then(|| Instant::now() + Duration::from_secs(timeout));
    let mut stats = Stats { load_ms, seed: Some(seed), rss_before_bytes: rss_before, ..Stats::default() };

    let mut emit = |kind: EventKind| send(events, req.id, slot, prompt_index, kind);
    let mut sink = Sink::new(&mut emit, &req.cancel, deadline, params.max_tokens, &params.stop);
    let t_gen = Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        // Turns left out on request (`drop_turns`), never silently.
        let turns = &entry.history[(params.drop_turns as usize).min(entry.history.len())..];
        let rendered = backend.render(turns, prompt, params)?;
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
    stats.ttft_ms = sink.ttft_ms();
    stats.ttfa_ms = sink.ttfa_ms();
    stats.thinking_tokens = sink.thinking_tokens();
    stats.generated_tokens = sink.tokens();
    stats.decode_ms = sink.decode_ms();
    drop(sink);
    stats.remote = !super::registry::info(entry.engine).local;
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
    if let Ok(report) = &result {
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

/// Send the final event of one (model, prompt) pair.
#[allow(clippy::too_many_arguments)]
fn report(
    events: &UnboundedSender<EngineEvent>,
    run: u64,
    slot: usize,
    prompt: usize,
    entry: &RunEntry,
    result: Result<(), Error>,
    mut stats: Stats,
    rss_after: u64,
) {
    stats.rss_after_bytes = rss_after;
    let kind = match (result, stats.stop_reason.clone()) {
        (Err(error), _) => {
            tracing::warn!(model = %entry.label, %error, "generation failed");
            EventKind::Failed { error, stats: Some(stats) }
        }
        (Ok(()), Some(StopReason::Cancelled)) => EventKind::Cancelled { stats: Some(stats) },
        (Ok(()), Some(StopReason::Timeout)) => {
            EventKind::Failed { error: Error::GenerationTimeout { secs: entry.settings.backend.timeout_secs }, stats: Some(stats) }
        }
        (Ok(()), _) => EventKind::Finished { stats },
    };
    send(events, run, slot, prompt, kind);
}

#[cfg(test)]
#[path = "scheduler_tests.rs"]
mod tests;
