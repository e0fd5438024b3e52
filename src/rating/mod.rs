//! Ratings from battles, as LMArena computes them (FastChat's
//! `elo_analysis.py`): each battle is two models and who won (a tie, or a
//! "both bad", counts half each way); strengths are Bradley–Terry's on the
//! Elo scale (400 · log10), centred so that the models' mean is 1000; the
//! 95% interval is the 2.5th and 97.5th percentile over bootstrap resamples
//! of the battles; a model's rank is 1 + the number of models whose whole
//! interval lies above its own. A vote that ranks several answers counts as
//! the battles it implies.
//!
//! Fitted as LMArena's logistic regression is (the same likelihood, by
//! Newton's method on the points each pair scored), plus one virtual tie
//! of every model against a fixed anchor, so an unbeaten model gets a
//! finite rating and models that never met are still placed (on thousands
//! of battles that tie moves differences by well under a point;
//! tests/arena.rs checks against an independent fit). `style.rs` adds
//! LMArena's style control, `leak.rs` finds blind votes that were not.

pub mod leak;
pub mod style;

/// One battle: models `a` and `b` (indices) and a's score (1 win, 0.5 tie
/// or both bad, 0 loss).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Game {
    pub a: usize,
    pub b: usize,
    pub score: f64,
}

/// The battles a ranking implies; `tiers` hold model indices, best first.
pub fn pairs(tiers: &[Vec<usize>]) -> Vec<Game> {
    let mut out = Vec::new();
    for (ti, tier) in tiers.iter().enumerate() {
        for (k, &a) in tier.iter().enumerate() {
            for &b in &tier[k + 1..] {
                out.push(Game { a, b, score: 0.5 });
            }
            for lower in &tiers[ti + 1..] {
                for &b in lower {
                    out.push(Game { a, b, score: 1.0 });
                }
            }
        }
    }
    out
}

/// Bradley–Terry ratings of `n` models from these battles, mean 1000.
pub fn bradley_terry<'a>(n: usize, games: impl IntoIterator<Item = &'a Game>) -> Vec<f64> {
    let mut t = Tally::new(n);
    for g in games {
        t.add(g);
    }
    t.fit(None)
}

/// Points scored by each model against each other (a tie half each way)
/// and games played: all the fit needs, however many battles.
struct Tally {
    n: usize,
    /// points[i * n + j]: i's points against j; played likewise (symmetric).
    points: Vec<f64>,
    played: Vec<f64>,
}

impl Tally {
    fn new(n: usize) -> Tally {
        Tally { n, points: vec![0.0; n * n], played: vec![0.0; n * n] }
    }

    fn add(&mut self, g: &Game) {
        let n = self.n;
        if g.a >= n || g.b >= n || g.a == g.b {
            return;
        }
        self.points[g.a * n + g.b] += g.score;
        self.points[g.b * n + g.a] += 1.0 - g.score;
        self.played[g.a * n + g.b] += 1.0;
        self.played[g.b * n + g.a] += 1.0;
    }

    /// The maximum-likelihood strengths (natural log scale) by Newton's
    /// method, from `start` or zero, as ratings centred on 1000. The
    /// anchor's virtual tie makes the likelihood strictly concave, so the
    /// Hessian is always positive definite.
    fn fit(&self, start: Option<&[f64]>) -> Vec<f64> {
        let n = self.n;
        let sigmoid = |z: f64| 1.0 / (1.0 + (-z).exp());
        let mut r: Vec<f64> = start.map_or_else(|| vec![0.0; n], <[f64]>::to_vec);
        for _ in 0..100 {
            let mut grad = vec![0.0; n];
            let mut hess = vec![vec![0.0; n]; n];
            for i in 0..n {
                // The anchor: half a win and half a loss against strength 0.
                let q = sigmoid(r[i]);
                grad[i] += 0.5 - q;
                hess[i][i] += q * (1.0 - q);
                for j in i + 1..n {
                    let games = self.played[i * n + j];
                    if games == 0.0 {
                        continue;
                    }
                    let p = sigmoid(r[i] - r[j]);
                    let g = self.points[i * n + j] - games * p;
                    let w = games * p * (1.0 - p);
                    grad[i] += g;
                    grad[j] -= g;
                    hess[i][i] += w;
                    hess[j][j] += w;
                    hess[i][j] -= w;
                    hess[j][i] -= w;
                }
            }
            let Some(step) = style::solve(hess, grad) else { break };
            // Long steps from far away can overshoot; the maximum is
            // approached in steps of at most 2 (a factor of e² in strength).
            let size = step.iter().fold(0.0f64, |m, s| m.max(s.abs()));
            let scale = if size > 2.0 { 2.0 / size } else { 1.0 };
            r.iter_mut().zip(&step).for_each(|(x, s)| *x += s * scale);
            if size < 1e-10 {
                break;
            }
        }
        centred(r.iter().map(|x| 400.0 * x / std::f64::consts::LN_10).collect())
    }
}

