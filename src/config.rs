//! Configuration: TOML, defaults embedded in the binary, the user's file merged
//! over them, every value validated.
//!
//! The embedded defaults *are* `config.example.toml`, so the documented
//! defaults cannot drift from the real ones. Loading merges the user's table
//! over the defaults, deserializes the result (unknown keys are errors), then
//! checks ranges. Every error is mapped back to a line of the user's file
//! through toml's spanned parse, e.g.
//! `config.toml:12: generation.temperature = 7.5 is out of range 0.0..=2.0`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::de::{DeTable, DeValue};

use crate::error::Error;
use crate::params::{BackendSettings, GenerationParams, Settings, did_you_mean};
use crate::paths::Dirs;

/// The documented defaults, compiled in.
pub const DEFAULTS: &str = include_str!("../config.example.toml");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub models: crate::catalog::ModelsConfig,
    pub generation: GenerationParams,
    pub backend: BackendSettings,
    pub cpu: CpuConfig,
    pub memory: crate::engine::runtime::memory::MemoryConfig,
    /// Whether models stay loaded between runs.
    #[serde(default)]
    pub scheduler: crate::engine::runtime::resident::SchedulerConfig,
    pub ui: UiConfig,
    pub log: LogConfig,
    /// Per-model settings: a glob over model names, then any generation or
    /// backend key.
    #[serde(default)]
    pub overrides: BTreeMap<String, toml::Table>,
    /// OpenAI-compatible servers (llama-server, vLLM, Ollama, TGI…).
    #[serde(default)]
    pub endpoints: Vec<crate::engine::remote::EndpointConfig>,
    /// The judge's rubric (`versus run --judge`).
    #[serde(default)]
    pub judge: crate::judge::JudgeConfig,
}

/// Process-wide CPU settings, fixed when versus starts (unlike [backend],
/// which applies per model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpuConfig {
    pub omp_wait_policy: crate::process::WaitPolicy,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiConfig {
    pub sync_scroll: bool,
    pub max_fps: u32,
    /// The terminal's background: dark or light (NO_COLOR turns colour off).
    pub theme: crate::theme::ThemeName,
    /// The formats Ctrl-E exports the comparison on screen in.
    #[serde(default = "default_export")]
    pub export: Vec<crate::store::export::Format>,
    /// action name → key list; replaces that action's default keys.
    pub keys: BTreeMap<String, Vec<String>>,
}

fn default_export() -> Vec<crate::store::export::Format> {
    crate::store::export::Format::EXPORT.to_vec()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// A level or a RUST_LOG-style filter; --log-level and RUST_LOG win over it.
    pub level: String,
}

/// A config together with the file it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// None when no user file exists and only the defaults apply.
    pub source: Option<PathBuf>,
}

impl Config {
    /// The embedded defaults alone.
    pub fn defaults() -> Config {
        match parse(DEFAULTS, None) {
            Ok(c) => c,
            // A test keeps the embedded file valid; this cannot happen in a build that passed it.
            Err(errors) => panic!("embedded config.example.toml is invalid: {errors:?}"),
        }
    }

    /// The settings a model named `name` runs with before any spec override.
    pub fn settings_for(&self, name: &str) -> Settings {
        let mut settings = Settings { generation: self.generation.clone(), backend: self.backend.clone() };
        for (pattern, table) in &self.overrides {
            let Ok(glob) = globset::Glob::new(pattern) else { continue };
            if glob.compile_matcher().is_match(name) {
                for (key, value) in table {
                    // Validated at load time; a failure here cannot happen.
                    // Refused values were reported by `validate` when the config loaded.
                    let _ = settings.set(key, &value_text(key, value));
                }
            }
        }
        settings
    }
}

/// Load the user's config (explicit path, else the default location if it
/// exists) merged over the defaults.
pub fn load(explicit: Option<&Path>, dirs: &Dirs) -> Result<Loaded, Vec<Error>> {
    let (path, required) = match explicit {
        Some(p) => (p.to_path_buf(), true),
        None => (dirs.config_file(), false),
    };
    match crate::paths::read_text(&path, crate::paths::METADATA_CAP) {
        Ok(text) => {
            let config = parse(&text, Some(&path))?;
            Ok(Loaded { config, source: Some(path) })
        }
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => Ok(Loaded { config: Config::defaults(), source: None }),
        Err(e) => Err(vec![Error::io(&path, e)]),
    }
}

