//! A column's samples (`samples = K`): the model answers the prompt K
//! times, and the column shows one at a time. It follows each new sample as
//! it starts until `[` or `]` flips to another; the header says which one
//! is shown ("sample 2/3") and how far they agree.

use std::time::Instant;

use super::columns::{Column, Live};
use crate::engine::EventKind;
use crate::engine::protocol::answer::{Answer, Status};
use crate::samples::Agreement;
use crate::theme::Theme;

impl Column {
    /// Apply an event of sample `sample`: to the answer shown, or kept
    /// aside. A new sample takes the column unless the user flipped.
    pub fn apply_sample(&mut self, sample: u32, kind: &EventKind, now: Instant, theme: &Theme) {
        if sample == self.samples.shown {
            self.apply(kind, now);
        } else {
            let i = sample as usize;
            if self.samples.others.len() <= i {
                self.samples.others.resize_with(i + 1, Answer::default);
            }
            let starts = self.samples.others[i].status == Status::Queued && sample > self.samples.shown;
            if starts && !self.samples.flipped && self.answer.status.is_final() {
                self.show_sample(sample, theme);
                self.apply(kind, now);
            } else {
                self.samples.others[i].apply(kind);
            }
        }
        if matches!(kind, EventKind::Finished { .. }) && self.samples.k > 1 {
            self.samples.agreement = Some(self.agreement());
        }
    }

    /// Show sample `sample` (its text laid out again).
    pub fn show_sample(&mut self, sample: u32, theme: &Theme) {
        let (from, to) = (self.samples.shown as usize, sample as usize);
        if from == to {
            return;
        }
        let need = from.max(to) + 1;
        if self.samples.others.len() < need {
            self.samples.others.resize_with(need, Answer::default);
        }
        std::mem::swap(&mut self.answer, &mut self.samples.others[from]);
        std::mem::swap(&mut self.answer, &mut self.samples.others[to]);
        self.samples.shown = sample;
        self.live = Live::default();
        let width = self.wrap.width();
        self.wrap.rewrap(&self.answer.text, width);
        self.think_wrap.rewrap(&self.answer.thinking, width);
        self.error_wrap.rewrap(self.answer.error.as_deref().unwrap_or(""), width);
        self.md.reset(&self.answer.text, width, theme);
        self.diff = None;
        self.scroll = 0;
        self.follow = !self.answer.status.is_final();
    }

    /// Sample `sample`'s answer, shown or not.
    pub fn sample(&self, sample: u32) -> Option<&Answer> {
        if sample == self.samples.shown { Some(&self.answer) } else { self.samples.others.get(sample as usize) }
    }

    /// Every sample's answer, in order (K of them; those not begun are queued).
    pub fn all_samples(&self) -> Vec<&Answer> {
        (0..self.samples.k.max(1)).filter_map(|s| self.sample(s)).collect()
    }

    /// What the finished samples say together.
    pub fn agreement(&self) -> Agreement {
        let done: Vec<(&str, u64, f64)> = self
            .all_samples()
            .into_iter()
            .filter(|a| a.status == Status::Finished)
            .map(|a| (a.text.as_str(), a.stats.as_ref().map_or(0, |s| s.generated_tokens), a.stats.as_ref().map_or(0.0, |s| s.decode_tps)))
            .collect();
        crate::samples::agreement(&done)
    }

    /// Take sample 0 out of the column (the answer a follow-up continues,
    /// as the history keeps it).
    pub fn take_first(&mut self) -> Answer {
        if self.samples.shown == 0 {
            std::mem::take(&mut self.answer)
        } else {
            self.samples.others.first_mut().map(std::mem::take).unwrap_or_default()
        }
    }

    /// The header's word on samples: "sample 2/3 · 2 distinct · agree 67%".
    pub fn samples_label(&self) -> Option<String> {
        let s = &self.samples;
        if s.k <= 1 {
            return None;
        }
        let mut out = format!("sample {}/{}", s.shown + 1, s.k);
        if let Some(a) = s.agreement.as_ref().filter(|a| a.k > 1) {
            out.push_str(&format!(" · {} distinct · agree {:.0}%", a.distinct, a.agreement * 100.0));
        }
        Some(out)
    }
}

impl super::App {
    /// `[` / `]`: show the active column's previous or next sample.
    pub(super) fn flip_sample(&mut self, step: i32) {
        let col = self.active_column;
        let theme = self.theme.clone();
        let Some(c) = self.run.as_mut().and_then(|r| r.columns.get_mut(col)) else { return };
        let k = c.samples.k;
        if k <= 1 {
            self.notice = Some("this column has one sample (samples = K in its parameters gives more)".into());
            return;
        }
        let next = (c.samples.shown as i32 + step).rem_euclid(k as i32) as u32;
        c.samples.flipped = true;
        c.show_sample(next, &theme);
        let status = c.answer.status;
        // A diff of this column was of the sample shown before.
        if self.diff.as_ref().is_some_and(|d| d.a == col || d.b == col) {
            self.end_diff();
        }
        self.notice = Some(format!("sample {}/{k}{}", next + 1, if status == Status::Queued { " (not run yet)" } else { "" }));
    }
}
