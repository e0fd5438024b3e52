//! Starting runs: from the selected models, from a saved comparison's own
//! models, and showing a saved comparison as it was.

use super::{App, Column, Effect, Focus, RunView, replace_text};
use crate::engine::RunEntry;
use crate::engine::answer::{Answer, Status};

impl App {
    pub(super) fn start_run(&mut self) -> Vec<Effect> {
        if self.run_active() {
            self.notice = Some("a run is in progress: Esc cancels it".into());
            return vec![];
        }
        let selected = self.list.selected();
        if selected.is_empty() {
            self.notice = Some("select at least one model (Space in the model list)".into());
            return vec![];
        }
        let prompt = self.prompt_text();
        if prompt.trim().is_empty() {
            self.notice = Some("the prompt is empty: Tab to the editor and type one".into());
            return vec![];
        }
        let system = self.system_text();
        let entries: Vec<RunEntry> = selected.iter().map(|&i| self.entry(i, Some(&system))).collect();
        self.launch(prompt, system, entries, &selected)
    }

    /// Run `entries` (a saved comparison's own models) on `prompt`.
    pub(super) fn start_entries(&mut self, prompt: String, system: String, entries: Vec<RunEntry>) -> Vec<Effect> {
        if self.run_active() {
            self.notice = Some("a run is in progress: Esc cancels it".into());
            return vec![];
        }
        if entries.is_empty() {
            self.notice = Some("none of that comparison's models can be found now".into());
            return vec![];
        }
        let none = vec![usize::MAX; entries.len()];
        self.launch(prompt, system, entries, &none)
    }

    pub(super) fn launch(&mut self, prompt: String, system: String, entries: Vec<RunEntry>, list_index: &[usize]) -> Vec<Effect> {
        let id = self.next_run;
        self.next_run += 1;
        let mut columns: Vec<Column> = entries
            .iter()
            .zip(list_index)
            .enumerate()
            .map(|(slot, (e, &i))| {
                let mut c = Column::new(e.label.clone(), e.engine, i, 40, self.now, &self.theme);
                c.slot = slot;
                c
            })
            .collect();
        // Blind: the columns in a random order, their names hidden until the vote.
        let blind = self.blind.then(|| super::blind::Blind::shuffle(&mut columns, &mut self.blind_seed));
        self.run = Some(RunView {
            id,
            prompt: prompt.clone(),
            system,
            columns,
            started: self.now,
            finished: None,
            entries: entries.clone(),
            stored: None,
            blind,
            judge: None,
        });
        self.active_column = 0;
        self.end_diff();
        self.diff_mark = None;
        self.reflow();
        if self.history.last() != Some(&prompt) {
            self.history.push(prompt.clone());
        }
        self.history_pos = None;
        vec![Effect::Run { id, prompt, entries }]
    }

    /// Put a saved comparison on screen, exactly as it was stored.
    pub(super) fn show_stored(&mut self, stored: &crate::store::StoredRun) {
        let columns = stored
            .outputs
            .iter()
            .map(|o| {
                let engine = crate::engine::EngineKind::parse(&o.model.engine).unwrap_or_else(|| {
                    tracing::warn!("comparison #{}: unknown engine {:?} for {}", stored.id, o.model.engine, o.label);
                    crate::engine::EngineKind::Llama
                });
                let answer = Answer {
                    // What was still running when the process stopped reads as cancelled.
                    status: if o.status.is_final() { o.status } else { Status::Cancelled },
                    text: o.text.clone(),
                    thinking: o.thinking.clone(),
                    stats: o.stats.clone(),
                    error: o.error.clone(),
                    load_ms: o.stats.as_ref().map(|s| s.load_ms),
                    progress: None,
                };
                let mut c = Column::with_answer(o.label.clone(), engine, answer, 40, self.now, &self.theme);
                c.slot = o.slot;
                c
            })
            .collect();
        self.run = Some(RunView {
            id: 0,
            prompt: stored.prompt.clone(),
            system: stored.system_prompt.clone(),
            columns,
            started: self.now,
            finished: Some(self.now),
            entries: Vec::new(),
            stored: Some(stored.id),
            blind: None,
            judge: super::judging::JudgeView::from_votes(&stored.votes),
        });
        self.end_diff();
        self.diff_mark = None;
        self.prompt = replace_text(&self.prompt, &stored.prompt);
        self.active_column = 0;
        self.focus = Focus::Columns;
        self.notice = Some(match stored.problems.first() {
            Some(p) => format!("comparison #{}: {p}", stored.id),
            None => format!("comparison #{} from {} ({})", stored.id, stored.started_at, stored.state.as_str()),
        });
        self.reflow();
    }
}
