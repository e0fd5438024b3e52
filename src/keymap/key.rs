//! Keys as written in `[ui.keys]` (`ctrl-r`, `alt-enter`, `f5`, `G`) and
//! as terminals report them.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A key with modifiers, normalised so that `shift` is folded into the character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub code: KeyCodeOrd,
    pub ctrl: bool,
    pub alt: bool,
    pub shift: bool,
}

/// `KeyCode` subset that can be bound, ordered for stable tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyCodeOrd {
    Char(char),
    F(u8),
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    Delete,
    Insert,
}

impl Key {
    pub fn from_event(ev: &KeyEvent) -> Option<Key> {
        let code = match ev.code {
            KeyCode::Char(c) => KeyCodeOrd::Char(c),
            KeyCode::F(n) => KeyCodeOrd::F(n),
            KeyCode::Enter => KeyCodeOrd::Enter,
            KeyCode::Esc => KeyCodeOrd::Esc,
            KeyCode::Tab => KeyCodeOrd::Tab,
            KeyCode::BackTab => KeyCodeOrd::BackTab,
            KeyCode::Backspace => KeyCodeOrd::Backspace,
            KeyCode::Up => KeyCodeOrd::Up,
            KeyCode::Down => KeyCodeOrd::Down,
            KeyCode::Left => KeyCodeOrd::Left,
            KeyCode::Right => KeyCodeOrd::Right,
            KeyCode::PageUp => KeyCodeOrd::PageUp,
            KeyCode::PageDown => KeyCodeOrd::PageDown,
            KeyCode::Home => KeyCodeOrd::Home,
            KeyCode::End => KeyCodeOrd::End,
            KeyCode::Delete => KeyCodeOrd::Delete,
            KeyCode::Insert => KeyCodeOrd::Insert,
            _ => return None,
        };
        let m = ev.modifiers;
        let folds_shift = matches!(code, KeyCodeOrd::Char(_) | KeyCodeOrd::BackTab);
        let mut key = Key {
            code,
            ctrl: m.contains(KeyModifiers::CONTROL),
            alt: m.contains(KeyModifiers::ALT),
            shift: m.contains(KeyModifiers::SHIFT) && !folds_shift,
        };
        // Terminals report Ctrl-<letter> with either case; bind the lower one.
        if key.ctrl {
            if let KeyCodeOrd::Char(c) = key.code {
                key.code = KeyCodeOrd::Char(c.to_ascii_lowercase());
            }
        }
        Some(key)
    }

    pub fn parse(text: &str) -> Result<Key, String> {
        let bad = || format!("`{text}` is not a key (try e.g. \"ctrl-r\", \"f5\", \"alt-enter\", \"q\")");
        let mut key = Key { code: KeyCodeOrd::Esc, ctrl: false, alt: false, shift: false };
        let mut rest = text;
        loop {
            let lower = rest.to_ascii_lowercase();
            if let Some(r) = ["ctrl-", "c-", "control-"].iter().find_map(|p| lower.strip_prefix(p)) {
                key.ctrl = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = ["alt-", "a-", "meta-", "m-"].iter().find_map(|p| lower.strip_prefix(p)) {
                key.alt = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = ["shift-", "s-"].iter().find_map(|p| lower.strip_prefix(p)) {
                if r.is_empty() {
                    break;
                }
                key.shift = true;
                rest = &rest[rest.len() - r.len()..];
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        key.code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCodeOrd::Char(if key.ctrl { c.to_ascii_lowercase() } else { c }),
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" => KeyCodeOrd::Enter,
                "esc" | "escape" => KeyCodeOrd::Esc,
                "tab" if key.shift => {
                    key.shift = false;
                    KeyCodeOrd::BackTab
                }
                "tab" => KeyCodeOrd::Tab,
                "backtab" => KeyCodeOrd::BackTab,
                "space" => KeyCodeOrd::Char(' '),
                "backspace" => KeyCodeOrd::Backspace,
                "up" => KeyCodeOrd::Up,
                "down" => KeyCodeOrd::Down,
                "left" => KeyCodeOrd::Left,
                "right" => KeyCodeOrd::Right,
                "pgup" | "pageup" => KeyCodeOrd::PageUp,
                "pgdn" | "pgdown" | "pagedown" => KeyCodeOrd::PageDown,
                "home" => KeyCodeOrd::Home,
                "end" => KeyCodeOrd::End,
                "del" | "delete" => KeyCodeOrd::Delete,
                "ins" | "insert" => KeyCodeOrd::Insert,
                f if f.starts_with('f') => {
                    let n: u8 = f[1..].parse().map_err(|_| bad())?;
                    if !(1..=24).contains(&n) {
                        return Err(bad());
                    }
                    KeyCodeOrd::F(n)
                }
                _ => return Err(bad()),
            },
        };
        if key.shift {
            if let KeyCodeOrd::Char(c) = key.code {
                key.code = KeyCodeOrd::Char(c.to_ascii_uppercase());
                key.shift = false;
            }
        }
        Ok(key)
    }

    /// Whether pressing this key in the editor would type text.
    pub fn types_text(&self) -> bool {
        matches!(self.code, KeyCodeOrd::Char(_)) && !self.ctrl && !self.alt
            || matches!(self.code, KeyCodeOrd::Enter | KeyCodeOrd::Backspace | KeyCodeOrd::Delete) && !self.ctrl && !self.alt
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl-")?;
        }
        if self.alt {
            f.write_str("Alt-")?;
        }
        if self.shift {
            f.write_str("Shift-")?;
        }
        match self.code {
            KeyCodeOrd::Char(' ') => f.write_str("Space"),
            KeyCodeOrd::Char(c) => write!(f, "{c}"),
            KeyCodeOrd::F(n) => write!(f, "F{n}"),
            KeyCodeOrd::BackTab => f.write_str("Shift-Tab"),
            KeyCodeOrd::PageUp => f.write_str("PgUp"),
            KeyCodeOrd::PageDown => f.write_str("PgDn"),
            other => write!(f, "{other:?}"),
        }
    }
}
