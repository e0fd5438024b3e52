//! Two columns word-diffed in place: `d` marks a column, `d` on another
//! diffs the two (words only in the first are marked as deleted there,
//! words only in the second as inserted there, the rest plain) and the
//! headers show the share of words they have in common; `d` on a diffed
//! column ends it. It follows streaming columns, computed again at most
//! every quarter second while they grow.

use std::time::{Duration, Instant};

use ratatui::style::Style;
use ratatui::text::Line;

use super::App;

/// A diff being shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Diff {
    /// The two columns (positions), in the order they were marked.
    pub a: usize,
    pub b: usize,
    /// Share of words the two have in common (0 to 1).
    pub similarity: f64,
    /// The text lengths it was computed for, and when.
    seen: (usize, usize),
    at: Option<Instant>,
}

/// The diff of two texts: each side's pieces (style `del` or `ins` on the
/// words the other lacks) and the share of words in common.
pub fn word_diff<'t>(a: &'t str, b: &'t str, del: Style, ins: Style) -> (Vec<(Style, &'t str)>, Vec<(Style, &'t str)>, f64) {
    let (l, r, similarity) = crate::wordiff::word_diff(a, b);
    let paint = |side: Vec<(bool, &'t str)>, s: Style| side.into_iter().map(|(only, w)| (if only { s } else { Style::new() }, w)).collect();
    (paint(l, del), paint(r, ins), similarity)
}

impl App {
    /// `d` in the answer columns.
    pub(super) fn diff_key(&mut self) {
        let col = self.active_column;
        if let Some(d) = &self.diff {
            if d.a == col || d.b == col {
                self.end_diff();
                self.notice = Some("diff off".into());
                return;
            }
        }
        match self.diff_mark.take() {
            Some(a) if a != col => {
                self.end_diff();
                self.diff = Some(Diff { a, b: col, similarity: 1.0, seen: (usize::MAX, usize::MAX), at: None });
                self.update_diff(true);
                let pct = self.diff.as_ref().map_or(0.0, |d| d.similarity * 100.0);
                self.notice = Some(format!("diff of columns {} and {}: {pct:.0}% of words in common (d ends it)", a + 1, col + 1));
            }
            Some(_) => self.notice = Some("diff: mark another column".into()),
            None => {
                self.diff_mark = Some(col);
                self.notice = Some(format!("column {} marked: d on another column diffs the two", col + 1));
            }
        }
    }

    /// Compute again at the next frame (a new width).
    pub(super) fn redo_diff(&mut self) {
        if let Some(d) = self.diff.as_mut() {
            d.seen = (usize::MAX, usize::MAX);
            d.at = None;
        }
        self.update_diff(true);
    }

    pub(super) fn end_diff(&mut self) {
        self.diff = None;
        if let Some(run) = self.run.as_mut() {
            run.columns.iter_mut().for_each(|c| c.diff = None);
        }
    }

    /// Compute the diff again when its columns' text changed (`now`: at
    /// once, else at most every 250 ms while they stream).
    pub(super) fn update_diff(&mut self, now: bool) {
        let (Some(d), Some(run)) = (self.diff.as_mut(), self.run.as_mut()) else { return };
        let (Some(ca), Some(cb)) = (run.columns.get(d.a), run.columns.get(d.b)) else {
            self.diff = None;
            return;
        };
        let lens = (ca.answer.text.len(), cb.answer.text.len());
        let settled = ca.answer.status.is_final() && cb.answer.status.is_final();
        let due = settled || d.at.is_none_or(|t| self.now.saturating_duration_since(t) >= Duration::from_millis(250));
        if lens == d.seen || !(now || due) {
            return;
        }
        let (del, ins) = (self.theme.deleted, self.theme.inserted);
        let (left, right, similarity) = word_diff(&ca.answer.text, &cb.answer.text, del, ins);
        let (wa, wb) = (ca.wrap.width(), cb.wrap.width());
        let (la, lb) = (crate::markdown::fill_pieces(&left, wa), crate::markdown::fill_pieces(&right, wb));
        d.similarity = similarity;
        d.seen = lens;
        d.at = Some(self.now);
        let title = format!("{:.0}% same", similarity * 100.0);
        for (i, lines) in [(d.a, la), (d.b, lb)] {
            if let Some(c) = run.columns.get_mut(i) {
                c.diff = Some(DiffLines { lines, title: title.clone() });
            }
        }
    }
}

/// What a diffed column shows instead of its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct DiffLines {
    pub lines: Vec<Line<'static>>,
    /// "87% same", for the header.
    pub title: String,
}
