//! The parameters popup: every parameter of one list entry with its value,
//! range and help; the row being edited shows what is typed.

use ratatui::Frame;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::centered;
use crate::app::{App, ParamsEditor};
use crate::keymap::Action;
use crate::params::PARAMS;

pub fn draw(frame: &mut Frame<'_>, app: &App, p: &ParamsEditor) {
    let t = &app.theme;
    let name = app.list.entries.get(p.entry).map(|e| app.list.model(e).name.clone()).unwrap_or_default();
    let area = centered(frame.area(), 90, PARAMS.len() as u16 + 4);
    // Rows that fit between the border and the message line; on a short
    // terminal the list scrolls to keep the current row in view.
    let rows = (area.height as usize).saturating_sub(4).max(1);
    let first = p.row.saturating_sub(rows / 2).min(PARAMS.len().saturating_sub(rows));
    let mut lines = Vec::new();
    for (i, spec) in PARAMS.iter().enumerate().skip(first).take(rows) {
        let current = i == p.row;
        let value = match (&p.input, current) {
            (Some(input), true) => format!("{input}▏"),
            _ => p.settings.get(spec.key),
        };
        let (row, mark) = if current { (t.selected, "›") } else { (ratatui::style::Style::new(), " ") };
        lines.push(Line::from(vec![
            Span::styled(format!("{mark}{:<15}", spec.key), row.patch(t.accent)),
            Span::styled(format!("{value:<22}"), row.add_modifier(Modifier::BOLD)),
            Span::styled(format!(" {}", spec.describe()), row.patch(t.dim)),
        ]));
    }
    lines.push(Line::from(""));
    let k = |a: Action| app.keymap.label(a);
    match &p.error {
        Some(e) => lines.push(Line::styled(format!(" {e}"), t.error)),
        None => lines.push(Line::styled(
            format!(
                " {} edits · {}/{} keeps/undoes · {} closes · applies to the next run",
                k(Action::ParamsEdit),
                k(Action::ParamCommit),
                k(Action::ParamAbort),
                k(Action::ParamsClose)
            ),
            t.dim,
        )),
    }
    frame.render_widget(Clear, area);
    let block = Block::new().borders(Borders::ALL).title(format!(" Parameters · {name} ")).border_style(t.accent);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
