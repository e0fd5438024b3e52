//! Model specs: `MODEL[@ENGINE][,key=value…]`, the one way a model is named
//! on the command line and in config. MODEL is a name from `versus list` or a
//! path; ENGINE is `llama` or `candle`; the pairs override settings for this
//! entry only, so `-m m,temperature=0 -m m,temperature=1.2` compares settings.

use std::path::Path;

use crate::catalog::{Catalog, EngineKind, ModelInfo};
use crate::config::Config;
use crate::engine::RunEntry;
use crate::error::Error;

#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub model: String,
    pub engine: Option<EngineKind>,
    pub overrides: Vec<(String, String)>,
}

/// Split on commas not escaped with a backslash.
fn split_unescaped(s: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(',') => parts.last_mut().map_or((), |p| p.push(',')),
                Some(other) => parts.last_mut().map_or((), |p| { p.push('\\'); p.push(other) }),
                None => parts.last_mut().map_or((), |p| p.push('\\')),
            },
            ',' => parts.push(String::new()),
            c => parts.last_mut().map_or((), |p| p.push(c)),
        }
    }
    parts
}

pub fn parse(text: &str) -> Result<ModelSpec, Error> {
    if text.trim().is_empty() {
        return Err(Error::Usage("empty model spec".into()));
    }
    // A path that exists is taken whole, whatever characters it holds.
    if Path::new(text).exists() {
        return Ok(ModelSpec { model: text.into(), engine: None, overrides: vec![] });
    }
    let mut parts = split_unescaped(text).into_iter();
    let head = parts.next().unwrap_or_default();
    let mut overrides = Vec::new();
    for pair in parts {
        let (k, v) = pair.split_once('=').ok_or_else(|| {
            Error::Usage(format!("in model spec `{text}`: `{pair}` is not key=value"))
        })?;
        overrides.push((k.trim().to_string(), v.to_string()));
    }
    let (model, engine) = match head.rsplit_once('@') {
        Some((m, e)) if !Path::new(&head).exists() => {
            let engine = EngineKind::parse(e).ok_or_else(|| {
                Error::Usage(format!("in model spec `{text}`: unknown engine `{e}` (llama or candle)"))
            })?;
            (m.to_string(), Some(engine))
        }
        _ => (head, None),
    };
    Ok(ModelSpec { model, engine, overrides })
}

/// Find the spec's model and build the entry it runs as.
/// `global` are key=value pairs for every model (command-line flags); they
/// apply after the config and before the spec's own pairs.
pub fn resolve(
    spec: &ModelSpec,
    catalog: &Catalog,
    config: &Config,
    global: &[(String, String)],
) -> Result<RunEntry, Error> {
    let model: ModelInfo = match catalog.resolve(&spec.model) {
        Ok(m) => m.clone(),
        Err(e) => match crate::catalog::describe_path(Path::new(&spec.model)) {
            Some(m) if Path::new(&spec.model).exists() => m,
            _ => return Err(e),
        },
    };
    let engines = model.engines();
    let engine = match spec.engine {
        Some(e) if engines.contains(&e) => e,
        Some(e) if !e.compiled_in() => {
            return Err(Error::UnsupportedFormat(format!(
                "this build of versus has no {} engine (build with --features {})",
                e.label(),
                e.label()
            )));
        }
        Some(e) => {
            return Err(Error::UnsupportedFormat(format!(
                "{} cannot run {} ({} {}); engines for it: {}",
                e.label(),
                model.name,
                model.format.label(),
                model.architecture.as_deref().unwrap_or("unknown architecture"),
                if engines.is_empty() { "none".to_string() } else {
                    engines.iter().map(|e| e.label()).collect::<Vec<_>>().join(", ")
                }
            )));
        }
        None => match engines.first() {
            Some(e) => *e,
            // Let the scheduler report the model's own error in its column.
            None if model.error.is_some() => EngineKind::Llama,
            None => {
                return Err(Error::UnsupportedFormat(format!(
                    "no engine in this build runs {} ({} {}); candle runs {}",
                    model.name,
                    model.format.label(),
                    model.architecture.as_deref().unwrap_or("unknown architecture"),
                    crate::engine::support::CANDLE_HF.join(", ")
                )));
            }
        },
    };
    let mut base = config.settings_for(&model.name);
    for (k, v) in global {
        base.set(k, v).map_err(|e| Error::Usage(format!("--{}: {e}", k.replace('_', "-"))))?;
    }
    let mut settings = base.clone();
    for (k, v) in &spec.overrides {
        settings.set(k, v).map_err(|e| Error::Usage(format!("in model spec for {}: {e}", spec.model)))?;
    }
    Ok(RunEntry { label: label(&model, engine, &settings.diff(&base)), model, engine, settings, prompts: None })
}

/// Column title: the name, the engine when it is not the default, and the
/// settings that differ from the model's configured ones.
pub fn label(model: &ModelInfo, engine: EngineKind, diff: &[String]) -> String {
    let mut label = model.name.clone();
    if model.error.is_none() && model.engines().first() != Some(&engine) {
        label.push('@');
        label.push_str(engine.label());
    }
    if !diff.is_empty() {
        label.push_str(&format!(" ({})", diff.join(", ")));
    }
    label
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_engine_and_overrides() {
        let s = parse("gemma-3-270m@candle,temperature=0,seed=7").unwrap();
        assert_eq!(s.model, "gemma-3-270m");
        assert_eq!(s.engine, Some(EngineKind::Candle));
        assert_eq!(s.overrides, vec![("temperature".into(), "0".into()), ("seed".into(), "7".into())]);
        let s = parse("m,stop=a\\,b").unwrap();
        assert_eq!(s.overrides, vec![("stop".into(), "a,b".into())]);
        assert!(parse("m@tpu").unwrap_err().to_string().contains("unknown engine `tpu`"));
        assert!(parse("m,temperature").unwrap_err().to_string().contains("not key=value"));
        assert!(parse("").is_err());
    }
}
