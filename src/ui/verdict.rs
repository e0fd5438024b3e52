//! The judge's verdict under the columns: who is best (or a tie), whether
//! both orders agreed, the scores per answer, and the judge's reason; while
//! it reads, how far it is.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::columns::name;
use super::sanitize;
use crate::app::App;
use crate::engine::protocol::answer::Status;

pub fn draw(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let Some(run) = &app.run else { return };
    let Some(judge) = &run.judge else { return };
    let block = Block::new().borders(Borders::ALL).title(format!(" Judge · {} ", sanitize(&judge.label))).border_style(app.theme.accent);
    // Verdicts name slots; columns may be shown in another order (blind).
    let named = |slot: usize| {
        run.columns
            .iter()
            .position(|c| c.slot == slot)
            .map_or_else(|| format!("answer {}", slot + 1), |i| format!("{} [{}]", name(run, i), i + 1))
    };
    let mut lines = Vec::new();
    match &judge.verdict {
        None => {
            let asked = judge.plan.prompts.len();
            let done = judge.replies.values().filter(|a| a.status.is_final()).count();
            let loading = judge.replies.values().any(|a| a.status == Status::Loading);
            let written: usize = judge.replies.values().filter(|a| !a.status.is_final()).map(|a| a.text.chars().count()).sum();
            let what = if loading { "loading the judge" } else { "reading the answers" };
            lines.push(Line::styled(
                format!("{what} · order {} of {asked} (as shown, then reversed) · {written} characters written", (done + 1).min(asked)),
                app.theme.loading,
            ));
        }
        Some(Err(e)) => lines.push(Line::styled(format!("no verdict: {}", sanitize(e)), app.theme.error)),
        Some(Ok(v)) => {
            let head = match v.winner {
                Some(w) => format!("best: {} · {}", named(w), if v.agreed { "both orders agree" } else { "one order was readable" }),
                None => "a tie: the two orders disagree, or the judge said so".to_string(),
            };
            lines.push(Line::styled(head, app.theme.finished));
            let mut scores = Vec::new();
            for (slot, s) in v.scores.iter().enumerate().filter(|(_, s)| !s.is_empty()) {
                let list: Vec<String> = s.iter().map(|(c, x)| format!("{c} {x:.1}")).collect();
                scores.push(Span::styled(format!("{}: ", named(slot)), app.theme.stats));
                scores.push(Span::raw(format!("{}   ", list.join(", "))));
            }
            if !scores.is_empty() {
                lines.push(Line::from(scores));
            }
            if !v.reason.is_empty() {
                lines.push(Line::raw(sanitize(&v.reason.replace('\n', " "))));
            }
        }
    }
    frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: true }), area);
}
