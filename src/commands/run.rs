//! `versus run`: the headless runner. The same engine and events as the TUI;
//! text mode streams each answer to stdout under a header with its stats
//! line, `--json` prints every event as a JSON line and then a summary per
//! model. Progress and errors go to stderr.

use std::io::{IsTerminal, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;

use crate::cli::RunArgs;
use crate::engine::{Engine, EngineEvent, EventKind, RunEntry, RunRequest, Stats};
use crate::error::{Error, human_bytes};

use super::{Context, exit};

/// The prompt from -p, --prompt-file or standard input.
pub fn read_prompt(args: &RunArgs) -> Result<String, Error> {
    if let Some(p) = &args.prompt {
        return Ok(p.clone());
    }
    if let Some(f) = &args.prompt_file {
        return std::fs::read_to_string(f).map_err(|e| Error::io(f, e));
    }
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(Error::Usage("no prompt: give -p TEXT, --prompt-file FILE, or pipe it on standard input".into()));
    }
    let mut text = String::new();
    stdin.read_to_string(&mut text).map_err(|e| Error::io("standard input", e))?;
    Ok(text)
}

/// Parse and resolve every -m spec against the catalog.
pub fn entries(ctx: &Context, args: &RunArgs) -> Result<Vec<RunEntry>, Error> {
    let catalog = ctx.discover(&args.scan);
    let global = args.overrides();
    args.models
        .iter()
        .map(|text| {
            let spec = crate::spec::parse(text)?;
            crate::spec::resolve(&spec, &catalog, &ctx.config.config, &global)
        })
        .collect()
}

/// What a model's turn came to.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub status: &'static str,
    pub text: String,
    pub stats: Option<Stats>,
    pub error: Option<Error>,
}

pub fn run(ctx: &Context, args: &RunArgs, rt: &tokio::runtime::Runtime) -> u8 {
    let usage = |e: Error| {
        eprintln!("versus: {e}");
        if e.is_usage() { exit::USAGE } else { exit::MODEL_FAILED }
    };
    let prompt = match read_prompt(args) {
        Ok(p) => p,
        Err(e) => return usage(e),
    };
    let entries = match entries(ctx, args) {
        Ok(e) => e,
        Err(e) => return usage(e),
    };
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let engine = match Engine::start(tx, ctx.config.config.memory.clone()) {
        Ok(e) => e,
        Err(e) => return usage(Error::Inference(format!("could not start the inference thread: {e}"))),
    };
    let cancel = Arc::new(AtomicBool::new(false));
    let request = RunRequest { id: 1, prompt, entries: entries.clone(), cancel: cancel.clone() };
    engine.submit(request);
    let outcomes = rt.block_on(drive(rx, &entries, cancel, args.json));
    drop(engine);
    if outcomes.iter().all(|o| o.status != "failed") { exit::OK } else { exit::MODEL_FAILED }
}

/// Print events as they come until the run is done; a signal cancels the
/// run (the answers so far are kept) and the run still ends cleanly.
async fn drive(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<EngineEvent>,
    entries: &[RunEntry],
    cancel: Arc<AtomicBool>,
    as_json: bool,
) -> Vec<Outcome> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut outcomes = vec![Outcome { status: "queued", ..Outcome::default() }; entries.len()];
    let mut term = signal(SignalKind::terminate()).ok();
    let mut hup = signal(SignalKind::hangup()).ok();
    let mut printer = Printer { as_json, entries, out: std::io::stdout(), headed: vec![false; entries.len()] };
    loop {
        let event = tokio::select! {
            ev = rx.recv() => ev,
            _ = tokio::signal::ctrl_c() => { interrupt(&cancel, "interrupted"); continue }
            _ = async { match term.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {
                interrupt(&cancel, "terminated"); continue
            }
            _ = async { match hup.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {
                interrupt(&cancel, "hangup"); continue
            }
        };
        let Some(event) = event else { break };
        let done = matches!(event.kind, EventKind::RunDone);
        printer.event(&event, &mut outcomes);
        if done {
            break;
        }
    }
    if as_json {
        for (slot, o) in outcomes.iter().enumerate() {
            printer.line(json!({
                "event": "summary",
                "run": 1,
                "model": model_json(entries, slot),
                "engine": entries[slot].engine.label(),
                "status": o.status,
                "text": o.text,
                "stats": o.stats,
                "error": o.error.as_ref().map(|e| e.to_string()),
            }));
        }
    }
    outcomes
}

fn interrupt(cancel: &AtomicBool, why: &str) {
    if !cancel.swap(true, Ordering::SeqCst) {
        eprintln!("versus: {why}; cancelling the run");
    }
}

fn model_json(entries: &[RunEntry], slot: usize) -> serde_json::Value {
    match entries.get(slot) {
        Some(e) => json!({ "index": slot, "name": e.label }),
        None => serde_json::Value::Null,
    }
}

struct Printer<'a> {
    as_json: bool,
    entries: &'a [RunEntry],
    out: std::io::Stdout,
    /// Whether each model's header line has been printed.
    headed: Vec<bool>,
}

