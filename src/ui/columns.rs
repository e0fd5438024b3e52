//! The answer columns: a header with the model and its phase, the streamed
//! text (only the visible lines are touched, so long answers draw as fast
//! as short ones), the error in its own style, the stats in the footer.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::app::{App, Column, Focus, RunView};
use crate::engine::protocol::answer::Status;
use crate::error::human_bytes;
use crate::layout;

pub fn draw(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let Some(run) = &app.run else {
        return empty(frame, app, area);
    };
    let l = layout::columns(area, run.columns.len(), app.zoom, app.active_column);
    if let Some(tabs) = l.tabs {
        let mut spans = Vec::new();
        let each = (tabs.width as usize / run.columns.len().max(1)).saturating_sub(5).max(8);
        for (i, c) in run.columns.iter().enumerate() {
            // The active tab is reverse video and bracketed: visible without colour.
            let (style, open, close) = if i == app.active_column { (app.theme.selected, "[", "]") } else { (app.theme.stats, " ", " ") };
            let label = crate::wrap::shorten_label(&name(run, i), each);
            spans.push(Span::styled(format!("{open}{} {label}{close}", c.answer.status.marker()), style));
            spans.push(Span::raw(" "));
        }
        frame.render_widget(Paragraph::new(Line::from(spans)), tabs);
    }
    for (i, rect) in l.shown {
        column(frame, app, run, i, rect);
    }
}

