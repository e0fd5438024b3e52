//! `versus votes export|import`: votes shared as files in FastChat's battle
//! format (`store::battles`), so a team's votes, or an arena's public
//! battles, rate models together.

use std::io::{Read, Write};
use std::path::Path;

use crate::cli::VotesCmd;
use crate::store::battles::Mapping;

use super::leaderboard::{filter, open_store};
use super::{Context, exit};

/// Largest battle file read (an arena's public file is a few hundred MiB).
const FILE_CAP: u64 = 4 << 30;

pub fn run(ctx: &Context, cmd: &VotesCmd) -> u8 {
    match cmd {
        VotesCmd::Export { out, since, prompt_filter } => export(ctx, out.as_deref(), prompt_filter.as_deref(), since.as_deref()),
        VotesCmd::Import { file, map } => import(ctx, file, map),
    }
}

fn export(ctx: &Context, out: Option<&Path>, prompt_filter: Option<&str>, since: Option<&str>) -> u8 {
    let (filter, store) = match filter(prompt_filter, since).and_then(|f| Ok((f, open_store(ctx)?))) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let text = match store.export_battles(&filter) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("versus: history store {}: {e}", ctx.dirs.history_db().display());
            return exit::MODEL_FAILED;
        }
    };
    let lines = text.lines().count();
    let written = match out {
        None => std::io::stdout().lock().write_all(text.as_bytes()).map_err(|e| e.to_string()),
        Some(path) => std::fs::write(path, text.as_bytes()).map_err(|e| format!("{}: {e}", path.display())),
    };
    match written {
        Ok(()) => {
            if let Some(p) = out {
                eprintln!("versus: {lines} battles written to {}", p.display());
            }
            exit::OK
        }
        Err(e) => {
            eprintln!("versus: {e}");
            exit::MODEL_FAILED
        }
    }
}

fn import(ctx: &Context, file: &Path, map: &[String]) -> u8 {
    let mapping = match mapping(ctx, map) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("versus: {e}");
            return exit::USAGE;
        }
    };
    let text = if file == Path::new("-") {
        let mut t = String::new();
        std::io::stdin().lock().take(FILE_CAP).read_to_string(&mut t).map(|_| t).map_err(|e| format!("standard input: {e}"))
    } else {
        crate::paths::read_text(file, FILE_CAP).map_err(|e| format!("{}: {e}", file.display()))
    };
    let text = match text {
        Ok(t) => t,
        Err(e) => {
            eprintln!("versus: {e}");
            return exit::USAGE;
        }
    };
    let mut store = match open_store(ctx) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let source = if file == Path::new("-") { "stdin".to_string() } else { file.display().to_string() };
    match store.import_battles(&text, &source, &mapping) {
        Ok(r) => {
            for (line, why) in r.malformed.iter().take(20) {
                eprintln!("versus: {source}:{line}: skipped: {why}");
            }
            if r.malformed.len() > 20 {
                eprintln!("versus: … and {} more malformed lines skipped", r.malformed.len() - 20);
            }
            let skipped = if r.malformed.is_empty() { String::new() } else { format!(", {} malformed lines skipped", r.malformed.len()) };
            eprintln!("versus: {} battles added, {} already in the history{skipped}", r.added, r.known);
            if r.added == 0 && r.known == 0 && !r.malformed.is_empty() { exit::USAGE } else { exit::OK }
        }
        Err(e) => {
            eprintln!("versus: history store {}: {e}; nothing was imported", ctx.dirs.history_db().display());
            exit::MODEL_FAILED
        }
    }
}

/// `--map NAME=SPEC`: each name to the identity of the local model SPEC.
fn mapping(ctx: &Context, map: &[String]) -> Result<Mapping, String> {
    let mut out = Mapping::new();
    if map.is_empty() {
        return Ok(out);
    }
    let catalog = ctx.discover(&[]);
    for m in map {
        let Some((name, spec)) = m.split_once('=').filter(|(n, s)| !n.trim().is_empty() && !s.trim().is_empty()) else {
            return Err(format!("--map {m:?}: expected NAME=SPEC, e.g. --map gemma-3-270m-it=gemma-3-270m"));
        };
        let parsed = crate::spec::parse(spec.trim()).map_err(|e| format!("--map {name}: {e}"))?;
        let entry = crate::spec::resolve(&parsed, &catalog, &ctx.config.config, &[]).map_err(|e| format!("--map {name}: {e}"))?;
        let record = crate::store::recorder::model_record(&entry);
        out.insert(name.trim().to_string(), crate::store::battles::mapped(&record, &entry.settings));
    }
    Ok(out)
}
