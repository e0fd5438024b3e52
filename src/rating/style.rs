//! LMArena's style control: longer, list-heavy, bolder answers win votes
//! for their looks. Beside the models, the fit takes four covariates per
//! battle — answer length in tokens, Markdown headers, list items and bold
//! spans — each as the normalised difference of the two answers,
//! (a − b) / (a + b + 1), standardised over the battles (FastChat's
//! `construct_style_matrices`). The models' ratings are then what is left
//! with style held equal, and each covariate gets a coefficient (how much a
//! standard deviation of it moves the log-odds of winning).
//!
//! The fit is FastChat's: a logistic regression without intercept, each
//! battle counted twice (a tie as one win each way), and scikit-learn's
//! default L2 penalty (C = 1), solved here by Newton's method.

use serde::{Deserialize, Serialize};

use super::Game;

/// The covariates, in order.
pub const COVARIATES: [&str; 4] = ["length", "headers", "lists", "bold"];

/// One answer's style, as FastChat's `conv_metadata` counts it.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Style {
    pub tokens: f64,
    pub headers: f64,
    pub lists: f64,
    pub bold: f64,
}

impl Style {
    /// The style of `text`, `tokens` long: code blocks left out, then
    /// headers (`#`…`######` and a space at a line's start), list items
    /// (`- `, `* `, `+ `, `1. ` after any indent) and bold spans
    /// (`**…**`, `__…__` on one line), as FastChat's
    /// `count_markdown_elements` counts them.
    pub fn of(text: &str, tokens: u64) -> Style {
        let text = without_code(text);
        let mut s = Style { tokens: tokens as f64, ..Style::default() };
        for line in text.lines() {
            let hashes = line.chars().take_while(|&c| c == '#').count();
            if (1..=6).contains(&hashes) && line[hashes..].starts_with(char::is_whitespace) {
                s.headers += 1.0;
            }
            let item = line.trim_start();
            let digits = item.chars().take_while(char::is_ascii_digit).count();
            let ordered = digits > 0 && item[digits..].starts_with('.') && item[digits + 1..].starts_with(char::is_whitespace);
            let unordered = item.starts_with(['-', '*', '+']) && item[1..].starts_with(char::is_whitespace);
            if ordered || unordered {
                s.lists += 1.0;
            }
            s.bold += (spans(line, "**", '*') + spans(line, "__", '_')) as f64;
        }
        s
    }

    fn values(&self) -> [f64; 4] {
        [self.tokens, self.headers, self.lists, self.bold]
    }
}

