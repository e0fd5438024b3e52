//! The full-screen app: terminal setup and teardown, and the event loop.
//!
//! One tokio `select!` interleaves keyboard input (crossterm's EventStream),
//! engine events, signals and, only while a run is active, a tick for
//! elapsed times and memory. Events mark the state dirty; a frame is drawn
//! at most `ui.max_fps` times a second and only when something changed, so
//! an idle app sleeps in `select!` and uses no CPU.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, EventStream};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use crate::app::{App, Effect, Event};
use crate::context::{Context, exit};
use crate::engine::EngineEvent;
use crate::keymap::Keymap;
use crate::session::{Comparison, Next, Session};
use crate::store::query::Query;

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
    } else {
        // What was selected when versus last ran, copies and parameters too.
        let gone = crate::selection::restore(&ctx.dirs.state_dir, &mut app.list);
        if !app.list.selected().is_empty() {
            app.focus = crate::app::Focus::Prompt;
        }
        if gone > 0 {
            app.notice = Some(format!("{gone} of the models selected last time cannot be found now"));
        }
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

    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        eprintln!("versus: the terminal UI needs an interactive terminal; for scripts and pipes use `versus run -m MODEL -p TEXT`");
        return exit::USAGE;
    }
    let (guard, mut term) = match enter(ctx.log.as_ref().ok().map(PathBuf::as_path)) {
        Ok(t) => t,
        Err(e) => {
            crate::terminal::emergency_restore();
            eprintln!("versus: cannot start the terminal UI: {}", crate::paths::io_reason(&e));
            return exit::MODEL_FAILED;
        }
    };
    let fps = config.ui.max_fps.max(1);
    let stores = Stores {
        path: ctx.dirs.history_db(),
        exports: ctx.dirs.data_dir.join("exports"),
        state: ctx.dirs.state_dir.clone(),
        formats: config.ui.export.clone(),
        endpoints: config.endpoints.clone(),
    };
    let result = rt.block_on(async {
        let mut session = Session::open(config.memory.clone(), config.scheduler.keep_loaded, Some(&stores.path), ctx.isolation())?;
        let result = event_loop(&mut app, &mut term, fps, &mut session, &stores).await;
        crate::selection::save(&stores.state, &app.list);
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

/// Where the history is kept and comparisons are exported to, and what
/// the event loop adds to the app's requests (the configured servers, the
/// export formats).
struct Stores {
    path: PathBuf,
    exports: PathBuf,
    /// Where the selection is kept for the next start.
    state: PathBuf,
    formats: Vec<crate::store::export::Format>,
    endpoints: Vec<crate::engine::remote::EndpointConfig>,
}

fn ram() -> Option<(u64, u64)> {
    let sys = crate::engine::runtime::memory::memory_now()?;
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
    // The editor's history: the prompts of the saved comparisons.
    session.query(Query::Prompts { limit: 200 });

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
            // Synchronized output (DEC mode 2026): the terminal shows the
            // whole frame at once, so fast columns never tear; terminals
            // without it ignore the two sequences.
            let _ = crossterm::queue!(term.backend_mut(), crossterm::terminal::BeginSynchronizedUpdate);
            term.draw(|f| crate::ui::draw(f, app))?;
            let _ = crossterm::execute!(term.backend_mut(), crossterm::terminal::EndSynchronizedUpdate);
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
                Next::Store(answer) => {
                    effects.extend(app.handle(Event::Store(answer)));
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
            perform(effect, app, session, stores);
        }
        if app.quit {
            break;
        }
    }
    Ok(())
}

/// Carry out one effect. Nothing here waits: runs go to the session's
/// inference thread, reads and writes of the history to its store thread,
/// whose answers come back through `Session::next`.
fn perform(effect: Effect, app: &mut App, session: &mut Session, stores: &Stores) {
    match effect {
        Effect::Run { id, prompt, entries, follows, retry } => {
            crate::selection::save(&stores.state, &app.list);
            let retry = retry.filter(|_| follows.is_some());
            session.start(id, Comparison { prompts: vec![prompt], entries, batch: None, continues: follows, retry });
        }
        Effect::Cancel(id) => session.cancel(id),
        Effect::Skip { run, slot } => session.skip(run, slot),
        Effect::Copy(text) => {
            let said = crate::clipboard::copy(&text);
            app.handle(Event::Notice(said));
        }
        Effect::Judge { id, prompts, entry } => {
            session.start_unrecorded(id, Comparison { prompts, entries: vec![entry], batch: None, continues: None, retry: None })
        }
        Effect::Query(query) => session.query(query),
        Effect::Open { id, then } => session.query(Query::Open { id, endpoints: stores.endpoints.clone(), then }),
        Effect::Export(target) => session.query(Query::Export { target, formats: stores.formats.clone(), dir: stores.exports.clone() }),
        Effect::Quit => app.quit = true,
    }
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
