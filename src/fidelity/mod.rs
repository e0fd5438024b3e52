//! How far a candidate model's next-token distributions are from a
//! reference's on the same tokens, by llama-perplexity's method
//! (`--kl-divergence`; docs/fidelity.md): the text tokenized once, cut into
//! chunks of `ctx` tokens, each evaluated from its start (its first token
//! the BOS when the model adds one), the second half of each chunk scored.
//! At each scored position: KL(reference ‖ candidate) over the whole
//! vocabulary, both models' negative log-likelihood of the text's next
//! token, whether both put the same token first, and the difference in the
//! probability each gives the text's next token.

pub mod base;

use serde::Serialize;

/// The chunks to evaluate and where scoring starts in each.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub ctx: usize,
    pub chunks: Vec<Vec<u32>>,
    /// The first scored position of a chunk (its logits predict the next).
    pub first: usize,
}

impl Plan {
    /// Cut `tokens` into whole chunks of `ctx` (the rest is left out, as
    /// llama-perplexity does), each starting with `bos` when given.
    pub fn new(tokens: &[u32], ctx: usize, bos: Option<u32>) -> Result<Plan, String> {
        if ctx < 4 {
            return Err(format!("--ctx {ctx}: at least 4 tokens"));
        }
        let n = tokens.len() / ctx;
        if n == 0 {
            return Err(format!(
                "the text is {} tokens, shorter than one chunk of --ctx {ctx}: give a longer text or a smaller --ctx",
                tokens.len()
            ));
        }
        let chunks = (0..n)
            .map(|i| {
                let mut c = tokens[i * ctx..(i + 1) * ctx].to_vec();
                if let Some(b) = bos {
                    c[0] = b;
                }
                c
            })
            .collect();
        Ok(Plan { ctx, chunks, first: ctx / 2 })
    }

    /// Positions scored per chunk.
    pub fn per_chunk(&self) -> usize {
        self.ctx - 1 - self.first
    }
}

/// The log of the sum of exp(`logits`), the sum taken in f64 over the
/// machine's cores (a vocabulary of 262k entries is most of a position's
/// work; llama-perplexity spreads it over threads too).
pub fn log_sum_exp(logits: &[f32]) -> f32 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f64 = split(logits.len(), |r| logits[r].iter().map(|&l| f64::from((l - max).exp())).sum::<f64>()).into_iter().sum();
    max + sum.ln() as f32
}

/// `logits` as log-probabilities.
pub fn log_softmax(logits: &[f32], out: &mut Vec<f32>) {
    let lse = log_sum_exp(logits);
    out.clear();
    out.extend(logits.iter().map(|&l| l - lse));
}

/// `f` over `0..n` cut into one range per core (one range when `n` is
/// small), on scoped threads; the results in order.
fn split<T: Send>(n: usize, f: impl Fn(std::ops::Range<usize>) -> T + Sync) -> Vec<T> {
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get()).min(8);
    let parts = cores.min(n / 16_384).max(1);
    if parts == 1 {
        return vec![f(0..n)];
    }
    let size = n.div_ceil(parts);
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = (0..parts).map(|p| s.spawn(move || f(p * size..((p + 1) * size).min(n)))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    })
}

/// One of the positions where the candidate strays furthest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Worst {
    /// The position in the text's tokens whose next token is predicted.
    pub pos: usize,
    /// That next token's text.
    pub token: String,
    pub kld: f64,
    /// A few tokens before it and the token itself.
    pub context: String,
    #[serde(skip)]
    pub id: u32,
}

/// The running sums over scored positions.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    kld: Vec<f32>,
    sum_kld: f64,
    sum_kld2: f64,
    nll_ref: f64,
    nll_cand: f64,
    same_top: usize,
    sum_dp2: f64,
    worst: Vec<Worst>,
}

