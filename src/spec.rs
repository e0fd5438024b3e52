//! Model specs: `MODEL[@ENGINE][,key=value…]`, the one way a model is named
//! on the command line and in config. MODEL is a name from `versus list` or a
//! path; after `@` comes an engine (`llama`, `candle`), the name of an
//! `[[endpoints]]` server, or a server's URL; a bare URL names a server's
//! default model. The pairs override settings for this entry only, so
//! `-m m,temperature=0 -m m,temperature=1.2` compares settings.

use std::path::Path;

use crate::catalog::{Catalog, ModelInfo};
use crate::config::Config;
use crate::engine::EngineKind;
use crate::engine::RunEntry;
use crate::error::Error;

#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub model: String,
    /// What follows `@`: an engine, an endpoint name or a URL.
    pub at: Option<String>,
    pub overrides: Vec<(String, String)>,
}

fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

/// Split on commas not escaped with a backslash.
fn split_unescaped(s: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(',') => parts.last_mut().map_or((), |p| p.push(',')),
                Some(other) => parts.last_mut().map_or((), |p| {
                    p.push('\\');
                    p.push(other)
                }),
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
        return Ok(ModelSpec { model: text.into(), at: None, overrides: vec![] });
    }
    let mut parts = split_unescaped(text).into_iter();
    let head = parts.next().unwrap_or_default();
    let mut overrides = Vec::new();
    for pair in parts {
        let (k, v) = pair.split_once('=').ok_or_else(|| Error::Usage(format!("in model spec `{text}`: `{pair}` is not key=value")))?;
        overrides.push((k.trim().to_string(), v.to_string()));
    }
    if is_url(&head) {
        return Ok(ModelSpec { model: String::new(), at: Some(head), overrides });
    }
    // `MODEL@URL`: the URL may itself contain '@', so split before its scheme.
    let split = ["@http://", "@https://"].iter().find_map(|s| head.find(s)).or_else(|| head.rfind('@'));
    let (model, at) = match split {
        Some(i) if !Path::new(&head).exists() => (head[..i].to_string(), Some(head[i + 1..].to_string())),
        _ => (head, None),
    };
    if at.as_deref() == Some("") {
        return Err(Error::Usage(format!(
            "in model spec `{text}`: nothing after `@` ({}, an endpoint or a URL)",
            crate::engine::registry::local_labels()
        )));
    }
    // An empty name would match any model by prefix: say so instead. (A
    // served model may leave it empty: the endpoint's own model is meant.)
    if model.trim().is_empty() && at.as_deref().is_none_or(|a| EngineKind::parse(a).is_some()) {
        return Err(Error::Usage(format!(
            "in model spec `{text}`: no model name; give one from `versus list` (a unique prefix is enough) or a path"
        )));
    }
    Ok(ModelSpec { model, at, overrides })
}

/// Parse and resolve every spec (`-m`) against the catalog, with the
/// flags' `global` overrides between the config and each spec's own pairs.
pub fn resolve_all(specs: &[String], catalog: &Catalog, config: &Config, global: &[(String, String)]) -> Result<Vec<RunEntry>, Error> {
    specs.iter().map(|text| resolve(&parse(text)?, catalog, config, global)).collect()
}

