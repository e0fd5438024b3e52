//! The comparison on screen: one column per model of a run, each holding
//! its streamed text, its wrap, its phase and its numbers.

use std::time::Instant;

use ratatui::text::Line;

use crate::engine::EngineKind;
use crate::engine::protocol::answer::Answer;
use crate::engine::think::Channel;
use crate::engine::{EventKind, RunId};
use crate::markdown::Doc;
use crate::theme::Theme;
use crate::wrap::Wrapped;

/// Lines a folded answer keeps.
pub const FOLDED: usize = 8;

/// The parts a column shows, top to bottom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// A conversation's earlier turns and the prompt of this one.
    Earlier,
    /// The thinking header, and the thinking when expanded.
    Thinking,
    Answer,
    /// "… N more lines" under a folded answer.
    Fold,
    Gap,
    Error,
}

#[derive(Debug, Clone)]
pub struct Column {
    /// The entry's position in the run (its events' slot); columns are in
    /// another order in blind mode.
    pub slot: usize,
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
    /// The answer rendered as Markdown.
    pub md: Doc,
    /// Show the text exactly as produced instead of rendered.
    pub raw: bool,
    /// Show only the answer's first lines (not while zoomed).
    pub folded: bool,
    pub zoomed: bool,
    /// The thinking wrapped, and whether it is expanded.
    pub think_wrap: Wrapped,
    pub thinking_open: bool,
    /// Counted as tokens stream in, for the live footer.
    pub live: Live,
    /// Shown instead of the answer while diffed with another column.
    pub diff: Option<super::diff::DiffLines>,
    /// A conversation's earlier turns: each prompt and this model's answer.
    pub earlier: Vec<(String, Answer)>,
    /// The earlier turns and the current prompt, as Markdown (empty on the
    /// first turn).
    pub transcript: String,
    pub transcript_md: Doc,
    /// The model's other samples of the prompt (`samples = K`).
    pub samples: Samples,
}

/// A column's samples (`samples = K`; `app/samples.rs` flips them).
#[derive(Debug, Clone, Default)]
pub struct Samples {
    /// How many the model gives (1: no samples).
    pub k: u32,
    /// Which one the column shows.
    pub shown: u32,
    /// Every sample by number; the one shown lives in `Column::answer`
    /// (its place here is empty meanwhile).
    pub others: Vec<Answer>,
    /// `[` or `]` was pressed: new samples no longer take the column.
    pub flipped: bool,
    /// What the finished samples say together (K > 1).
    pub agreement: Option<crate::samples::Agreement>,
}

/// What the footer shows while the model streams.
#[derive(Debug, Clone, Copy, Default)]
pub struct Live {
    pub tokens: u64,
    pub thinking_tokens: u64,
    pub first_at: Option<Instant>,
    pub last_at: Option<Instant>,
    /// When the first answer token came (the end of the thinking).
    pub answer_at: Option<Instant>,
}

impl Live {
    /// Tokens per second since the first token.
    pub fn tps(&self) -> Option<f64> {
        let secs = self.last_at?.saturating_duration_since(self.first_at?).as_secs_f64();
        (self.tokens > 1 && secs > 0.0).then(|| (self.tokens - 1) as f64 / secs)
    }
}

