//! The model list pane.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, Paragraph, Wrap};

use crate::app::{App, Focus};

pub fn draw(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let list = &app.list;
    let selected = list.selected().len();
    let title = if list.filtering || !list.filter.is_empty() {
        format!(" Models /{}{} ", list.filter, if list.filtering { "▏" } else { "" })
    } else {
        format!(" Models {selected}/{} ", list.entries.len())
    };
    let block = Block::new().borders(Borders::ALL).title(title).border_style(super::border(app, Focus::Models));
    if list.entries.is_empty() {
        let text = vec![
            Line::from("No models found."),
            Line::from(""),
            Line::from("Fetch the demo model:"),
            Line::styled("scripts/fetch-demo-model.sh", app.theme.key),
            Line::from(""),
            Line::from("or put models in ~/.local/share/versus/models, or start versus with folders: versus ~/models"),
        ];
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }).block(block), area);
        return;
    }
    if app.run.as_ref().is_some_and(|r| r.hidden()) {
        // Which models run, and their phases, would tell the columns apart.
        let text = vec![Line::styled("Blind run: the models are shown after your vote.", app.theme.dim)];
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }).block(block), area);
        return;
    }
    let phases = app.run.as_ref().map(|r| &r.columns);
    let width = area.width.saturating_sub(4) as usize;
    let highlighted = |i: usize| app.focus == Focus::Models && list.current() == Some(i);
    let items: Vec<ListItem<'_>> = list
        .visible()
        .iter()
        .map(|&i| {
            let e = &list.entries[i];
            let m = list.model(e);
            let phase = phases.and_then(|cols| cols.iter().find(|c| c.entry == i)).map(|c| c.answer.status.marker());
            let mark = match (e.selected, phase) {
                (_, Some(p)) => p.to_string(),
                (true, None) => "●".into(),
                (false, None) => "○".into(),
            };
            let mut name = m.name.clone();
            if e.copy > 0 {
                name = format!("{name} #{}", e.copy + 1);
            }
            let detail = format!(
                "{} {} {}{}",
                m.format.label(),
                m.quantization.as_deref().unwrap_or(""),
                m.size_label(),
                if crate::engine::engines_for(&m).first() == Some(&e.engine) { String::new() } else { format!(" @{}", e.engine.label()) }
            );
            let style = if m.error.is_some() { app.theme.failed } else { Style::new() };
            let diff = e.settings.diff(&e.base);
            let mut lines = vec![Line::from(vec![
                Span::styled(format!("{mark} "), if e.selected { app.theme.chosen } else { app.theme.dim_on(highlighted(i)) }),
                Span::styled(truncate(&name, width), style.add_modifier(Modifier::BOLD)),
            ])];
            let second = match (&m.error, diff.is_empty()) {
                (Some(err), _) => format!("  {}", truncate(err, width.saturating_sub(2))),
                (None, true) => format!("  {}", truncate(&detail, width.saturating_sub(2))),
                (None, false) => format!("  {}", truncate(&diff.join(" "), width.saturating_sub(2))),
            };
            lines.push(Line::styled(second, if m.error.is_some() { app.theme.failed } else { app.theme.dim_on(highlighted(i)) }));
            ListItem::new(lines)
        })
        .collect();
    let mut state = ListState::default().with_selected(Some(list.cursor));
    let highlight = if app.focus == Focus::Models { app.theme.selected } else { Style::new() };
    frame.render_stateful_widget(List::new(items).block(block).highlight_style(highlight), area, &mut state);
}

fn truncate(s: &str, width: usize) -> String {
    if crate::wrap::str_width(s) <= width {
        return s.to_string();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = crate::wrap::char_width(c);
        if w + cw + 1 > width {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    out
}
