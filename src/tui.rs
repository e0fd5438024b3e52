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

use crate::app::{App, Effect, Event};
use crate::commands::{Context, exit};
use crate::engine::{Engine, RunId, RunRequest};
use crate::keymap::Keymap;

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

pub fn run(ctx: &Context, paths: &[PathBuf], rt: &tokio::runtime::Runtime) -> u8 {
    let config = &ctx.config.config;
    let keymap = match Keymap::from_config(&config.ui.keys) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("versus: {e}");
            return exit::USAGE;
        }
    };
    let catalog = ctx.discover(paths);
    let mut app = App::new(catalog.models.clone(), |m| config.settings_for(&m.name), keymap, &config.generation.system_prompt);
    app.sync_scroll = config.ui.sync_scroll;
    app.searched = catalog
        .roots
        .iter()
        .map(|r| format!("{} ({})", r.path.display(), r.note.clone().unwrap_or_else(|| format!("{} models", r.models))))
        .collect();
    app.ram = ram();
    app.gpu = gpu();

    let (guard, mut term) = match enter(ctx.log.as_ref().ok().map(PathBuf::as_path)) {
        Ok(t) => t,
        Err(e) => {
            crate::terminal::emergency_restore();
            eprintln!("versus: cannot start the terminal UI: {e}");
            return exit::MODEL_FAILED;
        }
    };
    let fps = config.ui.max_fps.max(1);
    let result = rt.block_on(event_loop(&mut app, &mut term, fps, config.memory.clone()));
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

fn ram() -> Option<(u64, u64)> {
    let sys = crate::engine::memory::memory_now()?;
    Some((sys.total_memory().saturating_sub(sys.available_memory()), sys.total_memory()))
}

fn gpu() -> Option<(u64, u64)> {
    let gpus = crate::gpu::gpus();
    (!gpus.is_empty()).then(|| (gpus.iter().map(|g| g.used).sum(), gpus.iter().map(|g| g.total).sum()))
}

async fn event_loop(app: &mut App, term: &mut Term, fps: u32, memory: crate::config::MemoryConfig) -> std::io::Result<()> {
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
            app.now = Instant::now();
            term.draw(|f| crate::ui::draw(f, app))?;
            last_draw = Instant::now();
            dirty = false;
        }
        let next_frame = tokio::time::Instant::from_std(last_draw + frame);
        let active = app.run_active();
        let mut effects = Vec::new();
        tokio::select! {
            ev = input.next() => match ev {
                Some(Ok(ev)) => {
                    app.now = Instant::now();
                    if let Some(e) = convert(ev) {
                        effects = app.handle(e);
                    }
                    dirty = true;
                }
                Some(Err(e)) => return Err(e),
                None => break,
            },
            Some(ev) = rx.recv() => {
                app.now = Instant::now();
                let done = matches!(ev.kind, crate::engine::EventKind::RunDone);
                app.handle(Event::Engine(ev));
                // Drain what else arrived: one frame shows all of it.
                while let Ok(ev) = rx.try_recv() {
                    app.handle(Event::Engine(ev));
                }
                if done {
                    app.handle(Event::Tick { now: Instant::now(), ram: ram(), gpu: gpu() });
                }
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
        for effect in effects {
            match effect {
                Effect::Run { id, prompt, entries } => {
                    let cancel = Arc::new(AtomicBool::new(false));
                    cancels.insert(id, cancel.clone());
                    engine.submit(RunRequest { id, prompt, entries, cancel });
                }
                Effect::Cancel(id) => {
                    if let Some(flag) = cancels.get(&id) {
                        flag.store(true, Ordering::SeqCst);
                    }
                }
                Effect::Copy(text) => copy_osc52(&text),
                Effect::Export | Effect::History => {
                    app.notice = Some("saving comparisons comes with the history store".into());
                }
                Effect::Quit => app.quit = true,
            }
        }
        if app.quit {
            break;
        }
    }
    for flag in cancels.values() {
        flag.store(true, Ordering::SeqCst);
    }
    // Do not wait for a model that is still loading: the process is exiting.
    engine.detach();
    Ok(())
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
