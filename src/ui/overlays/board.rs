//! A table overlay: the leaderboard, a batch's matrix. The first line is
//! the header and stays in view; wide tables scroll sideways.

use ratatui::Frame;
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::centered;
use crate::app::App;
use crate::app::overlays::board::BoardView;
use crate::keymap::Action;

pub fn draw(frame: &mut Frame<'_>, app: &App, b: &BoardView) {
    let width = b.lines.iter().map(|l| l.chars().count()).max().unwrap_or(40).max(b.footer.chars().count()).max(50) as u16 + 4;
    let area = centered(frame.area(), width, b.lines.len() as u16 + 5);
    frame.render_widget(Clear, area);
    let block = Block::new().borders(Borders::ALL).title(format!(" {} ", b.title)).border_style(app.theme.accent);
    let cut = |l: &str| l.chars().skip(b.left).collect::<String>();
    let mut text: Vec<Line<'_>> = Vec::new();
    if let Some(head) = b.lines.first() {
        text.push(Line::styled(cut(head), app.theme.accent.add_modifier(Modifier::BOLD)));
    }
    text.extend(b.lines.iter().skip(1 + b.scroll).map(|l| Line::raw(cut(l))));
    text.push(Line::from(""));
    if !b.footer.is_empty() {
        text.push(Line::styled(b.footer.clone(), app.theme.dim));
    }
    let k = |a| app.keymap.label(a);
    text.push(Line::styled(
        format!(
            "{}/{} scroll · {}/{} sideways · {} closes",
            k(Action::BoardUp),
            k(Action::BoardDown),
            k(Action::BoardLeft),
            k(Action::BoardRight),
            k(Action::BoardClose)
        ),
        app.theme.dim,
    ));
    frame.render_widget(Paragraph::new(text).block(block), area);
}
