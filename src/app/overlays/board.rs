//! A table in an overlay: the leaderboard of votes (`L`, as `versus
//! leaderboard` prints it; its win matrix a key away) and a batch's
//! prompts × models (from the saved comparisons, as `versus report`
//! prints it). The first line is the header
//! and stays in view; wide tables scroll sideways.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::{Ctx, Overlay, Reply, centered};
use crate::keymap::{Action, Scope};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct BoardView {
    pub title: String,
    pub lines: Vec<String>,
    /// A dim line under the table (a legend, the command that prints it).
    pub footer: String,
    pub scroll: usize,
    /// Characters scrolled off to the left (wide tables).
    pub left: usize,
    /// A second table the page key flips to (the leaderboard's matrix):
    /// its title and lines.
    pub other: Option<(String, Vec<String>)>,
}

impl BoardView {
    pub fn new(title: &str, table: &str, footer: &str) -> BoardView {
        BoardView {
            title: title.into(),
            lines: table.lines().map(str::to_string).collect(),
            footer: footer.into(),
            scroll: 0,
            left: 0,
            other: None,
        }
    }

    /// With a second table (none when `table` is empty).
    pub fn with_page(mut self, title: &str, table: &str) -> BoardView {
        if !table.trim().is_empty() {
            self.other = Some((title.into(), table.lines().map(str::to_string).collect()));
        }
        self
    }
}

impl Overlay for BoardView {
    fn scope(&self) -> Scope {
        Scope::Board
    }

    fn key(&mut self, action: Option<Action>, _: &KeyEvent) -> Reply {
        let widest = self.lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
        match action {
            Some(Action::BoardUp) => self.scroll = self.scroll.saturating_sub(1),
            Some(Action::BoardDown) => self.scroll = (self.scroll + 1).min(self.lines.len().saturating_sub(1)),
            Some(Action::BoardLeft) => self.left = self.left.saturating_sub(8),
            Some(Action::BoardRight) => self.left = (self.left + 8).min(widest.saturating_sub(1)),
            Some(Action::BoardPage) if self.other.is_some() => {
                if let Some((title, lines)) = self.other.as_mut() {
                    std::mem::swap(&mut self.title, title);
                    std::mem::swap(&mut self.lines, lines);
                }
                (self.scroll, self.left) = (0, 0);
            }
            _ => return Reply::Close,
        }
        Reply::Stay
    }

    fn draw(&self, frame: &mut Frame<'_>, ctx: &Ctx<'_>) {
        let b = self;
        let width = b.lines.iter().map(|l| l.chars().count()).max().unwrap_or(40).max(b.footer.chars().count()).max(50) as u16 + 4;
        let area = centered(frame.area(), width, b.lines.len() as u16 + 5);
        frame.render_widget(Clear, area);
        let block = Block::new().borders(Borders::ALL).title(format!(" {} ", b.title)).border_style(ctx.theme.accent);
        let cut = |l: &str| l.chars().skip(b.left).collect::<String>();
        let mut text: Vec<Line<'_>> = Vec::new();
        if let Some(head) = b.lines.first() {
            text.push(Line::styled(cut(head), ctx.theme.accent.add_modifier(Modifier::BOLD)));
        }
        text.extend(b.lines.iter().skip(1 + b.scroll).map(|l| Line::raw(cut(l))));
        text.push(Line::from(""));
        if !b.footer.is_empty() {
            text.push(Line::styled(b.footer.clone(), ctx.theme.dim));
        }
        let k = |a| ctx.keymap.label(a);
        let page = match &b.other {
            Some((title, _)) => format!(" · {} {}", k(Action::BoardPage), title.rsplit(" · ").next().unwrap_or(title)),
            None => String::new(),
        };
        text.push(Line::styled(
            format!(
                "{}/{} scroll · {}/{} sideways{page} · {} closes",
                k(Action::BoardUp),
                k(Action::BoardDown),
                k(Action::BoardLeft),
                k(Action::BoardRight),
                k(Action::BoardClose)
            ),
            ctx.theme.dim,
        ));
        frame.render_widget(Paragraph::new(text).block(block), area);
    }

    fn name(&self) -> &'static str {
        "board"
    }
}
