//! `versus leaderboard`: the models voted on, rated as LMArena rates them
//! (`store::leaderboard`), as a table or one JSON object.

use std::io::Write;

use crate::cli::LeaderboardArgs;
use crate::store::Store;
use crate::store::leaderboard::Options;
use crate::store::votes::Filter;

use super::{Context, exit};

/// `--since`: a date (`2026-12-01`) or an RFC 3339 time, as the stored
/// times compare (text, UTC).
pub(super) fn since(text: &str) -> Result<String, String> {
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

/// The store, or why it cannot be opened (said on stderr).
pub(super) fn open_store(ctx: &Context) -> Result<Store, u8> {
    Store::open(&ctx.dirs.history_db()).map_err(|e| {
        eprintln!("versus: cannot open the history store: {e}");
        exit::MODEL_FAILED
    })
}

/// The filter of `--since` and `--prompt-filter`.
pub(super) fn filter(prompt_filter: Option<&str>, since_text: Option<&str>) -> Result<Filter, u8> {
    let since = since_text.map(since).transpose().map_err(|e| {
        eprintln!("versus: {e}");
        exit::USAGE
    })?;
    Ok(Filter { prompt: prompt_filter.map(str::to_string), since, runs: None })
}

pub fn run(ctx: &Context, args: &LeaderboardArgs) -> u8 {
    let filter = match filter(args.prompt_filter.as_deref(), args.since.as_deref()) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let store = match open_store(ctx) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let options =
        Options { filter, both_bad: args.both_bad, include_flagged: args.include_flagged, matrix: args.matrix, style: args.style_control };
    let board = match store.leaderboard(&options) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("versus: history store {}: {e}; move the file aside to start a new history", ctx.dirs.history_db().display());
            return exit::MODEL_FAILED;
        }
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        let _ = writeln!(out, "{}", serde_json::to_string_pretty(&board).unwrap_or_default());
    } else {
        let _ = write!(out, "{}", crate::tables::leaderboard(&board));
        if args.matrix && !board.models.is_empty() {
            let _ = write!(out, "\n{}", crate::tables::win_matrix(&board));
        }
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