impl Tally {
    /// Position `pos` of the text (`next` follows it): the reference's
    /// log-probabilities and the candidate's logits.
    pub fn add(&mut self, pos: usize, next: u32, reference: &[f32], logits: &[f32]) {
        let lse = log_sum_exp(logits);
        // KL(ref ‖ cand) = Σ p_ref · (lp_ref − lp_cand), lp_cand = logit − lse.
        let kld: f64 = split(reference.len().min(logits.len()), |r| {
            reference[r.clone()].iter().zip(&logits[r]).map(|(&lr, &l)| f64::from(lr.exp()) * f64::from(lr - (l - lse))).sum::<f64>()
        })
        .into_iter()
        .sum::<f64>()
        .max(0.0);
        let t = next as usize;
        let nr = -f64::from(reference.get(t).copied().unwrap_or(f32::NEG_INFINITY));
        let nc = -f64::from(logits.get(t).map_or(f32::NEG_INFINITY, |&l| l - lse));
        self.kld.push(kld as f32);
        self.sum_kld += kld;
        self.sum_kld2 += kld * kld;
        self.nll_ref += nr;
        self.nll_cand += nc;
        self.same_top += usize::from(crate::engine::argmax(reference) == crate::engine::argmax(logits));
        let dp = (-nc).exp() - (-nr).exp();
        self.sum_dp2 += dp * dp;
        if self.worst.len() < 10 || self.worst.last().is_some_and(|w| kld > w.kld) {
            self.worst.push(Worst { pos, token: String::new(), kld, context: String::new(), id: next });
            self.worst.sort_by(|a, b| b.kld.total_cmp(&a.kld));
            self.worst.truncate(10);
        }
    }

    pub fn count(&self) -> usize {
        self.kld.len()
    }

    /// The figures, worst positions without their text yet.
    pub fn report(mut self, reference: &str, candidate: &str, plan: &Plan) -> Report {
        let n = self.kld.len().max(1) as f64;
        let err = |sum: f64, sum2: f64| if n > 1.0 { ((sum2 / n - (sum / n).powi(2)).max(0.0) / (n - 1.0)).sqrt() } else { 0.0 };
        self.kld.sort_by(f32::total_cmp);
        let v = &self.kld;
        let median = match v.len() {
            0 => 0.0,
            l if l % 2 == 0 => 0.5 * (f64::from(v[l / 2]) + f64::from(v[l / 2 - 1])),
            l => f64::from(v[l / 2]),
        };
        let same = self.same_top as f64 / n;
        Report {
            reference: reference.into(),
            candidate: candidate.into(),
            ctx: plan.ctx,
            chunks: plan.chunks.len(),
            tokens: self.kld.len(),
            ppl: Ppl { reference: (self.nll_ref / n).exp(), candidate: (self.nll_cand / n).exp() },
            ln_ppl_ratio: (self.nll_cand - self.nll_ref) / n,
            kld: Kld {
                mean: self.sum_kld / n,
                stderr: err(self.sum_kld, self.sum_kld2),
                median,
                p99: percentile(v, 0.99),
                max: v.last().map_or(0.0, |&x| f64::from(x)),
            },
            same_top_p: same,
            same_top_p_stderr: if n > 1.0 { (same * (1.0 - same) / (n - 1.0)).sqrt() } else { 0.0 },
            rms_dp: (self.sum_dp2 / n).sqrt(),
            worst: self.worst,
        }
    }
}

