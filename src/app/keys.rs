//! Keys of the model filter (bound keys end or clear it, the rest type),
//! and plain editing keys in the prompt editor (with prompt history on Up
//! and Down).

use crossterm::event::{KeyCode, KeyEvent};

use super::{App, Effect, replace_text};
use crate::keymap::Action;

impl App {
    pub(super) fn filter_key(&mut self, action: Option<Action>, ev: KeyEvent) -> Vec<Effect> {
        match action {
            Some(Action::FilterClear) => {
                self.list.filter.clear();
                self.list.filtering = false;
            }
            Some(Action::FilterDone) => self.list.filtering = false,
            _ => {
                super::overlays::type_into(&mut self.list.filter, &ev);
            }
        }
        self.list.move_by(0);
        vec![]
    }

    pub(super) fn edit_key(&mut self, ev: KeyEvent) {
        let plain = ev.modifiers.is_empty();
        let at_first = self.editor().cursor().0 == 0;
        let at_last = self.editor().cursor().0 + 1 >= self.editor().lines().len();
        if plain && ev.code == KeyCode::Up && at_first && !self.editing_system {
            self.history_step(-1);
        } else if plain && ev.code == KeyCode::Down && at_last && self.history_pos.is_some() {
            self.history_step(1);
        } else {
            self.editor().input(ev);
        }
    }

    pub(super) fn history_step(&mut self, delta: isize) {
        if self.history.is_empty() {
            return;
        }
        let pos = match (self.history_pos, delta < 0) {
            (None, true) => {
                self.draft = self.prompt_text();
                Some(self.history.len() - 1)
            }
            (None, false) => None,
            (Some(0), true) => Some(0),
            (Some(p), true) => Some(p - 1),
            (Some(p), false) if p + 1 < self.history.len() => Some(p + 1),
            (Some(_), false) => None,
        };
        self.history_pos = pos;
        let text = match pos {
            Some(p) => self.history[p].clone(),
            None => std::mem::take(&mut self.draft),
        };
        self.prompt = replace_text(&self.prompt, &text);
    }
}
