//! `versus report BATCH_OR_RUN_IDS…`: prompts × models for a batch (its
//! file name as given to `--prompts`) or a set of comparisons. Each cell is
//! the answer's length, its speed, the judge's mean score and its place in
//! the votes; each model gets totals.

use std::io::Write;

use crate::store::matrix::build;
use crate::store::{Store, StoredRun};

use super::{Context, exit};

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
        let _ = write!(out, "{}", crate::tables::matrix(&report));
    }
    exit::OK
}
