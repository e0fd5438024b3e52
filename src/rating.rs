//! Ratings from votes: each vote is a ranking of the answers (tiers, best
//! first; a tier of several is a tie), counted as the pairwise outcomes it
//! implies. Strengths are Bradley–Terry's, fitted by the MM algorithm
//! (Hunter 2004), on the Elo scale (400 · log10 of the strength, 1000 for a
//! model as strong as the anchor). Every model also plays one virtual tie
//! against that fixed anchor, so an unbeaten model gets a finite rating and
//! models that never met are still placed. The 95% interval is the 2.5th
//! and 97.5th percentile over bootstrap resamples of the votes.

/// One vote as pairwise outcomes: (model a, model b, a's score: 1 win,
/// 0.5 tie, 0 loss).
pub type Outcomes = Vec<(usize, usize, f64)>;

/// The pairs a ranking implies; `tiers` hold model indices, best first.
pub fn pairs(tiers: &[Vec<usize>]) -> Outcomes {
    let mut out = Vec::new();
    for (ti, tier) in tiers.iter().enumerate() {
        for (k, &a) in tier.iter().enumerate() {
            for &b in &tier[k + 1..] {
                out.push((a, b, 0.5));
            }
            for lower in &tiers[ti + 1..] {
                for &b in lower {
                    out.push((a, b, 1.0));
                }
            }
        }
    }
    out
}

/// Bradley–Terry ratings of `n` models from these votes.
pub fn bradley_terry(n: usize, votes: &[&Outcomes]) -> Vec<f64> {
    // wins[i]: points scored (a tie is half a point each); games[i][j].
    let mut wins = vec![0.5; n];
    let mut games = vec![vec![0.0; n]; n];
    for vote in votes {
        for &(a, b, s) in vote.iter() {
            if a >= n || b >= n || a == b {
                continue;
            }
            wins[a] += s;
            wins[b] += 1.0 - s;
            games[a][b] += 1.0;
            games[b][a] += 1.0;
        }
    }
    let mut p = vec![1.0f64; n];
    for _ in 0..10_000 {
        let mut next = vec![0.0; n];
        let mut change = 0.0f64;
        for i in 0..n {
            // The anchor: one game against strength 1.
            let mut denom = 1.0 / (p[i] + 1.0);
            for j in 0..n {
                if games[i][j] > 0.0 {
                    denom += games[i][j] / (p[i] + p[j]);
                }
            }
            next[i] = wins[i] / denom;
            change = change.max((next[i].ln() - p[i].ln()).abs());
        }
        p = next;
        if change < 1e-10 {
            break;
        }
    }
    p.iter().map(|s| 1000.0 + 400.0 * s.log10()).collect()
}

/// A small deterministic generator (splitmix64): bootstrap intervals are
/// the same every time for the same votes.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z % n as u64) as usize
    }
}

/// (low, high) of each model's rating: the 95% bootstrap interval over
/// `rounds` resamples of the votes.
pub fn interval(n: usize, votes: &[Outcomes], rounds: usize) -> Vec<(f64, f64)> {
    if votes.is_empty() {
        return vec![(1000.0, 1000.0); n];
    }
    let mut rng = Rng(0x5EED);
    let mut samples = vec![Vec::with_capacity(rounds); n];
    for _ in 0..rounds {
        let pick: Vec<&Outcomes> = (0..votes.len()).map(|_| &votes[rng.below(votes.len())]).collect();
        for (i, r) in bradley_terry(n, &pick).into_iter().enumerate() {
            samples[i].push(r);
        }
    }
    samples
        .into_iter()
        .map(|mut s| {
            s.sort_by(f64::total_cmp);
            let at = |q: f64| s[((s.len() - 1) as f64 * q).round() as usize];
            (at(0.025), at(0.975))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rankings_become_pairs() {
        assert_eq!(pairs(&[vec![2], vec![0], vec![1]]), vec![(2, 0, 1.0), (2, 1, 1.0), (0, 1, 1.0)]);
        assert_eq!(pairs(&[vec![0, 1]]), vec![(0, 1, 0.5)]);
        assert_eq!(pairs(&[vec![1], vec![0, 2]]), vec![(1, 0, 1.0), (1, 2, 1.0), (0, 2, 0.5)]);
    }

    #[test]
    fn ratings_match_values_solved_by_hand() {
        // A beats B three times, B beats A once. The likelihood equations
        // with the anchor's virtual tie, 3.5 = 4a/(a+b) + a/(a+1) and
        // 1.5 = 4b/(a+b) + b/(b+1), solved by Newton's method apart from
        // this code: a = 1.60712, b = 0.62223.
        let votes: Vec<Outcomes> = [0, 0, 0, 1].iter().map(|&w| pairs(&[vec![w], vec![1 - w]])).collect();
        let refs: Vec<&Outcomes> = votes.iter().collect();
        let r = bradley_terry(2, &refs);
        assert!((r[0] - 1082.419).abs() < 0.01, "{r:?}");
        assert!((r[1] - 917.581).abs() < 0.01, "{r:?}");
        // Even results and ties rate alike.
        let even: Vec<Outcomes> = vec![pairs(&[vec![0], vec![1]]), pairs(&[vec![1], vec![0]]), pairs(&[vec![0, 1]])];
        let r = bradley_terry(2, &even.iter().collect::<Vec<_>>());
        assert!((r[0] - 1000.0).abs() < 1e-6 && (r[1] - 1000.0).abs() < 1e-6, "{r:?}");
    }

    #[test]
    fn the_interval_holds_the_rating_and_narrows_with_votes() {
        let few: Vec<Outcomes> = (0..4).map(|i| pairs(&[vec![i % 2], vec![1 - i % 2]])).chain([pairs(&[vec![0], vec![1]])]).collect();
        let many: Vec<Outcomes> = (0..10).flat_map(|_| few.clone()).collect();
        let r = bradley_terry(2, &many.iter().collect::<Vec<_>>());
        let (wide, narrow) = (interval(2, &few, 200), interval(2, &many, 200));
        assert!(narrow[0].0 <= r[0] && r[0] <= narrow[0].1, "{narrow:?} {r:?}");
        assert!(narrow[0].1 - narrow[0].0 < wide[0].1 - wide[0].0, "{narrow:?} {wide:?}");
        assert_eq!(interval(2, &many, 200), narrow, "deterministic");
    }

    #[test]
    fn an_unbeaten_model_stays_finite() {
        let votes: Vec<Outcomes> = (0..5).map(|_| pairs(&[vec![0], vec![1]])).collect();
        let r = bradley_terry(2, &votes.iter().collect::<Vec<_>>());
        assert!(r[0].is_finite() && r[0] > 1200.0 && r[1] < 800.0, "{r:?}");
    }
}
