//! A table in an overlay: the leaderboard of votes (`L`, as `versus
//! leaderboard` prints it) and a batch's prompts × models (Ctrl-B in the
//! saved comparisons, as `versus report` prints it).

use super::Reply;
use crate::keymap::Action;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct BoardView {
    pub title: String,
    pub lines: Vec<String>,
    /// A dim line under the table (a legend, the command that prints it).
    pub footer: String,
    pub scroll: usize,
    /// Characters scrolled off to the left (wide tables).
    pub left: usize,
}

impl BoardView {
    pub fn new(title: &str, table: &str, footer: &str) -> BoardView {
        BoardView { title: title.into(), lines: table.lines().map(str::to_string).collect(), footer: footer.into(), scroll: 0, left: 0 }
    }

    pub fn key(&mut self, action: Option<Action>) -> Reply {
        let widest = self.lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
        match action {
            Some(Action::BoardUp) => self.scroll = self.scroll.saturating_sub(1),
            Some(Action::BoardDown) => self.scroll = (self.scroll + 1).min(self.lines.len().saturating_sub(1)),
            Some(Action::BoardLeft) => self.left = self.left.saturating_sub(8),
            Some(Action::BoardRight) => self.left = (self.left + 8).min(widest.saturating_sub(1)),
            _ => return Reply::Close,
        }
        Reply::Stay
    }
}
