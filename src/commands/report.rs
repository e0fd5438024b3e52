//! `versus report BATCH_OR_RUN_IDS…`: prompts × models for a batch (its
//! file name as given to `--prompts`) or a set of comparisons. Each cell is
//! the answer's length, its speed, the judge's mean score and its place in
//! the votes; each model gets totals.

use std::io::Write;

use crate::engine::answer::Status;
use crate::store::matrix::{Report, build};
use crate::store::{Store, StoredRun};

use super::{Context, exit};

/// The report as a text table.
pub fn table(r: &Report) -> String {
    let w = 22;
    let cut = |s: &str, k: usize| -> String {
        let s = s.replace('\n', " ");
        if s.chars().count() > k { format!("{}…", s.chars().take(k - 1).collect::<String>()) } else { s }
    };
    let mut t = format!("{:<30}", "PROMPT");
    for m in &r.models {
        t.push_str(&format!(" │ {:<w$}", cut(m, w)));
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
    t
}

/// The comparisons `args` name (ids or batches), read from the store; on
/// failure, why on stderr and the exit status (`report` and `history export`).
pub fn stored_runs(store: &mut Store, args: &[String]) -> Result<Vec<StoredRun>, u8> {
    crate::store::matrix::stored_runs(store, args).map_err(|e| {
        eprintln!("versus: {e}");
        if e.starts_with("history store") { exit::MODEL_FAILED } else { exit::USAGE }
    })
}

pub fn run(ctx: &Context, args: &[String], json: bool) -> u8 {
    let mut store = match Store::open(&ctx.dirs.history_db()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("versus: cannot open the history store: {e}");
            return exit::MODEL_FAILED;
        }
    };
    let runs = match stored_runs(&mut store, args) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let report = build(&runs);
    let mut out = std::io::stdout().lock();
    if json {
        let _ = writeln!(out, "{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    } else {
        let _ = write!(out, "{}", table(&report));
    }
    exit::OK
}
