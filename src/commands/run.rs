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

use std::io::Write;
use std::time::Duration;

use crate::cli::RunArgs;
use crate::engine::protocol::answer::Status;
use crate::engine::{EventKind, RunEntry};
use crate::error::Error;
use crate::session::{Comparison, Ending, Next, Session};

use super::batch::{finished_pairs, open_results, read_prompts};
use super::print::{Mode, Outcomes, Printer, line, progress_bar};
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
                let k = e.settings.generation.samples.max(1) as usize;
                let todo: Vec<usize> = (0..prompts.len()).filter(|&p| done.get(&(p, e.label.clone())).map_or(0, |s| s.len()) < k).collect();
                e.prompts = Some(todo);
            }
        }
    }
    for e in &entries {
        if let Some(w) = e.endpoint.as_ref().and_then(|t| crate::engine::remote::insecure_warning(&t.endpoint.url)) {
            eprintln!("versus: warning: {w}");
        }
    }
    // Answers to come: pairs × each model's samples.
    let pairs: usize =
        entries.iter().map(|e| e.prompts.as_ref().map_or(prompts.len(), Vec::len) * e.settings.generation.samples.max(1) as usize).sum();
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
    let mut session = match rt.block_on(async {
        Session::open(ctx.config.config.memory.clone(), ctx.config.config.scheduler.keep_loaded, history.as_deref(), ctx.isolation())
    }) {
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
    let mut printer = Printer::new(mode, &entries, &prompts);
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
                let options = crate::store::leaderboard::Options {
                    filter: crate::store::votes::Filter { runs: Some(runs), ..Default::default() },
                    ..Default::default()
                };
                if let Ok(board) = crate::store::Store::open(path).and_then(|s| s.leaderboard(&options).map_err(|e| e.to_string())) {
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

/// Print events as they come until the run is done; a signal cancels the
/// run (answers so far are kept), marks it interrupted in the store, and
/// the run still ends cleanly.
async fn drive(session: &mut Session, printer: &mut Printer<'_>) -> (Outcomes, Option<Ending>) {
    let mut outcomes = Outcomes::new();
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
