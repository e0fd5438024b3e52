//! The leaderboard of blind votes (`L`), as `versus leaderboard` prints it.

use super::Reply;
use crate::keymap::Action;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct BoardView {
    pub lines: Vec<String>,
    pub scroll: usize,
}

impl BoardView {
    pub fn new(table: &str) -> BoardView {
        BoardView { lines: table.lines().map(str::to_string).collect(), scroll: 0 }
    }

    pub fn key(&mut self, action: Option<Action>) -> Reply {
        match action {
            Some(Action::BoardUp) => self.scroll = self.scroll.saturating_sub(1),
            Some(Action::BoardDown) => self.scroll = (self.scroll + 1).min(self.lines.len().saturating_sub(1)),
            _ => return Reply::Close,
        }
        Reply::Stay
    }
}
