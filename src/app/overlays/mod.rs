//! Overlays: popups over the panes. Each is one file that owns its state,
//! its keys (its own keymap scope while it is open, so they are rebindable
//! and listed in the help like the panes') and its drawing, behind the one
//! `Overlay` trait; the app holds whichever is open as a box. A new overlay
//! is its file, a line here, its scope and actions in `keymap/action.rs`,
//! and the place that opens it (docs/architecture.md, "Add an overlay").

pub mod board;
pub mod confirm;
pub mod help;
pub mod params;
pub mod saved;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};

use super::{App, Effect};
use crate::keymap::{Action, Keymap, Scope};
use crate::theme::Theme;

/// A popup over the panes.
pub trait Overlay: std::fmt::Debug {
    /// The keymap scope while it is open (it may change with its state).
    fn scope(&self) -> Scope;

    /// A key, with the action it is bound to in `scope()`.
    fn key(&mut self, action: Option<Action>, ev: &KeyEvent) -> Reply;

    /// Text pasted while it is open; false: it takes no text.
    fn paste(&mut self, _text: &str) -> bool {
        false
    }

    /// Draw it over the screen.
    fn draw(&self, frame: &mut Frame<'_>, ctx: &Ctx<'_>);

    /// Its name, for tests and the log ("help", "params").
    fn name(&self) -> &'static str;
}

/// What an overlay draws with.
pub struct Ctx<'a> {
    pub theme: &'a Theme,
    pub keymap: &'a Keymap,
}

/// What an overlay asks of the app after a key.
pub enum Reply {
    Stay,
    Close,
    /// Close, then these.
    Effects(Vec<Effect>),
    Quit,
    /// Close, then change the app (the parameters popup applies its values).
    Then(Box<dyn FnOnce(&mut App) -> Vec<Effect>>),
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reply::Stay => f.write_str("Stay"),
            Reply::Close => f.write_str("Close"),
            Reply::Effects(e) => write!(f, "Effects({e:?})"),
            Reply::Quit => f.write_str("Quit"),
            Reply::Then(_) => f.write_str("Then(..)"),
        }
    }
}

/// Type `ev` into `text` when it is typing (a plain character or
/// Backspace); false for any other key.
pub fn type_into(text: &mut String, ev: &KeyEvent) -> bool {
    match ev.code {
        KeyCode::Backspace => {
            text.pop();
            true
        }
        KeyCode::Char(c) if !ev.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) => {
            text.push(c);
            true
        }
        _ => false,
    }
}

/// A box of this size in the middle of `area` (smaller when it must be).
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(height.min(area.height))]).flex(Flex::Center).areas(area);
    let [h] = Layout::horizontal([Constraint::Length(width.min(area.width))]).flex(Flex::Center).areas(v);
    h
}
