//! The full-screen app: terminal setup and teardown, and the event loop.
//!
//! One tokio `select!` interleaves keyboard input (crossterm's EventStream),
//! engine events, signals and, only while a run is active, a tick for
//! elapsed times and memory. Events mark the state dirty; a frame is drawn
//! at most `ui.max_fps` times a second and only when something changed, so
//! an idle app sleeps in `select!` and uses no CPU.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, EventStream};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use crate::app::{App, Effect, Event};
use crate::commands::{Context, exit};
use crate::engine::{EngineEvent, RunId};
use crate::keymap::Keymap;
use crate::session::{Comparison, Next, Session};
use crate::store::votes::{HUMAN, Vote};
use crate::store::{Store, StoredRun};

type Term = Terminal<CrosstermBackend<std::io::Stdout>>;

/// Puts the terminal back when dropped, whatever the exit path.
struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        crate::terminal::emergency_restore();
    }
}

fn enter(log: Option<&std::path::Path>) -> std::io::Result<(Guard, Term)> {
    // From here on nothing may write to the screen behind ratatui's back:
    // fd 2 (C libraries, stray prints) goes to the log file.
    crate::terminal::capture_stderr(log.unwrap_or(std::path::Path::new("/dev/null")))?;
    crate::terminal::install_crash_restore();
    crate::terminal::set_tui_active(true);
    let guard = Guard;
    crossterm::terminal::enable_raw_mode()?;
    let mut out = std::io::stdout();
    crossterm::execute!(out, crossterm::terminal::EnterAlternateScreen, crossterm::event::EnableBracketedPaste)?;
    // Ctrl-Enter can only be told apart where the terminal speaks the kitty
    // keyboard protocol; elsewhere F5, Ctrl-R and Alt-Enter do the same.
    if matches!(crossterm::terminal::supports_keyboard_enhancement(), Ok(true)) {
        let _ = crossterm::execute!(
            out,
            crossterm::event::PushKeyboardEnhancementFlags(crossterm::event::KeyboardEnhancementFlags::DISAMBIGUATE_ESCAPE_CODES)
        );
    }
    let term = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
    Ok((guard, term))
}

/// The TUI over the models in `paths` and the configured folders, with the
/// models of `specs` (the command line's `-m`) selected.
pub fn run(ctx: &Context, paths: &[PathBuf], specs: &[String], blind: bool, rt: &tokio::runtime::Runtime) -> u8 {
    let config = &ctx.config.config;
    let keymap = match Keymap::from_config(&config.ui.keys) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("versus: {e}");
            return exit::USAGE;
        }
    };
    let catalog = ctx.discover(paths);
    // Bad specs are reported before the screen is taken over.
    let wanted: Result<Vec<_>, _> =
        specs.iter().map(|text| crate::spec::parse(text).and_then(|s| crate::spec::resolve(&s, &catalog, config, &[]))).collect();
    let wanted = match wanted {
        Ok(w) => w,
        Err(e) => {
            eprintln!("versus: {e}");
            return exit::USAGE;
        }
    };
    let mut app = App::new(catalog.models.clone(), |m| config.settings_for(&m.name), keymap, &config.generation.system_prompt);
    if !wanted.is_empty() {
        app.list.select_entries(&wanted);
        app.focus = crate::app::Focus::Prompt;
    }
    app.sync_scroll = config.ui.sync_scroll;
    app.blind = blind;
    app.theme = crate::theme::Theme::from_env(config.ui.theme);
    // Grammars and colour themes load in tens of milliseconds: now, not in
    // the middle of the first answer with a code block.
    crate::markdown::code::warm_up(app.theme.syntax);
    app.searched = catalog
        .roots
        .iter()
        .map(|r| format!("{} ({})", r.path.display(), r.note.clone().unwrap_or_else(|| format!("{} models", r.models))))
        .collect();
    app.ram = ram();
    app.gpu = gpu();
    app.endpoints = config.endpoints.clone();
    app.criteria = config.judge.criteria.clone();
    if let Some(w) = config.endpoints.iter().find_map(|e| crate::engine::remote::insecure_warning(&e.url)) {
        app.notice = Some(format!("warning: {w}"));
    }

    let (guard, mut term) = match enter(ctx.log.as_ref().ok().map(PathBuf::as_path)) {
        Ok(t) => t,
        Err(e) => {
            crate::terminal::emergency_restore();
            eprintln!("versus: cannot start the terminal UI: {e}");
            return exit::MODEL_FAILED;
        }
    };
    let fps = config.ui.max_fps.max(1);
    let stores = Stores { path: ctx.dirs.history_db(), exports: ctx.dirs.data_dir.join("exports") };
    let result = rt.block_on(async {
        let mut session = Session::open(config.memory.clone(), config.scheduler.keep_loaded, Some(&stores.path))?;
        let result = event_loop(&mut app, &mut term, fps, &mut session, &stores).await;
        // Quitting or a signal: a run cut short is saved as interrupted.
        session.close(Duration::from_secs(3));
        result
    });
    drop(term);
    drop(guard);
    match result {
        Ok(()) => exit::OK,
        Err(e) => {
            tracing::error!("terminal UI failed: {e}");
            eprintln!("versus: {e}");
            exit::MODEL_FAILED
        }
    }
}

