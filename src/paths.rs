//! Where versus keeps things: the config file, the data dir (models, history),
//! the state dir (logs). XDG variables are honoured through `directories`;
//! `VERSUS_DATA_DIR`, `VERSUS_STATE_DIR` and `VERSUS_CONFIG_DIR` override each
//! one, which is what tests and packagers use.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Dirs {
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
    pub state_dir: PathBuf,
}

impl Dirs {
    pub fn from_env() -> Self {
        let project = directories::ProjectDirs::from("", "", "versus");
        let home = directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf()).unwrap_or_else(|| PathBuf::from("."));
        let pick = |var: &str, fallback: Option<PathBuf>, rel: &str| {
            std::env::var_os(var).filter(|v| !v.is_empty()).map(PathBuf::from).or(fallback).unwrap_or_else(|| home.join(rel))
        };
        let config_dir = pick("VERSUS_CONFIG_DIR", project.as_ref().map(|p| p.config_dir().to_path_buf()), ".config/versus");
        let data_dir = pick("VERSUS_DATA_DIR", project.as_ref().map(|p| p.data_dir().to_path_buf()), ".local/share/versus");
        let state_dir =
            pick("VERSUS_STATE_DIR", project.as_ref().and_then(|p| p.state_dir().map(Path::to_path_buf)), ".local/state/versus");
        Dirs { config_dir, data_dir, state_dir }
    }

    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.toml")
    }

    /// Where `scripts/fetch-demo-model.sh` puts the demo model.
    pub fn models_dir(&self) -> PathBuf {
        std::env::var_os("VERSUS_MODELS_DIR").filter(|v| !v.is_empty()).map(PathBuf::from).unwrap_or_else(|| self.data_dir.join("models"))
    }

    pub fn history_db(&self) -> PathBuf {
        self.data_dir.join("history.sqlite3")
    }
}

/// Expand a leading `~` and `$VAR`/`${VAR}` references in a configured path.
/// Unknown variables expand to nothing, as in a shell.
pub fn expand(raw: &str) -> PathBuf {
    let mut out = String::new();
    let mut rest = raw;
    if let Some(stripped) = rest.strip_prefix('~') {
        if stripped.is_empty() || stripped.starts_with('/') {
            out.push_str(&std::env::var("HOME").unwrap_or_default());
            rest = stripped;
        }
    }
    let mut chars = rest.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        let tail = &rest[i + 1..];
        let (name, used) = if let Some(inner) = tail.strip_prefix('{') {
            match inner.find('}') {
                Some(end) => (&inner[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = tail.find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_')).unwrap_or(tail.len());
            (&tail[..end], end)
        };
        if name.is_empty() {
            out.push('$');
            continue;
        }
        out.push_str(&std::env::var(name).unwrap_or_default());
        for _ in 0..used {
            chars.next();
        }
    }
    PathBuf::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_home_and_variables() {
        let home = std::env::var("HOME").unwrap_or_default();
        assert_eq!(expand("~/models"), PathBuf::from(format!("{home}/models")));
        assert_eq!(expand("$HOME/x"), PathBuf::from(format!("{home}/x")));
        assert_eq!(expand("${HOME}/y"), PathBuf::from(format!("{home}/y")));
        assert_eq!(expand("/plain/path"), PathBuf::from("/plain/path"));
        assert_eq!(expand("~user/x"), PathBuf::from("~user/x"));
    }
}
