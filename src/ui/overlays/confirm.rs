//! "Quit while a run is active?"

use ratatui::Frame;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::centered;
use crate::app::App;
use crate::keymap::Action;

pub fn draw(frame: &mut Frame<'_>, app: &App) {
    let area = centered(frame.area(), 46, 5);
    frame.render_widget(Clear, area);
    let block = Block::new().borders(Borders::ALL).title(" Quit? ").border_style(app.theme.warning);
    let text = vec![
        Line::from("A run is in progress; it will be cancelled."),
        Line::from(""),
        Line::styled(format!("{} quits · any other key stays", app.keymap.label(Action::ConfirmQuit)), app.theme.dim),
    ];
    frame.render_widget(Paragraph::new(text).block(block), area);
}
