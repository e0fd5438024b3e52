//! `versus tokenize SPEC`: the token ids and pieces an engine feeds a model
//! for a text, after its chat template with `--template`. Only the
//! vocabulary is read, never the weights, so it answers at once even for a
//! model that would not fit in memory.

use crate::cli::TokenizeArgs;
use crate::error::Error;

use super::{Context, exit};

pub fn run(ctx: &Context, args: &TokenizeArgs) -> u8 {
    match tokenize(ctx, args) {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("versus: {e}");
            if e.is_usage() { exit::USAGE } else { exit::MODEL_FAILED }
        }
    }
}

fn read_text(args: &TokenizeArgs) -> Result<String, Error> {
    if let Some(p) = &args.prompt {
        return Ok(p.clone());
    }
    super::read_stdin("no text: give -p TEXT or pipe it on standard input")
}

fn tokenize(ctx: &Context, args: &TokenizeArgs) -> Result<(), Error> {
    let catalog = ctx.discover(&args.scan);
    let spec = crate::spec::parse(&args.spec)?;
    let mut entry = crate::spec::resolve(&spec, &catalog, &ctx.config.config, &[])?;
    if let Some(s) = &args.system {
        entry.settings.generation.system_prompt = s.clone();
    }
    let text = read_text(args)?;
    let tokens = crate::engine::registry::tokens(&entry, &text, args.template)?;
    if args.json {
        let out = serde_json::json!({
            "model": entry.model.name,
            "engine": entry.engine.label(),
            "tokens": tokens.ids,
            "pieces": tokens.pieces,
            "text": tokens.text,
        });
        println!("{out}");
        return Ok(());
    }
    eprintln!("{} ({}): {} tokens", entry.model.name, entry.engine.label(), tokens.ids.len());
    let width = tokens.ids.iter().max().map_or(1, |m| m.to_string().len());
    for (id, piece) in tokens.ids.iter().zip(&tokens.pieces) {
        // Debug formatting shows spaces, newlines and control characters
        // unambiguously, and keeps escape sequences from the vocabulary off
        // the terminal.
        println!("{id:>width$}  {piece:?}");
    }
    Ok(())
}
