//! Conversations: a follow-up (`Ctrl-F`) sends the editor's prompt to every
//! column's model as the next turn, each with its own earlier answers (not
//! the others'). The columns keep the earlier turns above the new answer;
//! the history records the turn in the same comparison.

use super::{App, Column, Effect, RunView};
use crate::engine::Turn;
use crate::engine::protocol::answer::{Answer, Status};
use crate::store::{StoredOutput, StoredRun};
use crate::theme::Theme;

/// The Markdown a column shows above its answer: each earlier turn's
/// prompt (quoted) and answer, then the current prompt.
pub fn transcript(earlier: &[(String, Answer)], current: &str) -> String {
    if earlier.is_empty() {
        return String::new();
    }
    let quote = |n: usize, p: &str| {
        let mut q = format!("> **▶ turn {n}**\n");
        for line in p.lines() {
            q.push_str(&format!("> {line}\n"));
        }
        q
    };
    let mut t = String::new();
    for (i, (prompt, answer)) in earlier.iter().enumerate() {
        t.push_str(&quote(i + 1, prompt));
        t.push('\n');
        match answer.status {
            Status::Finished | Status::Cancelled if !answer.text.is_empty() => t.push_str(answer.text.trim_end()),
            Status::Failed => t.push_str(&format!("*(this turn failed: {})*", answer.error.as_deref().unwrap_or("no reason given"))),
            s => t.push_str(&format!("*(no answer: {s})*")),
        }
        // Close an unclosed fence so it cannot swallow what follows.
        if answer.text.matches("```").count() % 2 == 1 {
            t.push_str("\n```");
        }
        t.push_str("\n\n---\n\n");
    }
    t.push_str(&quote(earlier.len() + 1, current));
    t.push('\n');
    t
}

impl Column {
    /// Start the next turn: the answer so far joins the earlier turns.
    pub fn next_turn(&mut self, asked: &str, prompt: &str, now: std::time::Instant, theme: &Theme) {
        let width = self.wrap.width();
        let mut next = Column::new(self.label.clone(), self.engine, self.entry, width, now, theme);
        next.slot = self.slot;
        next.raw = self.raw;
        next.earlier = std::mem::take(&mut self.earlier);
        // The conversation goes on from the first sample, as the history has it.
        next.earlier.push((asked.to_string(), self.take_first()));
        next.samples.k = self.samples.k;
        next.set_turns(prompt, theme);
        *self = next;
    }

    /// Lay out the transcript of the earlier turns before `prompt`.
    pub fn set_turns(&mut self, prompt: &str, theme: &Theme) {
        self.transcript = transcript(&self.earlier, prompt);
        self.transcript_md.reset(&self.transcript, self.wrap.width(), theme);
    }

    /// The conversation this column's model has had: the turns it answered.
    pub fn conversation(&self, current: Option<&str>) -> Vec<Turn> {
        let earlier = self.earlier.iter().map(|(p, a)| (p.as_str(), a.status, a.text.as_str()));
        let now = current.map(|p| (p, self.answer.status, self.answer.text.as_str()));
        crate::conversation::answered(earlier.chain(now))
    }
}

impl App {
    /// A fresh run id.
    fn take_run_id(&mut self) -> crate::engine::RunId {
        self.next_run += 1;
        self.next_run - 1
    }

    /// `Ctrl-F`: the editor's prompt as the next turn of the conversation on screen.
    pub(super) fn follow_up(&mut self) -> Vec<Effect> {
        let prompt = self.prompt_text();
        let why_not = match &self.run {
            None => Some("a follow-up continues the comparison on screen: run one first (F5)"),
            Some(_) if self.run_active() => Some("a run is in progress: Esc cancels it"),
            Some(_) if prompt.trim().is_empty() => Some("type the follow-up in the editor, then Ctrl-F"),
            Some(r) if r.entries.len() < r.columns.len() => {
                Some("this comparison's models cannot all be found now; F5 runs the prompt afresh")
            }
            Some(_) => None,
        };
        if let Some(why) = why_not {
            self.notice = Some(why.into());
            return vec![];
        }
        self.refresh_entries();
        let (now, theme, id) = (self.now, self.theme, self.take_run_id());
        let Some(run) = self.run.as_mut() else { return vec![] };
        let column = |slot: usize| run.columns.iter().find(|c| c.slot == slot);
        let entries = crate::conversation::next_turn(run.entries.clone(), |slot| {
            column(slot).map(|c| c.conversation(Some(&run.prompt))).unwrap_or_default()
        });
        let failed: Vec<String> = run.columns.iter().filter(|c| c.answer.status == Status::Failed).map(|c| c.label.clone()).collect();
        let asked = std::mem::replace(&mut run.prompt, prompt.clone());
        for c in &mut run.columns {
            c.next_turn(&asked, &prompt, now, &theme);
        }
        let follows = Some(run.restart(id, now));
        let turn = run.columns.first().map_or(1, |c| c.earlier.len() + 1);
        self.launched(&prompt);
        self.notice = Some(if failed.is_empty() {
            format!("turn {turn}: each model gets its own earlier answers")
        } else {
            format!(
                "turn {turn}: {} failed last turn and is asked without it ({} before a follow-up retries it)",
                failed.join(", "),
                self.keymap.label(crate::keymap::Action::Retry)
            )
        });
        self.notice_for = Some(id);
        vec![Effect::Run { id, prompt, entries, follows, retry: None }]
    }
}

