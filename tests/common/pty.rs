//! Running the real binary in a pseudo-terminal and reading its screen
//! through a VT100 parser, as a person at a terminal would see it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, MasterPty, PtySize, native_pty_system};

pub struct Pty {
    pub master: Box<dyn MasterPty + Send>,
    pub child: Box<dyn portable_pty::Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    bytes: mpsc::Receiver<Vec<u8>>,
    pub parser: vt100::Parser,
    /// Everything the program wrote, for checks on raw output.
    pub raw: Vec<u8>,
}

impl Pty {
    pub fn spawn(cmd: CommandBuilder, cols: u16, rows: u16) -> Pty {
        let pair = native_pty_system().openpty(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 }).expect("openpty");
        let child = pair.slave.spawn_command(cmd).expect("spawn");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("reader");
        let writer = pair.master.take_writer().expect("writer");
        let (tx, bytes) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        let parser = vt100::Parser::new(NonZeroU16::new(rows).expect("rows"), NonZeroU16::new(cols).expect("cols"), 0);
        Pty { master: pair.master, child, writer, bytes, parser, raw: Vec::new() }
    }

    /// Feed whatever output arrived to the parser.
    pub fn pump(&mut self, wait: Duration) {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.bytes.recv_timeout(left.max(Duration::from_millis(1))) {
                Ok(b) => {
                    self.parser.process(&b);
                    self.raw.extend_from_slice(&b);
                }
                Err(_) => break,
            }
            if Instant::now() >= deadline {
                break;
            }
        }
    }

    pub fn screen(&self) -> String {
        self.parser.screen().contents()
    }

    /// Wait until `pred(screen)` holds; panics with the screen on timeout.
    pub fn wait_for(&mut self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            self.pump(Duration::from_millis(100));
            if pred(&self.screen()) {
                return;
            }
        }
        panic!("timed out waiting for {what}; screen:\n{}", self.screen());
    }

    pub fn send(&mut self, bytes: &str) {
        self.writer.write_all(bytes.as_bytes()).expect("write");
        self.writer.flush().expect("flush");
        self.pump(Duration::from_millis(150));
    }

    /// Wait for the program to exit; returns its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<u32> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            self.pump(Duration::from_millis(50));
            if let Ok(Some(status)) = self.child.try_wait() {
                self.pump(Duration::from_millis(100));
                return Some(status.exit_code());
            }
        }
        None
    }

    /// Whether the terminal is back in cooked mode (echo and line editing on).
    pub fn cooked(&self) -> bool {
        let Some(fd) = self.master.as_raw_fd() else { return false };
        // SAFETY: tcgetattr fills a termios we own, from a valid descriptor.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(fd, &mut t) != 0 {
                return false;
            }
            t.c_lflag & libc::ICANON != 0 && t.c_lflag & libc::ECHO != 0
        }
    }
}

pub const F5: &str = "\x1b[15~";
pub const ESC: &str = "\x1b";
pub const TAB: &str = "\t";
pub const ENTER: &str = "\r";
pub const BACKSPACE: &str = "\x7f";
