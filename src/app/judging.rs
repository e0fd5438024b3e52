//! The judge in the TUI: `J` asks the model under the model list's cursor
//! to judge the finished comparison on screen, from the same queue as the
//! runs (the answers anonymised, in both orders: `judge::Plan`). Its replies
//! come back as engine events of its own run id; when it is done the
//! verdict is shown under the columns and saved as a `judge:` vote. With
//! samples it judges each sample number (the models' first samples
//! together, then their second, …), shows the first verdict and saves
//! every one. A judge that fails leaves the answers as they are and says why.

use std::collections::HashMap;

use super::{App, Effect};
use crate::engine::protocol::answer::{Answer, Status};
use crate::engine::{EngineEvent, EventKind, RunEntry, RunId};
use crate::judge::{Plan, Verdict};
use crate::store::votes::Vote;

#[derive(Debug, Clone, PartialEq)]
pub struct JudgeView {
    /// The judge's own run.
    pub run: RunId,
    pub label: String,
    pub plan: Plan,
    /// The judge's answers, by judge prompt.
    pub replies: HashMap<usize, Answer>,
    /// None while it reads.
    pub verdict: Option<Result<Verdict, String>>,
}

impl JudgeView {
    pub fn busy(&self) -> bool {
        self.verdict.is_none()
    }

    /// A verdict saved with a stored comparison (the latest judge's vote).
    pub fn from_votes(votes: &[Vote]) -> Option<JudgeView> {
        let vote = votes.iter().rev().find(|v| v.voter.starts_with(crate::judge::JUDGE_PREFIX))?;
        let verdict = serde_json::from_value::<Verdict>(vote.detail.clone()?).ok()?;
        Some(JudgeView {
            run: 0,
            label: vote.voter.trim_start_matches(crate::judge::JUDGE_PREFIX).to_string(),
            plan: Plan::default(),
            replies: HashMap::new(),
            verdict: Some(Ok(verdict)),
        })
    }
}

impl App {
    /// `J`: judge the comparison on screen with the model under the cursor.
    pub(super) fn judge_key(&mut self) -> Vec<Effect> {
        let Some(run) = self.run.as_ref() else {
            self.notice = Some("run a comparison first: the judge compares its answers".into());
            return vec![];
        };
        let why_not = if run.active() {
            Some("judge when every answer is in".to_string())
        } else if run.judge.as_ref().is_some_and(JudgeView::busy) {
            Some("the judge is reading: Esc stops it".to_string())
        } else if run.hidden() {
            Some("vote first: the judge's verdict would sway yours".to_string())
        } else if run.columns.len() < 2 || run.columns.iter().any(|c| c.sample(0).is_none_or(|a| a.status != Status::Finished)) {
            Some("the judge needs two or more answers, all finished".to_string())
        } else {
            None
        };
        if let Some(why) = why_not {
            self.notice = Some(why);
            return vec![];
        }
        let Some(i) = self.list.current() else {
            self.notice = Some("put the model list's cursor on the judge model, then J".into());
            return vec![];
        };
        let entry = crate::judge::judge_entry(self.entry(i, None), &self.list.entries[i].base);
        let Some(run) = self.run.as_mut() else { return vec![] };
        let mut by_slot: Vec<&crate::app::Column> = run.columns.iter().collect();
        by_slot.sort_by_key(|c| c.slot);
        // One question per sample number.
        let k = by_slot.iter().map(|c| c.samples.k.max(1)).max().unwrap_or(1);
        let answers: Vec<Vec<Option<&str>>> = (0..k)
            .map(|s| by_slot.iter().map(|c| c.sample(s).filter(|a| a.status == Status::Finished).map(|a| a.text.as_str())).collect())
            .collect();
        let plan = Plan::new(&vec![run.prompt.clone(); k as usize], &answers, &self.criteria);
        let id = self.next_run;
        self.next_run += 1;
        self.notice = Some(format!("{} is judging (anonymised, in both orders)…", entry.label));
        let prompts = plan.prompts.clone();
        run.judge = Some(JudgeView { run: id, label: entry.label.clone(), plan, replies: HashMap::new(), verdict: None });
        vec![Effect::Judge { id, prompts, entry }]
    }

    /// An event of the judge's run: its replies, then the verdict.
    pub(super) fn judge_event(&mut self, ev: EngineEvent) -> Vec<Effect> {
        let Some(run) = self.run.as_mut() else { return vec![] };
        let n = run.columns.len();
        let target = run.target();
        let Some(judge) = run.judge.as_mut().filter(|j| j.run == ev.run && j.busy()) else { return vec![] };
        if !matches!(ev.kind, EventKind::RunDone) {
            judge.replies.entry(ev.prompt).or_default().apply(&ev.kind);
            return vec![];
        }
        // The plan's questions are the sample numbers.
        let mut judged = judge.plan.conclude(&judge.replies, &self.criteria);
        judged.sort_by_key(|j| j.prompt);
        let effects: Vec<Effect> = judged
            .iter()
            .filter_map(|j| j.verdict.as_ref().ok().map(|v| v.to_vote(0, 0, j.prompt as u32, &judge.label, n)))
            .map(|vote| Effect::Query(crate::store::query::Query::Vote { target: target.clone(), vote }))
            .collect();
        let verdict = judged.into_iter().next().map_or_else(|| Err("the judge was not asked".into()), |j| j.verdict);
        let notice = match (&verdict, effects.len()) {
            (Ok(_), 1) => "the judge's verdict is under the columns".to_string(),
            (Ok(_), k) => format!("the judge's verdicts on {k} samples are saved; the first sample's is under the columns"),
            (Err(e), _) => format!("no verdict: {e}"),
        };
        judge.verdict = Some(verdict);
        self.notice = Some(notice);
        effects
    }

    /// The list entry `i` as a run entry; `system`: the editor's system
    /// prompt, used unless the entry was given its own.
    pub(super) fn entry(&self, i: usize, system: Option<&str>) -> RunEntry {
        let e = &self.list.entries[i];
        let mut settings = e.settings.clone();
        if let Some(system) = system.filter(|_| settings.generation.system_prompt == e.base.generation.system_prompt) {
            settings.generation.system_prompt = system.to_string();
        }
        let model = self.list.model(e).clone();
        let endpoint = crate::engine::remote::target_for(&model, &self.endpoints);
        RunEntry { label: self.list.label(i), model, engine: e.engine, settings, prompts: None, endpoint, history: Vec::new() }
    }
}
