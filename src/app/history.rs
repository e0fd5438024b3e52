//! The saved-comparisons overlay: a filterable list of stored runs. The
//! event loop reads the store; this is only the list and its cursor.

use crate::store::RunSummary;

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
