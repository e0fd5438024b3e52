//! `versus run`: the headless runner. The same engine and events as the TUI.
//!
//! - One prompt, text mode: each answer streams to stdout under a header,
//!   then its stats line; progress and errors go to stderr.
//! - `--json`: every event as a JSON line, then a summary per model
//!   (docs/json-events.md).
//! - `--prompts FILE`: a batch. Every prompt on every model, each model
//!   loaded once; one result line per (prompt, model) to `--out` or stdout;
//!   `--resume` skips the pairs already finished in `--out`.
//!
//! Every run is saved in the history store as it streams. SIGINT, SIGTERM
//! and SIGHUP cancel the run, flush the store with the run marked
//! interrupted, and exit 128 + the signal; a run that has not ended 1.5 s
//! after the signal (an engine stuck in a call) is left behind.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use serde_json::json;

use crate::cli::RunArgs;
use crate::engine::protocol::answer::{Answer, Status};
use crate::engine::think::Channel;
use crate::engine::{EngineEvent, EventKind, RunEntry, Stats};
use crate::error::Error;
use crate::session::{Comparison, Ending, Next, Session};

use super::batch::{finished_pairs, open_results, read_prompts};
use super::{Context, exit};

/// The prompt from -p, --prompt-file or standard input.
pub fn read_prompt(args: &RunArgs) -> Result<String, Error> {
    if let Some(p) = &args.prompt {
        return Ok(p.clone());
    }
    if let Some(f) = &args.prompt_file {
        return crate::paths::read_text(f, crate::paths::PROMPTS_CAP).map_err(|e| Error::io(f, e));
    }
    super::read_stdin("no prompt: give -p TEXT, --prompt-file FILE, --prompts FILE, or pipe it on standard input")
}

/// Parse and resolve every -m spec against the catalog.
pub fn entries(ctx: &Context, args: &RunArgs, catalog: &crate::catalog::Catalog) -> Result<Vec<RunEntry>, Error> {
    crate::spec::resolve_all(&args.models, catalog, &ctx.config.config, &args.overrides())
}

/// The judge's entry (`judge::judge_entry`: greedy unless its spec sets
/// another temperature than the config gives the model).
fn judge_entry(ctx: &Context, catalog: &crate::catalog::Catalog, text: &str) -> Result<RunEntry, Error> {
    let spec = crate::spec::parse(text)?;
    let e = crate::spec::resolve(&spec, catalog, &ctx.config.config, &[])?;
    let base = ctx.config.config.settings_for(&e.model.name);
    Ok(crate::judge::judge_entry(e, &base))
}

