//! The history's reports as text tables, for the terminal and the TUI's
//! overlays alike: the leaderboard (`versus leaderboard`, `L`) and a
//! batch's prompts × models (`versus report`, the saved comparisons' matrix).

use crate::engine::protocol::answer::Status;
use crate::store::leaderboard::Board;
use crate::store::matrix::Report;

/// The leaderboard as a text table (also the TUI's overlay): LMArena's
/// rank, the rating with its 95% interval drawn as a bar on one scale for
/// every model, a `?` where the rating is provisional, then what was left
/// out and the style fit's coefficients when there is one.
pub fn leaderboard(board: &Board) -> String {
    if board.models.is_empty() {
        let mut t = "No votes yet: vote in blind mode (b in the TUI, or versus --blind), or versus votes import FILE.\n".to_string();
        t.push_str(&notes(board));
        return t;
    }
    let models = &board.models;
    let w = models.iter().map(|s| s.model.chars().count()).max().unwrap_or(5).clamp(5, 60);
    let lo = models.iter().map(|s| s.low.min(s.rating)).fold(f64::INFINITY, f64::min);
    let hi = models.iter().map(|s| s.high.max(s.rating)).fold(f64::NEG_INFINITY, f64::max);
    let mut t = format!(
        "{:>4}  {:<w$}  {:>7}  {:>11}  {:<BAR$}  {:>4}  {:>6}  {:>4}  {:>5}\n",
        "RANK", "MODEL", "RATING", "95% CI", "INTERVAL", "WINS", "LOSSES", "TIES", "VOTES"
    );
    for s in models {
        let name = crate::wrap::shorten_label(&s.model, w);
        let mark = if s.provisional { "?" } else { " " };
        t.push_str(&format!(
            "{:>4}  {name:<w$}  {:>6.0}{mark}  {:>11}  {}  {:>4}  {:>6}  {:>4}  {:>5}\n",
            s.rank,
            s.rating,
            format!("{:+.0}/{:+.0}", s.high - s.rating, s.low - s.rating),
            bar(s.low, s.rating, s.high, lo, hi),
            s.wins,
            s.losses,
            s.ties,
            s.votes
        ));
    }
    if models.iter().any(|s| s.provisional) {
        t.push_str(&format!(
            "? provisional: fewer than {} votes or an interval wider than {:.0} points\n",
            crate::store::leaderboard::FEW_VOTES,
            crate::store::leaderboard::WIDE
        ));
    }
    t.push_str(&notes(board));
    if let Some(st) = &board.style {
        let coefs: Vec<String> = st.coefficients.iter().map(|(k, v)| format!("{k} {v:+.3}")).collect();
        t.push_str(&format!("style control: ratings with style held equal; coefficients {}\n", coefs.join(", ")));
        if st.unstyled > 0 {
            t.push_str(&format!(
                "  {} of {} battles have no style counts: rated without style control\n",
                st.unstyled,
                st.styled + st.unstyled
            ));
        }
    }
    t
}

/// Width of the interval bar.
const BAR: usize = 24;

/// `low`–`high` as a bar on the scale `lo`–`hi`, the rating as `●`.
fn bar(low: f64, rating: f64, high: f64, lo: f64, hi: f64) -> String {
    let at =
        |x: f64| if hi > lo { (((x - lo) / (hi - lo)) * (BAR - 1) as f64).round().clamp(0.0, (BAR - 1) as f64) as usize } else { BAR / 2 };
    let (a, r, b) = (at(low), at(rating), at(high));
    (0..BAR)
        .map(|i| {
            if i == r {
                '●'
            } else if i >= a && i <= b {
                '─'
            } else {
                ' '
            }
        })
        .collect()
}

/// What the board left out, a line each.
fn notes(board: &Board) -> String {
    let mut t = String::new();
    if board.flagged > 0 {
        t.push_str(&format!(
            "{} battles left out: blind votes whose answers named their own model or maker (--include-flagged counts them)\n",
            board.flagged
        ));
    }
    if board.both_bad_excluded > 0 {
        t.push_str(&format!("{} \"both bad\" battles left out (--both-bad exclude)\n", board.both_bad_excluded));
    }
    t
}

