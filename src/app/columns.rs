//! The comparison on screen: one column per model of a run, each holding
//! its streamed text, its wrap, its phase and its numbers.

use std::time::Instant;

use crate::engine::EngineKind;
use crate::engine::answer::Answer;
use crate::engine::{EventKind, RunId};
use crate::wrap::Wrapped;

#[derive(Debug, Clone)]
pub struct Column {
    pub label: String,
    pub engine: EngineKind,
    /// The model-list entry this column runs.
    pub entry: usize,
    pub answer: Answer,
    /// When the answer's status last changed (how long a load has taken).
    pub since: Instant,
    pub wrap: Wrapped,
    /// First line shown when not following the tail.
    pub scroll: usize,
    /// Keep the last line in view as text arrives.
    pub follow: bool,
    /// Lines the error message takes at the column's width.
    pub error_wrap: Wrapped,
}

impl Column {
    pub fn new(label: String, engine: EngineKind, entry: usize, width: usize, now: Instant) -> Column {
        Column {
            label,
            engine,
            entry,
            answer: Answer::default(),
            since: now,
            wrap: Wrapped::new(width),
            scroll: 0,
            follow: true,
            error_wrap: Wrapped::new(width),
        }
    }

    /// A column showing a finished answer (a reopened comparison).
    pub fn with_answer(label: String, engine: EngineKind, answer: Answer, width: usize, now: Instant) -> Column {
        let mut c = Column::new(label, engine, usize::MAX, width, now);
        c.wrap.rewrap(&answer.text, width);
        c.error_wrap.rewrap(answer.error.as_deref().unwrap_or(""), width);
        c.answer = answer;
        c
    }

    /// Total display lines: the answer, then a blank line and the error.
    pub fn total_lines(&self) -> usize {
        let err = self.error_wrap.len();
        self.wrap.len() + if err > 0 { err + usize::from(!self.wrap.is_empty()) } else { 0 }
    }

    pub fn set_width(&mut self, width: usize) {
        if self.wrap.width() != width {
            self.wrap.rewrap(&self.answer.text, width);
            self.error_wrap.rewrap(self.answer.error.as_deref().unwrap_or(""), width);
        }
    }

    /// The first line to draw in a view `height` lines tall.
    pub fn top(&self, height: usize) -> usize {
        let max_top = self.total_lines().saturating_sub(height);
        if self.follow { max_top } else { self.scroll.min(max_top) }
    }

    /// Scroll by `delta` lines (negative: up) in a view `height` tall.
    pub fn scroll_by(&mut self, delta: isize, height: usize) {
        let top = self.top(height) as isize;
        let max_top = self.total_lines().saturating_sub(height) as isize;
        let next = (top + delta).clamp(0, max_top);
        self.scroll = next as usize;
        self.follow = next >= max_top;
    }

    pub fn to_top(&mut self) {
        self.scroll = 0;
        self.follow = self.total_lines() == 0;
    }

    pub fn to_bottom(&mut self) {
        self.follow = true;
    }

    /// Apply one engine event for this column.
    pub fn apply(&mut self, kind: &EventKind, now: Instant) {
        let (status, had_error) = (self.answer.status, self.answer.error.is_some());
        if !self.answer.apply(kind).is_empty() {
            self.wrap.update(&self.answer.text);
        }
        if self.answer.status != status {
            self.since = now;
        }
        if !had_error {
            if let Some(e) = &self.answer.error {
                self.error_wrap.rewrap(e, self.wrap.width());
            }
        }
    }
}

/// One comparison: the prompt and a column per model.
#[derive(Debug, Clone)]
pub struct RunView {
    pub id: RunId,
    pub prompt: String,
    pub system: String,
    pub columns: Vec<Column>,
    pub started: Instant,
    pub finished: Option<Instant>,
    /// What each column ran with (empty for a reopened comparison).
    pub entries: Vec<crate::engine::RunEntry>,
    /// The stored run this view was reopened from.
    pub stored: Option<i64>,
}

impl RunView {
    pub fn active(&self) -> bool {
        self.finished.is_none()
    }

    /// The column whose model is loading or generating, if any.
    pub fn current(&self) -> Option<(usize, &Column)> {
        self.columns.iter().enumerate().find(|(_, c)| c.answer.status.is_busy())
    }
}

impl RunView {
    /// The comparison as a stored run, for exporting when the history store
    /// is not available.
    pub fn to_stored(&self) -> crate::store::StoredRun {
        let outputs = self
            .columns
            .iter()
            .enumerate()
            .map(|(slot, c)| {
                let entry = self.entries.get(slot);
                crate::store::StoredOutput {
                    slot,
                    label: c.label.clone(),
                    model: entry.map(crate::store::recorder::model_record).unwrap_or_default(),
                    settings: entry.map(|e| e.settings.clone()),
                    rendered_prompt: c.answer.stats.as_ref().map(|s| s.rendered_prompt.clone()).unwrap_or_default(),
                    text: c.answer.text.clone(),
                    thinking: c.answer.thinking.clone(),
                    status: c.answer.status,
                    error: c.answer.error.clone(),
                    stats: c.answer.stats.clone(),
                }
            })
            .collect();
        crate::store::StoredRun {
            id: self.stored.unwrap_or(0),
            started_at: crate::store::now(),
            finished_at: None,
            state: if self.active() { crate::store::RunState::Running } else { crate::store::RunState::Complete },
            prompt: self.prompt.clone(),
            system_prompt: self.system.clone(),
            version: env!("CARGO_PKG_VERSION").into(),
            host: crate::store::hostname(),
            device: crate::gpu::run_device(),
            batch: None,
            outputs,
            problems: Vec::new(),
        }
    }
}
