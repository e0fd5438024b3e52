//! The parameters popup: every key of `params::PARAMS` for one list entry,
//! edited as text and validated by `Settings::set` as you confirm.

use crossterm::event::KeyEvent;

use super::{Reply, type_into};
use crate::keymap::Action;
use crate::params::{PARAMS, Settings};

#[derive(Debug, Clone, PartialEq)]
pub struct ParamsEditor {
    /// The list entry being edited.
    pub entry: usize,
    pub settings: Settings,
    pub row: usize,
    /// The value being typed, when editing a row.
    pub input: Option<String>,
    /// Why the last value was refused.
    pub error: Option<String>,
}

impl ParamsEditor {
    pub fn new(entry: usize, settings: Settings) -> ParamsEditor {
        ParamsEditor { entry, settings, row: 0, input: None, error: None }
    }

    /// The parameter on the current row.
    pub fn current(&self) -> &'static str {
        PARAMS[self.row.min(PARAMS.len() - 1)].key
    }

    pub fn move_by(&mut self, delta: isize) {
        self.row = (self.row as isize + delta).clamp(0, PARAMS.len() as isize - 1) as usize;
        self.error = None;
    }

    pub fn begin(&mut self) {
        self.input = Some(self.settings.get(self.current()));
        self.error = None;
    }

    /// Apply the typed value; on error keep editing and show why.
    pub fn commit(&mut self) {
        let Some(text) = self.input.clone() else { return };
        let key = self.current();
        match self.settings.set(key, &text) {
            Ok(()) => {
                self.input = None;
                self.error = None;
            }
            Err(e) => self.error = Some(e),
        }
    }

    pub fn key(&mut self, action: Option<Action>, ev: &KeyEvent) -> Reply {
        if let Some(input) = self.input.as_mut() {
            match action {
                Some(Action::ParamCommit) => self.commit(),
                Some(Action::ParamAbort) => {
                    self.input = None;
                    self.error = None;
                }
                _ => {
                    type_into(input, ev);
                }
            }
            return Reply::Stay;
        }
        match action {
            Some(Action::ParamsUp) => self.move_by(-1),
            Some(Action::ParamsDown) => self.move_by(1),
            Some(Action::ParamsEdit) => self.begin(),
            Some(Action::ParamsClose) => return Reply::Apply(self.clone()),
            _ => {}
        }
        Reply::Stay
    }
}
