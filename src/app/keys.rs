//! What a key does: in an overlay, its own scope's actions; in a pane, the
//! actions of the pane's scopes (keymap), then the model filter (bound keys
//! end or clear it, the rest type) and plain editing keys in the prompt
//! editor (with prompt history on Up and Down).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::overlays::Reply;
use super::overlays::{confirm::ConfirmQuit, help::HelpView, params::ParamsEditor};
use super::{App, Effect, Focus, replace_text};
use crate::keymap::{Action, Key, Scope};
use crate::layout;
use crate::store::query::Query;

impl App {
    fn scopes(&self) -> &'static [Scope] {
        match self.focus {
            Focus::Models => &[Scope::Global, Scope::Browse, Scope::Models],
            Focus::Columns => &[Scope::Global, Scope::Browse, Scope::Columns],
            Focus::Prompt => &[Scope::Global, Scope::Editor],
        }
    }

    pub(super) fn key(&mut self, ev: KeyEvent) -> Vec<Effect> {
        self.notice = None;
        self.notice_for = None;
        let Some(key) = Key::from_event(&ev) else { return vec![] };
        // Ctrl-C always quits, whatever is open and however keys are bound.
        if ev.code == KeyCode::Char('c') && ev.modifiers.contains(KeyModifiers::CONTROL) {
            return self.quit_now();
        }
        if let Some(overlay) = self.overlay.as_mut() {
            let action = self.keymap.lookup(&key, &[overlay.scope()]);
            let reply = overlay.key(action, &ev);
            if !matches!(reply, Reply::Stay) {
                self.overlay = None;
            }
            return match reply {
                Reply::Stay | Reply::Close => vec![],
                Reply::Effects(effects) => effects,
                Reply::Quit => self.quit_now(),
                Reply::Then(change) => change(self),
            };
        }
        if self.list.filtering && self.focus == Focus::Models {
            let action = self.keymap.lookup(&key, &[Scope::Filter]);
            return self.filter_key(action, ev);
        }
        if self.search.typing {
            let action = self.keymap.lookup(&key, &[Scope::Search]);
            return self.search_key(action, ev);
        }
        // While a blind vote is offered its keys vote from any pane (the
        // editor still has the prompt just run; "2" must not type into it).
        if self.vote_offered() {
            let action = self.keymap.lookup(&key, &[Scope::Columns]);
            let ranking = self.run.as_ref().and_then(|r| r.blind.as_ref()).is_some_and(|b| !b.ranking.is_empty());
            match action {
                Some(Action::Rank) => {
                    let digit = if let KeyCode::Char(c) = ev.code { c.to_digit(10).map(|d| d as usize) } else { None };
                    return self.vote(Action::Rank, digit);
                }
                Some(a @ (Action::VoteTie | Action::VoteBad)) => return self.vote(a, None),
                Some(Action::VoteDone) if ranking => return self.vote(Action::VoteDone, None),
                _ => {}
            }
        }
        match self.keymap.lookup(&key, self.scopes()) {
            Some(Action::Rank) => {
                let digit = if let KeyCode::Char(c) = ev.code { c.to_digit(10).map(|d| d as usize) } else { None };
                self.vote(Action::Rank, digit)
            }
            Some(action) => self.action(action),
            None if self.focus == Focus::Prompt => {
                self.edit_key(ev);
                vec![]
            }
            None => vec![],
        }
    }

    fn action(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Run => return self.start_run(),
            Action::FollowUp => return self.follow_up(),
            Action::Retry => return self.retry_failed(),
            Action::Cancel => return self.cancel_key(),
            Action::StopRun => {
                let mut out = Vec::new();
                if let Some(run) = self.run.as_ref().filter(|r| r.active()) {
                    out.push(Effect::Cancel(run.id));
                }
                if let Some(j) = self.run.as_ref().and_then(|r| r.judge.as_ref()).filter(|j| j.busy()) {
                    out.push(Effect::Cancel(j.run));
                }
                if !out.is_empty() {
                    self.notice = Some("stopping the run (answers so far are kept)".into());
                }
                return out;
            }
            Action::FocusNext | Action::FocusPrev if self.zoom => {
                // The other panes are out of sight while zoomed: bring them back.
                self.zoom = false;
                self.reflow();
            }
            Action::FocusNext | Action::FocusPrev => {
                let order = [Focus::Models, Focus::Prompt, Focus::Columns];
                let n = if self.run.is_some() { 3 } else { 2 };
                let i = order.iter().position(|f| *f == self.focus).unwrap_or(0);
                let next = if action == Action::FocusNext { (i + 1) % n } else { (i + n - 1) % n };
                self.focus = order[next];
            }
            Action::QuitNow => return self.quit_now(),
            Action::Quit => {
                if self.run_active() {
                    self.overlay = Some(Box::new(ConfirmQuit));
                } else {
                    self.quit = true;
                    return vec![Effect::Quit];
                }
            }
            Action::Help => self.overlay = Some(Box::new(HelpView::default())),
            Action::Up => self.scroll(-1),
            Action::Down => self.scroll(1),
            Action::PageUp => self.scroll(-(self.page() as isize)),
            Action::PageDown => self.scroll(self.page() as isize),
            Action::Top => self.scroll(isize::MIN),
            Action::Bottom => self.scroll(isize::MAX),
            Action::Select => {
                // A selection made by hand is the pool again.
                self.pair_pool = None;
                self.list.toggle();
            }
            Action::Filter => self.list.filtering = true,
            Action::Duplicate => {
                self.pair_pool = None;
                self.list.duplicate();
            }
            Action::Params => {
                if let Some(i) = self.list.current() {
                    let e = &self.list.entries[i];
                    let (model, settings, base) = (self.list.model(e).name.clone(), e.settings.clone(), e.base.clone());
                    self.overlay = Some(Box::new(ParamsEditor::new(i, model, settings, base)));
                }
            }
            Action::Engine => match self.list.cycle_engine() {
                Some(e) => self.notice = Some(format!("engine: {}", e.label())),
                None => self.notice = Some("no other engine can run this model".into()),
            },
            Action::Remove => {
                self.pair_pool = None;
                if !self.list.remove() {
                    self.notice = Some("only added copies can be removed (d adds one)".into());
                }
            }
            Action::NextColumn | Action::PrevColumn => {
                let n = self.run.as_ref().map_or(0, |r| r.columns.len());
                if n > 0 {
                    let step = if action == Action::NextColumn { 1 } else { n - 1 };
                    self.active_column = (self.active_column + step) % n;
                    if self.zoom {
                        self.reflow();
                    }
                }
            }
            Action::Zoom => {
                self.zoom = !self.zoom;
                let z = self.keymap.label(Action::Zoom);
                self.notice = Some(if self.zoom {
                    format!("zoomed: this column has the screen ({z} again brings the panes back)")
                } else {
                    "unzoomed".into()
                });
                self.reflow();
            }
            Action::SyncScroll => {
                self.sync_scroll = !self.sync_scroll;
                self.notice = Some(format!("sync scroll {}", if self.sync_scroll { "on" } else { "off" }));
            }
            Action::Copy => {
                if let Some(c) = self.run.as_ref().and_then(|r| r.columns.get(self.active_column)) {
                    return vec![Effect::Copy(c.answer.text.clone())];
                }
            }
            Action::CopyCode
            | Action::Raw
            | Action::RawAll
            | Action::Thinking
            | Action::Fold
            | Action::Search
            | Action::SearchNext
            | Action::SearchPrev => return self.reading(action),
            Action::Diff => self.diff_key(),
            Action::PrevSample => self.flip_sample(-1),
            Action::NextSample => self.flip_sample(1),
            Action::Leaderboard => return vec![super::blind::board_query(true)],
            Action::BlindPair => self.pick_pair(),
            Action::Judge => return self.judge_key(),
            Action::VoteTie | Action::VoteBad | Action::VoteDone | Action::Rank => return self.vote(action, None),
            Action::Blind => {
                self.blind = !self.blind;
                self.notice = Some(
                    if self.blind {
                        "blind mode: the next runs are shuffled and unnamed until you vote (numbers best first, = tie, 0 all bad)"
                    } else {
                        "blind mode off"
                    }
                    .into(),
                );
                if self.blind {
                    // The board informs the suggested next pair.
                    return vec![super::blind::board_query(false)];
                }
            }
            Action::HistoryPrev => self.history_step(-1),
            Action::HistoryNext => self.history_step(1),
            Action::SystemPrompt => self.editing_system = !self.editing_system,
            Action::ClearPrompt => {
                let empty = replace_text(self.editor(), "");
                *self.editor() = empty;
            }
            Action::Export => match &self.run {
                Some(run) => {
                    self.export_partial = run.active();
                    if run.active() {
                        self.notice = Some("exporting the answers so far: the run is still going".into());
                    }
                    return vec![Effect::Export(run.target())];
                }
                None => self.notice = Some("nothing to export yet: run a prompt first".into()),
            },
            Action::History => return vec![Effect::Query(Query::List { limit: 500 })],
            // Bound in the filter, the search and the overlays, which
            // handle their own.
            _ => {}
        }
        vec![]
    }

    /// Esc: while a model answers and others wait, skip it (the run goes
    /// on); a second Esc, or Esc on the last model, stops the run; else a
    /// reading judge, else the model filter.
    fn cancel_key(&mut self) -> Vec<Effect> {
        let stop = self.keymap.label(Action::StopRun);
        let esc = self.keymap.label(Action::Cancel);
        if let Some(run) = self.run.as_mut().filter(|r| r.active()) {
            let waiting = run.columns.iter().any(|c| c.answer.status == crate::engine::answer::Status::Queued);
            let busy = run.current().map(|(_, c)| (c.slot, c.label.clone()));
            return match busy {
                Some((slot, label)) if waiting && !run.skipped => {
                    run.skipped = true;
                    let name = if run.hidden() { "this model".to_string() } else { label };
                    self.notice = Some(format!("skipping {name}; the run goes on ({esc} again stops it, {stop} at once)"));
                    vec![Effect::Skip { run: run.id, slot }]
                }
                _ => {
                    self.notice = Some("stopping the run (answers so far are kept)".into());
                    vec![Effect::Cancel(run.id)]
                }
            };
        }
        if let Some(j) = self.run.as_ref().and_then(|r| r.judge.as_ref()).filter(|j| j.busy()) {
            return vec![Effect::Cancel(j.run)];
        }
        if self.list.filtering {
            self.list.filtering = false;
        }
        vec![]
    }

    pub(super) fn quit_now(&mut self) -> Vec<Effect> {
        self.quit = true;
        let mut out = Vec::new();
        if let Some(run) = self.run.as_ref().filter(|r| r.active()) {
            out.push(Effect::Cancel(run.id));
        }
        if let Some(j) = self.run.as_ref().and_then(|r| r.judge.as_ref()).filter(|j| j.busy()) {
            out.push(Effect::Cancel(j.run));
        }
        out.push(Effect::Quit);
        out
    }

    /// Lines in a page of the focused column.
    fn page(&self) -> usize {
        match self.focus {
            Focus::Columns => self.column_height().saturating_sub(1).max(1),
            _ => (layout::panes(self.size, self.zoom).models.height as usize).saturating_sub(3).max(1),
        }
    }

    /// Text lines a column shows at this size.
    pub fn column_height(&self) -> usize {
        let n = self.run.as_ref().map_or(0, |r| r.columns.len());
        let judged = self.run.as_ref().is_some_and(|r| r.judge.is_some());
        let (area, _) = layout::answers(layout::panes(self.size, self.zoom).columns, judged);
        let cols = layout::columns(area, n, self.zoom, self.active_column);
        cols.shown.first().map_or(1, |(_, r)| layout::inner(*r).1)
    }

    fn scroll(&mut self, delta: isize) {
        match self.focus {
            Focus::Models => {
                let d = delta.clamp(-(1 << 20), 1 << 20);
                self.list.move_by(d);
            }
            Focus::Columns => {
                let h = self.column_height();
                let (sync, active) = (self.sync_scroll, self.active_column);
                let Some(run) = self.run.as_mut() else { return };
                for (i, c) in run.columns.iter_mut().enumerate() {
                    if !sync && i != active {
                        continue;
                    }
                    match delta {
                        isize::MIN => c.to_top(),
                        isize::MAX => c.to_bottom(),
                        d => c.scroll_by(d, h),
                    }
                }
            }
            Focus::Prompt => {}
        }
    }

    pub(super) fn filter_key(&mut self, action: Option<Action>, ev: KeyEvent) -> Vec<Effect> {
        match action {
            Some(Action::FilterClear) => {
                self.list.filter.clear();
                self.list.filtering = false;
            }
            Some(Action::FilterDone) => self.list.filtering = false,
            _ => {
                super::overlays::type_into(&mut self.list.filter, &ev);
            }
        }
        self.list.move_by(0);
        vec![]
    }

    pub(super) fn edit_key(&mut self, ev: KeyEvent) {
        let plain = ev.modifiers.is_empty();
        let at_first = self.editor().cursor().0 == 0;
        let at_last = self.editor().cursor().0 + 1 >= self.editor().lines().len();
        if plain && ev.code == KeyCode::Up && at_first && !self.editing_system {
            self.history_step(-1);
        } else if plain && ev.code == KeyCode::Down && at_last && self.history_pos.is_some() {
            self.history_step(1);
        } else {
            self.editor().input(ev);
        }
    }

    pub(super) fn history_step(&mut self, delta: isize) {
        if self.history.is_empty() {
            return;
        }
        let pos = match (self.history_pos, delta < 0) {
            (None, true) => {
                self.draft = self.prompt_text();
                Some(self.history.len() - 1)
            }
            (None, false) => None,
            (Some(0), true) => Some(0),
            (Some(p), true) => Some(p - 1),
            (Some(p), false) if p + 1 < self.history.len() => Some(p + 1),
            (Some(_), false) => None,
        };
        self.history_pos = pos;
        let text = match pos {
            Some(p) => self.history[p].clone(),
            None => std::mem::take(&mut self.draft),
        };
        self.prompt = replace_text(&self.prompt, &text);
    }
}
