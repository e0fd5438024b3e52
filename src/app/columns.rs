//! The comparison on screen: one column per model of a run, each holding
//! its streamed text, its wrap, its phase and its numbers.

use std::time::Instant;

use crate::engine::EngineKind;
use crate::engine::{EventKind, RunId, Stats};
use crate::wrap::Wrapped;

/// Where a column's model is in the run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Phase {
    Queued,
    Loading { since: Instant },
    Generating { since: Instant },
    Done,
    Failed,
    Cancelled,
}

impl Phase {
    pub fn is_final(self) -> bool {
        matches!(self, Phase::Done | Phase::Failed | Phase::Cancelled)
    }

    /// One-character marker for lists and tabs.
    pub fn marker(self) -> &'static str {
        match self {
            Phase::Queued => "…",
            Phase::Loading { .. } => "◌",
            Phase::Generating { .. } => "▶",
            Phase::Done => "✓",
            Phase::Failed => "✗",
            Phase::Cancelled => "⊘",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Column {
    pub label: String,
    pub engine: EngineKind,
    /// The model-list entry this column runs.
    pub entry: usize,
    pub phase: Phase,
    pub text: String,
    pub wrap: Wrapped,
    /// First line shown when not following the tail.
    pub scroll: usize,
    /// Keep the last line in view as text arrives.
    pub follow: bool,
    pub stats: Option<Stats>,
    pub error: Option<String>,
    /// Lines the error message takes at the column's width.
    pub error_wrap: Wrapped,
    pub load_ms: Option<f64>,
}

impl Column {
    pub fn new(label: String, engine: EngineKind, entry: usize, width: usize) -> Column {
        Column {
            label,
            engine,
            entry,
            phase: Phase::Queued,
            text: String::new(),
            wrap: Wrapped::new(width),
            scroll: 0,
            follow: true,
            stats: None,
            error: None,
            error_wrap: Wrapped::new(width),
            load_ms: None,
        }
    }

    /// Total display lines: the answer, then a blank line and the error.
    pub fn total_lines(&self) -> usize {
        let err = self.error_wrap.len();
        self.wrap.len() + if err > 0 { err + usize::from(!self.wrap.is_empty()) } else { 0 }
    }

    pub fn set_width(&mut self, width: usize) {
        if self.wrap.width() != width {
            self.wrap.rewrap(&self.text, width);
            self.error_wrap.rewrap(self.error.as_deref().unwrap_or(""), width);
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
        match kind {
            EventKind::Queued => self.phase = Phase::Queued,
            EventKind::Loading => self.phase = Phase::Loading { since: now },
            EventKind::Loaded { load_ms, .. } => {
                self.load_ms = Some(*load_ms);
                self.phase = Phase::Generating { since: now };
            }
            EventKind::Token { text } => {
                self.text.push_str(text);
                self.wrap.update(&self.text);
            }
            EventKind::Finished { stats } => {
                self.stats = Some(stats.clone());
                self.phase = Phase::Done;
            }
            EventKind::Failed { error, stats } => {
                self.stats = stats.clone();
                self.set_error(error.to_string());
                self.phase = Phase::Failed;
            }
            EventKind::Cancelled { stats } => {
                self.stats = stats.clone();
                self.phase = Phase::Cancelled;
            }
            EventKind::RunDone => {}
        }
    }

    fn set_error(&mut self, message: String) {
        self.error_wrap.rewrap(&message, self.wrap.width());
        self.error = Some(message);
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
        self.columns.iter().enumerate().find(|(_, c)| matches!(c.phase, Phase::Loading { .. } | Phase::Generating { .. }))
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
                    settings: entry.map(|e| e.settings.clone()).unwrap_or_default(),
                    rendered_prompt: c.stats.as_ref().map(|s| s.rendered_prompt.clone()).unwrap_or_default(),
                    text: c.text.clone(),
                    status: match c.phase {
                        Phase::Done => "finished",
                        Phase::Failed => "failed",
                        Phase::Cancelled => "cancelled",
                        Phase::Queued => "queued",
                        Phase::Loading { .. } => "loading",
                        Phase::Generating { .. } => "generating",
                    }
                    .into(),
                    error: c.error.clone(),
                    stats: c.stats.clone(),
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
            device: "cpu".into(),
            batch: None,
            outputs,
        }
    }
}