impl App {
    /// The comparison's entries with their model-list entries' parameters as
    /// they are now: an edit made after the run (a `drop_turns`, a longer
    /// `timeout_secs`) applies to its retry and its follow-ups, and the
    /// columns' titles say so.
    fn refresh_entries(&mut self) {
        let system = self.system_text();
        let Some(run) = self.run.as_ref() else { return };
        let fresh: Vec<(usize, crate::engine::RunEntry)> = run
            .origins
            .iter()
            .enumerate()
            .filter_map(|(slot, o)| {
                let (model, copy) = (*o)?;
                let i = self.list.entries.iter().position(|e| e.model == model && e.copy == copy)?;
                let mut e = self.entry(i, Some(&system));
                e.history = run.entries.get(slot)?.history.clone();
                Some((slot, e))
            })
            .collect();
        let Some(run) = self.run.as_mut() else { return };
        for (slot, e) in fresh {
            if let Some(c) = run.column_of(slot) {
                c.label = e.label.clone();
            }
            if let Some(old) = run.entries.get_mut(slot) {
                *old = e;
            }
        }
    }

    /// `retry` (F6): ask the models that failed or were cancelled in the
    /// turn on screen again, with the same prompt, their own earlier turns
    /// and their parameters as they are now; the others keep their answers.
    pub(super) fn retry_failed(&mut self) -> Vec<Effect> {
        let again = |s: Status| matches!(s, Status::Failed | Status::Cancelled);
        let why_not = match &self.run {
            None => Some("nothing to retry"),
            Some(_) if self.run_active() => Some("a run is in progress: Esc cancels it"),
            Some(r) if !r.columns.iter().any(|c| again(c.answer.status)) => Some("no model failed or was cancelled this turn"),
            Some(r) if r.entries.len() < r.columns.len() => Some("this comparison's models cannot all be found now"),
            Some(_) => None,
        };
        if let Some(why) = why_not {
            self.notice = Some(why.into());
            return vec![];
        }
        self.refresh_entries();
        let (now, theme, id) = (self.now, self.theme, self.take_run_id());
        let Some(run) = self.run.as_mut() else { return vec![] };
        let failed: Vec<usize> = run.columns.iter().filter(|c| again(c.answer.status)).map(|c| c.slot).collect();
        let column = |slot: usize| run.columns.iter().find(|c| c.slot == slot);
        let entries =
            crate::conversation::retry(run.entries.clone(), &failed, |slot| column(slot).map(|c| c.conversation(None)).unwrap_or_default());
        let names: Vec<String> = run.columns.iter().filter(|c| failed.contains(&c.slot)).map(|c| c.label.clone()).collect();
        let prompt = run.prompt.clone();
        for c in run.columns.iter_mut().filter(|c| failed.contains(&c.slot)) {
            let earlier = std::mem::take(&mut c.earlier);
            let mut fresh = Column::new(c.label.clone(), c.engine, c.entry, c.wrap.width(), now, &theme);
            fresh.slot = c.slot;
            fresh.raw = c.raw;
            fresh.samples.k = c.samples.k;
            fresh.earlier = earlier;
            fresh.set_turns(&prompt, &theme);
            *c = fresh;
        }
        let turn = run.columns.first().map_or(0, |c| c.earlier.len());
        let follows = Some(run.restart(id, now));
        self.launched(&prompt);
        self.notice = Some(format!("asking {} again", names.join(", ")));
        self.notice_for = Some(id);
        vec![Effect::Run { id, prompt, entries, follows, retry: Some(turn) }]
    }
}

impl RunView {
    /// The comparison on screen in the history: by its id when it was
    /// reopened, else by the run that recorded it.
    pub fn target(&self) -> crate::store::query::Target {
        match self.stored {
            Some(id) => crate::store::query::Target::Stored(id),
            None => crate::store::query::Target::Run(self.id),
        }
    }

    /// The view becomes run `id`, starting now (a follow-up or a retry of
    /// the same comparison); returns the comparison it continues.
    fn restart(&mut self, id: crate::engine::RunId, now: std::time::Instant) -> crate::store::query::Target {
        let before = self.target();
        self.id = id;
        self.started = now;
        self.finished = None;
        self.judge = None;
        self.skipped = false;
        before
    }
}

/// A stored comparison's columns' earlier turns: every turn but the last,
/// per slot.
pub fn earlier_of(stored: &StoredRun, slot: usize) -> Vec<(String, Answer)> {
    let prompts = stored.prompts();
    let answers = stored.answers_of(slot);
    let n = prompts.len().saturating_sub(1);
    prompts.into_iter().zip(answers).take(n).map(|(p, o)| (p.to_string(), o.map(answer_of).unwrap_or_default())).collect()
}

/// A stored answer as the columns hold it (what was still running when the
/// process stopped reads as cancelled).
/// A stored further sample as an answer on screen.
pub fn sample_answer(s: &crate::store::samples::StoredSample) -> Answer {
    Answer {
        status: if s.status.is_final() { s.status } else { Status::Cancelled },
        text: s.text.clone(),
        thinking: s.thinking.clone(),
        stats: s.stats.clone(),
        error: s.error.clone(),
        load_ms: s.stats.as_ref().map(|s| s.load_ms),
        progress: None,
    }
}

pub fn answer_of(o: &StoredOutput) -> Answer {
    Answer {
        status: if o.status.is_final() { o.status } else { Status::Cancelled },
        text: o.text.clone(),
        thinking: o.thinking.clone(),
        stats: o.stats.clone(),
        error: o.error.clone(),
        load_ms: o.stats.as_ref().map(|s| s.load_ms),
        progress: None,
    }
}