/// llama-perplexity's percentile: linear between the two nearest ranks.
fn percentile(sorted: &[f32], fraction: f64) -> f64 {
    let Some(&last) = sorted.last() else { return 0.0 };
    let p = fraction * (sorted.len() - 1) as f64;
    let i = p as usize;
    if i + 1 >= sorted.len() {
        return f64::from(last);
    }
    let f = p - i as f64;
    (1.0 - f) * f64::from(sorted[i]) + f * f64::from(sorted[i + 1])
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ppl {
    pub reference: f64,
    pub candidate: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Kld {
    pub mean: f64,
    pub stderr: f64,
    pub median: f64,
    pub p99: f64,
    pub max: f64,
}

/// What `versus fidelity` prints (`--json`: this object).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub reference: String,
    pub candidate: String,
    pub ctx: usize,
    pub chunks: usize,
    /// Positions scored.
    pub tokens: usize,
    pub ppl: Ppl,
    /// ln(PPL(candidate) / PPL(reference)).
    pub ln_ppl_ratio: f64,
    pub kld: Kld,
    /// The share of positions where both models put the same token first.
    pub same_top_p: f64,
    pub same_top_p_stderr: f64,
    /// Root mean square of the difference in the probability the two give
    /// the text's next token (llama-perplexity's "RMS Δp"), as a share.
    pub rms_dp: f64,
    pub worst: Vec<Worst>,
}

impl Report {
    /// The report in words, as llama-perplexity lays its figures out.
    pub fn text(&self) -> String {
        let mut t = format!(
            "reference  {}\ncandidate  {}\n{} tokens scored in {} chunks of {}\n\n",
            self.reference, self.candidate, self.tokens, self.chunks, self.ctx
        );
        let k = &self.kld;
        t.push_str(&format!("PPL(reference)      {:10.4}\n", self.ppl.reference));
        t.push_str(&format!("PPL(candidate)      {:10.4}\n", self.ppl.candidate));
        t.push_str(&format!("ln(PPL(cand)/PPL(ref)) {:+.6}\n", self.ln_ppl_ratio));
        t.push_str(&format!("Mean KLD            {:10.6} ± {:.6}\n", k.mean, k.stderr));
        t.push_str(&format!(
            "Median KLD          {:10.6}\n99.0% KLD           {:10.6}\nMaximum KLD         {:10.6}\n",
            k.median, k.p99, k.max
        ));
        t.push_str(&format!("Same top p          {:9.3} ± {:.3} %\n", 100.0 * self.same_top_p, 100.0 * self.same_top_p_stderr));
        t.push_str(&format!("RMS Δp              {:9.3} %\n", 100.0 * self.rms_dp));
        if !self.worst.is_empty() {
            t.push_str("\nWorst positions (KLD, position, context → next token)\n");
            for w in &self.worst {
                t.push_str(&format!("{:10.4}  {:>7}  {:?} → {:?}\n", w.kld, w.pos, w.context, w.token));
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_start_with_bos_and_score_their_second_half() {
        let tokens: Vec<u32> = (0..10).collect();
        let p = Plan::new(&tokens, 4, Some(99)).unwrap();
        assert_eq!(p.chunks, vec![vec![99, 1, 2, 3], vec![99, 5, 6, 7]]);
        assert_eq!((p.first, p.per_chunk()), (2, 1));
        assert!(Plan::new(&tokens, 16, None).is_err());
    }

    #[test]
    fn identical_distributions_diverge_by_nothing() {
        let logits = [2.0f32, 1.0, 0.5, -3.0];
        let mut lp = Vec::new();
        log_softmax(&logits, &mut lp);
        let mut t = Tally::default();
        t.add(0, 1, &lp, &logits);
        // A candidate that prefers token 1: KL by hand.
        let other = [0.0f32, 3.0, 0.0, 0.0];
        t.add(1, 0, &lp, &other);
        let z = (3f64.exp() + 3.0).ln();
        let cand = [-z, 3.0 - z, -z, -z];
        let by_hand: f64 = lp.iter().zip(cand).map(|(&r, c)| f64::from(r).exp() * (f64::from(r) - c)).sum();
        let plan = Plan::new(&[0; 8], 4, None).unwrap();
        let r = t.report("a", "b", &plan);
        assert_eq!(r.tokens, 2);
        assert!((r.kld.max - by_hand).abs() < 1e-5, "{r:?} {by_hand}");
        assert!((r.kld.mean - by_hand / 2.0).abs() < 1e-5);
        assert_eq!(r.same_top_p, 0.5, "the second puts token 1 first");
        assert_eq!(r.worst[0].pos, 1);
    }
}
