//! Copying to the clipboard of the terminal the user sits at, also over
//! SSH: the OSC 52 escape, sent the way the multiplexer in between lets it
//! through. tmux drops an application's OSC 52 under its default
//! `set-clipboard external`, and its passthrough wrapping needs
//! `allow-passthrough on`; so inside tmux the text goes to tmux itself
//! (`load-buffer -w`), which keeps it in its paste buffer and sends it on
//! to the terminal whenever `set-clipboard` is `external` or `on`. What
//! happened, or why it cannot have worked, is said in words for the status
//! line.

use std::io::Write;
use std::process::{Command, Stdio};

/// Copy `text`; the sentence the status line shows.
pub fn copy(text: &str) -> String {
    let n = text.chars().count();
    if std::env::var_os("TMUX").is_some() {
        return via_tmux(text, n);
    }
    let seq = if std::env::var_os("STY").is_some() { screen(&osc52(text)) } else { osc52(text) };
    send(&seq);
    format!("copied {n} characters (OSC 52: the terminal puts them on its clipboard if it allows that)")
}

fn via_tmux(text: &str, n: usize) -> String {
    let clipboard = tmux_option("set-clipboard");
    if load_buffer(text) {
        return match clipboard.as_deref() {
            Some("off") => format!(
                "copied {n} characters to tmux's paste buffer only: its set-clipboard is off (`set -g set-clipboard on` in ~/.tmux.conf sends copies on to the terminal)"
            ),
            _ => format!("copied {n} characters (tmux's paste buffer and, through tmux, the terminal's clipboard)"),
        };
    }
    // A tmux without `load-buffer -w` (before 3.2): what it forwards.
    if clipboard.as_deref() == Some("on") {
        send(&osc52(text));
        return format!("copied {n} characters (OSC 52, forwarded by tmux)");
    }
    if tmux_option("allow-passthrough").as_deref() == Some("on") {
        send(&passthrough(&osc52(text)));
        return format!("copied {n} characters (OSC 52 through tmux's passthrough)");
    }
    format!(
        "could not copy {n} characters: this tmux passes no clipboard escape on (`set -g set-clipboard on` in ~/.tmux.conf, or allow-passthrough on)"
    )
}

/// `tmux load-buffer -w -`: the text into tmux's buffer and, by tmux, to
/// the client terminal's clipboard.
fn load_buffer(text: &str) -> bool {
    let child =
        Command::new("tmux").args(["load-buffer", "-w", "-"]).stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null()).spawn();
    let Ok(mut child) = child else { return false };
    let wrote = child.stdin.take().is_some_and(|mut stdin| stdin.write_all(text.as_bytes()).is_ok());
    child.wait().is_ok_and(|s| s.success()) && wrote
}

fn tmux_option(name: &str) -> Option<String> {
    let out = Command::new("tmux").args(["show-options", "-gv", name]).stderr(Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn send(seq: &str) {
    let mut out = std::io::stdout();
    let _ = out.write_all(seq.as_bytes());
    let _ = out.flush();
}

pub fn osc52(text: &str) -> String {
    format!("\x1b]52;c;{}\x07", base64(text.as_bytes()))
}

/// tmux's passthrough wrapping (needs `allow-passthrough on`).
pub fn passthrough(seq: &str) -> String {
    format!("\x1bPtmux;{}\x1b\\", seq.replace('\x1b', "\x1b\x1b"))
}

/// GNU screen's: a device control string around the sequence.
fn screen(seq: &str) -> String {
    format!("\x1bP{seq}\x1b\\")
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
    fn osc52_encodes_and_wraps_for_tmux_passthrough() {
        assert_eq!(base64(b"hello"), "aGVsbG8=");
        assert_eq!(base64(b"hi!"), "aGkh");
        assert_eq!(osc52("hi"), "\x1b]52;c;aGk=\x07");
        assert_eq!(passthrough(&osc52("hi")), "\x1bPtmux;\x1b\x1b]52;c;aGk=\x07\x1b\\");
    }
}
