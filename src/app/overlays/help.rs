//! The key list, generated from the keymap; it scrolls on short terminals.

use super::Reply;
use crate::keymap::{Action, Keymap};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct HelpView {
    /// Lines scrolled off the top.
    pub scroll: usize,
}

impl HelpView {
    pub fn key(&mut self, action: Option<Action>) -> Reply {
        let max = Keymap::help_len();
        self.scroll = match action {
            Some(Action::HelpUp) => self.scroll.saturating_sub(1),
            Some(Action::HelpDown) => (self.scroll + 1).min(max),
            Some(Action::HelpPageUp) => self.scroll.saturating_sub(10),
            Some(Action::HelpPageDown) => (self.scroll + 10).min(max),
            // Any other key closes, as the title says.
            _ => return Reply::Close,
        };
        Reply::Stay
    }
}