impl Printer<'_> {
    fn line(&mut self, value: serde_json::Value) {
        let mut out = self.out.lock();
        let _ = writeln!(out, "{value}");
        let _ = out.flush();
    }

    fn event(&mut self, ev: &EngineEvent, outcomes: &mut [Outcome]) {
        let n = self.entries.len();
        if let Some(o) = outcomes.get_mut(ev.slot) {
            match &ev.kind {
                EventKind::Token { text } => o.text.push_str(text),
                EventKind::Loading => o.status = "loading",
                EventKind::Loaded { .. } => o.status = "generating",
                EventKind::Finished { stats } => { o.status = "finished"; o.stats = Some(stats.clone()); }
                EventKind::Failed { error, stats } => { o.status = "failed"; o.stats = stats.clone(); o.error = Some(error.clone()); }
                EventKind::Cancelled { stats } => { o.status = "cancelled"; o.stats = stats.clone(); }
                _ => {}
            }
        }
        if self.as_json {
            let mut v = serde_json::to_value(&ev.kind).unwrap_or_else(|_| json!({}));
            if let Some(obj) = v.as_object_mut() {
                obj.insert("run".into(), json!(ev.run));
                obj.insert("model".into(), model_json(self.entries, ev.slot));
                if let EventKind::Failed { error, .. } = &ev.kind {
                    obj.insert("error".into(), json!(error.to_string()));
                }
            }
            self.line(v);
            return;
        }
        let Some(entry) = self.entries.get(ev.slot) else { return };
        let mut out = self.out.lock();
        let starts = matches!(ev.kind, EventKind::Loading | EventKind::Failed { .. } | EventKind::Cancelled { .. });
        if starts && !self.headed[ev.slot] {
            self.headed[ev.slot] = true;
            let _ = writeln!(out, "── {} · {} ──", entry.label, entry.engine.label());
        }
        match &ev.kind {
            EventKind::Loading => {
                eprintln!("[{}/{n}] loading {} ({})…", ev.slot + 1, entry.label, entry.engine.label());
            }
            EventKind::Loaded { load_ms, .. } => eprintln!("[{}/{n}] loaded in {:.2} s", ev.slot + 1, load_ms / 1e3),
            EventKind::Token { text } => { let _ = write!(out, "{text}"); }
            EventKind::Finished { stats } => { let _ = writeln!(out, "\n[{}]\n", stats_line(stats)); }
            EventKind::Failed { error, stats } => {
                if stats.is_some() {
                    let _ = writeln!(out);
                }
                let _ = writeln!(out, "[failed: {error}]\n");
                eprintln!("[{}/{n}] {} failed: {error}", ev.slot + 1, entry.label);
            }
            EventKind::Cancelled { stats } => {
                let line = stats.as_ref().map(stats_line).unwrap_or_default();
                let _ = writeln!(out, "\n[cancelled{}{line}]\n", if line.is_empty() { "" } else { " · " });
            }
            EventKind::Queued | EventKind::RunDone => {}
        }
        let _ = out.flush();
    }
}

/// "load 0.31 s · prompt 6 tok (210 tok/s) · ttft 45 ms · 128 tok at 27.1 tok/s · peak 512 MiB · eos"
pub fn stats_line(s: &Stats) -> String {
    let mut parts = vec![format!("load {:.2} s", s.load_ms / 1e3)];
    parts.push(format!("prompt {} tok ({:.0} tok/s)", s.prompt_tokens, s.prompt_tps));
    if let Some(t) = s.ttft_ms {
        parts.push(format!("ttft {t:.0} ms"));
    }
    parts.push(format!("{} tok at {:.1} tok/s", s.generated_tokens, s.decode_tps));
    parts.push(format!("peak {}", human_bytes(s.peak_rss_bytes)));
    if let Some(r) = &s.stop_reason {
        parts.push(r.label());
    }
    if let Some(seed) = s.seed {
        parts.push(format!("seed {seed}"));
    }
    parts.join(" · ")
}