/// Where the history is read from and comparisons are exported to.
struct Stores {
    path: PathBuf,
    exports: PathBuf,
}

impl Stores {
    fn read(&self, session: &Session) -> Result<Store, String> {
        session.flush(Duration::from_secs(2));
        Store::open(&self.path)
    }

    fn stored(&self, session: &Session, id: i64) -> Result<StoredRun, String> {
        self.read(session)?.get(id).map_err(|e| e.to_string())?.ok_or_else(|| format!("no comparison #{id}"))
    }

    /// Export the comparison on screen: from the store when it has it (all
    /// the details), else from what the app holds.
    fn export(&self, app: &App, session: &Session, run: RunId) -> Result<String, String> {
        let view = app.run.as_ref().ok_or("nothing to export")?;
        let stored_id = view.stored.or_else(|| session.stored_id(run, 0));
        let stored = match stored_id.map(|id| self.stored(session, id)) {
            Some(Ok(s)) => s,
            _ => view.to_stored(),
        };
        let (md, json) = crate::store::export::write_files(&stored, &self.exports)?;
        Ok(format!("exported to {} and {}", md.display(), json.display()))
    }
}

fn ram() -> Option<(u64, u64)> {
    let sys = crate::engine::memory::memory_now()?;
    Some((sys.total_memory().saturating_sub(sys.available_memory()), sys.total_memory()))
}

fn gpu() -> Option<(u64, u64)> {
    let gpus = crate::gpu::gpus();
    (!gpus.is_empty()).then(|| (gpus.iter().map(|g| g.used).sum(), gpus.iter().map(|g| g.total).sum()))
}

async fn event_loop(app: &mut App, term: &mut Term, fps: u32, session: &mut Session, stores: &Stores) -> std::io::Result<()> {
    let mut input = EventStream::new();
    let frame = Duration::from_secs_f64(1.0 / f64::from(fps));
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    if let Some(p) = session.problem() {
        app.handle(Event::Notice(p));
    }

    let size = term.size()?;
    app.handle(Event::Resize(size.width, size.height));
    let mut dirty = true;
    let mut last_draw = Instant::now() - frame;
    let mut effects = std::collections::VecDeque::new();
    loop {
        if dirty && Instant::now() >= last_draw + frame {
            // What the engine sent while we waited for this frame.
            effects.extend(take_engine_events(app, session, None));
            app.now = Instant::now();
            app.handle(Event::Frame);
            term.draw(|f| crate::ui::draw(f, app))?;
            last_draw = Instant::now();
            dirty = false;
        }
        let next_frame = tokio::time::Instant::from_std(last_draw + frame);
        let active = app.run_active();
        tokio::select! {
            ev = input.next() => match ev {
                Some(Ok(ev)) => {
                    app.now = Instant::now();
                    if let Some(e) = convert(ev) {
                        effects.extend(app.handle(e));
                    }
                    dirty = true;
                }
                Some(Err(e)) => return Err(e),
                None => break,
            },
            // Not while a frame is pending: tokens that arrive before it are
            // taken when it is drawn. Waking for each token would take a core
            // from the inference threads once per token (they use every core).
            next = session.next(), if !dirty => match next {
                Next::Event(ev) => {
                    effects.extend(take_engine_events(app, session, Some(ev)));
                    dirty = true;
                }
                Next::Ending(why) => {
                    tracing::info!("{}: quitting", why.describe());
                    app.quit = true;
                }
                Next::Closed => break,
            },
            _ = tokio::time::sleep_until(next_frame), if dirty => {}
            _ = tick.tick(), if active => {
                app.handle(Event::Tick { now: Instant::now(), ram: ram(), gpu: gpu() });
                dirty = true;
            }
        }
        while let Some(effect) = effects.pop_front() {
            effects.extend(perform(effect, app, session, stores));
        }
        if app.quit {
            break;
        }
    }
    Ok(())
}

