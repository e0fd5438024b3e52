//! The key list, generated from the keymap: every scope, its actions, their
//! keys and what they do.

use ratatui::Frame;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::centered;
use crate::app::{App, HelpView};
use crate::keymap::{Action, Keymap};

/// Lines of the help overlay, generated from the keymap.
pub fn help_lines(app: &App) -> Vec<Line<'static>> {
    let key_text = |a: Action| app.keymap.keys(a).iter().map(|k| k.to_string()).collect::<Vec<_>>().join(" ");
    let width = Action::ALL.iter().map(|a| key_text(*a).chars().count()).max().unwrap_or(10).min(30) + 2;
    let mut lines = Vec::new();
    for (scope, actions) in Keymap::help_sections() {
        lines.push(Line::styled(scope.title(), app.theme.accent));
        for a in &actions {
            lines.push(Line::from(vec![Span::styled(format!("  {:<width$}", key_text(*a)), app.theme.key), Span::raw(a.help())]));
        }
    }
    lines
}

pub fn draw(frame: &mut Frame<'_>, app: &App, h: &HelpView) {
    let lines = help_lines(app);
    let area = centered(frame.area(), 86, lines.len() as u16 + 2);
    let fits = lines.len() + 2 <= area.height as usize;
    let scroll = app.keymap.label(Action::HelpDown);
    let title = if fits {
        " Keys · any key closes · [ui.keys] in the config changes them ".to_string()
    } else {
        format!(" Keys · {scroll} scroll · any other key closes ")
    };
    let max_scroll = (lines.len() + 2).saturating_sub(area.height as usize);
    frame.render_widget(Clear, area);
    let block = Block::new().borders(Borders::ALL).title(title).border_style(app.theme.accent);
    let para = Paragraph::new(lines).block(block).scroll((h.scroll.min(max_scroll) as u16, 0));
    frame.render_widget(para, area);
}
