//! "Quit while a run is active?": the bound key quits (cancelling the
//! run), any other key stays.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::{Ctx, Overlay, Reply, centered};
use crate::keymap::{Action, Scope};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfirmQuit;

impl Overlay for ConfirmQuit {
    fn scope(&self) -> Scope {
        Scope::Confirm
    }

    fn key(&mut self, action: Option<Action>, _: &KeyEvent) -> Reply {
        if action == Some(Action::ConfirmQuit) { Reply::Quit } else { Reply::Close }
    }

    fn draw(&self, frame: &mut Frame<'_>, ctx: &Ctx<'_>) {
        let area = centered(frame.area(), 46, 5);
        frame.render_widget(Clear, area);
        let block = Block::new().borders(Borders::ALL).title(" Quit? ").border_style(ctx.theme.warning);
        let text = vec![
            Line::from("A run is in progress; it will be cancelled."),
            Line::from(""),
            Line::styled(format!("{} quits · any other key stays", ctx.keymap.label(Action::ConfirmQuit)), ctx.theme.dim),
        ];
        frame.render_widget(Paragraph::new(text).block(block), area);
    }

    fn name(&self) -> &'static str {
        "confirm"
    }
}
