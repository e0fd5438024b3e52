//! The history's reports as text tables, for the terminal and the TUI's
//! overlays alike: the leaderboard (`versus leaderboard`, `L`) and a
//! batch's prompts × models (`versus report`, the saved comparisons' matrix).

use crate::engine::protocol::answer::Status;
use crate::store::matrix::Report;
use crate::store::votes::Standing;

/// The leaderboard as a text table (also the TUI's overlay).
pub fn leaderboard(board: &[Standing]) -> String {
    if board.is_empty() {
        return "No votes yet: vote in blind mode (b in the TUI, or versus --blind).\n".into();
    }
    let w = board.iter().map(|s| s.model.chars().count()).max().unwrap_or(5).clamp(5, 60);
    let mut t = format!(
        "{:>3}  {:<w$}  {:>6}  {:>13}  {:>4}  {:>6}  {:>4}  {:>5}\n",
        "#", "MODEL", "RATING", "95% INTERVAL", "WINS", "LOSSES", "TIES", "VOTES"
    );
    for (i, s) in board.iter().enumerate() {
        let name = crate::wrap::shorten_label(&s.model, w);
        t.push_str(&format!(
            "{:>3}  {name:<w$}  {:>6.0}  {:>13}  {:>4}  {:>6}  {:>4}  {:>5}\n",
            i + 1,
            s.rating,
            // One or two votes bound nothing: no interval that pretends to.
            if s.votes < 3 { "too few votes".to_string() } else { format!("{:.0}–{:.0}", s.low, s.high) },
            s.wins,
            s.losses,
            s.ties,
            s.votes
        ));
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
