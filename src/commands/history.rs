//! `versus history`: list, show, export and remove saved comparisons.

use std::io::Write;

use crate::cli::HistoryCmd;
use crate::store::Store;
use crate::store::export;

use super::{Context, exit};

pub fn run(ctx: &Context, cmd: &HistoryCmd) -> u8 {
    let path = ctx.dirs.history_db();
    let mut store = match Store::open(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("versus: cannot open the history store: {e}");
            return exit::MODEL_FAILED;
        }
    };
    let missing = |id: i64| {
        eprintln!("versus: no comparison #{id} (see `versus history list`)");
        exit::USAGE
    };
    let db_err = |e: rusqlite::Error| {
        eprintln!("versus: history store {}: {e}; move the file aside to start a new history", ctx.dirs.history_db().display());
        exit::MODEL_FAILED
    };
    let mut out = std::io::stdout().lock();
    match cmd {
        HistoryCmd::List { json, limit } => {
            let runs = match store.list(*limit) {
                Ok(r) => r,
                Err(e) => return db_err(e),
            };
            if *json {
                let _ = writeln!(out, "{}", serde_json::to_string_pretty(&runs).unwrap_or_default());
            } else if runs.is_empty() {
                let _ = writeln!(out, "No saved comparisons yet ({}).", path.display());
            } else {
                let _ = writeln!(out, "{:>5}  {:<20}  {:<11}  {:<40}  MODELS", "ID", "STARTED", "STATE", "PROMPT");
                for r in runs {
                    let prompt: String = crate::wrap::sanitize(&r.prompt.replace('\n', " ")).chars().take(40).collect();
                    let started: String = r.started_at.chars().take(19).collect::<String>().replace('T', " ");
                    let _ =
                        writeln!(out, "{:>5}  {:<20}  {:<11}  {:<40}  {}", r.id, started, r.state.as_str(), prompt, r.models.join(", "));
                }
            }
            exit::OK
        }
        HistoryCmd::Show { id, json } => match store.get(*id) {
            Ok(Some(run)) => {
                let text = if *json { serde_json::to_string_pretty(&run).unwrap_or_default() + "\n" } else { export::text(&run) };
                super::print_text(&text);
                exit::OK
            }
            Ok(None) => missing(*id),
            Err(e) => db_err(e),
        },
        HistoryCmd::Export { ids, format, out: file, force } => {
            if let Some(f) = file.as_ref().filter(|f| f.exists() && !force) {
                eprintln!("versus: {} exists; --force replaces it", f.display());
                return exit::USAGE;
            }
            let runs = match super::report::stored_runs(&mut store, ids) {
                Ok(r) => r,
                Err(code) => return code,
            };
            let text = match runs.as_slice() {
                [one] => export::render(one, *format),
                many => export::render_many(many, *format),
            };
            let what = ids.join(", ");
            match file {
                Some(f) => match std::fs::write(f, text) {
                    Ok(()) => {
                        eprintln!("exported {what} to {}", f.display());
                        exit::OK
                    }
                    Err(e) => {
                        eprintln!("versus: {}: {e}", f.display());
                        exit::MODEL_FAILED
                    }
                },
                None => {
                    super::print_text(&text);
                    exit::OK
                }
            }
        }
        HistoryCmd::Rm { id } => match store.remove(*id) {
            Ok(true) => {
                let _ = writeln!(out, "removed #{id}");
                exit::OK
            }
            Ok(false) => missing(*id),
            Err(e) => db_err(e),
        },
    }
}
