//! Starting runs: from the selected models, from a saved comparison's own
//! models, and showing a saved comparison as it was.

use super::conversation::{answer_of, earlier_of};
use super::{App, Column, Effect, Focus, RunView, replace_text};
use crate::engine::RunEntry;
use crate::engine::protocol::answer::Answer;

impl App {
    pub(super) fn start_run(&mut self) -> Vec<Effect> {
        if self.run_active() {
            self.notice = Some("a run is in progress: Esc cancels it".into());
            return vec![];
        }
        if !self.drop_vote() {
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
                c.samples.k = e.settings.generation.samples.max(1);
                c
            })
            .collect();
        // Blind: the columns in a random order, their names hidden until the vote.
        let blind = self.blind.then(|| super::blind::Blind::shuffle(&mut columns, &mut self.blind_seed));
        let origins = list_index.iter().map(|&i| self.list.entries.get(i).map(|e| (e.model, e.copy))).collect();
        self.run = Some(RunView {
            id,
            prompt: prompt.clone(),
            system,
            columns,
            started: self.now,
            finished: None,
            entries: entries.clone(),
            origins,
            stored: None,
            blind,
            judge: None,
            skipped: false,
        });
        self.active_column = 0;
        self.launched(&prompt);
        vec![Effect::Run { id, prompt, entries, follows: None, retry: None }]
    }

    /// After a run starts on screen (fresh or a follow-up): no diff, the
    /// columns laid out, the prompt in the editor's history.
    pub(super) fn launched(&mut self, prompt: &str) {
        // A search of the answers before is of nothing on screen now.
        self.search = super::Search::default();
        self.end_diff();
        self.diff_mark = None;
        self.reflow();
        if self.history.last().map(String::as_str) != Some(prompt) {
            self.history.push(prompt.to_string());
        }
        self.history_pos = None;
    }

    /// Put a saved comparison on screen, exactly as it was stored.
    /// `entries`: what each slot runs as now, to continue the conversation
    /// (empty when a model cannot be found).
    pub(super) fn show_stored(&mut self, stored: &crate::store::StoredRun, entries: Vec<RunEntry>) {
        // The latest turn in the columns, the earlier ones above it.
        let latest = stored.prompts().last().map_or(String::new(), |p| p.to_string());
        let columns = stored
            .outputs
            .iter()
            .map(|first| {
                let engine = crate::engine::EngineKind::parse(&first.model.engine).unwrap_or_else(|| {
                    tracing::warn!("comparison #{}: unknown engine {:?} for {}", stored.id, first.model.engine, first.label);
                    crate::engine::EngineKind::default()
                });
                let latest_output = stored.latest().iter().find(|o| o.slot == first.slot);
                let answer = latest_output.map(answer_of).unwrap_or_default();
                let mut c = Column::with_answer(first.label.clone(), engine, answer, 40, self.now, &self.theme);
                c.slot = first.slot;
                if let Some(o) = latest_output.filter(|o| !o.samples.is_empty()) {
                    c.samples.k = o.samples.len() as u32 + 1;
                    c.samples.others =
                        std::iter::once(Answer::default()).chain(o.samples.iter().map(super::conversation::sample_answer)).collect();
                    c.samples.agreement = Some(c.agreement());
                }
                c.earlier = earlier_of(stored, first.slot);
                c.set_turns(&latest, &self.theme);
                c
            })
            .collect();
        self.run = Some(RunView {
            id: 0,
            prompt: latest.clone(),
            system: stored.system_prompt.clone(),
            columns,
            started: self.now,
            finished: Some(self.now),
            origins: vec![None; entries.len()],
            entries,
            stored: Some(stored.id),
            blind: None,
            judge: super::judging::JudgeView::from_votes(&stored.votes),
            skipped: false,
        });
        self.end_diff();
        self.diff_mark = None;
        // An empty prompt, focused: what is typed next is the follow-up.
        self.prompt = replace_text(&self.prompt, "");
        self.active_column = 0;
        self.focus = Focus::Prompt;
        self.notice = Some(match stored.problems.first() {
            Some(p) => format!("comparison #{}: {p}", stored.id),
            None if !stored.turns.is_empty() => format!(
                "comparison #{} from {} ({}, {} turns) · Ctrl-F continues it",
                stored.id,
                stored.started_at,
                stored.state.as_str(),
                stored.turns.len() + 1
            ),
            None => format!("comparison #{} from {} ({})", stored.id, stored.started_at, stored.state.as_str()),
        });
        self.reflow();
    }
}