/// Find the spec's model and build the entry it runs as.
/// `global` are key=value pairs for every model (command-line flags); they
/// apply after the config and before the spec's own pairs.
pub fn resolve(spec: &ModelSpec, catalog: &Catalog, config: &Config, global: &[(String, String)]) -> Result<RunEntry, Error> {
    let engine_choice = match spec.at.as_deref() {
        None => None,
        Some(at) => match EngineKind::parse(at) {
            Some(e) => Some(e),
            None => return resolve_remote(spec, at, config, global),
        },
    };
    let model: ModelInfo = match catalog.resolve(&spec.model) {
        Ok(m) => m.clone(),
        Err(e) => match crate::catalog::describe_path(Path::new(&spec.model)) {
            Some(m) if Path::new(&spec.model).exists() => m,
            _ => return Err(e),
        },
    };
    if model.format == crate::catalog::Format::Remote {
        let (name, ep) = model.name.rsplit_once('@').unwrap_or(("", model.name.as_str()));
        let spec = ModelSpec { model: name.to_string(), at: Some(ep.to_string()), overrides: spec.overrides.clone() };
        return resolve_remote(&spec, ep, config, global);
    }
    let engines = crate::engine::engines_for(&model);
    let engine = match engine_choice {
        Some(e) if engines.contains(&e) => e,
        Some(e) if !e.compiled_in() => return Err(crate::engine::registry::not_compiled(e)),
        Some(e) => {
            return Err(Error::UnsupportedFormat(format!(
                "{} cannot run {} ({} {}); engines for it: {}",
                e.label(),
                model.name,
                model.format.label(),
                model.architecture.as_deref().unwrap_or("unknown architecture"),
                if engines.is_empty() { "none".to_string() } else { engines.iter().map(|e| e.label()).collect::<Vec<_>>().join(", ") }
            )));
        }
        None => match engines.first() {
            Some(e) => *e,
            // Let the scheduler report the model's own error in its column.
            None if model.error.is_some() => EngineKind::default(),
            None => {
                let fix = if model.format == crate::catalog::Format::Gguf {
                    "; this build has no llama.cpp engine: build versus with --features llama".to_string()
                } else {
                    format!(
                        "; candle runs model_type {} from config.json: convert it to GGUF (llama.cpp's convert_hf_to_gguf.py) and run it with @llama",
                        crate::engine::support::CANDLE_HF.join(", ")
                    )
                };
                return Err(Error::UnsupportedFormat(format!(
                    "no engine in this build runs {} at {} ({} {}){fix}",
                    model.name,
                    model.path.display(),
                    model.format.label(),
                    model.architecture.as_deref().unwrap_or("unknown architecture"),
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
    Ok(RunEntry {
        label: label(&model, engine, &settings.diff(&base)),
        model,
        engine,
        settings,
        prompts: None,
        endpoint: None,
        history: Vec::new(),
    })
}

/// `MODEL@ENDPOINT` or `MODEL@URL` (or a bare URL): an entry served remotely.
fn resolve_remote(spec: &ModelSpec, at: &str, config: &Config, global: &[(String, String)]) -> Result<RunEntry, Error> {
    let endpoint = match config.endpoints.iter().find(|e| e.name == at) {
        Some(e) => e.clone(),
        None if is_url(at) => crate::engine::remote::EndpointConfig {
            // The name is shown and stored: no credentials in it.
            name: crate::engine::remote::redact(at),
            url: at.to_string(),
            api_key_env: None,
            model: None,
            timeout_secs: 120,
        },
        None => {
            let names: Vec<&str> = config.endpoints.iter().map(|e| e.name.as_str()).collect();
            let known = if names.is_empty() { "none are configured".to_string() } else { names.join(", ") };
            return Err(Error::Usage(format!(
                "in model spec `{}@{at}`: `{at}` is not an engine ({}), an [[endpoints]] name ({known}) or a URL",
                spec.model,
                crate::engine::registry::local_labels()
            )));
        }
    };
    let model_name = if spec.model.is_empty() { endpoint.model.clone().unwrap_or_default() } else { spec.model.clone() };
    let model = crate::engine::remote::remote_model(&endpoint, &model_name);
    let mut base = config.settings_for(&model.name);
    for (k, v) in global {
        base.set(k, v).map_err(|e| Error::Usage(format!("--{}: {e}", k.replace('_', "-"))))?;
    }
    let mut settings = base.clone();
    for (k, v) in &spec.overrides {
        settings.set(k, v).map_err(|e| Error::Usage(format!("in model spec for {}: {e}", model.name)))?;
    }
    let diff = settings.diff(&base);
    let label = if diff.is_empty() { model.name.clone() } else { format!("{} ({})", model.name, diff.join(", ")) };
    Ok(RunEntry {
        label,
        model,
        engine: EngineKind::Remote,
        settings,
        prompts: None,
        endpoint: Some(crate::engine::remote::Target { endpoint, model: model_name }),
        history: Vec::new(),
    })
}

/// Column title: the name, the engine when it is not the default, and the
/// settings that differ from the model's configured ones.
pub fn label(model: &ModelInfo, engine: EngineKind, diff: &[String]) -> String {
    let mut label = model.name.clone();
    if model.error.is_none() && crate::engine::engines_for(&model).first() != Some(&engine) {
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
        assert_eq!(s.at.as_deref(), Some("candle"));
        assert_eq!(s.overrides, vec![("temperature".into(), "0".into()), ("seed".into(), "7".into())]);
        let s = parse("m,stop=a\\,b").unwrap();
        assert_eq!(s.overrides, vec![("stop".into(), "a,b".into())]);
        let s = parse("llama-3@http://user@gpu-2:8000/v1,temperature=0").unwrap();
        assert_eq!((s.model.as_str(), s.at.as_deref()), ("llama-3", Some("http://user@gpu-2:8000/v1")));
        let s = parse("http://127.0.0.1:8080/v1").unwrap();
        assert_eq!((s.model.as_str(), s.at.as_deref()), ("", Some("http://127.0.0.1:8080/v1")));
        assert!(parse("m@").is_err());
        assert!(parse("m,temperature").unwrap_err().to_string().contains("not key=value"));
        assert!(parse("").is_err());
    }
}