pub fn run(ctx: &Context, args: &RunArgs, rt: &tokio::runtime::Runtime) -> u8 {
    let usage = |e: Error| {
        eprintln!("versus: {e}");
        if e.is_usage() { exit::USAGE } else { exit::MODEL_FAILED }
    };
    let batch = args.prompts.is_some();
    let prompts = match &args.prompts {
        Some(f) => read_prompts(f),
        None => read_prompt(args).map(|p| vec![p]),
    };
    let prompts = match prompts {
        Ok(p) => p,
        Err(e) => return usage(e),
    };
    // Before anything runs: the results file may not clobber an input or
    // earlier results.
    if let (Some(out), Some(prompts_file)) = (&args.out, &args.prompts) {
        let same = match (std::fs::canonicalize(out), std::fs::canonicalize(prompts_file)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if same {
            return usage(Error::Usage(format!(
                "--out {} is the --prompts file: its prompts would be overwritten by their results",
                out.display()
            )));
        }
        if out.exists() && !args.resume && !args.force {
            return usage(Error::Usage(format!("{} exists: --resume continues it, --force replaces it", out.display())));
        }
    }
    // Discovery once (it may ask every configured server for its models).
    let catalog = ctx.discover(&args.scan);
    let found = match args.continue_id {
        Some(id) => super::follow::continued(ctx, args, &catalog, id),
        None => entries(ctx, args, &catalog),
    };
    let mut entries = match found {
        Ok(e) => e,
        Err(e) => return usage(e),
    };
    let judge = match args.judge.as_deref().map(|s| judge_entry(ctx, &catalog, s)).transpose() {
        Ok(j) => j,
        Err(e) => return usage(e),
    };
    if args.resume {
        if let Some(out) = &args.out {
            let done = finished_pairs(out, &prompts);
            for e in &mut entries {
                let todo: Vec<usize> = (0..prompts.len()).filter(|&p| !done.contains(&(p, e.label.clone()))).collect();
                e.prompts = Some(todo);
            }
        }
    }
    for e in &entries {
        if let Some(w) = e.endpoint.as_ref().and_then(|t| crate::engine::remote::insecure_warning(&t.endpoint.url)) {
            eprintln!("versus: warning: {w}");
        }
    }
    let pairs: usize = entries.iter().map(|e| e.prompts.as_ref().map_or(prompts.len(), Vec::len)).sum();
    if batch && pairs == 0 {
        eprintln!("versus: every (prompt, model) pair is already in the results file; nothing to do");
        return exit::OK;
    }
    let results: Box<dyn Write> = match (&args.out, args.resume) {
        (Some(f), resume) => match open_results(f, resume) {
            Ok(f) => Box::new(f),
            Err(e) => return usage(Error::io(f, e)),
        },
        (None, _) => Box::new(std::io::stdout()),
    };

    let history = (!args.no_history).then(|| ctx.dirs.history_db());
    let mut session = match rt
        .block_on(async {
            Session::open(ctx.config.config.memory.clone(), ctx.config.config.scheduler.keep_loaded, history.as_deref(), ctx.isolation())
        })
    {
        Ok(s) => s,
        Err(e) => return usage(Error::Inference(format!("could not start the inference thread: {e}"))),
    };
    if let Some(p) = session.problem() {
        eprintln!("versus: {p}");
    }
    let batch_name = args.prompts.as_ref().map(|p| p.display().to_string());
    session.start(
        1,
        Comparison {
            prompts: prompts.clone(),
            entries: entries.clone(),
            batch: batch_name,
            continues: args.continue_id.map(crate::store::query::Target::Stored),
            retry: None,
        },
    );

    let mode = if batch {
        Mode::Batch { results, progress: progress_bar(pairs, args.out.is_some()) }
    } else if args.json {
        Mode::Json
    } else {
        Mode::Text
    };
    let mut printer = Printer {
        mode,
        entries: &entries,
        prompts: &prompts,
        headed: vec![false; entries.len()],
        pending: vec![String::new(); entries.len()],
        complete: vec![false; entries.len()],
        turn: 0,
        channel: vec![None; entries.len()],
    };
    let (outcomes, ending) = rt.block_on(drive(&mut session, &mut printer));
    if let (Some(j), None) = (&judge, ending) {
        let criteria = &ctx.config.config.judge.criteria;
        let judged = rt.block_on(super::judge::judge(&mut session, 2, j, &prompts, &entries, &outcomes, criteria));
        let history_ids: Vec<Option<i64>> = judged.iter().map(|x| session.stored_id(1, x.prompt)).collect();
        for (x, h) in judged.iter().zip(&history_ids) {
            match &printer.mode {
                Mode::Json => line(&mut std::io::stdout().lock(), super::judge::json_line(x, j, &entries, *h)),
                _ => eprint!("{}", super::judge::text(x, j, &entries)),
            }
        }
        if let Some(path) = &history {
            if let Err(e) = super::judge::save(&session, path, 1, &judged, j, entries.len()) {
                eprintln!("versus: the judge's verdicts could not be saved: {e}");
            } else if batch {
                let runs: Vec<i64> = history_ids.iter().flatten().copied().collect();
                let filter = crate::store::votes::Filter { runs: Some(runs), ..Default::default() };
                if let Ok(board) = crate::store::Store::open(path).and_then(|s| s.leaderboard(&filter).map_err(|e| e.to_string())) {
                    eprint!("── this batch, as judged ──\n{}", crate::tables::leaderboard(&board));
                }
            }
        }
    }
    session.flush(Duration::from_secs(5));
    if let Some(p) = session.problem() {
        eprintln!("versus: {p}");
    }
    drop(session);
    if let Some(why) = ending {
        return why.exit_status();
    }
    if outcomes.values().all(|o| o.status != Status::Failed) { exit::OK } else { exit::MODEL_FAILED }
}

/// Progress of a batch on stderr, unless the results themselves go to the
/// terminal: a bar on a terminal (redrawn every quarter second, so the
/// elapsed time moves while a model loads), a line per finished pair
/// where stderr is a file or a pipe.
fn progress_bar(total: usize, to_file: bool) -> Option<indicatif::ProgressBar> {
    if !to_file && std::io::stdout().is_terminal() {
        return None;
    }
    if !std::io::stderr().is_terminal() {
        let hidden = indicatif::ProgressBar::hidden();
        hidden.set_length(total as u64);
        return Some(hidden);
    }
    let bar = indicatif::ProgressBar::with_draw_target(Some(total as u64), indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} pairs · {elapsed_precise} · {msg}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(250));
    Some(bar)
}