/// A column's name: its model's, or "Model B" and its number while blind.
pub fn name(run: &RunView, i: usize) -> String {
    match (run.hidden(), run.columns.get(i)) {
        (true, _) => format!("Model {} [{}]", crate::app::blind::letter(i), i + 1),
        (false, Some(c)) => c.label.clone(),
        (false, None) => String::new(),
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

/// The header in `width` columns: the phase, a diff's figure, then the
/// name, shortened in its middle so that what tells two copies of one
/// model apart (engine, changed settings) stays in view.
fn header(app: &App, run: &RunView, i: usize, width: u16) -> Line<'static> {
    let c = &run.columns[i];
    let status = c.answer.status;
    let text = match status {
        Status::Loading => format!("loading {:.1} s", app.now.saturating_duration_since(c.since).as_secs_f64()),
        other => other.label().to_string(),
    };
    let phase = format!(" {} {text} ", c.answer.status.marker());
    // A diff's figure first: narrow headers cut the end.
    let diff = c.diff.as_ref().map(|d| format!("{} · ", d.title)).unwrap_or_default();
    let mark = match app.diff_mark {
        Some((col, s)) if col == i && c.samples.k > 1 => format!("diff mark (sample {}) · ", s + 1),
        Some((col, _)) if col == i => "diff mark · ".to_string(),
        _ => String::new(),
    };
    // Samples: which one is shown and how far they agree.
    let mark = match c.samples_label() {
        Some(s) => format!("{s} · {mark}"),
        None => mark,
    };
    let mut engine = if run.hidden() { " ".to_string() } else { format!(" · {} ", c.engine.label()) };
    let width_of = |parts: [&String; 4]| parts.iter().map(|s| crate::wrap::str_width(s)).sum::<usize>();
    let mut room = (width as usize).saturating_sub(2 + width_of([&phase, &diff, &mark, &engine]));
    // Where every column runs one engine and the name would be cut, the
    // engine gives its room to the name (the list says which it is).
    let one_engine = run.columns.iter().all(|o| o.engine == c.engine);
    if one_engine && crate::wrap::str_width(&name(run, i)) > room && !run.hidden() {
        engine = " ".into();
        room = (width as usize).saturating_sub(2 + width_of([&phase, &diff, &mark, &engine]));
    }
    Line::from(vec![
        Span::styled(phase, app.theme.status(status)),
        Span::styled(diff, app.theme.key),
        Span::styled(mark, app.theme.key),
        Span::styled(crate::wrap::shorten_label(&name(run, i), room), Style::new().add_modifier(Modifier::BOLD)),
        Span::styled(engine, app.theme.dim),
    ])
}

/// The stats: one line in the bottom border when it fits ("load 0.52 s ·
/// ttft 31 ms · 27.1 tok/s · 128 tok · mem 230 MiB · eos"), else speed,
/// tokens and memory in the border and load, ttft and stop reason on a
/// line of their own inside the column.
pub fn footer(c: &Column, width: usize) -> (String, Option<String>) {
    match &c.answer.stats {
        Some(s) => {
            let ttft = s.ttft_ms.map(|t| format!(" · ttft {t:.0} ms")).unwrap_or_default();
            let stop = s.stop_reason.as_ref().map(|r| format!(" · {}", r.label())).unwrap_or_default();
            let (load, mem) = if s.remote {
                ("remote".to_string(), "n/a".to_string())
            } else if s.resident {
                ("resident".to_string(), human_bytes(s.model_bytes))
            } else {
                (format!("load {:.2} s", s.load_ms / 1e3), human_bytes(s.model_bytes))
            };
            let full = format!(" {load}{ttft} · {:.1} tok/s · {} tok · mem {mem}{stop} ", s.decode_tps, s.generated_tokens);
            if full.chars().count() <= width {
                return (full, None);
            }
            let mem = if s.remote { "remote".to_string() } else { human_bytes(s.model_bytes).replace(' ', "") };
            let border = format!(" {:.1} t/s · {} tok · {mem} ", s.decode_tps, s.generated_tokens);
            let ttft = s.ttft_ms.map(|t| format!(" · ttft {t:.0}ms")).unwrap_or_default();
            let mut inner = if s.remote {
                format!("served{ttft}")
            } else if s.resident {
                format!("resident{ttft}")
            } else {
                format!("load {:.2}s{ttft}", s.load_ms / 1e3)
            };
            if inner.chars().count() + stop.chars().count() <= width {
                inner.push_str(&stop);
            }
            (border, Some(inner))
        }
        // While it streams: what has come so far and how fast.
        None => {
            let load = c.answer.load_ms.map(|ms| format!("load {:.2} s", ms / 1e3));
            let live = (c.live.tokens > 0).then(|| match c.live.tps() {
                Some(tps) => format!("{} tok · {tps:.1} tok/s", c.live.tokens),
                None => format!("{} tok", c.live.tokens),
            });
            let parts: Vec<String> = load.into_iter().chain(live).collect();
            let full = format!(" {} ", parts.join(" · "));
            match parts.len() {
                0 => (String::new(), None),
                _ if full.chars().count() <= width => (full, None),
                _ => (format!(" {} ", parts.last().cloned().unwrap_or_default()), None),
            }
        }
    }
}

/// `line` with the search matches in it highlighted.
fn highlight(line: Line<'static>, query: &str, style: Style) -> Line<'static> {
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    let hits = crate::app::find_all(&text, query);
    if hits.is_empty() {
        return line;
    }
    let mut out = Vec::new();
    let mut at = 0;
    for span in line.spans {
        let (start, end) = (at, at + span.content.len());
        at = end;
        let mut cut = start;
        let mut points: Vec<usize> = hits.iter().flat_map(|h| [h.start, h.end]).filter(|p| *p > start && *p < end).collect();
        points.push(end);
        for p in points {
            if let Some(piece) = text.get(cut..p) {
                let inside = hits.iter().any(|h| h.start <= cut && cut < h.end);
                out.push(Span::styled(piece.to_string(), if inside { span.style.patch(style) } else { span.style }));
            }
            cut = p;
        }
    }
    Line::from(out)
}

/// A bar for a model being loaded: "[██████░░░░] 62 %".
fn gauge(fraction: f32, width: usize) -> String {
    let f = fraction.clamp(0.0, 1.0);
    let room = width.saturating_sub(8).clamp(1, 40);
    let full = (f * room as f32).round() as usize;
    format!("[{}{}] {:>3.0} %", "█".repeat(full), "░".repeat(room - full), f * 100.0)
}

fn column(frame: &mut Frame<'_>, app: &App, run: &RunView, index: usize, rect: Rect) {
    let c = &run.columns[index];
    let active = index == app.active_column && app.focus == Focus::Columns;
    let border = if active {
        app.theme.accent
    } else if c.answer.status == Status::Failed {
        app.theme.failed
    } else {
        app.theme.dim
    };
    let (foot, extra) = if run.hidden() {
        // Load time, memory and speed would tell the models apart.
        let tokens = c.answer.stats.as_ref().map_or(c.live.tokens, |s| s.generated_tokens);
        (if tokens > 0 { format!(" {tokens} tok ") } else { String::new() }, None)
    } else {
        footer(c, rect.width.saturating_sub(2) as usize)
    };
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(border)
        .title(header(app, run, index, rect.width))
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
    let hit = app.search.at.and_then(|a| app.search.hits.get(a)).filter(|(col, _)| *col == index).map(|(_, l)| *l);
    let mut lines = Vec::with_capacity(height);
    for i in top..(top + height).min(c.total_lines()) {
        let line = match c.locate(i) {
            // An error names the model: shown after the vote.
            Some((crate::app::columns::Part::Error, k)) if run.hidden() => {
                if k == 0 {
                    Line::styled("failed (the reason is shown after the vote)", app.theme.error)
                } else {
                    Line::default()
                }
            }
            _ => c.display_line(i, &app.theme, app.now),
        };
        let style = if hit == Some(i) { app.theme.found_now } else { app.theme.found };
        lines.push(if app.search.query.is_empty() { line } else { highlight(line, &app.search.query, style) });
    }
    if lines.is_empty() && c.answer.status == Status::Loading {
        if let Some(f) = c.answer.progress {
            lines.push(Line::styled(gauge(f, inner.width as usize), app.theme.loading));
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
