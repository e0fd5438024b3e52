//! Overlays: popups over the panes. Each has its own state and key
//! handling (one file each, drawn by the file of the same name in
//! ui/overlays/) and its own keymap scope while it is open, so its keys are
//! rebindable and listed in the help like the panes'.

pub mod board;
pub mod confirm;
pub mod help;
pub mod params;
pub mod saved;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub use help::HelpView;
pub use params::ParamsEditor;
pub use saved::HistoryView;

use super::Effect;
use crate::keymap::{Action, Scope};

#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    None,
    Help(HelpView),
    Params(ParamsEditor),
    ConfirmQuit,
    History(HistoryView),
    Board(board::BoardView),
}

/// What an overlay asks of the app after a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Stay,
    Close,
    /// Close, then these.
    Effects(Vec<Effect>),
    Quit,
    /// Close and give the list entry these settings.
    Apply(ParamsEditor),
}

impl Overlay {
    /// The keymap scope while this overlay is open (None: no overlay).
    pub fn scope(&self) -> Option<Scope> {
        Some(match self {
            Overlay::None => return None,
            Overlay::Help(_) => Scope::Help,
            Overlay::ConfirmQuit => Scope::Confirm,
            Overlay::Params(p) if p.input.is_some() => Scope::ParamInput,
            Overlay::Params(_) => Scope::Params,
            Overlay::History(_) => Scope::Saved,
            Overlay::Board(_) => Scope::Board,
        })
    }

    /// A key, with the action it is bound to in this overlay's scope.
    pub fn key(&mut self, action: Option<Action>, ev: &KeyEvent) -> Reply {
        match self {
            Overlay::None => Reply::Stay,
            Overlay::Help(h) => h.key(action),
            Overlay::ConfirmQuit => confirm::key(action),
            Overlay::Params(p) => p.key(action, ev),
            Overlay::History(h) => h.key(action, ev),
            Overlay::Board(b) => b.key(action),
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
