//! Popups drawn over everything: help (generated from the keymap), the
//! parameters editor and the quit confirmation.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::app::{App, Overlay, ParamsEditor};
use crate::keymap::{Action, Keymap};
use crate::params::PARAMS;

pub fn draw(frame: &mut Frame<'_>, app: &App) {
    match &app.overlay {
        Overlay::None => {}
        Overlay::Help(scroll) => help(frame, app, *scroll),
        Overlay::Params(p) => params(frame, app, p),
        Overlay::ConfirmQuit => confirm(frame),
        Overlay::History(h) => history(frame, h),
    }
}

fn history(frame: &mut Frame<'_>, h: &crate::app::HistoryView) {
    let area = centered(frame.area(), 110, frame.area().height.saturating_sub(4).max(8));
    frame.render_widget(Clear, area);
    let visible = h.visible();
    let mut lines = vec![Line::from(vec![
        Span::styled(" filter: ", Style::new().fg(Color::DarkGray)),
        Span::styled(format!("{}▏", h.filter), Style::new().fg(Color::Yellow)),
        Span::styled(format!("   {} of {}", visible.len(), h.items.len()), Style::new().fg(Color::DarkGray)),
    ])];
    lines.push(Line::from(""));
    if h.items.is_empty() {
        lines.push(Line::from(" No saved comparisons yet: every run is saved as it streams."));
    }
    let rows = area.height.saturating_sub(5) as usize;
    let start = h.cursor.saturating_sub(rows.saturating_sub(1));
    for (i, r) in visible.iter().enumerate().skip(start).take(rows) {
        let style = if i == h.cursor { Style::new().bg(Color::DarkGray) } else { Style::new() };
        let when: String = r.started_at.chars().take(16).collect::<String>().replace('T', " ");
        let prompt: String = r.prompt.replace('\n', " ").chars().take(44).collect();
        lines.push(Line::from(vec![
            Span::styled(format!(" #{:<5}", r.id), style.fg(Color::Cyan)),
            Span::styled(format!("{when}  "), style.fg(Color::Gray)),
            Span::styled(
                format!("{:<11}", r.state.as_str()),
                style.fg(match r.state {
                    crate::store::RunState::Complete => Color::Green,
                    crate::store::RunState::Failed => Color::Red,
                    crate::store::RunState::Interrupted => Color::Yellow,
                    _ => Color::Magenta,
                }),
            ),
            Span::styled(format!("{prompt:<45}"), style),
            Span::styled(r.models.join(", "), style.fg(Color::DarkGray)),
        ]));
    }
    let block = Block::new()
        .borders(Borders::ALL)
        .title(" Saved comparisons · type to filter · Enter opens · Ctrl-R reruns on the selected models · Ctrl-O on its own · Esc ")
        .border_style(Style::new().fg(Color::Cyan));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(height.min(area.height))]).flex(Flex::Center).areas(area);
    let [h] = Layout::horizontal([Constraint::Length(width.min(area.width))]).flex(Flex::Center).areas(v);
    h
}

/// Lines of the help overlay, generated from the keymap.
pub fn help_lines(app: &App) -> Vec<Line<'static>> {
    let key_text = |a: Action| app.keymap.keys(a).iter().map(|k| k.to_string()).collect::<Vec<_>>().join(" ");
    let width = Action::ALL.iter().map(|a| key_text(*a).chars().count()).max().unwrap_or(10).min(30) + 2;
    let mut lines = Vec::new();
    for (scope, actions) in Keymap::help_sections() {
        lines.push(Line::styled(scope.title(), Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)));
        for a in &actions {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<width$}", key_text(*a)), Style::new().fg(Color::Yellow)),
                Span::raw(a.help()),
            ]));
        }
    }
    lines
}

fn help(frame: &mut Frame<'_>, app: &App, scroll: usize) {
    let lines = help_lines(app);
    let area = centered(frame.area(), 86, lines.len() as u16 + 2);
    let fits = lines.len() + 2 <= area.height as usize;
    let title = if fits {
        " Keys · any key closes · [ui.keys] in the config changes them ".to_string()
    } else {
        " Keys · j/k scroll · any other key closes ".to_string()
    };
    let max_scroll = (lines.len() + 2).saturating_sub(area.height as usize);
    frame.render_widget(Clear, area);
    let block = Block::new().borders(Borders::ALL).title(title).border_style(Style::new().fg(Color::Cyan));
    let para = Paragraph::new(lines).block(block).scroll((scroll.min(max_scroll) as u16, 0));
    frame.render_widget(para, area);
}

fn params(frame: &mut Frame<'_>, app: &App, p: &ParamsEditor) {
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
        let style = if current { Style::new().bg(Color::DarkGray) } else { Style::new() };
        lines.push(Line::from(vec![
            Span::styled(format!(" {:<15}", spec.key), style.fg(Color::Cyan)),
            Span::styled(format!("{value:<22}"), style.add_modifier(Modifier::BOLD)),
            Span::styled(format!(" {} · {}", spec.allowed, spec.help), style.fg(Color::DarkGray)),
        ]));
    }
    lines.push(Line::from(""));
    match &p.error {
        Some(e) => lines.push(Line::styled(format!(" {e}"), Style::new().fg(Color::Red).add_modifier(Modifier::BOLD))),
        None => lines.push(Line::styled(
            " Enter edits · Enter/Esc confirms/undoes · Esc closes · applies to the next run",
            Style::new().fg(Color::DarkGray),
        )),
    }
    frame.render_widget(Clear, area);
    let block = Block::new().borders(Borders::ALL).title(format!(" Parameters · {name} ")).border_style(Style::new().fg(Color::Cyan));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn confirm(frame: &mut Frame<'_>) {
    let area = centered(frame.area(), 46, 5);
    frame.render_widget(Clear, area);
    let block = Block::new().borders(Borders::ALL).title(" Quit? ").border_style(Style::new().fg(Color::Yellow));
    let text = vec![
        Line::from("A run is in progress; it will be cancelled."),
        Line::from(""),
        Line::styled("y quits · any other key stays", Style::new().fg(Color::DarkGray)),
    ];
    frame.render_widget(Paragraph::new(text).block(block), area);
}
