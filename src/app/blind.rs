//! Blind mode: the columns of a run in a random order, called "Model A",
//! "Model B"…, with nothing that tells them apart (engine, load time,
//! memory) until the person votes: a ranking by pressing the columns'
//! numbers best first (Enter ends it early, the rest tie last), `=` for a
//! tie, `0` when every answer is bad. The vote goes to the history, then
//! the names are revealed.

use super::{App, Column, Effect};
use crate::keymap::Action;

#[derive(Debug, Clone, PartialEq)]
pub struct Blind {
    /// Column positions pressed so far, best first.
    pub ranking: Vec<usize>,
    /// The vote is cast: names are shown.
    pub revealed: bool,
    /// A new run was asked for before the vote: the next ask drops it.
    pub drop_asked: bool,
}

pub use crate::judge::letter;

impl Blind {
    /// Shuffle `columns` (Fisher–Yates); `seed` moves on (App seeds it
    /// from the clock, tests with a constant).
    pub fn shuffle(columns: &mut [Column], seed: &mut u64) -> Blind {
        let mut next = || {
            *seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (*seed >> 33) as usize
        };
        for i in (1..columns.len()).rev() {
            let j = next() % (i + 1);
            columns.swap(i, j);
        }
        Blind { ranking: Vec::new(), revealed: false, drop_asked: false }
    }
}

/// The vote as tiers of slots: the ranked columns one by one, then the
/// rest tied.
pub fn tiers(columns: &[Column], ranking: &[usize]) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = ranking.iter().filter_map(|&p| columns.get(p)).map(|c| vec![c.slot]).collect();
    let rest: Vec<usize> = columns.iter().enumerate().filter(|(p, _)| !ranking.contains(p)).map(|(_, c)| c.slot).collect();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// "A = gemma (llama), B = SmolLM2 (llama)": who was who.
pub fn revealed(columns: &[Column]) -> String {
    let names: Vec<String> =
        columns.iter().enumerate().map(|(p, c)| format!("{} = {} ({})", letter(p), c.label, c.engine.label())).collect();
    names.join(", ")
}

impl App {
    /// A new run while a blind vote is offered asks first; asked again, it
    /// drops the vote and says who was who. True: go on with the run.
    pub(super) fn drop_vote(&mut self) -> bool {
        if !self.vote_offered() {
            return true;
        }
        let run_key = self.keymap.label(Action::Run);
        let Some(run) = self.run.as_mut() else { return true };
        let Some(blind) = run.blind.as_mut() else { return true };
        if !blind.drop_asked {
            blind.drop_asked = true;
            self.notice = Some(format!(
                "this blind run has no vote yet: vote (column numbers best first, = tie, 0 all bad), or {run_key} again to run without voting"
            ));
            return false;
        }
        blind.revealed = true;
        self.notice = Some(format!("no vote · {}", revealed(&run.columns)));
        true
    }

    /// A finished blind run waits for its vote.
    pub fn vote_offered(&self) -> bool {
        self.run.as_ref().is_some_and(|r| r.finished.is_some() && r.blind.as_ref().is_some_and(|b| !b.revealed))
    }