/// Parse `text` merged over the defaults. `origin` names the file in messages.
pub fn parse(text: &str, origin: Option<&Path>) -> Result<Config, Vec<Error>> {
    let name = origin.map_or_else(|| "config".to_string(), |p| p.display().to_string());
    let at = |span: Option<std::ops::Range<usize>>| match span {
        Some(s) => format!("{name}:{}: ", line_of(text, s.start)),
        None => format!("{name}: "),
    };
    let doc = DeTable::parse(text).map_err(|e| vec![Error::Validation { location: at(e.span()), message: e.message().to_string() }])?;
    let user: toml::Table =
        toml::from_str(text).map_err(|e| vec![Error::Validation { location: at(e.span()), message: e.message().to_string() }])?;
    let mut merged: toml::Table =
        toml::from_str(DEFAULTS).map_err(|e| vec![Error::Validation { location: "embedded defaults: ".into(), message: e.to_string() }])?;
    merge(&mut merged, user);

    let config: Config =
        serde_path_to_error::deserialize(toml::Value::Table(merged)).map_err(|e| vec![deserialize_error(&e, &doc, &at)])?;

    let errors = validate(&config, &doc, &at);
    if errors.is_empty() { Ok(config) } else { Err(errors) }
}

fn deserialize_error(
    e: &serde_path_to_error::Error<toml::de::Error>,
    doc: &toml::Spanned<DeTable<'_>>,
    at: &dyn Fn(Option<std::ops::Range<usize>>) -> String,
) -> Error {
    let mut path: Vec<String> = e
        .path()
        .iter()
        .filter_map(|seg| match seg {
            serde_path_to_error::Segment::Map { key } => Some(key.clone()),
            serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
            _ => None,
        })
        .collect();
    let inner = e.inner().message().to_string();
    let mut message = inner.clone();
    if let Some(rest) = inner.strip_prefix("unknown field `") {
        if let Some((field, tail)) = rest.split_once('`') {
            let known: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
            if path.last().map(String::as_str) != Some(field) {
                path.push(field.to_string());
            }
            message = format!("unknown key `{}`{}", path.join("."), did_you_mean(field, &known));
            return Error::Validation { location: at(find_span(doc, &path)), message };
        }
    }
    if !path.is_empty() {
        message = format!("{}: {message}", path.join("."));
    }
    Error::Validation { location: at(find_span(doc, &path)), message }
}

fn validate(config: &Config, doc: &toml::Spanned<DeTable<'_>>, at: &dyn Fn(Option<std::ops::Range<usize>>) -> String) -> Vec<Error> {
    let mut errors = Vec::new();
    let settings = Settings { generation: config.generation.clone(), backend: config.backend.clone() };
    for (key, message) in settings.check() {
        let section = crate::params::spec(&key).map_or("generation", |p| p.section.name());
        let path = [section.to_string(), key];
        errors.push(Error::Validation { location: at(find_span(doc, &path)), message: format!("{section}.{message}") });
    }
    let ranges: [(&[&str], u64, u64, u64); 5] = [
        (&["models", "max_depth"], config.models.max_depth.into(), 1, 64),
        (&["models", "max_entries"], config.models.max_entries, 1, 100_000_000),
        (&["ui", "max_fps"], config.ui.max_fps.into(), 1, 240),
        (&["memory", "reserve_mib"], config.memory.reserve_mib, 0, 1 << 24),
        // 2^30 MiB is an exbibyte: any more would wrap when counted in bytes.
        (&["memory", "limit_mib"], config.memory.limit_mib, 0, 1 << 30),
    ];
    for (path, value, lo, hi) in ranges {
        if value < lo || value > hi {
            let path: Vec<String> = path.iter().map(|s| s.to_string()).collect();
            errors.push(Error::InvalidParameter {
                location: at(find_span(doc, &path)),
                key: path.join("."),
                value: value.to_string(),
                allowed: format!("{lo}..={hi}"),
            });
        }
    }
    if tracing_subscriber::EnvFilter::try_new(&config.log.level).is_err() {
        let path = ["log".to_string(), "level".to_string()];
        errors.push(Error::Validation {
            location: at(find_span(doc, &path)),
            message: format!("log.level = {:?} is not a level (error, warn, info, debug, trace) or filter", config.log.level),
        });
    }
    for (pattern, table) in &config.overrides {
        if let Err(e) = globset::Glob::new(pattern) {
            let path = ["overrides".to_string(), pattern.clone()];
            errors.push(Error::Validation {
                location: at(find_span(doc, &path)),
                message: format!("overrides.\"{pattern}\" is not a valid glob: {e}"),
            });
        }
        let mut probe = Settings::default();
        for (key, value) in table {
            if let Err(message) = probe.set(key, &value_text(key, value)) {
                let path = ["overrides".to_string(), pattern.clone(), key.clone()];
                errors.push(Error::Validation {
                    location: at(find_span(doc, &path)),
                    message: format!("overrides.\"{pattern}\": {message}"),
                });
            }
        }
    }
    let mut names = std::collections::HashSet::new();
    for (i, ep) in config.endpoints.iter().enumerate() {
        let at = |key: &str| at(find_span(doc, &["endpoints".to_string(), i.to_string(), key.to_string()]));
        if !names.insert(ep.name.as_str()) {
            errors.push(Error::Validation { location: at("name"), message: format!("endpoints: the name {:?} is used twice", ep.name) });
        }
        if ep.name.is_empty() || ep.name.contains(['@', ',', ' ']) || crate::engine::EngineKind::parse(&ep.name).is_some() {
            errors.push(Error::Validation {
                location: at("name"),
                message: format!(
                    "endpoints.name = {:?}: use letters, digits, - or _ (and not {})",
                    ep.name,
                    crate::engine::registry::local_labels()
                ),
            });
        }
        if !(ep.url.starts_with("http://") || ep.url.starts_with("https://")) {
            errors.push(Error::Validation {
                location: at("url"),
                message: format!("endpoints.url = {:?} must start with http:// or https://", crate::engine::remote::redact(&ep.url)),
            });
        }
        if !(1..=86_400).contains(&ep.timeout_secs) {
            errors.push(Error::InvalidParameter {
                location: at("timeout_secs"),
                key: "endpoints.timeout_secs".into(),
                value: ep.timeout_secs.to_string(),
                allowed: "1..=86400".into(),
            });
        }
    }
    if let Err(e) = crate::keymap::Keymap::from_config(&config.ui.keys) {
        let path = ["ui".to_string(), "keys".to_string(), e.action.clone()];
        errors.push(Error::Validation { location: at(find_span(doc, &path)), message: e.to_string() });
    }
    errors
}

