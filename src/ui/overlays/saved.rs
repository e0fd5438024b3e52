//! The saved-comparisons overlay: the filter, then one line per stored
//! run (id, time, state, prompt, models).

use ratatui::Frame;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::centered;
use crate::app::{App, HistoryView};
use crate::keymap::Action;
use crate::store::RunState;

pub fn draw(frame: &mut Frame<'_>, app: &App, h: &HistoryView) {
    let t = &app.theme;
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
            Span::styled(format!("{:<45}", crate::ui::sanitize(&prompt)), row),
            Span::styled(crate::ui::sanitize(&r.models.join(", ")), row.patch(t.dim)),
        ]));
    }
    let k = |a: Action| app.keymap.label(a);
    let title = format!(
        " Saved comparisons · type to filter · {} opens · {} reruns on the selected models · {} on its own · {} ",
        k(Action::SavedOpen),
        k(Action::SavedRerun),
        k(Action::SavedRerunOriginal),
        k(Action::SavedClose)
    );
    let block = Block::new().borders(Borders::ALL).title(title).border_style(t.accent);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
