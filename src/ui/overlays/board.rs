//! The leaderboard overlay.

use ratatui::Frame;
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::centered;
use crate::app::App;
use crate::app::overlays::board::BoardView;
use crate::keymap::Action;

pub fn draw(frame: &mut Frame<'_>, app: &App, b: &BoardView) {
    let width = b.lines.iter().map(|l| l.chars().count()).max().unwrap_or(40).max(50) as u16 + 4;
    let area = centered(frame.area(), width, b.lines.len() as u16 + 4);
    frame.render_widget(Clear, area);
    let block = Block::new().borders(Borders::ALL).title(" Leaderboard · blind votes ").border_style(app.theme.accent);
    let mut text: Vec<Line<'_>> = b
        .lines
        .iter()
        .enumerate()
        .skip(b.scroll)
        .map(|(i, l)| if i == 0 { Line::styled(l.clone(), app.theme.accent.add_modifier(Modifier::BOLD)) } else { Line::raw(l.clone()) })
        .collect();
    text.push(Line::from(""));
    text.push(Line::styled(
        format!("{} closes · versus leaderboard --json for the figures", app.keymap.label(Action::BoardClose)),
        app.theme.dim,
    ));
    frame.render_widget(Paragraph::new(text).block(block), area);
}