/// A TOML value as the text `Settings::set` takes: a list's items joined
/// with `|` (a bar inside an item escaped), shares joined with `/` as specs
/// and the popup write them.
fn value_text(key: &str, value: &toml::Value) -> String {
    let range = crate::params::spec(key).map(|p| p.range);
    match value {
        toml::Value::String(s) if range == Some(crate::params::Range::List) => s.replace('|', "\\|"),
        toml::Value::String(s) => s.clone(),
        toml::Value::Array(items) if range == Some(crate::params::Range::Shares) => {
            items.iter().map(toml::Value::to_string).collect::<Vec<_>>().join("/")
        }
        toml::Value::Array(items) => items
            .iter()
            .map(|v| match v {
                toml::Value::String(s) => s.replace('\\', "\\\\").replace('|', "\\|"),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join("|"),
        other => other.to_string(),
    }
}

/// Tables merge key by key; any other value in `over` replaces the base one.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(1, |s| s.bytes().filter(|b| *b == b'\n').count() + 1)
}

/// The span of the deepest key of `path` present in the user's document.
fn find_span(doc: &toml::Spanned<DeTable<'_>>, path: &[String]) -> Option<std::ops::Range<usize>> {
    let mut table: &DeTable<'_> = doc.get_ref();
    let mut best = None;
    let mut value: Option<&toml::Spanned<DeValue<'_>>> = None;
    for seg in path {
        if let Some(v) = value {
            match v.get_ref() {
                DeValue::Table(t) => table = t,
                DeValue::Array(a) => {
                    let idx: usize = seg.parse().ok()?;
                    let item = a.iter().nth(idx)?;
                    best = Some(item.span());
                    value = Some(item);
                    continue;
                }
                _ => return best,
            }
        }
        let (k, v) = table.iter().find(|(k, _)| k.get_ref().as_ref() == seg.as_str())?;
        best = Some(k.span());
        value = Some(v);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    /// config.example.toml shows every parameter in its section, with its
    /// default and the range the parameter table gives it.
    #[test]
    fn the_example_documents_every_parameter_as_the_table_declares_it() {
        let defaults = crate::params::Settings::default();
        for p in crate::params::PARAMS {
            let section = format!("[{}]", p.section.name());
            let body = DEFAULTS.split(&section).nth(1).and_then(|b| b.split("\n[").next()).unwrap_or_default();
            let line = body
                .lines()
                .find(|l| l.trim_start_matches("# ").starts_with(&format!("{} = ", p.key)))
                .unwrap_or_else(|| panic!("{} is not in {section} of config.example.toml", p.key));
            let numeric =
                matches!(p.range, crate::params::Range::Float(..) | crate::params::Range::Int(..) | crate::params::Range::ZeroOr(..));
            if numeric {
                assert!(line.contains(&p.range.to_string()), "{}: the comment should say {}: {line}", p.key, p.range);
            }
            if let crate::params::Range::Choice(names) = p.range {
                assert!(names.iter().all(|n| line.contains(n)), "{}: {line}", p.key);
            }
            if !line.starts_with('#') {
                let value = line.split('=').nth(1).unwrap_or_default().split('#').next().unwrap_or_default().trim();
                let toml_value: toml::Value = toml::from_str(&format!("v = {value}")).map(|t: toml::Table| t["v"].clone()).expect(line);
                assert_eq!(value_text(p.key, &toml_value), defaults.get(p.key), "{}: the example's default differs from the code's", p.key);
            }
        }
    }

    fn errs(text: &str) -> Vec<String> {
        match parse(text, Some(Path::new("config.toml"))) {
            Ok(_) => vec![],
            Err(e) => e.iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn embedded_defaults_match_the_code_defaults() {
        let c = Config::defaults();
        assert_eq!(c.generation, GenerationParams::default());
        assert_eq!(c.backend, BackendSettings::default());
        assert!(c.overrides.is_empty());
    }

    #[test]
    fn user_values_merge_over_defaults() {
        let c = parse("[generation]\ntemperature = 0.2\n", None).unwrap();
        assert_eq!(c.generation.temperature, 0.2);
        assert_eq!(c.generation.top_k, GenerationParams::default().top_k);
        assert!(c.models.hf_cache);
    }

    #[test]
    fn out_of_range_names_file_line_key_and_range() {
        let text = "# comment\n\n[generation]\ntop_k = 10\ntemperature = 7.5\n";
        assert_eq!(errs(text), vec!["config.toml:5: generation.temperature = 7.5 is out of range 0.0..=2.0"]);
    }

    #[test]
    fn unknown_keys_are_errors_with_a_suggestion() {
        assert_eq!(
            errs("[generation]\ntemprature = 1.0\n"),
            vec!["config.toml:2: unknown key `generation.temprature`, did you mean `temperature`?"]
        );
        assert_eq!(errs("[modles]\nfolders = []\n"), vec!["config.toml:1: unknown key `modles`, did you mean `models`?"]);
    }

    #[test]
    fn wrong_types_and_syntax_are_located() {
        let e = errs("[backend]\nthreads = \"many\"\n");
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("config.toml:2: backend.threads: invalid type"), "{e:?}");
        let e = errs("[generation\n");
        assert!(e[0].starts_with("config.toml:1: "), "{e:?}");
        let e = errs("[backend]\ndevice = \"tpu\"\n");
        assert!(e[0].starts_with("config.toml:2: backend.device: unknown variant `tpu`"), "{e:?}");
    }

    #[test]
    fn every_range_check_reports() {
        let text = "[models]\nmax_depth = 0\n[backend]\nbatch_size = 1\n[ui]\nmax_fps = 0\n";
        assert_eq!(
            errs(text),
            vec![
                "config.toml:4: backend.batch_size = 1 is out of range 32..=8192",
                "config.toml:2: models.max_depth = 0 is out of range 1..=64",
                "config.toml:6: ui.max_fps = 0 is out of range 1..=240",
            ]
        );
    }

    #[test]
    fn overrides_apply_by_glob_and_validate() {
        let c = parse("[overrides.\"gemma-*\"]\ntemperature = 0.1\nstop = [\"END\", \"a|b\"]\ncontext_size = 2048\n", None).unwrap();
        let s = c.settings_for("gemma-3-270m");
        assert_eq!(s.generation.temperature, 0.1);
        assert_eq!(s.generation.stop, vec!["END".to_string(), "a|b".to_string()]);
        assert_eq!(s.backend.context_size, 2048);
        assert_eq!(c.settings_for("llama").generation.temperature, 0.8);

        assert_eq!(errs("[overrides.\"x\"]\ntop_p = 3\n"), vec!["config.toml:2: overrides.\"x\": top_p = 3 is out of range 0.0..=1.0"]);
        assert_eq!(
            errs("[overrides.\"x\"]\ntopp = 3\n"),
            vec!["config.toml:2: overrides.\"x\": unknown parameter `topp`, did you mean `top_p`?"]
        );
        assert_eq!(errs("[overrides.\"[x\"]\n").len(), 1);
    }

    #[test]
    fn missing_default_file_means_defaults_and_explicit_missing_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let dirs = Dirs { config_dir: tmp.path().join("none"), data_dir: tmp.path().into(), state_dir: tmp.path().into() };
        let loaded = load(None, &dirs).unwrap();
        assert!(loaded.source.is_none());
        let missing = tmp.path().join("nope.toml");
        let err = load(Some(&missing), &dirs).unwrap_err();
        assert!(err[0].to_string().contains("nope.toml"));
    }
}
