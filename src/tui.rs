//! The full-screen app: terminal setup and teardown, and the event loop.
//!
//! One tokio `select!` interleaves keyboard input (crossterm's EventStream),
//! engine events, signals and, only while a run is active, a tick for
//! elapsed times and memory. Events mark the state dirty; a frame is drawn
//! at most `ui.max_fps` times a second and only when something changed, so
//! an idle app sleeps in `select!` and uses no CPU.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, EventStream};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::app::{App, Effect, Event};
use crate::commands::{Context, exit};
use crate::engine::{Engine, EngineEvent, RunId, RunRequest};
use crate::keymap::Keymap;
use crate::store::recorder::{Msg, Recorder};
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
pub fn run(ctx: &Context, paths: &[PathBuf], specs: &[String], rt: &tokio::runtime::Runtime) -> u8 {
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
    app.searched = catalog
        .roots
        .iter()
        .map(|r| format!("{} ({})", r.path.display(), r.note.clone().unwrap_or_else(|| format!("{} models", r.models))))
        .collect();
    app.ram = ram();
    app.gpu = gpu();
    app.endpoints = config.endpoints.clone();
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
    let store = Stores { recorder: None, path: ctx.dirs.history_db(), exports: ctx.dirs.data_dir.join("exports") };
    let store = Stores { recorder: open_recorder(&store.path, &mut app), ..store };
    let result = rt.block_on(event_loop(&mut app, &mut term, fps, config.memory.clone(), &store));
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

/// The history store's writer and where to read and export.
struct Stores {
    recorder: Option<Recorder>,
    path: PathBuf,
    exports: PathBuf,
}

fn open_recorder(path: &std::path::Path, app: &mut App) -> Option<Recorder> {
    match Store::open(path).and_then(|s| Recorder::start(s).map_err(|e| e.to_string())) {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::warn!("history store unavailable: {e}");
            app.notice = Some(format!("history is off: {e}"));
            None
        }
    }
}

impl Stores {
    fn read(&self) -> Result<Store, String> {
        if let Some(r) = &self.recorder {
            r.flush(Duration::from_secs(2));
        }
        Store::open(&self.path)
    }

    fn stored(&self, id: i64) -> Result<StoredRun, String> {
        self.read()?.get(id).map_err(|e| e.to_string())?.ok_or_else(|| format!("no comparison #{id}"))
    }