/// Print events as they come until the run is done; a signal cancels the
/// run (answers so far are kept), marks it interrupted in the store, and
/// the run still ends cleanly.
async fn drive(session: &mut Session, printer: &mut Printer<'_>) -> (HashMap<(usize, usize), Answer>, Option<Ending>) {
    let mut outcomes: HashMap<(usize, usize), Answer> = HashMap::new();
    let mut ending = None;
    let mut run = None;
    // After a signal the run has this long to end; an engine stuck in a
    // call that never returns must not keep the process alive.
    let mut deadline = None;
    loop {
        let next = match deadline {
            Some(at) => match tokio::time::timeout_at(at, session.next()).await {
                Ok(next) => next,
                Err(_) => leave_now(session, ending.unwrap_or(Ending::Interrupt), "the engine did not stop in time"),
            },
            None => session.next().await,
        };
        match next {
            Next::Event(ev) => {
                run = Some(ev.run);
                printer.event(&ev, &mut outcomes, session);
                if matches!(ev.kind, EventKind::RunDone) {
                    break;
                }
            }
            Next::Ending(why) if ending.is_none() => {
                ending = Some(why);
                eprintln!("versus: {}; cancelling the run and saving what was generated", why.describe());
                deadline = Some(tokio::time::Instant::now() + SIGNAL_GRACE);
                session.interrupt(Duration::from_millis(500));
            }
            Next::Ending(why) => leave_now(session, why, "a second signal"),
            // versus run asks the history nothing while it runs.
            Next::Store(_) => {}
            Next::Closed => break,
        }
    }
    let history = run.and_then(|r| session.stored_id(r, 0));
    printer.finish(&outcomes, history);
    (outcomes, ending)
}

/// How long a run has to end after a signal before versus leaves without it.
const SIGNAL_GRACE: Duration = Duration::from_millis(1500);

/// Leave at once: what was generated is already saved (the recorder is
/// flushed here), and the engine thread is left to the exit.
fn leave_now(session: &Session, why: Ending, what: &str) -> ! {
    eprintln!("versus: {what}; leaving without waiting for the engine (what was generated is saved)");
    session.flush(Duration::from_millis(300));
    crate::process::exit_now(why.exit_status())
}

fn model_json(entries: &[RunEntry], slot: usize) -> serde_json::Value {
    match entries.get(slot) {
        Some(e) => json!({ "index": slot, "name": e.label }),
        None => serde_json::Value::Null,
    }
}