impl Column {
    pub fn new(label: String, engine: EngineKind, entry: usize, width: usize, now: Instant, theme: &Theme) -> Column {
        Column {
            slot: 0,
            md: Doc::new(width, theme),
            raw: false,
            folded: false,
            zoomed: false,
            think_wrap: Wrapped::new(width),
            thinking_open: false,
            live: Live::default(),
            diff: None,
            earlier: Vec::new(),
            transcript: String::new(),
            transcript_md: Doc::new(width, theme),
            samples: Samples { k: 1, ..Default::default() },
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
    pub fn with_answer(label: String, engine: EngineKind, answer: Answer, width: usize, now: Instant, theme: &Theme) -> Column {
        let mut c = Column::new(label, engine, usize::MAX, width, now, theme);
        c.wrap.rewrap(&answer.text, width);
        c.think_wrap.rewrap(&answer.thinking, width);
        c.error_wrap.rewrap(answer.error.as_deref().unwrap_or(""), width);
        c.answer = answer;
        c.md.touch();
        c.md.refresh(&c.answer.text);
        c
    }

    /// Lines of the answer itself, rendered or raw.
    pub fn answer_lines(&self) -> usize {
        match &self.diff {
            Some(d) => d.lines.len(),
            None if self.raw => self.wrap.len(),
            None => self.md.len(),
        }
    }

    /// How many lines each part takes.
    pub fn parts(&self) -> [(Part, usize); 6] {
        let earlier = if self.transcript.is_empty() { 0 } else { self.transcript_md.len() };
        let think = if self.answer.thinking.is_empty() {
            0
        } else if self.thinking_open {
            2 + self.think_wrap.len()
        } else {
            1
        };
        let all = self.answer_lines();
        let (shown, fold) = if self.folded && !self.zoomed && all > FOLDED { (FOLDED, 1) } else { (all, 0) };
        let err = self.error_wrap.len();
        let gap = usize::from(err > 0 && think + shown + fold > 0);
        [(Part::Earlier, earlier), (Part::Thinking, think), (Part::Answer, shown), (Part::Fold, fold), (Part::Gap, gap), (Part::Error, err)]
    }

    /// Total display lines: thinking, answer, then a blank line and the error.
    pub fn total_lines(&self) -> usize {
        self.parts().iter().map(|(_, n)| n).sum()
    }

    /// Which part display line `i` is in, and its line within the part.
    pub fn locate(&self, mut i: usize) -> Option<(Part, usize)> {
        for (part, n) in self.parts() {
            if i < n {
                return Some((part, i));
            }
            i -= n;
        }
        None
    }

    /// The first display line of the answer.
    pub fn answer_start(&self) -> usize {
        self.parts()[0].1 + self.parts()[1].1
    }

    /// Display line `i`, styled.
    pub fn display_line(&self, i: usize, theme: &Theme, now: Instant) -> Line<'static> {
        let clean = |s: &str| crate::wrap::sanitize(s);
        match self.locate(i) {
            Some((Part::Earlier, k)) => self.transcript_md.line(k).cloned().unwrap_or_default(),
            Some((Part::Thinking, 0)) => {
                let (open, tokens) = (if self.thinking_open { "▾" } else { "▸" }, self.thinking_tokens());
                let secs = self.thinking_secs(now).map(|s| format!(", {s:.1} s")).unwrap_or_default();
                Line::styled(format!("{open} thinking ({tokens} tokens{secs})"), theme.thinking)
            }
            Some((Part::Thinking, k)) => Line::styled(clean(self.think_wrap.line(&self.answer.thinking, k - 1)), theme.thinking),
            Some((Part::Answer, k)) if self.diff.is_some() => self.diff.as_ref().and_then(|d| d.lines.get(k)).cloned().unwrap_or_default(),
            Some((Part::Answer, k)) if self.raw => Line::raw(clean(self.wrap.line(&self.answer.text, k))),
            Some((Part::Answer, k)) => self.md.line(k).cloned().unwrap_or_default(),
            Some((Part::Fold, _)) => {
                let more = self.answer_lines().saturating_sub(FOLDED);
                Line::styled(format!("… {more} more lines (folded)"), theme.dim)
            }
            Some((Part::Error, k)) => Line::styled(clean(self.error_wrap.line(self.answer.error.as_deref().unwrap_or(""), k)), theme.error),
            Some((Part::Gap, _)) | None => Line::default(),
        }
    }

    /// Display line `i` as plain text (for searching).
    pub fn line_text(&self, i: usize, theme: &Theme, now: Instant) -> String {
        self.display_line(i, theme, now).spans.iter().map(|s| s.content.as_ref()).collect()
    }

    pub fn thinking_tokens(&self) -> u64 {
        self.answer.stats.as_ref().map_or(self.live.thinking_tokens, |s| s.thinking_tokens)
    }

    /// How long the model thought: until its first answer token, or so far.
    pub fn thinking_secs(&self, now: Instant) -> Option<f64> {
        let first = self.live.first_at?;
        let end = self.live.answer_at.or(if self.answer.status.is_final() { self.live.last_at } else { Some(now) })?;
        Some(end.saturating_duration_since(first).as_secs_f64())
    }

    /// Lay the column out again at `width` in `theme`: the wraps and the
    /// Markdown; cheap when neither changed.
    pub fn set_width(&mut self, width: usize, theme: &Theme) {
        if self.wrap.width() != width {
            self.wrap.rewrap(&self.answer.text, width);
            self.think_wrap.rewrap(&self.answer.thinking, width);
            self.error_wrap.rewrap(self.answer.error.as_deref().unwrap_or(""), width);
        }
        if self.md.width() != width || self.md.look() != &crate::markdown::Look::from_theme(theme) {
            self.md.reset(&self.answer.text, width, theme);
            self.transcript_md.reset(&self.transcript, width, theme);
        }
    }

    /// Bring the Markdown up to date with the text (once per frame).
    pub fn refresh(&mut self) {
        self.md.refresh(&self.answer.text);
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
        if let EventKind::Token { channel, .. } = kind {
            self.live.tokens += 1;
            self.live.first_at.get_or_insert(now);
            self.live.last_at = Some(now);
            match channel {
                Channel::Thinking => self.live.thinking_tokens += 1,
                Channel::Answer => {
                    self.live.answer_at.get_or_insert(now);
                }
            }
        }
        let thinking = self.answer.thinking.len();
        if !self.answer.apply(kind).is_empty() {
            self.wrap.update(&self.answer.text);
            self.md.touch();
        }
        if self.answer.thinking.len() != thinking {
            self.think_wrap.update(&self.answer.thinking);
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
    /// Per slot, the model-list entry it ran as (model, copy), so that a
    /// retry or a follow-up takes that entry's parameters as they are now.
    pub origins: Vec<Option<(usize, u32)>>,
    /// The stored run this view was reopened from.
    pub stored: Option<i64>,
    /// Blind mode: names hidden until the vote.
    pub blind: Option<super::blind::Blind>,
    /// The judge reading this comparison, or its verdict.
    pub judge: Option<super::judging::JudgeView>,
    /// Esc skipped a model of this run: the next Esc stops the run.
    pub skipped: bool,
}

impl RunView {
    pub fn active(&self) -> bool {
        self.finished.is_none()
    }

    /// The column whose model is loading or generating, if any.
    pub fn current(&self) -> Option<(usize, &Column)> {
        self.columns.iter().enumerate().find(|(_, c)| c.answer.status.is_busy())
    }

    /// The column of entry `slot`.
    pub fn column_of(&mut self, slot: usize) -> Option<&mut Column> {
        self.columns.iter_mut().find(|c| c.slot == slot)
    }

    /// Names are hidden: a blind run not voted on yet.
    pub fn hidden(&self) -> bool {
        self.blind.as_ref().is_some_and(|b| !b.revealed)
    }
}
