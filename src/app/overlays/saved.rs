//! The saved-comparisons overlay: a filterable list of stored runs. The
//! event loop reads the store; this is only the list, its cursor and its
//! keys (typing filters it).

use crossterm::event::KeyEvent;

use super::{Reply, type_into};
use crate::app::Effect;
use crate::keymap::Action;
use crate::store::RunSummary;

#[derive(Debug, Clone, PartialEq)]
pub struct HistoryView {
    pub items: Vec<RunSummary>,
    /// Words that must all appear in the prompt, a model, the date or the state.
    pub filter: String,
    pub cursor: usize,
}

impl HistoryView {
    pub fn new(items: Vec<RunSummary>) -> HistoryView {
        HistoryView { items, filter: String::new(), cursor: 0 }
    }

    pub fn visible(&self) -> Vec<&RunSummary> {
        let words: Vec<String> = self.filter.to_lowercase().split_whitespace().map(str::to_string).collect();
        self.items
            .iter()
            .filter(|r| {
                let hay = format!("{} {} {} {} #{}", r.prompt, r.models.join(" "), r.started_at, r.state.as_str(), r.id).to_lowercase();
                words.iter().all(|w| hay.contains(w))
            })
            .collect()
    }

    pub fn current(&self) -> Option<i64> {
        self.visible().get(self.cursor).map(|r| r.id)
    }

    pub fn move_by(&mut self, delta: isize) {
        let n = self.visible().len();
        self.cursor = if n == 0 { 0 } else { (self.cursor as isize + delta).clamp(0, n as isize - 1) as usize };
    }

    pub fn key(&mut self, action: Option<Action>, ev: &KeyEvent) -> Reply {
        let chosen = |effect: fn(i64) -> Effect| match self.current() {
            Some(id) => Reply::Effects(vec![effect(id)]),
            None => Reply::Stay,
        };
        match action {
            Some(Action::SavedUp) => self.move_by(-1),
            Some(Action::SavedDown) => self.move_by(1),
            Some(Action::SavedPageUp) => self.move_by(-10),
            Some(Action::SavedPageDown) => self.move_by(10),
            Some(Action::SavedOpen) => return chosen(Effect::OpenStored),
            Some(Action::SavedRerun) => return chosen(|id| Effect::Rerun { id, original: false }),
            Some(Action::SavedRerunOriginal) => return chosen(|id| Effect::Rerun { id, original: true }),
            Some(Action::SavedMatrix) => return chosen(Effect::Matrix),
            Some(Action::SavedClose) => return Reply::Close,
            _ => {
                if type_into(&mut self.filter, ev) {
                    self.cursor = 0;
                }
            }
        }
        Reply::Stay
    }
}
