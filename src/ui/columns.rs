//! The answer columns: a header with the model and its phase, the streamed
//! text (only the visible lines are touched, so long answers draw as fast
//! as short ones), the error in its own style, the stats in the footer.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::app::{App, Column, Focus};
use crate::engine::answer::Status;
use crate::error::human_bytes;
use crate::layout;

pub fn draw(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let Some(run) = &app.run else {
        return empty(frame, app, area);
    };
    let l = layout::columns(area, run.columns.len(), app.zoom, app.active_column);
    if let Some(tabs) = l.tabs {
        let mut spans = Vec::new();
        for (i, c) in run.columns.iter().enumerate() {
            // The active tab is reverse video and bracketed: visible without colour.
            let (style, open, close) = if i == app.active_column { (app.theme.selected, "[", "]") } else { (app.theme.stats, " ", " ") };
            spans.push(Span::styled(format!("{open}{} {}{close}", c.answer.status.marker(), c.label), style));
            spans.push(Span::raw(" "));
        }
        frame.render_widget(Paragraph::new(Line::from(spans)), tabs);
    }
    for (i, rect) in l.shown {
        column(frame, app, &run.columns[i], i, rect);
    }
}

fn empty(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let block = Block::new().borders(Borders::ALL).title(" Answers ").border_style(super::border(app, Focus::Columns));
    let run = app.keymap.label(crate::keymap::Action::Run);
    let lines = if app.list.entries.is_empty() {
        let mut l = vec![
            Line::styled("No models yet.", Style::new().add_modifier(Modifier::BOLD)),
            Line::from(""),
            Line::from("versus looked in:"),
        ];
        l.extend(app.searched.iter().map(|s| Line::from(format!("  {s}"))));
        l.extend([
            Line::from(""),
            Line::from("Get the demo model (Gemma 3 270M, 241 MiB) with:"),
            Line::styled("  scripts/fetch-demo-model.sh", app.theme.key),
            Line::from("then start versus again. GGUF files and Hugging Face folders in ~/.local/share/versus/models or in the config's [models] folders are found, and so are the Hugging Face cache, Ollama and LM Studio."),
        ]);
        l
    } else {
        vec![
            Line::from("1. Space selects models in the list (d adds a copy to compare settings)."),
            Line::from("2. Tab to the prompt and type."),
            Line::from(format!("3. {run} runs it: each model answers in its own column, one after another.")),
            Line::from(""),
            Line::from("? shows every key."),
        ]
    };
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(block), area);
}

fn header(app: &App, c: &Column) -> Line<'static> {
    let status = c.answer.status;
    let text = match status {
        Status::Loading => format!("loading {:.1} s", app.now.saturating_duration_since(c.since).as_secs_f64()),
        other => other.label().to_string(),
    };
    Line::from(vec![
        Span::styled(format!(" {} {text} ", c.answer.status.marker()), app.theme.status(status)),
        Span::styled(c.label.clone(), Style::new().add_modifier(Modifier::BOLD)),
        Span::styled(format!(" · {} ", c.engine.label()), app.theme.dim),
    ])
}

/// The stats: one line in the bottom border when it fits ("load 0.52 s ·
/// ttft 31 ms · 27.1 tok/s · 128 tok · peak 380 MiB · eos"), else speed,
/// tokens and memory in the border and load, ttft and stop reason on a
/// line of their own inside the column.
pub fn footer(c: &Column, width: usize) -> (String, Option<String>) {
    match &c.answer.stats {
        Some(s) => {
            let ttft = s.ttft_ms.map(|t| format!(" · ttft {t:.0} ms")).unwrap_or_default();
            let stop = s.stop_reason.as_ref().map(|r| format!(" · {}", r.label())).unwrap_or_default();
            let (load, peak) = if s.remote {
                ("remote".to_string(), "n/a".to_string())
            } else {
                (format!("load {:.2} s", s.load_ms / 1e3), human_bytes(s.peak_rss_bytes))
            };
            let full = format!(" {load}{ttft} · {:.1} tok/s · {} tok · peak {peak}{stop} ", s.decode_tps, s.generated_tokens);
            if full.chars().count() <= width {
                return (full, None);
            }
            let mem = if s.remote { "remote".to_string() } else { human_bytes(s.peak_rss_bytes).replace(' ', "") };
            let border = format!(" {:.1} t/s · {} tok · {mem} ", s.decode_tps, s.generated_tokens);
            let ttft = s.ttft_ms.map(|t| format!(" · ttft {t:.0}ms")).unwrap_or_default();
            let mut inner = if s.remote { format!("served{ttft}") } else { format!("load {:.2}s{ttft}", s.load_ms / 1e3) };
            if inner.chars().count() + stop.chars().count() <= width {
                inner.push_str(&stop);
            }
            (border, Some(inner))
        }
        None => match c.answer.load_ms {
            Some(ms) => (format!(" load {:.2} s ", ms / 1e3), None),
            None => (String::new(), None),
        },
    }
}

fn column(frame: &mut Frame<'_>, app: &App, c: &Column, index: usize, rect: Rect) {
    let active = index == app.active_column && app.focus == Focus::Columns;
    let border = if active {
        app.theme.accent
    } else if c.answer.status == Status::Failed {
        app.theme.failed
    } else {
        app.theme.dim
    };
    let (foot, extra) = footer(c, rect.width.saturating_sub(2) as usize);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(border)
        .title(header(app, c))
        .title_bottom(Line::styled(foot.clone(), app.theme.stats));
    let mut inner = block.inner(rect);
    frame.render_widget(block, rect);
    if let Some(extra) = extra {
        if inner.height > 2 {
            inner.height -= 1;
            let line = Rect { y: inner.y + inner.height, height: 1, ..inner };
            frame.render_widget(Paragraph::new(Line::styled(extra, app.theme.stats)), line);
        }
    }
    let height = inner.height as usize;
    let top = c.top(height);
    let text_lines = c.wrap.len();
    let mut lines = Vec::with_capacity(height);
    for i in top..(top + height).min(c.total_lines()) {
        if i < text_lines {
            lines.push(Line::raw(super::sanitize(c.wrap.line(&c.answer.text, i))));
        } else {
            let gap = usize::from(text_lines > 0);
            if i < text_lines + gap {
                lines.push(Line::raw(""));
            } else if let Some(err) = &c.answer.error {
                let line = c.error_wrap.line(err, i - text_lines - gap);
                lines.push(Line::styled(super::sanitize(line), app.theme.error));
            }
        }
    }
    if lines.is_empty() && c.answer.status == Status::Queued {
        lines.push(Line::styled("waiting for the models before it", app.theme.dim));
    }
    frame.render_widget(Paragraph::new(lines), inner);
    if c.answer.status == Status::Cancelled && height > 0 && c.total_lines() < height {
        let y = inner.y + c.total_lines().min(height - 1) as u16;
        let mark = Paragraph::new(Line::styled("[cancelled]", app.theme.cancelled));
        frame.render_widget(mark, Rect { y, height: 1, ..inner });
    }
}
