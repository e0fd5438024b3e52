//! The status line: run progress, memory, and the keys of the focused pane.

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::{App, Focus};
use crate::engine::protocol::answer::Status;
use crate::error::human_bytes;
use crate::keymap::Action;

/// Where the run stands, after "blind · " while blind mode is on (so it
/// shows between runs too).
pub fn progress(app: &App) -> String {
    let state = run_state(app);
    if !app.blind {
        return state;
    }
    // Between runs, the pair worth a vote next.
    let idle = app.run.as_ref().is_none_or(|r| r.finished.is_some() && !app.vote_offered());
    let next = match (idle, app.next_pair(), app.keymap.keys(Action::BlindPair).first()) {
        (true, Some((a, b)), Some(key)) if app.list.selected() != [a, b] => {
            format!(" · next: {} vs {} ({key})", app.list.label(a), app.list.label(b))
        }
        _ => String::new(),
    };
    format!("blind · {state}{next}")
}

fn run_state(app: &App) -> String {
    let Some(run) = &app.run else { return "ready".into() };
    let n = run.columns.len();
    if let Some(done) = run.finished {
        let count = |s: Status| run.columns.iter().filter(|c| c.answer.status == s).count();
        let (failed, cancelled) = (count(Status::Failed), count(Status::Cancelled));
        let secs = (done - run.started).as_secs_f64();
        let mut what = Vec::new();
        if failed > 0 {
            what.push(format!("{failed} of {n} failed"));
        }
        if cancelled > 0 {
            what.push(format!("{cancelled} of {n} cancelled"));
        }
        let head = if cancelled > 0 { "stopped" } else { "done" };
        let done = match (what.is_empty(), app.keymap.keys(Action::Retry).first()) {
            (true, _) => format!("done · {n} model{} in {secs:.1} s", if n == 1 { "" } else { "s" }),
            (false, Some(key)) => format!("{head} · {} · {secs:.1} s · {key} retries", what.join(", ")),
            (false, None) => format!("{head} · {} · {secs:.1} s", what.join(", ")),
        };
        // What stays loaded for a follow-up (not while names are hidden).
        return match app.resident.len() {
            0 => done,
            _ if run.hidden() => format!("{done} · {} loaded", app.resident.len()),
            _ => format!("{done} · loaded: {}", app.resident.join(", ")),
        };
    }
    let elapsed = app.now.saturating_duration_since(run.started).as_secs_f64();
    match run.current() {
        Some((i, c)) => {
            let label = super::columns::name(run, i);
            let name = label.split(" (").next().unwrap_or(&label);
            let i = c.slot;
            let secs = app.now.saturating_duration_since(c.since).as_secs_f64();
            // Past the estimate, an ETA of 0 would be a guess dressed as a number.
            let eta = eta(app, run).filter(|s| *s >= 1.0).map(|s| format!(" · ETA {s:.0} s")).unwrap_or_default();
            format!("model {}/{n} · {} {name} {secs:.1} s · elapsed {elapsed:.1} s{eta}", i + 1, c.answer.status)
        }
        None => format!("starting · {n} models"),
    }
}

/// Time left: the mean time of the models done so far for each one left,
/// less what the current one has already taken.
fn eta(app: &App, run: &crate::app::RunView) -> Option<f64> {
    let done: Vec<_> = run.columns.iter().filter(|c| c.answer.status.is_final()).collect();
    let last = done.iter().map(|c| c.since).max()?;
    let mean = last.saturating_duration_since(run.started).as_secs_f64() / done.len() as f64;
    let left = (run.columns.len() - done.len()) as f64;
    Some((mean * left - app.now.saturating_duration_since(last).as_secs_f64()).max(0.0))
}

/// The search being typed, or where the last one stands.
fn search(app: &App) -> Option<String> {
    let s = &app.search;
    if s.typing {
        return Some(format!("/{}▏ {} lines match", s.query, s.hits.len()));
    }
    (!s.query.is_empty()).then(|| match s.at {
        Some(a) => format!("/{} · match {}/{}", s.query, a + 1, s.hits.len()),
        None => format!("/{} · {} lines match", s.query, s.hits.len()),
    })
}