/// Ratings moved so that their mean is 1000 (LMArena's fit from zero lands
/// there: its coefficients sum to zero).
pub fn centred(mut r: Vec<f64>) -> Vec<f64> {
    if r.is_empty() {
        return r;
    }
    let shift = 1000.0 - r.iter().sum::<f64>() / r.len() as f64;
    r.iter_mut().for_each(|x| *x += shift);
    r
}

/// A small deterministic generator (splitmix64): bootstrap intervals are
/// the same every time for the same battles.
pub(crate) struct Rng(pub u64);

impl Rng {
    pub fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z % n as u64) as usize
    }
}

/// (low, high) of each model: the 2.5th and 97.5th percentile of `fit`
/// over `rounds` resamples (with replacement, as many as there are) of
/// the votes `groups` makes of `items` (each group the indices of one
/// vote's battles: a ranking of four answers is six battles that stand or
/// fall together; a battle of a file is a group of its own, as LMArena
/// resamples battles).
pub fn bootstrap<T>(n: usize, items: &[T], groups: &[Vec<usize>], rounds: usize, fit: impl Fn(&[&T]) -> Vec<f64>) -> Vec<(f64, f64)> {
    let mut rng = Rng(0x5EED);
    percentiles(
        n,
        (0..if groups.is_empty() { 0 } else { rounds }).map(|_| {
            let mut pick: Vec<&T> = Vec::with_capacity(items.len());
            for _ in 0..groups.len() {
                pick.extend(groups[rng.below(groups.len())].iter().filter_map(|&i| items.get(i)));
            }
            fit(&pick)
        }),
    )
}

/// The 95% interval of each model's Bradley–Terry rating: `rounds`
/// resamples of the votes (`groups`, as `bootstrap`), each tallied and
/// fitted from the full fit.
pub fn interval(n: usize, games: &[Game], groups: &[Vec<usize>], rounds: usize) -> Vec<(f64, f64)> {
    let mut all = Tally::new(n);
    games.iter().for_each(|g| all.add(g));
    let start: Vec<f64> = all.fit(None).iter().map(|x| (x - 1000.0) * std::f64::consts::LN_10 / 400.0).collect();
    bootstrap(n, games, groups, rounds, |pick| {
        let mut t = Tally::new(n);
        pick.iter().for_each(|g| t.add(g));
        t.fit(Some(&start))
    })
}

/// Each battle its own group (a file's battles; tests).
pub fn singles(n: usize) -> Vec<Vec<usize>> {
    (0..n).map(|i| vec![i]).collect()
}

/// (2.5th, 97.5th) percentile of each model's rating over `fits`.
fn percentiles(n: usize, fits: impl Iterator<Item = Vec<f64>>) -> Vec<(f64, f64)> {
    let mut samples = vec![Vec::new(); n];
    for fit in fits {
        for (i, r) in fit.into_iter().enumerate().take(n) {
            samples[i].push(r);
        }
    }
    samples
        .into_iter()
        .map(|mut s| {
            if s.is_empty() {
                return (1000.0, 1000.0);
            }
            s.sort_by(f64::total_cmp);
            let at = |q: f64| s[((s.len() - 1) as f64 * q).round() as usize];
            (at(0.025), at(0.975))
        })
        .collect()
}

/// LMArena's rank: 1 + the number of models whose lower bound is above this
/// one's upper bound (models whose intervals overlap share a rank).
pub fn ranks(bounds: &[(f64, f64)]) -> Vec<usize> {
    bounds.iter().map(|&(_, high)| 1 + bounds.iter().filter(|&&(low, _)| low > high).count()).collect()
}

/// One cell of the win matrix: how `a` did against `b`.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct Cell {
    pub wins: u64,
    pub ties: u64,
    pub battles: u64,
    /// Wins over battles (ties count as battles, not wins: FastChat's
    /// `compute_pairwise_win_fraction`).
    pub win_rate: f64,
}