    /// Export the comparison on screen: from the store when it has it (all
    /// the details), else from what the app holds.
    fn export(&self, app: &App, run: RunId) -> Result<String, String> {
        let view = app.run.as_ref().ok_or("nothing to export")?;
        let stored_id = view.stored.or_else(|| self.recorder.as_ref().and_then(|r| r.stored_id(run, 0)));
        let stored = match stored_id.map(|id| self.stored(id)) {
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

async fn event_loop(
    app: &mut App,
    term: &mut Term,
    fps: u32,
    memory: crate::engine::memory::MemoryConfig,
    stores: &Stores,
) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let engine = Engine::start(tx, memory)?;
    let mut cancels: HashMap<RunId, Arc<AtomicBool>> = HashMap::new();
    let mut input = EventStream::new();
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let frame = Duration::from_secs_f64(1.0 / f64::from(fps));
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);

    let size = term.size()?;
    app.handle(Event::Resize(size.width, size.height));
    let mut dirty = true;
    let mut last_draw = Instant::now() - frame;
    loop {
        if dirty && Instant::now() >= last_draw + frame {
            // What the engine sent while we waited for this frame.
            take_engine_events(app, stores, None, &mut rx);
            app.now = Instant::now();
            term.draw(|f| crate::ui::draw(f, app))?;
            last_draw = Instant::now();
            dirty = false;
        }
        let next_frame = tokio::time::Instant::from_std(last_draw + frame);
        let active = app.run_active();
        let mut effects = std::collections::VecDeque::new();
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
            Some(ev) = rx.recv(), if !dirty => {
                take_engine_events(app, stores, Some(ev), &mut rx);
                dirty = true;
            }
            _ = tokio::time::sleep_until(next_frame), if dirty => {}
            _ = tick.tick(), if active => {
                app.handle(Event::Tick { now: Instant::now(), ram: ram(), gpu: gpu() });
                dirty = true;
            }
            _ = sigterm.recv() => { tracing::info!("SIGTERM"); app.quit = true; }
            _ = sighup.recv() => { tracing::info!("SIGHUP: the terminal went away"); app.quit = true; }
            _ = tokio::signal::ctrl_c() => { app.quit = true; }
        }
        while let Some(effect) = effects.pop_front() {
            match effect {
                Effect::Run { id, prompt, entries } => {
                    let cancel = Arc::new(AtomicBool::new(false));
                    cancels.insert(id, cancel.clone());
                    if let Some(r) = &stores.recorder {
                        let system = entries.first().map(|e| e.settings.generation.system_prompt.clone()).unwrap_or_default();
                        r.send(Msg::Begin { run: id, prompts: vec![prompt.clone()], system, entries: entries.clone(), batch: None });
                    }
                    engine.submit(RunRequest { id, prompts: vec![prompt], entries, cancel });
                }
                Effect::Cancel(id) => {
                    if let Some(flag) = cancels.get(&id) {
                        flag.store(true, Ordering::SeqCst);
                    }
                }
                Effect::Copy(text) => copy_osc52(&text),
                Effect::Export(run) => {
                    let msg = stores.export(app, run).unwrap_or_else(|e| format!("export failed: {e}"));
                    app.handle(Event::Notice(msg));
                }
                Effect::History => match stores.read().and_then(|s| s.list(500).map_err(|e| e.to_string())) {
                    Ok(items) => effects.extend(app.handle(Event::HistoryList(items))),
                    Err(e) => app.handle(Event::Notice(format!("history unavailable: {e}"))).clear(),
                },
                Effect::OpenStored(id) => match stores.stored(id) {
                    Ok(run) => effects.extend(app.handle(Event::Reopen(run))),
                    Err(e) => app.handle(Event::Notice(e)).clear(),
                },
                Effect::Rerun { id, original } => match stores.stored(id) {
                    Ok(run) => {
                        let entries = original.then(|| {
                            let (ok, gone): (Vec<_>, Vec<_>) =
                                run.outputs.iter().map(|o| crate::spec::entry_from_stored(o, &app.endpoints)).partition(Result::is_ok);
                            if let Some(Err(e)) = gone.first() {
                                let more = if gone.len() > 1 { format!(" (and {} more)", gone.len() - 1) } else { String::new() };
                                app.handle(Event::Notice(format!("{e}{more}")));
                            }
                            ok.into_iter().flatten().collect::<Vec<_>>()
                        });
                        effects.extend(app.handle(Event::Rerun { run, entries }));
                    }
                    Err(e) => app.handle(Event::Notice(e)).clear(),
                },
                Effect::Quit => app.quit = true,
            }
        }
        if app.quit {
            break;
        }
    }
    let active = app.run_active();
    for flag in cancels.values() {
        flag.store(true, Ordering::SeqCst);
    }
    // A run cut short by quitting or a signal is saved as interrupted.
    if let Some(r) = &stores.recorder {
        if active {
            r.interrupt(Duration::from_secs(3));
        } else {
            r.flush(Duration::from_secs(3));
        }
    }
    // Do not wait for a model that is still loading: the process is exiting.
    engine.detach();
    Ok(())
}

/// Hand `first` and whatever else the engine has sent to the app and the
/// history recorder.
fn take_engine_events(app: &mut App, stores: &Stores, first: Option<EngineEvent>, rx: &mut UnboundedReceiver<EngineEvent>) {
    app.now = Instant::now();
    let mut done = false;
    let mut next = first;
    while let Some(ev) = next.take().or_else(|| rx.try_recv().ok()) {
        done |= matches!(ev.kind, crate::engine::EventKind::RunDone);
        if let Some(r) = &stores.recorder {
            r.send(Msg::Event(ev.clone()));
        }
        app.handle(Event::Engine(ev));
    }
    if let Some(problem) = stores.recorder.as_ref().and_then(|r| r.problem.lock().ok().and_then(|mut p| p.take())) {
        app.handle(Event::Notice(problem));
    }
    if done {
        app.handle(Event::Tick { now: Instant::now(), ram: ram(), gpu: gpu() });
    }
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