fn hints(app: &App) -> Vec<String> {
    let k = |a: Action| app.keymap.label(a);
    let mut h = vec![format!("{} run", k(Action::Run))];
    if app.run_active() {
        h.push(format!("{} cancel", k(Action::Cancel)));
    }
    match app.focus {
        // The vote's keys work from any pane while it is offered.
        _ if app.run.as_ref().is_some_and(|r| r.hidden() && !r.active()) => {
            h.push("vote: column numbers best first".to_string());
            h.push(format!("{} tie", k(Action::VoteTie)));
            h.push(format!("{} all bad", k(Action::VoteBad)));
        }
        Focus::Models => {
            h.push(format!("{} select", k(Action::Select)));
            h.push(format!("{} copy", k(Action::Duplicate)));
            h.push(format!("{} params", k(Action::Params)));
        }
        Focus::Prompt => {
            h.push(format!("{} history", k(Action::HistoryPrev)));
            h.push(format!("{} system", k(Action::SystemPrompt)));
        }
        Focus::Columns if app.search.typing => {
            h.push(format!("{} keep", k(Action::SearchDone)));
            h.push(format!("{} clear", k(Action::SearchClear)));
        }
        Focus::Columns => {
            h.push(format!("{} column", k(Action::NextColumn)));
            h.push(format!("{} search", k(Action::Search)));
            h.push(format!("{} raw", k(Action::Raw)));
            h.push(format!("{} thinking", k(Action::Thinking)));
            h.push(format!("{} zoom", k(Action::Zoom)));
            h.push(format!("{} sync", k(Action::SyncScroll)));
        }
    }
    h.push(format!("{} next", k(Action::FocusNext)));
    h.push(format!("{} help", k(Action::Help)));
    h
}

/// As many hints as fit in `width` columns, help always last.
fn fit(hints: &[String], width: usize) -> String {
    let help = hints.last().cloned().unwrap_or_default();
    let mut out: Vec<&str> = Vec::new();
    let mut used = help.chars().count();
    for h in &hints[..hints.len().saturating_sub(1)] {
        let w = h.chars().count() + 3;
        if used + w > width {
            break;
        }
        used += w;
        out.push(h);
    }
    out.push(&help);
    if used > width { String::new() } else { out.join(" · ") }
}

pub fn draw(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let left = match (&app.notice, search(app)) {
        (_, Some(s)) if app.search.typing => Span::styled(format!(" {s}"), app.theme.key),
        (Some(n), _) => Span::styled(format!(" {n}"), app.theme.warning),
        (None, Some(s)) => Span::styled(format!(" {} · {s}", progress(app)), app.theme.accent),
        (None, None) => Span::styled(format!(" {}", progress(app)), app.theme.accent),
    };
    let mut mem = String::new();
    if let Some((used, total)) = app.ram {
        mem.push_str(&format!("RAM {}/{}", human_bytes(used), human_bytes(total)));
    }
    if let Some((used, total)) = app.gpu {
        mem.push_str(&format!(" · GPU {}/{}", human_bytes(used), human_bytes(total)));
    }
    let left_w = left.content.chars().count() as u16 + 2;
    let mem_w = if mem.is_empty() { 0 } else { mem.chars().count() as u16 + 3 };
    let right = fit(&hints(app), area.width.saturating_sub(left_w + mem_w) as usize);
    let [a, b, c] = Layout::new(
        Direction::Horizontal,
        [Constraint::Min(left_w.min(area.width)), Constraint::Length(mem_w), Constraint::Length(right.chars().count() as u16 + 1)],
    )
    .areas(area);
    frame.render_widget(Paragraph::new(Line::from(left)), a);
    frame.render_widget(Paragraph::new(Line::styled(mem, app.theme.stats)), b);
    frame.render_widget(Paragraph::new(Line::styled(right, app.theme.dim)), c);
}
