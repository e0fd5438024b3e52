//! `versus run --continue ID`: the next turn of a saved comparison. Each
//! model answers with its own earlier turns (`StoredRun::conversation`); the
//! run is recorded as a turn of the same comparison (`Comparison::continues`).

use crate::cli::RunArgs;
use crate::engine::RunEntry;
use crate::error::Error;

use super::Context;

/// `--continue ID`: the saved comparison's models (or -m's, slot by slot),
/// each with its own conversation so far.
pub fn continued(ctx: &Context, args: &RunArgs, catalog: &crate::catalog::Catalog, id: i64) -> Result<Vec<RunEntry>, Error> {
    let store =
        crate::store::Store::open(&ctx.dirs.history_db()).map_err(|e| Error::Usage(format!("cannot open the history store: {e}")))?;
    let stored = store
        .get(id)
        .map_err(|e| {
            Error::Usage(format!("history store {}: {e}; move the file aside to start a new history", ctx.dirs.history_db().display()))
        })?
        .ok_or_else(|| Error::Usage(format!("no comparison #{id} to continue (see `versus history list`)")))?;
    let out = if args.models.is_empty() {
        let global = args.overrides();
        let mut out = Vec::new();
        for o in &stored.outputs {
            let mut e = crate::store::query::entry_of(o, &ctx.config.config.endpoints)?;
            for (k, v) in &global {
                e.settings.set(k, v).map_err(|err| Error::Usage(format!("--{}: {err}", k.replace('_', "-"))))?;
            }
            out.push(e);
        }
        out
    } else {
        crate::spec::resolve_all(&args.models, catalog, &ctx.config.config, &args.overrides())?
    };
    if out.len() != stored.outputs.len() {
        return Err(Error::Usage(format!(
            "comparison #{id} has {} models but {} were given with -m: give one per model, in its order, or none",
            stored.outputs.len(),
            out.len()
        )));
    }
    Ok(crate::conversation::next_turn(out, |slot| stored.conversation(slot)))
}
