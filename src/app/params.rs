//! The parameters popup: every key of `params::PARAMS` for one list entry,
//! edited as text and validated by `Settings::set` as you confirm.

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

    pub fn key(&self) -> &'static str {
        PARAMS[self.row.min(PARAMS.len() - 1)].key
    }

    pub fn move_by(&mut self, delta: isize) {
        self.row = (self.row as isize + delta).clamp(0, PARAMS.len() as isize - 1) as usize;
        self.error = None;
    }

    pub fn begin(&mut self) {
        self.input = Some(self.settings.get(self.key()));
        self.error = None;
    }

    /// Apply the typed value; on error keep editing and show why.
    pub fn commit(&mut self) {
        let Some(text) = self.input.clone() else { return };
        let key = self.key();
        match self.settings.set(key, &text) {
            Ok(()) => {
                self.input = None;
                self.error = None;
            }
            Err(e) => self.error = Some(e),
        }
    }
}