    /// A voting key; `digit` for `Action::Rank`.
    pub(super) fn vote(&mut self, action: Action, digit: Option<usize>) -> Vec<Effect> {
        let Some(run) = self.run.as_mut() else { return vec![] };
        let n = run.columns.len();
        let Some(blind) = run.blind.as_mut().filter(|b| !b.revealed) else {
            let b = self.keymap.label(Action::Blind);
            self.notice = Some(match (&run.blind, self.blind) {
                (Some(_), _) => "this run's vote is cast; the names are on the columns".into(),
                (None, true) => "blind mode is on: the next run is blind (this one was not)".into(),
                (None, false) => format!("voting is for blind runs: {b} turns blind mode on for the next run"),
            });
            return vec![];
        };
        if run.finished.is_none() {
            self.notice = Some("vote when every answer is in".into());
            return vec![];
        }
        let (tiers, all_bad) = match action {
            Action::Rank => {
                let Some(p) = digit.and_then(|d| d.checked_sub(1)).filter(|p| *p < n) else {
                    self.notice = Some(format!("press a column number from 1 to {n}"));
                    return vec![];
                };
                if !blind.ranking.contains(&p) {
                    blind.ranking.push(p);
                }
                if blind.ranking.len() + 1 < n {
                    let so_far: Vec<String> = blind.ranking.iter().map(|&p| letter(p)).collect();
                    self.notice = Some(format!("ranking {} · next best, or Enter: the rest tie", so_far.join(" > ")));
                    return vec![];
                }
                (tiers(&run.columns, &blind.ranking), false)
            }
            Action::VoteDone if !blind.ranking.is_empty() => (tiers(&run.columns, &blind.ranking), false),
            Action::VoteDone => {
                self.notice = Some("press the best column's number first".into());
                return vec![];
            }
            Action::VoteTie => (vec![run.columns.iter().map(|c| c.slot).collect()], false),
            Action::VoteBad => (vec![run.columns.iter().map(|c| c.slot).collect()], true),
            _ => return vec![],
        };
        blind.revealed = true;
        self.notice = Some(format!("vote saved · {}", revealed(&run.columns)));
        let vote = crate::store::votes::Vote::human(tiers, all_bad);
        // Saved first (the store answers in order), then the board again
        // for the next pair.
        vec![Effect::Query(crate::store::query::Query::Vote { target: run.target(), vote }), board_query(false)]
    }

    /// The pair to vote on next: of the selected models (or of the pool a
    /// pick was made from), the two whose rating intervals overlap most
    /// and that have met least; a model not rated yet overlaps everything.
    pub fn next_pair(&self) -> Option<(usize, usize)> {
        let pool: Vec<usize> = match &self.pair_pool {
            Some(p) => p.iter().copied().filter(|&i| i < self.list.entries.len()).collect(),
            None => self.list.selected(),
        };
        if pool.len() < 2 {
            return None;
        }
        let names: Vec<String> = pool.iter().map(|&i| self.board_name(i)).collect();
        let standing = |n: &str| self.board.as_ref()?.models.iter().find(|s| s.model == n);
        let mut best: Option<(f64, (usize, usize))> = None;
        for x in 0..pool.len() {
            for y in x + 1..pool.len() {
                let overlap = match (standing(&names[x]), standing(&names[y])) {
                    (Some(a), Some(b)) => a.high.min(b.high) - a.low.max(b.low),
                    _ => UNRATED,
                };
                let met = self.board.as_ref().map_or(0, |b| b.meetings(&names[x], &names[y]));
                let score = (overlap.max(0.0) + 1.0) / (1 + met) as f64;
                if best.is_none_or(|(s, _)| score > s) {
                    best = Some((score, (pool[x], pool[y])));
                }
            }
        }
        best.map(|(_, pair)| pair)
    }

    /// Select the next pair alone; the models it was picked from stay the
    /// pool the following pairs come from.
    pub(super) fn pick_pair(&mut self) {
        let Some((a, b)) = self.next_pair() else {
            self.notice = Some("select at least two models: blind mode then suggests which pair to vote on next".into());
            return;
        };
        if self.pair_pool.is_none() {
            self.pair_pool = Some(self.list.selected());
        }
        for (i, e) in self.list.entries.iter_mut().enumerate() {
            e.selected = i == a || i == b;
        }
        self.notice = Some(format!("selected {} and {}: run a prompt, then vote", self.list.label(a), self.list.label(b)));
    }

    /// How the leaderboard names list entry `i`.
    pub fn board_name(&self, i: usize) -> String {
        let e = &self.list.entries[i];
        let record =
            crate::store::ModelRecord { name: self.list.model(e).name.clone(), engine: e.engine.label().into(), ..Default::default() };
        crate::store::votes::identity(&record, Some(&e.settings)).1
    }
}

/// A model without a rating: it overlaps everything by this much.
const UNRATED: f64 = 1000.0;

/// Ask for the leaderboard with its matrix (`show`: open it).
pub fn board_query(show: bool) -> Effect {
    let options = crate::store::leaderboard::Options { matrix: true, ..Default::default() };
    Effect::Query(crate::store::query::Query::Leaderboard { options, show })
}
