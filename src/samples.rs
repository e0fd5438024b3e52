//! What several samples of one model's answer say together: how many
//! different texts, how often the most frequent came, how alike they are
//! word by word, and the mean of their lengths and speeds with a 95%
//! interval. `versus run` prints it as the `samples` event and line; the
//! TUI shows the agreement in the column's header.

use serde::Serialize;

/// A mean and its 95% confidence interval (Student's t over the samples).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Interval {
    pub mean: f64,
    pub low: f64,
    pub high: f64,
}

impl Interval {
    pub fn of(xs: &[f64]) -> Interval {
        let n = xs.len();
        if n == 0 {
            return Interval::default();
        }
        let mean = xs.iter().sum::<f64>() / n as f64;
        if n == 1 {
            return Interval { mean, low: mean, high: mean };
        }
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let half = t975(n - 1) * (var / n as f64).sqrt();
        Interval { mean, low: mean - half, high: mean + half }
    }
}

/// The 97.5% quantile of Student's t with `df` degrees of freedom.
pub fn t975(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101,
        2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => T[df - 1],
        31..=60 => 2.000,
        61..=120 => 1.980,
        _ => 1.960,
    }
}

/// The samples of one model's answer to one prompt, together.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Agreement {
    pub k: usize,
    /// How many different texts.
    pub distinct: usize,
    /// The share of samples equal to the most frequent text.
    pub agreement: f64,
    /// Mean word-level similarity over every pair of samples (0..1; 1
    /// when there is one sample).
    pub similarity: f64,
    pub tokens: Interval,
    pub tok_s: Interval,
}

/// `texts` with each one's tokens and decode speed.
pub fn agreement(samples: &[(&str, u64, f64)]) -> Agreement {
    let k = samples.len();
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for (text, _, _) in samples {
        match counts.iter_mut().find(|(t, _)| t == text) {
            Some((_, n)) => *n += 1,
            None => counts.push((text, 1)),
        }
    }
    let top = counts.iter().map(|(_, n)| *n).max().unwrap_or(0);
    let mut pairs = Vec::new();
    for i in 0..k {
        for j in i + 1..k {
            pairs.push(similarity(samples[i].0, samples[j].0));
        }
    }
    Agreement {
        k,
        distinct: counts.len(),
        agreement: if k == 0 { 0.0 } else { top as f64 / k as f64 },
        similarity: if pairs.is_empty() { 1.0 } else { pairs.iter().sum::<f64>() / pairs.len() as f64 },
        tokens: Interval::of(&samples.iter().map(|s| s.1 as f64).collect::<Vec<_>>()),
        tok_s: Interval::of(&samples.iter().map(|s| s.2).collect::<Vec<_>>()),
    }
}

/// Word-level similarity of two texts: the share of words in common
/// (`similar`'s ratio over words), 1 for two empty texts.
pub fn similarity(a: &str, b: &str) -> f64 {
    if a == b {
        return 1.0;
    }
    f64::from(similar::TextDiff::configure().algorithm(similar::Algorithm::Patience).diff_words(a, b).ratio())
}

/// The paired bootstrap: over units (prompt × sample) both models were
/// scored on, `diffs` holds A's score minus B's. Resampling the units with
/// replacement `rounds` times, the share of resamples whose mean
/// difference favours A (a zero counts half): the probability that A beats
/// B on prompts like these. Seeded, so a report reads the same each time.
pub fn paired_bootstrap(diffs: &[f64], rounds: usize) -> Option<f64> {
    if diffs.is_empty() || rounds == 0 {
        return None;
    }
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    // splitmix64: small, fast, and good enough to draw indices.
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let n = diffs.len();
    let mut wins = 0.0;
    for _ in 0..rounds {
        let sum: f64 = (0..n).map(|_| diffs[(next() % n as u64) as usize]).sum();
        wins += match sum.partial_cmp(&0.0) {
            Some(std::cmp::Ordering::Greater) => 1.0,
            Some(std::cmp::Ordering::Equal) => 0.5,
            _ => 0.0,
        };
    }
    Some(wins / rounds as f64)
}

impl Agreement {
    /// "3 samples · 2 distinct · agreement 67% · similarity 0.81".
    pub fn line(&self) -> String {
        format!(
            "{} samples · {} distinct · agreement {:.0}% · similarity {:.2}",
            self.k,
            self.distinct,
            self.agreement * 100.0,
            self.similarity
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bootstrap_favours_the_model_that_scores_higher() {
        assert_eq!(paired_bootstrap(&[], 100), None);
        assert_eq!(paired_bootstrap(&[1.0, 2.0, 0.5], 1000), Some(1.0), "always ahead");
        assert_eq!(paired_bootstrap(&[0.0, 0.0], 1000), Some(0.5), "never apart");
        let p = paired_bootstrap(&[1.0, -1.0, 1.0, -1.0, 2.0, -1.5], 4000).unwrap_or(0.0);
        assert!(p > 0.2 && p < 0.8, "a coin toss: {p}");
    }

    #[test]
    fn agreement_counts_texts_and_intervals_hold_the_mean() {
        let a = agreement(&[("Paris is the capital", 4, 10.0), ("Paris is the capital", 4, 12.0), ("Lyon is a city", 4, 11.0)]);
        assert_eq!((a.k, a.distinct), (3, 2));
        assert!((a.agreement - 2.0 / 3.0).abs() < 1e-9);
        assert!(a.similarity > 0.3 && a.similarity < 1.0, "{}", a.similarity);
        assert!((a.tok_s.mean - 11.0).abs() < 1e-9 && a.tok_s.low < 11.0 && a.tok_s.high > 11.0);
        assert_eq!(a.tokens.low, a.tokens.high, "equal lengths: no spread");
        let one = agreement(&[("x", 1, 5.0)]);
        assert_eq!((one.distinct, one.agreement, one.similarity), (1, 1.0, 1.0));
        // 95% for n = 2 uses t = 12.706: [mean ± 12.706 · sd/√2].
        let i = Interval::of(&[1.0, 3.0]);
        assert!((i.high - (2.0 + 12.706)).abs() < 1e-6, "{i:?}");
    }
}