/// The win matrix: each row's model against each column's, its share of
/// wins (ties count as battles, not wins) over the battles behind it.
pub fn win_matrix(board: &Board) -> String {
    let Some(m) = &board.matrix else { return String::new() };
    let names: Vec<&str> = board.models.iter().map(|s| s.model.as_str()).collect();
    let w = names.iter().map(|n| n.chars().count()).max().unwrap_or(5).clamp(16, 30);
    let cw = 11;
    let mut t = format!("{:<w$}", "ROW beats COLUMN");
    for n in &names {
        t.push_str(&format!(" │ {:>cw$}", crate::wrap::shorten_label(n, cw)));
    }
    t.push('\n');
    for a in &names {
        t.push_str(&format!("{:<w$}", crate::wrap::shorten_label(a, w)));
        for b in &names {
            let cell = m.get(*a).and_then(|r| r.get(*b)).map_or_else(|| "–".to_string(), |c| format!("{:.2} ({})", c.win_rate, c.battles));
            t.push_str(&format!(" │ {cell:>cw$}"));
        }
        t.push('\n');
    }
    t
}

/// Prompts × models as a text table.
pub fn matrix(r: &Report) -> String {
    let w = 22;
    let cut = |s: &str, k: usize| -> String {
        let s = s.replace('\n', " ");
        if s.chars().count() > k { format!("{}…", s.chars().take(k - 1).collect::<String>()) } else { s }
    };
    let mut t = format!("{:<30}", "PROMPT");
    for m in &r.models {
        t.push_str(&format!(" │ {:<w$}", crate::wrap::shorten_label(m, w)));
    }
    t.push('\n');
    for (p, row) in r.cells.iter().enumerate() {
        t.push_str(&format!("{:<30}", cut(&format!("#{} {}", r.prompts[p].id, r.prompts[p].prompt), 30)));
        for c in row {
            let text = match c {
                None => "–".to_string(),
                Some(c) if c.status != Status::Finished.as_str() => c.status.clone(),
                Some(c) => {
                    let mut s = format!("{}ch", c.chars);
                    if let Some(tps) = c.tokens_per_s {
                        s.push_str(&format!(" {tps:.0}t/s"));
                    }
                    if let Some(j) = c.judge {
                        s.push_str(&format!(" j{j:.1}"));
                    }
                    let places: Vec<&str> = c.votes.iter().map(String::as_str).filter(|p| !p.is_empty()).collect();
                    if !places.is_empty() {
                        s.push_str(&format!(" #{}", places.join(",")));
                    }
                    s
                }
            };
            t.push_str(&format!(" │ {:<w$}", cut(&text, w)));
        }
        t.push('\n');
    }
    t.push_str(&format!("{:<30}", "TOTAL"));
    for s in &r.totals {
        let mut text = format!("{}/{} done {:.0}ch", s.finished, s.answers, s.mean_chars);
        if let Some(j) = s.mean_judge {
            text.push_str(&format!(" j{j:.1}"));
        }
        text.push_str(&format!(" {}w", s.wins));
        t.push_str(&format!(" │ {:<w$}", cut(&text, w)));
    }
    t.push_str("\n\nch: characters · t/s: tokens per second · j: judge's mean score · #: places in the votes · w: first places\n");
    // The judge over every prompt and sample: means with their 95% interval,
    // and for two models how likely one beats the other.
    let judged: Vec<(&String, &crate::samples::Interval)> =
        r.models.iter().zip(&r.totals).filter_map(|(m, s)| Some((m, s.judge_interval.as_ref()?))).collect();
    if !judged.is_empty() {
        t.push_str("\njudge's score over prompts × samples (mean, 95% interval):\n");
        for (m, i) in judged {
            t.push_str(&format!("  {}  {:.2} ({:.2}–{:.2})\n", crate::wrap::shorten_label(m, 40), i.mean, i.low, i.high));
        }
    }
    for p in &r.pairwise {
        t.push_str(&format!(
            "P({} beats {}) = {:.2} (paired bootstrap over {} prompts × samples; mean difference {:+.2})\n",
            crate::wrap::shorten_label(&p.a, 30),
            crate::wrap::shorten_label(&p.b, 30),
            p.p_a_better,
            p.units,
            p.mean_difference
        ));
    }
    t
}
