//! Keys that do not go through the keymap: those typed into the model
//! filter, the parameters popup and the history overlay, and plain editing
//! keys in the prompt editor (with prompt history on Up and Down).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{App, Effect, Overlay, replace_text};

impl App {
    pub(super) fn filter_key(&mut self, ev: KeyEvent) -> Vec<Effect> {
        match ev.code {
            KeyCode::Esc => {
                self.list.filter.clear();
                self.list.filtering = false;
            }
            KeyCode::Enter | KeyCode::Down | KeyCode::Tab => self.list.filtering = false,
            KeyCode::Backspace => {
                self.list.filter.pop();
            }
            KeyCode::Char(c) if !ev.modifiers.contains(KeyModifiers::CONTROL) => self.list.filter.push(c),
            _ => {}
        }
        self.list.move_by(0);
        vec![]
    }

    pub(super) fn params_key(&mut self, ev: KeyEvent) -> Vec<Effect> {
        let Overlay::Params(p) = &mut self.overlay else { return vec![] };
        if let Some(input) = p.input.as_mut() {
            match ev.code {
                KeyCode::Enter => p.commit(),
                KeyCode::Esc => {
                    p.input = None;
                    p.error = None;
                }
                KeyCode::Backspace => {
                    input.pop();
                }
                KeyCode::Char(c) if !ev.modifiers.contains(KeyModifiers::CONTROL) => input.push(c),
                _ => {}
            }
            return vec![];
        }
        match ev.code {
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('p') => {
                let p = p.clone();
                if let Some(entry) = self.list.entries.get_mut(p.entry) {
                    entry.settings = p.settings;
                }
                self.overlay = Overlay::None;
            }
            KeyCode::Up | KeyCode::Char('k') => p.move_by(-1),
            KeyCode::Down | KeyCode::Char('j') => p.move_by(1),
            KeyCode::Enter => p.begin(),
            _ => {}
        }
        vec![]
    }

    pub(super) fn history_key(&mut self, ev: KeyEvent) -> Vec<Effect> {
        let Overlay::History(h) = &mut self.overlay else { return vec![] };
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        match ev.code {
            KeyCode::Esc => self.overlay = Overlay::None,
            KeyCode::Up => h.move_by(-1),
            KeyCode::Down => h.move_by(1),
            KeyCode::PageUp => h.move_by(-10),
            KeyCode::PageDown => h.move_by(10),
            KeyCode::Enter => {
                if let Some(id) = h.current() {
                    self.overlay = Overlay::None;
                    return vec![Effect::OpenStored(id)];
                }
            }
            // Ctrl-R: again on the models selected now; Ctrl-O: on its own models.
            KeyCode::Char('r') if ctrl => {
                if let Some(id) = h.current() {
                    self.overlay = Overlay::None;
                    return vec![Effect::Rerun { id, original: false }];
                }
            }
            KeyCode::Char('o') if ctrl => {
                if let Some(id) = h.current() {
                    self.overlay = Overlay::None;
                    return vec![Effect::Rerun { id, original: true }];
                }
            }
            KeyCode::Backspace => {
                h.filter.pop();
                h.cursor = 0;
            }
            KeyCode::Char(c) if !ctrl => {
                h.filter.push(c);
                h.cursor = 0;
            }
            _ => {}
        }
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
