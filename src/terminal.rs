//! The terminal as a shared resource: entered and left in one place, put
//! back on every exit path (quit, error, panic in any thread, SIGTERM,
//! SIGHUP, a llama.cpp abort), and protected from stray writes while the TUI
//! is up by pointing file descriptor 2 at the log file.

use std::io::Write;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

static TUI_ACTIVE: AtomicBool = AtomicBool::new(false);
/// The real stderr, saved while fd 2 points at the log file; -1 when not saved.
static SAVED_STDERR: AtomicI32 = AtomicI32::new(-1);

/// Point fd 2 at `log` so that nothing a C library prints reaches the screen.
pub fn capture_stderr(log: &std::path::Path) -> std::io::Result<()> {
    let file = std::fs::OpenOptions::new().create(true).append(true).open(log)?;
    // SAFETY: dup/dup2 on valid descriptors; the saved one is closed in release_stderr.
    unsafe {
        let saved = libc::dup(2);
        if saved < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if libc::dup2(file.as_raw_fd(), 2) < 0 {
            libc::close(saved);
            return Err(std::io::Error::last_os_error());
        }
        SAVED_STDERR.store(saved, Ordering::SeqCst);
    }
    Ok(())
}

/// Give fd 2 back to the terminal.
pub fn release_stderr() {
    let saved = SAVED_STDERR.swap(-1, Ordering::SeqCst);
    if saved >= 0 {
        // SAFETY: `saved` is the descriptor dup'ed in capture_stderr.
        unsafe {
            libc::dup2(saved, 2);
            libc::close(saved);
        }
    }
}

/// Write to the user's real stderr, even while fd 2 is captured.
pub fn report_fatal(message: &str) {
    let line = format!("versus: {message}\n");
    let saved = SAVED_STDERR.load(Ordering::SeqCst);
    let fd = if saved >= 0 { saved } else { 2 };
    // SAFETY: writing a buffer we own to a descriptor; errors are ignored.
    unsafe {
        libc::write(fd, line.as_ptr().cast(), line.len());
    }
}

pub fn set_tui_active(active: bool) {
    TUI_ACTIVE.store(active, Ordering::SeqCst);
}

pub fn tui_active() -> bool {
    TUI_ACTIVE.load(Ordering::SeqCst)
}

/// Leave the alternate screen and raw mode now, from any thread; safe to call
/// more than once. Used by the panic hook, signal handling and aborts.
pub fn emergency_restore() {
    if !TUI_ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let _ = crossterm::terminal::disable_raw_mode();
    let mut out = std::io::stdout();
    let _ = crossterm::execute!(
        out,
        crossterm::event::DisableBracketedPaste,
        crossterm::event::PopKeyboardEnhancementFlags,
        crossterm::terminal::LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = out.flush();
    release_stderr();
}

/// The terminal's settings before raw mode, for the crash handler.
static SAVED_TERMIOS: std::sync::OnceLock<libc::termios> = std::sync::OnceLock::new();
/// The signals the crash handler takes, and the handlers it replaced (Rust's
/// own SIGSEGV/SIGBUS handler reports a stack overflow): put back before the
/// signal goes on.
const CRASH_SIGNALS: [libc::c_int; 5] = [libc::SIGABRT, libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE];
static PREVIOUS: std::sync::OnceLock<[libc::sigaction; 5]> = std::sync::OnceLock::new();

/// What `emergency_restore` sends, as one write a signal handler can make:
/// bracketed paste off, keyboard flags popped, main screen, cursor shown.
const RESTORE_SEQUENCE: &[u8] = b"\x1b[?2004l\x1b[<1u\x1b[?1049l\x1b[?25h";

/// Restore the terminal when the process dies from a signal that no Rust
/// code sees: an abort (allocation failure, a C++ exception escaping
/// llama.cpp, ggml's own abort), a segfault or bus error in a C library.
/// Call before raw mode is entered; the handler puts the saved settings
/// back, says what happened on the real stderr, then lets the signal do
/// what it does by default (a core dump where enabled).
pub fn install_crash_restore() {
    // SAFETY: tcgetattr fills a termios we own; sigaction installs a handler
    // that only makes async-signal-safe calls (write, tcsetattr, dup2,
    // sigaction) and saves the handlers it replaces.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(0, &mut t) == 0 {
            let _ = SAVED_TERMIOS.set(t);
        }
        if PREVIOUS.get().is_some() {
            return;
        }
        let mut previous: [libc::sigaction; 5] = std::mem::zeroed();
        for (sig, old) in CRASH_SIGNALS.iter().zip(previous.iter_mut()) {
            libc::sigaction(*sig, std::ptr::null(), old);
        }
        let _ = PREVIOUS.set(previous);
        for sig in CRASH_SIGNALS {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = crash_handler as *const () as usize;
            // On the alternate stack Rust sets up: a stack overflow lands here.
            action.sa_flags = libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
}

/// Restore the terminal, put the replaced handler back and return: a fault
/// happens again at once and reaches that handler (Rust's stack-overflow
/// report, or the default core dump); an abort re-raises by itself.
extern "C" fn crash_handler(sig: libc::c_int) {
    // SAFETY: only async-signal-safe calls on memory that lives for ever.
    unsafe {
        if TUI_ACTIVE.swap(false, Ordering::SeqCst) {
            libc::write(1, RESTORE_SEQUENCE.as_ptr().cast(), RESTORE_SEQUENCE.len());
            if let Some(t) = SAVED_TERMIOS.get() {
                libc::tcsetattr(0, libc::TCSANOW, t);
            }
            let saved = SAVED_STDERR.swap(-1, Ordering::SeqCst);
            if saved >= 0 {
                libc::dup2(saved, 2);
            }
            let msg: &[u8] = match sig {
                libc::SIGABRT => b"\nversus: aborted (out of memory, or an engine gave up); the log has what came before\n",
                _ => b"\nversus: crashed in native code; the log has what came before\n",
            };
            libc::write(2, msg.as_ptr().cast(), msg.len());
        }
        let index = CRASH_SIGNALS.iter().position(|&s| s == sig);
        match (PREVIOUS.get(), index) {
            (Some(previous), Some(i)) => libc::sigaction(sig, &previous[i], std::ptr::null_mut()),
            _ => libc::signal(sig, libc::SIG_DFL) as libc::c_int,
        };
        // A signal sent by kill() is not raised again by returning.
        if sig == libc::SIGABRT {
            libc::raise(sig);
        }
    }
}

/// Install a panic hook that restores the terminal and logs the panic. A
/// panic on a thread whose name starts with one of `caught` (the engine's
/// threads) is left to that thread's `catch_unwind`, where it becomes that
/// model's failure, and only logged.
pub fn install_panic_hook(caught: &'static [&'static str]) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("unnamed");
        tracing::error!(thread = name, "panic: {info}");
        if caught.iter().any(|p| name.starts_with(p)) {
            return;
        }
        emergency_restore();
        previous(info);
    }));
}