/// Carry out one effect; what the app answers may hold more.
fn perform(effect: Effect, app: &mut App, session: &mut Session, stores: &Stores) -> Vec<Effect> {
    match effect {
        Effect::Run { id, prompt, entries, follows, retry } => {
            let continues = follows.and_then(|(stored, run)| stored.or_else(|| session.stored_id(run, 0)));
            let retry = retry.filter(|_| continues.is_some());
            session.start(id, Comparison { prompts: vec![prompt], entries, batch: None, continues, retry });
        }
        Effect::Cancel(id) => session.cancel(id),
        Effect::Copy(text) => copy_osc52(&text),
        Effect::Export(run) => {
            let msg = stores.export(app, session, run).unwrap_or_else(|e| format!("export failed: {e}"));
            return app.handle(Event::Notice(msg));
        }
        Effect::History => {
            return match stores.read(session).and_then(|s| s.list(500).map_err(|e| e.to_string())) {
                Ok(items) => app.handle(Event::HistoryList(items)),
                Err(e) => app.handle(Event::Notice(format!("history unavailable: {e}"))),
            };
        }
        Effect::OpenStored(id) => {
            return match stores.stored(session, id) {
                Ok(run) => {
                    let entries =
                        run.outputs.iter().map(|o| crate::spec::entry_from_stored(o, &app.endpoints)).collect::<Result<Vec<_>, _>>();
                    app.handle(Event::Reopen { run, entries: entries.unwrap_or_default() })
                }
                Err(e) => app.handle(Event::Notice(e)),
            };
        }
        Effect::Rerun { id, original } => {
            let run = match stores.stored(session, id) {
                Ok(run) => run,
                Err(e) => return app.handle(Event::Notice(e)),
            };
            let mut gone = Vec::new();
            let entries = original.then(|| {
                run.outputs
                    .iter()
                    .filter_map(|o| crate::spec::entry_from_stored(o, &app.endpoints).map_err(|e| gone.push(e.to_string())).ok())
                    .collect::<Vec<_>>()
            });
            let mut effects = app.handle(Event::Rerun { run, entries });
            if let Some(first) = gone.first() {
                let more = if gone.len() > 1 { format!(" (and {} more)", gone.len() - 1) } else { String::new() };
                effects.extend(app.handle(Event::Notice(format!("{first}{more}"))));
            }
            return effects;
        }
        Effect::Vote { run, stored, tiers, all_bad } => {
            let vote = Vote { id: 0, run_id: 0, prompt: 0, created_at: String::new(), voter: HUMAN.into(), tiers, all_bad, detail: None };
            return perform(Effect::SaveVote { run, stored, vote }, app, session, stores);
        }
        Effect::SaveVote { run, stored, mut vote } => {
            let saved = stored
                .or_else(|| session.stored_id(run, 0))
                .ok_or_else(|| "the comparison is not in the history".to_string())
                .and_then(|run_id| {
                    vote.run_id = run_id;
                    stores.read(session)?.add_vote(&vote).map_err(|e| e.to_string())
                });
            if let Err(e) = saved {
                return app.handle(Event::Notice(format!("the vote could not be saved: {e}")));
            }
        }
        Effect::Judge { id, prompts, entry } => {
            session.start_unrecorded(id, Comparison { prompts, entries: vec![entry], batch: None, continues: None, retry: None })
        }
        Effect::Matrix(id) => {
            let table = stores.read(session).and_then(|mut s| {
                let batch = s.get(id).map_err(|e| e.to_string())?.and_then(|r| r.batch);
                let runs = crate::store::matrix::stored_runs(&mut s, &[batch.clone().unwrap_or_else(|| id.to_string())])?;
                Ok((batch, crate::commands::report::table(&crate::store::matrix::build(&runs))))
            });
            return match table {
                Ok((batch, table)) => app.handle(Event::Table {
                    title: match batch {
                        Some(b) => format!("Batch {b} · prompts × models"),
                        None => format!("Comparison #{id} · not part of a batch"),
                    },
                    table,
                    footer: "versus report BATCH_OR_IDS --json for the figures".into(),
                }),
                Err(e) => app.handle(Event::Notice(format!("report unavailable: {e}"))),
            };
        }
        Effect::Leaderboard => {
            let board = stores.read(session).and_then(|s| s.leaderboard(&Default::default()).map_err(|e| e.to_string()));
            return match board {
                Ok(b) => app.handle(Event::Table {
                    title: "Leaderboard · blind votes and judges".into(),
                    table: crate::commands::leaderboard::table(&b),
                    footer: "versus leaderboard --json for the figures".into(),
                }),
                Err(e) => app.handle(Event::Notice(format!("leaderboard unavailable: {e}"))),
            };
        }
        Effect::Quit => app.quit = true,
    }
    Vec::new()
}

