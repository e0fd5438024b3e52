//! `versus leaderboard`: the models voted on, rated (Bradley–Terry with a
//! 95% bootstrap interval), with their wins, losses and ties.

use std::io::Write;

use crate::store::Store;
use crate::store::votes::Filter;

use super::{Context, exit};

/// `--since`: a date (`2026-12-01`) or an RFC 3339 time, as the stored
/// times compare (text, UTC).
fn since(text: &str) -> Result<String, String> {
    use time::format_description::well_known::Rfc3339;
    let t = text.trim();
    if time::OffsetDateTime::parse(t, &Rfc3339).is_ok() {
        return Ok(t.to_string());
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(t, &fmt) {
        Ok(d) => Ok(format!("{d}T00:00:00Z")),
        Err(_) => Err(format!("--since {t:?}: expected a date like 2026-12-01 or a time like 2026-12-01T09:30:00Z")),
    }
}

pub fn run(ctx: &Context, json: bool, prompt_filter: Option<&str>, since_text: Option<&str>) -> u8 {
    let since = match since_text.map(since).transpose() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("versus: {e}");
            return exit::USAGE;
        }
    };
    let path = ctx.dirs.history_db();
    let store = match Store::open(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("versus: cannot open the history store: {e}");
            return exit::MODEL_FAILED;
        }
    };
    let filter = Filter { prompt: prompt_filter.map(str::to_string), since, runs: None };
    let board = match store.leaderboard(&filter) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("versus: history store {}: {e}; move the file aside to start a new history", path.display());
            return exit::MODEL_FAILED;
        }
    };
    let mut out = std::io::stdout().lock();
    if json {
        let _ = writeln!(out, "{}", serde_json::to_string_pretty(&serde_json::json!({ "models": board })).unwrap_or_default());
    } else {
        let _ = write!(out, "{}", crate::tables::leaderboard(&board));
    }
    exit::OK
}

#[cfg(test)]
mod tests {
    #[test]
    fn since_takes_dates_and_times() {
        assert_eq!(super::since("2026-12-01").as_deref(), Ok("2026-12-01T00:00:00Z"));
        assert_eq!(super::since("2026-12-01T09:30:00Z").as_deref(), Ok("2026-12-01T09:30:00Z"));
        assert!(super::since("yesterday").is_err());
    }
}
