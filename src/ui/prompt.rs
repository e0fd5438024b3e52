//! The prompt editor (a ratatui-textarea widget) and the system prompt.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::{Block, Borders};

use crate::app::{App, Focus};

pub fn draw(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let (editor, title) = if app.editing_system {
        (&app.system, " System prompt (Ctrl-T: back to the prompt) ".to_string())
    } else {
        let sys = if app.system_text().trim().is_empty() { "" } else { " · system prompt set" };
        (&app.prompt, format!(" Prompt{sys} "))
    };
    let block = Block::new().borders(Borders::ALL).title(title).border_style(super::border(app, Focus::Prompt));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    frame.render_widget(editor, inner);
}