/// Hand `first` and whatever else the engine has sent to the app (the
/// session has recorded them); what the app answers (a judge's verdict to
/// save) is returned.
fn take_engine_events(app: &mut App, session: &mut Session, first: Option<EngineEvent>) -> Vec<Effect> {
    app.now = Instant::now();
    let mut done = false;
    let mut next = first;
    let mut effects = Vec::new();
    while let Some(ev) = next.take().or_else(|| session.try_next()) {
        done |= matches!(ev.kind, crate::engine::EventKind::RunDone);
        effects.extend(app.handle(Event::Engine(ev)));
    }
    if let Some(problem) = session.problem() {
        app.handle(Event::Notice(problem));
    }
    if done {
        app.handle(Event::Tick { now: Instant::now(), ram: ram(), gpu: gpu() });
    }
    effects
}

fn convert(ev: TermEvent) -> Option<Event> {
    match ev {
        TermEvent::Key(k) => Some(Event::Key(k)),
        TermEvent::Paste(s) => Some(Event::Paste(s)),
        TermEvent::Resize(w, h) => Some(Event::Resize(w, h)),
        _ => None,
    }
}

/// Copy to the clipboard of the terminal the user sits at, also over SSH,
/// with the OSC 52 escape; inside tmux it is wrapped for passthrough.
pub fn copy_osc52(text: &str) {
    let seq = osc52(text, std::env::var_os("TMUX").is_some());
    let mut out = std::io::stdout();
    let _ = out.write_all(seq.as_bytes());
    let _ = out.flush();
}

pub fn osc52(text: &str, tmux: bool) -> String {
    let seq = format!("\x1b]52;c;{}\x07", base64(text.as_bytes()));
    if tmux { format!("\x1bPtmux;{}\x1b\\", seq.replace('\x1b', "\x1b\x1b")) } else { seq }
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osc52_encodes_and_wraps_for_tmux() {
        assert_eq!(base64(b"hello"), "aGVsbG8=");
        assert_eq!(base64(b"hi!"), "aGkh");
        assert_eq!(osc52("hi", false), "\x1b]52;c;aGk=\x07");
        assert_eq!(osc52("hi", true), "\x1bPtmux;\x1b\x1b]52;c;aGk=\x07\x1b\\");
    }
}
