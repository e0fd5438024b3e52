//! Two columns word-diffed in place: `d` marks a column, `d` on another
//! diffs the two (words only in the first are marked as deleted there,
//! words only in the second as inserted there, the rest plain) and the
//! headers show the share of words they have in common; `d` on a diffed
//! column ends it. With samples, `d`, then `]` to another sample of the
//! same column, then `d` diffs the two samples in that column. It follows
//! streaming columns, computed again at most every quarter second while
//! they grow.

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
    /// Two samples of column `a` (then `b` is `a`): the marked one and the
    /// one shown.
    pub samples: Option<(u32, u32)>,
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
        let column = self.run.as_ref().and_then(|r| r.columns.get(col));
        let (shown, k) = column.map_or((0, 1), |c| (c.samples.shown, c.samples.k));
        if let Some(d) = &self.diff {
            if d.a == col || d.b == col {
                self.end_diff();
                self.notice = Some("diff off".into());
                return;
            }
        }
        match self.diff_mark.take() {
            Some((a, _)) if a != col => {
                self.start_diff(Diff { a, b: col, samples: None, similarity: 1.0, seen: (usize::MAX, usize::MAX), at: None });
                let pct = self.diff.as_ref().map_or(0.0, |d| d.similarity * 100.0);
                self.notice = Some(format!("diff of columns {} and {}: {pct:.0}% of words in common (d ends it)", a + 1, col + 1));
            }
            Some((_, marked)) if marked != shown => {
                self.start_diff(Diff {
                    a: col,
                    b: col,
                    samples: Some((marked, shown)),
                    similarity: 1.0,
                    seen: (usize::MAX, usize::MAX),
                    at: None,
                });
                let pct = self.diff.as_ref().map_or(0.0, |d| d.similarity * 100.0);
                self.notice = Some(format!(
                    "diff of samples {} and {} of column {}: {pct:.0}% of words in common (d ends it)",
                    marked + 1,
                    shown + 1,
                    col + 1
                ));
            }
            Some(_) if k > 1 => self.notice = Some("diff: mark another column, or flip to another sample ([ ]) and d again".into()),
            Some(_) => self.notice = Some("diff: mark another column".into()),
            None => {
                self.diff_mark = Some((col, shown));
                let samples = if k > 1 { " (or another sample of this one: ] then d)" } else { "" };
                self.notice = Some(format!("column {} marked: d on another column diffs the two{samples}", col + 1));
            }
        }
    }

    fn start_diff(&mut self, d: Diff) {
        self.end_diff();
        self.diff = Some(d);
        self.update_diff(true);
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

    /// Compute the diff again when its texts changed (`now`: at once, else
    /// at most every 250 ms while they stream).
    pub(super) fn update_diff(&mut self, now: bool) {
        let (Some(d), Some(run)) = (self.diff.as_mut(), self.run.as_mut()) else { return };
        let (Some(ca), Some(cb)) = (run.columns.get(d.a), run.columns.get(d.b)) else {
            self.diff = None;
            return;
        };
        // Two columns, or two samples of one column.
        let (ta, tb) = match d.samples {
            None => (&ca.answer, &cb.answer),
            Some((sa, sb)) => match (ca.sample(sa), ca.sample(sb)) {
                (Some(x), Some(y)) => (x, y),
                _ => {
                    self.diff = None;
                    return;
                }
            },
        };
        let lens = (ta.text.len(), tb.text.len());
        let settled = ta.status.is_final() && tb.status.is_final();
        let due = settled || d.at.is_none_or(|t| self.now.saturating_duration_since(t) >= Duration::from_millis(250));
        if lens == d.seen || !(now || due) {
            return;
        }
        let (del, ins) = (self.theme.deleted, self.theme.inserted);
        let (left, right, similarity) = word_diff(&ta.text, &tb.text, del, ins);
        let (wa, wb) = (ca.wrap.width(), cb.wrap.width());
        let (mut la, lb) = (crate::markdown::fill_pieces(&left, wa), crate::markdown::fill_pieces(&right, wb));
        d.similarity = similarity;
        d.seen = lens;
        d.at = Some(self.now);
        match d.samples {
            None => {
                let title = format!("{:.0}% same", similarity * 100.0);
                for (i, lines) in [(d.a, la), (d.b, lb)] {
                    if let Some(c) = run.columns.get_mut(i) {
                        c.diff = Some(DiffLines { lines, title: title.clone() });
                    }
                }
            }
            // One column: the marked sample, then the one shown.
            Some((sa, sb)) => {
                let rule = |s: u32| Line::styled(format!("── sample {} ──", s + 1), self.theme.dim);
                la.insert(0, rule(sa));
                la.push(Line::default());
                la.push(rule(sb));
                la.extend(lb);
                let title = format!("samples {}↔{} {:.0}% same", sa + 1, sb + 1, similarity * 100.0);
                if let Some(c) = run.columns.get_mut(d.a) {
                    c.diff = Some(DiffLines { lines: la, title });
                }
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