/// matrix[a][b]: how model a did against model b (None where they never met).
pub fn matrix(n: usize, games: &[Game]) -> Vec<Vec<Option<Cell>>> {
    let mut m = vec![vec![Cell::default(); n]; n];
    for g in games {
        if g.a >= n || g.b >= n || g.a == g.b {
            continue;
        }
        for (x, y, s) in [(g.a, g.b, g.score), (g.b, g.a, 1.0 - g.score)] {
            let c = &mut m[x][y];
            c.battles += 1;
            if s == 1.0 {
                c.wins += 1;
            } else if s == 0.5 {
                c.ties += 1;
            }
        }
    }
    m.into_iter()
        .map(|row| row.into_iter().map(|c| (c.battles > 0).then(|| Cell { win_rate: c.wins as f64 / c.battles as f64, ..c })).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn game(a: usize, b: usize, score: f64) -> Game {
        Game { a, b, score }
    }

    #[test]
    fn rankings_become_pairs() {
        assert_eq!(pairs(&[vec![2], vec![0], vec![1]]), vec![game(2, 0, 1.0), game(2, 1, 1.0), game(0, 1, 1.0)]);
        assert_eq!(pairs(&[vec![0, 1]]), vec![game(0, 1, 0.5)]);
        assert_eq!(pairs(&[vec![1], vec![0, 2]]), vec![game(1, 0, 1.0), game(1, 2, 1.0), game(0, 2, 0.5)]);
    }

    #[test]
    fn ratings_match_values_solved_by_hand() {
        // A beats B three times, B beats A once. The likelihood equations
        // with the anchor's virtual tie, 3.5 = 4a/(a+b) + a/(a+1) and
        // 1.5 = 4b/(a+b) + b/(b+1), solved by Newton's method apart from
        // this code: a = 1.60712, b = 0.62223.
        let games: Vec<Game> = [0, 0, 0, 1].iter().map(|&w| game(w, 1 - w, 1.0)).collect();
        let r = bradley_terry(2, &games);
        assert!((r[0] - 1082.419).abs() < 0.01, "{r:?}");
        assert!((r[1] - 917.581).abs() < 0.01, "{r:?}");
        // Even results and ties rate alike.
        let even = [game(0, 1, 1.0), game(1, 0, 1.0), game(0, 1, 0.5)];
        let r = bradley_terry(2, &even);
        assert!((r[0] - 1000.0).abs() < 1e-6 && (r[1] - 1000.0).abs() < 1e-6, "{r:?}");
    }

    #[test]
    fn the_interval_holds_the_rating_and_narrows_with_battles() {
        let few: Vec<Game> = (0..4).map(|i| game(i % 2, 1 - i % 2, 1.0)).chain([game(0, 1, 1.0)]).collect();
        let many: Vec<Game> = (0..10).flat_map(|_| few.clone()).collect();
        let r = bradley_terry(2, &many);
        let (wide, narrow) = (interval(2, &few, &singles(few.len()), 200), interval(2, &many, &singles(many.len()), 200));
        assert!(narrow[0].0 <= r[0] && r[0] <= narrow[0].1, "{narrow:?} {r:?}");
        assert!(narrow[0].1 - narrow[0].0 < wide[0].1 - wide[0].0, "{narrow:?} {wide:?}");
        assert_eq!(interval(2, &many, &singles(many.len()), 200), narrow, "deterministic");
        // Battles that stand or fall together (one vote, all won by the
        // same model) resample as one: the interval is wider than if they
        // were independent.
        let mut alike = many.clone();
        alike.sort_by_key(|g| g.a);
        let votes: Vec<Vec<usize>> = (0..alike.len()).collect::<Vec<_>>().chunks(5).map(<[usize]>::to_vec).collect();
        let (grouped, single) = (interval(2, &alike, &votes, 200), interval(2, &alike, &singles(alike.len()), 200));
        assert!(grouped[0].1 - grouped[0].0 > single[0].1 - single[0].0, "{grouped:?} {single:?}");
    }

    #[test]
    fn an_unbeaten_model_stays_finite() {
        let games: Vec<Game> = (0..5).map(|_| game(0, 1, 1.0)).collect();
        let r = bradley_terry(2, &games);
        assert!(r[0].is_finite() && r[0] > 1200.0 && r[1] < 800.0, "{r:?}");
    }

    #[test]
    fn overlapping_intervals_share_a_rank() {
        assert_eq!(ranks(&[(1100.0, 1200.0), (1050.0, 1150.0), (900.0, 1000.0)]), vec![1, 1, 3]);
        let m = matrix(2, &[game(0, 1, 1.0), game(0, 1, 0.5), game(1, 0, 1.0)]);
        let c = m[0][1].expect("they met");
        assert_eq!((c.wins, c.ties, c.battles), (1, 1, 3));
        assert!((c.win_rate - 1.0 / 3.0).abs() < 1e-12);
        assert!(m[0][0].is_none());
    }
}
