//! The saved-comparisons overlay: a filterable list of stored runs (the
//! store's thread reads them), its cursor, its keys (typing filters it) and
//! its drawing: the filter, then one line per comparison (id, time, state,
//! prompt, models).

use crossterm::event::KeyEvent;

use ratatui::Frame;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::{Ctx, Overlay, Reply, centered, type_into};
use crate::app::Effect;
use crate::keymap::{Action, Scope};
use crate::store::RunState;
use crate::store::RunSummary;
use crate::store::query::{OpenFor, Query};

#[derive(Debug, Clone, PartialEq)]
pub struct HistoryView {
    pub items: Vec<RunSummary>,
    /// Words that must all appear in the prompt, a model, the date or the state.
    pub filter: String,
    pub cursor: usize,
}

impl HistoryView {
    pub fn new(items: Vec<RunSummary>) -> HistoryView {
        HistoryView { items, filter: String::new(), cursor: 0 }
    }

    pub fn visible(&self) -> Vec<&RunSummary> {
        let words: Vec<String> = self.filter.to_lowercase().split_whitespace().map(str::to_string).collect();
        self.items
            .iter()
            .filter(|r| {
                let hay = format!("{} {} {} {} #{}", r.prompt, r.models.join(" "), r.started_at, r.state.as_str(), r.id).to_lowercase();
                words.iter().all(|w| hay.contains(w))
            })
            .collect()
    }

    pub fn current(&self) -> Option<i64> {
        self.visible().get(self.cursor).map(|r| r.id)
    }

    pub fn move_by(&mut self, delta: isize) {
        let n = self.visible().len();
        self.cursor = if n == 0 { 0 } else { (self.cursor as isize + delta).clamp(0, n as isize - 1) as usize };
    }
}

impl Overlay for HistoryView {
    fn scope(&self) -> Scope {
        Scope::Saved
    }

    fn paste(&mut self, text: &str) -> bool {
        self.filter.push_str(&text.replace(['\r', '\n'], " "));
        self.cursor = 0;
        true
    }

    fn name(&self) -> &'static str {
        "saved"
    }

    fn draw(&self, frame: &mut Frame<'_>, ctx: &Ctx<'_>) {
        let (t, h) = (ctx.theme, self);
        let area = centered(frame.area(), 110, frame.area().height.saturating_sub(4).max(8));
        frame.render_widget(Clear, area);
        let visible = h.visible();
        let mut lines = vec![Line::from(vec![
            Span::styled(" filter: ", t.dim),
            Span::styled(format!("{}▏", h.filter), t.key),
            Span::styled(format!("   {} of {}", visible.len(), h.items.len()), t.dim),
        ])];
        lines.push(Line::from(""));
        if h.items.is_empty() {
            lines.push(Line::from(" No saved comparisons yet: every run is saved as it streams."));
        }
        let rows = area.height.saturating_sub(5) as usize;
        let start = h.cursor.saturating_sub(rows.saturating_sub(1));
        for (i, r) in visible.iter().enumerate().skip(start).take(rows) {
            let (row, mark) = if i == h.cursor { (t.selected, "›") } else { (ratatui::style::Style::new(), " ") };
            let when: String = r.started_at.chars().take(16).collect::<String>().replace('T', " ");
            let prompt: String = r.prompt.replace('\n', " ").chars().take(44).collect();
            let state = match r.state {
                RunState::Complete => t.finished,
                RunState::Failed => t.failed,
                RunState::Interrupted => t.warning,
                _ => t.cancelled,
            };
            lines.push(Line::from(vec![
                Span::styled(format!("{mark}#{:<5}", r.id), row.patch(t.accent)),
                Span::styled(format!("{when}  "), row.patch(t.stats)),
                Span::styled(format!("{:<11}", r.state.as_str()), row.patch(state)),
                Span::styled(format!("{:<45}", crate::wrap::sanitize(&prompt)), row),
                Span::styled(crate::wrap::sanitize(&r.models.join(", ")), row.patch(t.dim_on(i == h.cursor))),
            ]));
        }
        let k = |a: Action| ctx.keymap.label(a);
        let title = format!(
            " Saved comparisons · type to filter · {} opens · {} reruns on the selected models · {} on its own · {} its batch's matrix · {} ",
            k(Action::SavedOpen),
            k(Action::SavedRerun),
            k(Action::SavedRerunOriginal),
            k(Action::SavedMatrix),
            k(Action::SavedClose)
        );
        let block = Block::new().borders(Borders::ALL).title(title).border_style(t.accent);
        frame.render_widget(Paragraph::new(lines).block(block), area);
    }

    fn key(&mut self, action: Option<Action>, ev: &KeyEvent) -> Reply {
        let chosen = |effect: fn(i64) -> Effect| match self.current() {
            Some(id) => Reply::Effects(vec![effect(id)]),
            None => Reply::Stay,
        };
        match action {
            Some(Action::SavedUp) => self.move_by(-1),
            Some(Action::SavedDown) => self.move_by(1),
            Some(Action::SavedPageUp) => self.move_by(-10),
            Some(Action::SavedPageDown) => self.move_by(10),
            Some(Action::SavedOpen) => return chosen(|id| Effect::Open { id, then: OpenFor::Show }),
            Some(Action::SavedRerun) => return chosen(|id| Effect::Open { id, then: OpenFor::Rerun { original: false } }),
            Some(Action::SavedRerunOriginal) => return chosen(|id| Effect::Open { id, then: OpenFor::Rerun { original: true } }),
            Some(Action::SavedMatrix) => return chosen(|id| Effect::Query(Query::Matrix(id))),
            Some(Action::SavedClose) => return Reply::Close,
            _ => {
                if type_into(&mut self.filter, ev) {
                    self.cursor = 0;
                }
            }
        }
        Reply::Stay
    }
}
