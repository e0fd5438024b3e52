//! The leaderboard: every battle the filter keeps (local votes and imported
//! files), rated as LMArena rates them (`rating`), with LMArena's ranks, a
//! provisional mark, the win matrix and style control when asked.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use super::Store;
use super::battles::{Battle, Winner};
use super::votes::Filter;
use crate::rating::style::{self, COVARIATES};
use crate::rating::{self, Cell, Game};

/// Fewer votes than this, or an interval wider than `WIDE`, and a rating
/// is provisional.
pub const FEW_VOTES: u64 = 20;
pub const WIDE: f64 = 200.0;
/// Bootstrap rounds of the plain fit (a fit of the pairs' tallies: cheap
/// however many battles).
const ROUNDS: usize = 500;
/// The style fit reads every battle in each of its Newton steps: its
/// rounds shrink as battles grow (200 up to 20,000 battles, 40 from
/// 100,000), so a large arena file still rates in seconds.
fn style_rounds(battles: usize) -> usize {
    (4_000_000 / battles.max(1)).clamp(40, 200)
}

/// One model's line of the leaderboard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Standing {
    pub model: String,
    /// File fingerprint, engine and non-default settings (or `name:NAME`
    /// for a model known only by an imported name).
    pub key: String,
    pub rating: f64,
    pub low: f64,
    pub high: f64,
    /// 1 + the number of models whose interval lies wholly above this one.
    pub rank: usize,
    pub provisional: bool,
    pub wins: u64,
    pub losses: u64,
    pub ties: u64,
    pub votes: u64,
}

/// How "both bad" counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum BothBad {
    /// As a tie (LMArena's default).
    #[default]
    Tie,
    /// Left out.
    Exclude,
}

/// What to rate and what to show.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    pub filter: Filter,
    pub both_bad: BothBad,
    /// Count blind votes whose answers named their own model.
    pub include_flagged: bool,
    pub matrix: bool,
    pub style: bool,
}

/// The style fit's part of the board.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StyleReport {
    /// Each covariate's coefficient (log-odds per standard deviation).
    pub coefficients: BTreeMap<&'static str, f64>,
    /// Battles whose answers' style was known, and those rated without it.
    pub styled: usize,
    pub unstyled: usize,
}

/// The leaderboard and what it left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Board {
    pub models: Vec<Standing>,
    /// matrix[model][opponent] by name (as `models` names them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matrix: Option<BTreeMap<String, BTreeMap<String, Cell>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub style: Option<StyleReport>,
    /// Battles rated.
    pub battles: usize,
    /// Battles left out: of flagged blind votes, and "both bad" ones
    /// (with `--both-bad exclude`).
    pub flagged: usize,
    pub both_bad_excluded: usize,
}

impl Board {
    /// How often models `a` and `b` (by name) met.
    pub fn meetings(&self, a: &str, b: &str) -> u64 {
        self.matrix.as_ref().and_then(|m| m.get(a)?.get(b)).map_or(0, |c| c.battles)
    }
}

impl Store {
    /// Every model in the battles `o` keeps, rated, best first.
    pub fn leaderboard(&self, o: &Options) -> rusqlite::Result<Board> {
        Ok(rate(self.battles(&o.filter)?, o))
    }
}

/// Rate `battles` as `o` says.
pub fn rate(battles: Vec<Battle>, o: &Options) -> Board {
    let mut board = Board::default();
    let mut kept = Vec::with_capacity(battles.len());
    for b in battles {
        if b.flagged && !o.include_flagged {
            board.flagged += 1;
        } else if b.winner == Winner::BothBad && o.both_bad == BothBad::Exclude {
            board.both_bad_excluded += 1;
        } else if b.key_a != b.key_b {
            kept.push(b);
        }
    }
    board.battles = kept.len();
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut names: Vec<(&str, &str)> = Vec::new();
    let mut games = Vec::with_capacity(kept.len());
    for b in &kept {
        let mut pair = [0; 2];
        for (at, key, name) in [(0, &b.key_a, &b.model_a), (1, &b.key_b, &b.model_b)] {
            pair[at] = *index.entry(key.as_str()).or_insert_with(|| {
                names.push((key.as_str(), name.as_str()));
                names.len() - 1
            });
        }
        games.push(Game { a: pair[0], b: pair[1], score: b.winner.score() });
    }
    let n = names.len();
    // Two models may share a display name (a teammate's file of the same
    // name, a bare imported name beside a local model): the matrix and the
    // TUI key rows by name, so each gets its key's start as well.
    let names: Vec<(&str, String)> = names
        .iter()
        .map(|&(key, name)| {
            let twins = names.iter().filter(|(_, other)| *other == name).count();
            let shown = if twins > 1 { format!("{name} [{}]", key.chars().take(12).collect::<String>()) } else { name.to_string() };
            (key, shown)
        })
        .collect();
    // The bootstrap resamples votes: a ranking's battles together.
    let mut by_vote: HashMap<&str, usize> = HashMap::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, b) in kept.iter().enumerate() {
        let g = *by_vote.entry(b.group.as_str()).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i);
    }
    let (ratings, bounds) = if o.style {
        let (fit, bounds, report) = styled(n, &kept, &games, &groups);
        board.style = Some(report);
        (fit, bounds)
    } else {
        (rating::bradley_terry(n, &games), rating::interval(n, &games, &groups, ROUNDS))
    };
    let ranks = rating::ranks(&bounds);
    let mut models: Vec<Standing> = names
        .iter()
        .enumerate()
        .map(|(i, (key, name))| Standing {
            model: name.clone(),
            key: key.to_string(),
            rating: ratings[i],
            low: bounds[i].0,
            high: bounds[i].1,
            rank: ranks[i],
            provisional: false,
            wins: 0,
            losses: 0,
            ties: 0,
            votes: 0,
        })
        .collect();
    let mut voted_in: Vec<HashSet<&str>> = vec![HashSet::new(); n];
    for (g, b) in games.iter().zip(&kept) {
        match b.winner {
            Winner::A => (models[g.a].wins += 1, models[g.b].losses += 1),
            Winner::B => (models[g.b].wins += 1, models[g.a].losses += 1),
            Winner::Tie | Winner::BothBad => (models[g.a].ties += 1, models[g.b].ties += 1),
        };
        voted_in[g.a].insert(&b.group);
        voted_in[g.b].insert(&b.group);
    }
    for (s, g) in models.iter_mut().zip(&voted_in) {
        s.votes = g.len() as u64;
        s.provisional = s.votes < FEW_VOTES || s.high - s.low > WIDE;
    }
    if o.matrix {
        let m = rating::matrix(n, &games);
        let mut out: BTreeMap<String, BTreeMap<String, Cell>> = BTreeMap::new();
        for (i, row) in m.iter().enumerate() {
            let cells = row.iter().enumerate().filter_map(|(j, c)| Some((names[j].1.clone(), (*c)?))).collect();
            out.insert(names[i].1.clone(), cells);
        }
        board.matrix = Some(out);
    }
    models.sort_by(|a, b| b.rating.total_cmp(&a.rating).then_with(|| a.model.cmp(&b.model)));
    board.models = models;
    board
}

