//! Where each pane goes, as pure functions of the terminal size: `ui`
//! draws there, and `App` wraps each column's text at the width it will be
//! drawn at.

use ratatui::layout::{Constraint, Direction, Layout, Rect};

/// Narrowest readable column (text width); below it columns become tabs.
pub const MIN_COLUMN_TEXT: u16 = 28;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Panes {
    pub models: Rect,
    pub prompt: Rect,
    pub columns: Rect,
    pub status: Rect,
}

/// The panes; `zoom`: the answers take the whole screen but the status
/// line (the model list and the editor step aside until `z` again).
pub fn panes(area: Rect, zoom: bool) -> Panes {
    let [main, status] = Layout::new(Direction::Vertical, [Constraint::Min(3), Constraint::Length(1)]).areas(area);
    if zoom {
        let none = Rect { width: 0, height: 0, ..main };
        return Panes { models: none, prompt: none, columns: main, status };
    }
    let left = (main.width / 4).clamp(22, 40).min(main.width.saturating_sub(20));
    let [models, right] = Layout::new(Direction::Horizontal, [Constraint::Length(left), Constraint::Min(10)]).areas(main);
    let prompt_h = if right.height >= 20 { 7 } else { 5 };
    let [prompt, columns] = Layout::new(Direction::Vertical, [Constraint::Length(prompt_h), Constraint::Min(3)]).areas(right);
    Panes { models, prompt, columns, status }
}

/// Rows of the judge's verdict under the columns (border included).
pub const VERDICT_ROWS: u16 = 6;

/// The columns' area split for the judge's verdict under them, when there
/// is one and the columns keep at least 6 rows.
pub fn answers(area: Rect, judged: bool) -> (Rect, Option<Rect>) {
    if !judged || area.height < VERDICT_ROWS + 6 {
        return (area, None);
    }
    let [top, bottom] = Layout::new(Direction::Vertical, [Constraint::Min(6), Constraint::Length(VERDICT_ROWS)]).areas(area);
    (top, Some(bottom))
}

/// The answer columns: side by side when they fit, else one at a time
/// under a tab bar (also when zoomed).
#[derive(Debug, Clone, PartialEq)]
pub struct Columns {
    /// The tab bar, in tab mode.
    pub tabs: Option<Rect>,
    /// (column index, outer rect) of the columns on screen.
    pub shown: Vec<(usize, Rect)>,
}

pub fn columns(area: Rect, n: usize, zoom: bool, active: usize) -> Columns {
    if n == 0 {
        return Columns { tabs: None, shown: vec![] };
    }
    let fits = (area.width as usize) >= n * (MIN_COLUMN_TEXT as usize + 2);
    if n == 1 || (fits && !zoom) {
        let rects = Layout::new(Direction::Horizontal, vec![Constraint::Ratio(1, n as u32); n]).split(area);
        return Columns { tabs: None, shown: rects.iter().copied().enumerate().collect() };
    }
    let [tabs, body] = Layout::new(Direction::Vertical, [Constraint::Length(1), Constraint::Min(1)]).areas(area);
    Columns { tabs: Some(tabs), shown: vec![(active.min(n - 1), body)] }
}

/// Text width and height inside a column's border.
pub fn inner(rect: Rect) -> (usize, usize) {
    (rect.width.saturating_sub(2).max(1) as usize, rect.height.saturating_sub(2).max(1) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_terminals_get_tabs() {
        let p = panes(Rect::new(0, 0, 80, 24), false);
        let c = columns(p.columns, 2, false, 1);
        assert!(c.tabs.is_some());
        assert_eq!(c.shown.len(), 1);
        assert_eq!(c.shown[0].0, 1);
        let p = panes(Rect::new(0, 0, 160, 40), false);
        let c = columns(p.columns, 3, false, 0);
        assert!(c.tabs.is_none());
        assert_eq!(c.shown.len(), 3);
        let z = columns(p.columns, 3, true, 2);
        assert_eq!(z.shown, vec![(2, Rect { y: p.columns.y + 1, height: p.columns.height - 1, ..p.columns })]);
        // Zoomed, the answers have every row but the status line.
        let small = panes(Rect::new(0, 0, 80, 24), true);
        assert_eq!((small.columns.width, small.columns.height), (80, 23));
    }
}