enum Mode {
    Text,
    Json,
    Batch { results: Box<dyn Write>, progress: Option<indicatif::ProgressBar> },
}

struct Printer<'a> {
    mode: Mode,
    entries: &'a [RunEntry],
    prompts: &'a [String],
    /// Whether each model's header line has been printed (text mode).
    headed: Vec<bool>,
    /// Text mode: output not yet printed, per model; whether each is done;
    /// the model whose section is being printed.
    pending: Vec<String>,
    complete: Vec<bool>,
    turn: usize,
    /// Text mode: the channel each model is printing.
    channel: Vec<Option<Channel>>,
}

/// One JSON line in one write, so that a run killed mid-write cuts at most
/// one line; a failed write (a full disk) is said, not dropped.
fn line(out: &mut dyn Write, value: serde_json::Value) {
    let text = format!("{value}\n");
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        eprintln!("versus: could not write a result: {e}");
    }
}

impl Printer<'_> {
    fn event(&mut self, ev: &EngineEvent, outcomes: &mut HashMap<(usize, usize), Answer>, session: &Session) {
        let key = (ev.slot, ev.prompt);
        let mut finished = false;
        if ev.slot < self.entries.len() {
            let o = outcomes.entry(key).or_default();
            o.apply(&ev.kind);
            finished = matches!(o.status, Status::Finished | Status::Failed);
        }
        match &mut self.mode {
            // A load's progress is for the TUI's gauge.
            Mode::Json if matches!(ev.kind, EventKind::LoadProgress { .. }) => {}
            Mode::Json => {
                let mut v = serde_json::to_value(&ev.kind).unwrap_or_else(|_| json!({}));
                if let Some(obj) = v.as_object_mut() {
                    obj.insert("run".into(), json!(ev.run));
                    obj.insert("model".into(), model_json(self.entries, ev.slot));
                    if let EventKind::Failed { error, .. } = &ev.kind {
                        obj.insert("error".into(), json!(error.to_string()));
                    }
                }
                line(&mut std::io::stdout().lock(), v);
            }
            Mode::Batch { results, progress } => {
                if let Some(p) = progress.as_ref() {
                    if let (EventKind::Loading, Some(e)) = (&ev.kind, self.entries.get(ev.slot)) {
                        p.set_message(format!("loading {}", e.label));
                    }
                    if let (EventKind::Loaded { .. }, Some(e)) = (&ev.kind, self.entries.get(ev.slot)) {
                        p.set_message(e.label.clone());
                    }
                }
                if finished {
                    let o = &outcomes[&key];
                    let history = session.stored_id(ev.run, ev.prompt);
                    line(
                        results.as_mut(),
                        json!({
                            "prompt_index": ev.prompt,
                            "prompt": self.prompts.get(ev.prompt),
                            "model": model_json(self.entries, ev.slot),
                            "engine": self.entries[ev.slot].engine.label(),
                            "status": o.status,
                            "text": o.text,
                            "thinking": o.thinking,
                            "stats": o.stats,
                            "error": o.error,
                            "history_id": history,
                        }),
                    );
                    if let Some(p) = progress.as_ref() {
                        p.inc(1);
                        if p.is_hidden() {
                            // Not a terminal: one plain line per pair.
                            let len = p.length().unwrap_or(0);
                            eprintln!("versus: {}/{len} pairs · {} · {}", p.position(), self.entries[ev.slot].label, o.status);
                        }
                    }
                }
            }
            Mode::Text => self.text_event(ev),
        }
    }

    /// Text mode: the answers one after another. Remote models stream at the
    /// same time as local ones; their output waits in a buffer until every
    /// answer before it is printed, so sections never interleave.
    fn text_event(&mut self, ev: &EngineEvent) {
        let n = self.entries.len();
        let Some(entry) = self.entries.get(ev.slot) else { return };
        let remote = !crate::engine::registry::info(entry.engine).local;
        match &ev.kind {
            EventKind::Loading if remote => eprintln!("[{}/{n}] sending to {} (remote)…", ev.slot + 1, entry.label),
            EventKind::Loading => eprintln!("[{}/{n}] loading {} ({})…", ev.slot + 1, entry.label, entry.engine.label()),
            EventKind::Loaded { load_ms, .. } if !remote => eprintln!("[{}/{n}] loaded in {:.2} s", ev.slot + 1, load_ms / 1e3),
            EventKind::Failed { error, .. } => eprintln!("[{}/{n}] {} failed: {error}", ev.slot + 1, entry.label),
            _ => {}
        }
        let mut text = String::new();
        let starts = matches!(ev.kind, EventKind::Loading | EventKind::Failed { .. } | EventKind::Cancelled { .. });
        if starts && !self.headed[ev.slot] {
            self.headed[ev.slot] = true;
            text.push_str(&format!("── {} · {} ──\n", entry.label, entry.engine.label()));
        }
        let done = match &ev.kind {
            EventKind::Token { text: t, channel } => {
                // A reasoning model's thinking is marked as such, then its answer.
                if self.channel[ev.slot] != Some(*channel) {
                    match (channel, self.channel[ev.slot]) {
                        (Channel::Thinking, _) => text.push_str("[thinking]\n"),
                        (Channel::Answer, Some(Channel::Thinking)) => text.push_str("\n[answer]\n"),
                        (Channel::Answer, _) => {}
                    }
                    self.channel[ev.slot] = Some(*channel);
                }
                text.push_str(t);
                false
            }
            EventKind::Finished { stats } => {
                text.push_str(&format!("\n[{}]\n\n", stats.summary()));
                true
            }
            EventKind::Failed { error, stats } => {
                if stats.is_some() {
                    text.push('\n');
                }
                text.push_str(&format!("[failed: {error}]\n\n"));
                true
            }
            EventKind::Cancelled { stats } => {
                let line = stats.as_ref().map(Stats::summary).unwrap_or_default();
                text.push_str(&format!("\n[cancelled{}{line}]\n\n", if line.is_empty() { "" } else { " · " }));
                true
            }
            _ => false,
        };
        self.pending[ev.slot].push_str(&text);
        if done {
            self.complete[ev.slot] = true;
        }
        // Print what may be printed: the section in turn, live, and every
        // finished section after it.
        let mut out = std::io::stdout().lock();
        while self.turn < n {
            let chunk = std::mem::take(&mut self.pending[self.turn]);
            // Model output on a terminal cannot send it escape sequences.
            let _ = if std::io::IsTerminal::is_terminal(&out) {
                out.write_all(crate::wrap::terminal_safe(&chunk).as_bytes())
            } else {
                out.write_all(chunk.as_bytes())
            };
            if !self.complete[self.turn] {
                break;
            }
            self.turn += 1;
        }
        let _ = out.flush();
    }

    /// The summary lines; `history` is the comparison's id in the history.
    fn finish(&mut self, outcomes: &HashMap<(usize, usize), Answer>, history: Option<i64>) {
        match &mut self.mode {
            Mode::Json => {
                let mut out = std::io::stdout().lock();
                for slot in 0..self.entries.len() {
                    let o = outcomes.get(&(slot, 0)).cloned().unwrap_or_default();
                    line(
                        &mut out,
                        json!({
                            "event": "summary",
                            "run": 1,
                            "model": model_json(self.entries, slot),
                            "engine": self.entries[slot].engine.label(),
                            "status": o.status,
                            "text": o.text,
                            "thinking": o.thinking,
                            "stats": o.stats,
                            "error": o.error,
                            "history_id": history,
                        }),
                    );
                }
            }
            Mode::Batch { progress, .. } => {
                if let Some(p) = progress.take() {
                    p.finish_with_message("done");
                }
            }
            Mode::Text => {}
        }
    }
}