/// The style-controlled fit: ratings, their bootstrap intervals and the
/// coefficients. Battles without style counts enter with no style
/// difference (their covariates at the mean), so they are rated without
/// style control.
fn styled(n: usize, kept: &[Battle], games: &[Game], groups: &[Vec<usize>]) -> (Vec<f64>, Vec<(f64, f64)>, StyleReport) {
    let known: Vec<usize> = (0..kept.len()).filter(|&i| kept[i].style.is_some()).collect();
    let styles: Vec<_> = known.iter().filter_map(|&i| kept[i].style).collect();
    let mut x = vec![[0.0; 4]; kept.len()];
    for (&i, f) in known.iter().zip(style::features(&styles)) {
        x[i] = f;
    }
    let rows: Vec<(Game, [f64; 4])> = games.iter().copied().zip(x).collect();
    let solve = |pick: &[&(Game, [f64; 4])], start: Option<&style::Fit>| {
        let g: Vec<&Game> = pick.iter().map(|r| &r.0).collect();
        let x: Vec<&[f64; 4]> = pick.iter().map(|r| &r.1).collect();
        style::fit(n, &g, &x, start)
    };
    let all: Vec<&(Game, [f64; 4])> = rows.iter().collect();
    let fit = solve(&all, None);
    let bounds = rating::bootstrap(n, &rows, groups, style_rounds(rows.len()), |pick| solve(pick, Some(&fit)).ratings);
    let report = StyleReport {
        coefficients: COVARIATES.iter().copied().zip(fit.coefficients).collect(),
        styled: known.len(),
        unstyled: kept.len() - known.len(),
    };
    (fit.ratings, bounds, report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn battle(a: (&str, &str), b: (&str, &str), winner: Winner, group: &str) -> Battle {
        Battle::between(a, b, winner, group)
    }

    /// Two files of one name are two models, told apart in every row.
    #[test]
    fn models_that_share_a_name_keep_their_own_rows() {
        let (mine, theirs, other) = (("f00d|llama", "gemma@llama"), ("beef|llama", "gemma@llama"), ("name:smol", "smol"));
        let battles =
            vec![battle(mine, other, Winner::A, "1"), battle(theirs, other, Winner::B, "2"), battle(mine, theirs, Winner::Tie, "3")];
        let board = rate(battles, &Options { matrix: true, ..Default::default() });
        let names: Vec<&str> = board.models.iter().map(|s| s.model.as_str()).collect();
        assert!(names.contains(&"gemma@llama [f00d|llama]") && names.contains(&"gemma@llama [beef|llama]"), "{names:?}");
        let m = board.matrix.expect("asked for");
        assert_eq!(m.len(), 3);
        assert_eq!(m["gemma@llama [f00d|llama]"]["smol"].wins, 1);
        assert_eq!(m["gemma@llama [beef|llama]"]["smol"].wins, 0);
    }

    /// A ranking's battles are one vote: counted once per model.
    #[test]
    fn a_ranking_counts_once_per_model() {
        let (a, b, c) = (("a", "a"), ("b", "b"), ("c", "c"));
        let board =
            rate(vec![battle(a, b, Winner::A, "v1"), battle(a, c, Winner::A, "v1"), battle(b, c, Winner::A, "v1")], &Options::default());
        assert!(board.models.iter().all(|s| s.votes == 1), "{:?}", board.models);
        assert_eq!(board.models[0].model, "a");
        assert_eq!((board.models[0].wins, board.models[2].losses), (2, 2));
    }
}