/// `text` without its fenced code blocks (```…```, as FastChat removes them).
fn without_code(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("```") {
        out.push_str(&rest[..start]);
        match rest[start + 3..].find('`') {
            // `[^`]*```: the block ends at the next backtick if three start there.
            Some(end) if rest[start + 3 + end..].starts_with("```") => rest = &rest[start + 3 + end + 3..],
            _ => {
                out.push_str(&rest[start..start + 3]);
                rest = &rest[start + 3..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Non-overlapping `mark…mark` spans with at least one character between
/// and none of `c` or a newline inside (`\*\*[^*\n]+\*\*`).
fn spans(line: &str, mark: &str, c: char) -> usize {
    let mut n = 0;
    let mut rest = line;
    while let Some(start) = rest.find(mark) {
        let after = &rest[start + mark.len()..];
        let inner = after.find(|x: char| x == c).unwrap_or(after.len());
        if inner > 0 && after[inner..].starts_with(mark) {
            n += 1;
            rest = &after[inner + mark.len()..];
        } else {
            rest = &rest[start + 1..];
        }
    }
    n
}

/// Each battle's covariates: (a − b) / (a + b + 1) per style element,
/// standardised (mean 0, population standard deviation 1) over the battles.
pub fn features(styles: &[(Style, Style)]) -> Vec<[f64; 4]> {
    let mut x: Vec<[f64; 4]> = styles
        .iter()
        .map(|(a, b)| {
            let (a, b) = (a.values(), b.values());
            std::array::from_fn(|k| (a[k] - b[k]) / (a[k] + b[k] + 1.0))
        })
        .collect();
    let n = x.len().max(1) as f64;
    for k in 0..4 {
        let mean = x.iter().map(|r| r[k]).sum::<f64>() / n;
        let sd = (x.iter().map(|r| (r[k] - mean).powi(2)).sum::<f64>() / n).sqrt();
        for r in &mut x {
            r[k] = if sd > 0.0 { (r[k] - mean) / sd } else { 0.0 };
        }
    }
    x
}

/// Ratings with style held equal, and the covariates' coefficients.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fit {
    pub ratings: Vec<f64>,
    pub coefficients: [f64; 4],
    /// The solution itself (models, then covariates): a start for the
    /// bootstrap's fits, which land close to it.
    #[serde(skip)]
    pub theta: Vec<f64>,
}

/// Fit `n` models and the four covariates to `games` (with `x[i]` the
/// covariates of `games[i]`), from `start`'s solution or zero.
pub fn fit(n: usize, games: &[&Game], x: &[&[f64; 4]], start: Option<&Fit>) -> Fit {
    let d = n + 4;
    let ln10 = std::f64::consts::LN_10;
    let mut theta = start.map(|f| f.theta.clone()).filter(|t| t.len() == d).unwrap_or_else(|| vec![0.0; d]);
    for _ in 0..50 {
        // Gradient and Hessian of: Σ 2·CE(y, σ(z)) + ½‖θ‖².
        let mut grad: Vec<f64> = theta.clone();
        let mut hess = vec![vec![0.0; d]; d];
        for i in 0..d {
            hess[i][i] = 1.0;
        }
        for (g, xi) in games.iter().zip(x) {
            if g.a >= n || g.b >= n || g.a == g.b {
                continue;
            }
            let mut z = ln10 * (theta[g.a] - theta[g.b]);
            for k in 0..4 {
                z += theta[n + k] * xi[k];
            }
            let p = 1.0 / (1.0 + (-z).exp());
            let (err, w) = (2.0 * (p - g.score), 2.0 * p * (1.0 - p));
            // The row's nonzero entries: a, b and the covariates.
            let cols: [(usize, f64); 6] = [(g.a, ln10), (g.b, -ln10), (n, xi[0]), (n + 1, xi[1]), (n + 2, xi[2]), (n + 3, xi[3])];
            for &(i, vi) in &cols {
                grad[i] += err * vi;
                for &(j, vj) in &cols {
                    hess[i][j] += w * vi * vj;
                }
            }
        }
        let Some(step) = solve(hess, grad) else { break };
        let size = step.iter().map(|s| s.abs()).fold(0.0, f64::max);
        // Nearly separable battles can make a full step overshoot: at most
        // 2 at a time, as the plain fit.
        let scale = if size > 2.0 { 2.0 / size } else { 1.0 };
        theta.iter_mut().zip(&step).for_each(|(t, s)| *t -= s * scale);
        if size < 1e-10 {
            break;
        }
    }
    Fit {
        ratings: super::centred(theta[..n].iter().map(|t| 400.0 * t + 1000.0).collect()),
        coefficients: [theta[n], theta[n + 1], theta[n + 2], theta[n + 3]],
        theta,
    }
}

/// Solve `a · x = b` for a symmetric positive definite `a` (Cholesky).
pub(super) fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for j in 0..n {
        let mut s = a[j][j];
        for k in 0..j {
            s -= a[j][k] * a[j][k];
        }
        if s <= 0.0 || !s.is_finite() {
            return None;
        }
        let l = s.sqrt();
        a[j][j] = l;
        for i in j + 1..n {
            let mut t = a[i][j];
            for k in 0..j {
                t -= a[i][k] * a[j][k];
            }
            a[i][j] = t / l;
        }
    }
    for i in 0..n {
        let mut t = b[i];
        for k in 0..i {
            t -= a[i][k] * b[k];
        }
        b[i] = t / a[i][i];
    }
    for i in (0..n).rev() {
        let mut t = b[i];
        for k in i + 1..n {
            t -= a[k][i] * b[k];
        }
        b[i] = t / a[i][i];
    }
    Some(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn style_counts_as_fastchat_does() {
        let text = "# Title\n\nSome **bold** and __also__ text, not **this\n\n- one\n  * two\n3. three\n\n```\n# not a header\n- nor a list\n```\n#nospace\n";
        let s = Style::of(text, 40);
        assert_eq!((s.tokens, s.headers, s.lists, s.bold), (40.0, 1.0, 3.0, 2.0));
    }

    #[test]
    fn features_are_standardised_normalised_differences() {
        let long = Style { tokens: 300.0, ..Style::default() };
        let short = Style { tokens: 100.0, ..Style::default() };
        let x = features(&[(long, short), (short, long)]);
        // (300-100)/401 and its negative: standardised to ±1.
        assert!((x[0][0] - 1.0).abs() < 1e-12 && (x[1][0] + 1.0).abs() < 1e-12, "{x:?}");
        assert_eq!(x[0][1], 0.0, "no headers anywhere: no spread, no feature");
    }
}
