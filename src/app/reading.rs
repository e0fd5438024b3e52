//! Reading the answers: rendered or raw, the thinking shown or not, an
//! answer folded, the code block in view copied, and a search across all
//! columns that jumps from match to match.

use super::columns::FOLDED;
use crossterm::event::KeyEvent;

use super::{App, Effect, Focus};
use crate::keymap::Action;

/// The search in the answers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Search {
    pub query: String,
    /// The query is being typed.
    pub typing: bool,
    /// (column, display line) of each line that matches.
    pub hits: Vec<(usize, usize)>,
    /// The hit jumped to.
    pub at: Option<usize>,
}

/// Where `query` occurs in `line`, ignoring ASCII case (byte ranges).
pub fn find_all(line: &str, query: &str) -> Vec<std::ops::Range<usize>> {
    if query.is_empty() {
        return Vec::new();
    }
    let hay = line.to_ascii_lowercase();
    let needle = query.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = hay[from..].find(&needle) {
        let start = from + pos;
        out.push(start..start + needle.len());
        from = start + needle.len();
    }
    out
}

impl App {
    pub(super) fn reading(&mut self, action: Action) -> Vec<Effect> {
        let active = self.active_column;
        let Some(run) = self.run.as_mut() else { return vec![] };
        match action {
            Action::Raw => {
                if let Some(c) = run.columns.get_mut(active) {
                    c.raw = !c.raw;
                    self.notice = Some(if c.raw { "raw: the text as produced" } else { "rendered as Markdown" }.into());
                }
            }
            Action::RawAll => {
                let raw = !run.columns.iter().all(|c| c.raw);
                run.columns.iter_mut().for_each(|c| c.raw = raw);
                self.notice = Some(if raw { "all columns raw" } else { "all columns rendered" }.into());
            }
            Action::Thinking => match run.columns.get_mut(active) {
                Some(c) if !c.answer.thinking.is_empty() => c.thinking_open = !c.thinking_open,
                _ => self.notice = Some("this answer has no thinking".into()),
            },
            Action::Fold => {
                if let Some(c) = run.columns.get_mut(active) {
                    c.folded = !c.folded;
                    c.follow = !c.folded && c.follow;
                    let lines = c.answer_lines();
                    self.notice = Some(match (c.folded, c.zoomed) {
                        (true, true) => format!("folded to {FOLDED} lines (shown whole while zoomed: z unzooms)"),
                        (true, false) if lines <= FOLDED => {
                            format!("folded: the answer fits in {FOLDED} lines already ({lines}); longer ones show their first {FOLDED}")
                        }
                        (true, false) => format!("folded to its first {FOLDED} of {lines} lines"),
                        (false, _) => "unfolded".into(),
                    });
                }
            }
            Action::CopyCode => return self.copy_code(),
            Action::Search => {
                self.search = Search { typing: true, ..Search::default() };
                self.focus = Focus::Columns;
            }
            Action::SearchNext | Action::SearchPrev => {
                if self.search.query.is_empty() {
                    self.notice = Some("/ starts a search".into());
                } else {
                    self.find_hits();
                    self.step_hit(action == Action::SearchNext);
                }
            }
            _ => {}
        }
        vec![]
    }

    /// The first code block shown in the active column, or the last one
    /// above the view.
    fn copy_code(&mut self) -> Vec<Effect> {
        let height = self.column_height();
        let Some(c) = self.run.as_ref().and_then(|r| r.columns.get(self.active_column)) else { return vec![] };
        let (top, start) = (c.top(height), c.answer_start());
        let blocks: Vec<_> = c.md.code_blocks().chain(c.md.open_block(&c.answer.text)).collect();
        let shown = |b: &crate::markdown::CodeBlock| b.lines.end + start > top && b.lines.start + start < top + height;
        let pick = blocks.iter().find(|b| shown(b)).or_else(|| blocks.iter().rev().find(|b| b.lines.end + start <= top));
        match pick {
            // The event loop says how the copy went.
            Some(b) => vec![Effect::Copy(b.text.clone())],
            None => {
                self.notice = Some("no code block in this answer".into());
                vec![]
            }
        }
    }

    pub(super) fn search_key(&mut self, action: Option<Action>, ev: KeyEvent) -> Vec<Effect> {
        match action {
            Some(Action::SearchClear) => self.search = Search::default(),
            Some(Action::SearchDone) => {
                self.search.typing = false;
                self.find_hits();
                self.notice = Some(match self.search.hits.len() {
                    0 => format!("no match for {:?}", self.search.query),
                    1 => "1 line matches · n next, N previous".to_string(),
                    n => format!("{n} lines match · n next, N previous"),
                });
            }
            _ => {
                super::overlays::type_into(&mut self.search.query, &ev);
                self.find_hits();
                self.search.at = None;
                self.step_hit(true);
            }
        }
        vec![]
    }

    /// Every line of every column that matches the query.
    pub(super) fn find_hits(&mut self) {
        let Some(run) = self.run.as_ref() else { return };
        let q = &self.search.query;
        let mut hits = Vec::new();
        for (ci, c) in run.columns.iter().enumerate() {
            for i in 0..c.total_lines() {
                if !find_all(&c.line_text(i, &self.theme, self.now), q).is_empty() {
                    hits.push((ci, i));
                }
            }
        }
        if let Some(at) = self.search.at {
            // Keep the place: the hit at or after the one jumped to.
            let old = self.search.hits.get(at).copied();
            self.search.at = old.and_then(|o| hits.iter().position(|h| *h >= o));
        }
        self.search.hits = hits;
    }

    /// Jump to the next (or previous) hit and bring it into view.
    fn step_hit(&mut self, forward: bool) {
        let n = self.search.hits.len();
        if n == 0 {
            self.search.at = None;
            return;
        }
        let at = match (self.search.at, forward) {
            (None, true) => 0,
            (None, false) => n - 1,
            (Some(a), true) => (a + 1) % n,
            (Some(a), false) => (a + n - 1) % n,
        };
        self.search.at = Some(at);
        let (col, line) = self.search.hits[at];
        if self.active_column != col {
            self.active_column = col;
            if self.zoom {
                self.reflow();
            }
        }
        self.focus = Focus::Columns;
        let height = self.column_height();
        if let Some(c) = self.run.as_mut().and_then(|r| r.columns.get_mut(col)) {
            let top = c.top(height);
            if line < top || line >= top + height {
                c.scroll = line.saturating_sub(height / 3);
                c.follow = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_ignore_case() {
        assert_eq!(find_all("Foo foo FOO", "foo"), vec![0..3, 4..7, 8..11]);
        assert!(find_all("abc", "").is_empty());
    }
}
