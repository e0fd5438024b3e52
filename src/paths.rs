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

/// Open `path` for reading only if it is a regular file: a FIFO, a device
/// or a socket where a model, manifest, config or prompt file is expected
/// would block `open` or a read forever. The open itself does not block
/// (O_NONBLOCK), and is switched back to blocking once checked.
pub fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::io::AsRawFd;
    let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)?;
    let kind = file.metadata()?.file_type();
    if !kind.is_file() {
        use std::os::unix::fs::FileTypeExt;
        let what = if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_char_device() || kind.is_block_device() {
            "a device"
        } else if kind.is_socket() {
            "a socket"
        } else if kind.is_dir() {
            "a folder"
        } else {
            "not a regular file"
        };
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{what}, not a regular file: nothing to read")));
    }
    // SAFETY: F_GETFL/F_SETFL on a descriptor this function owns.
    unsafe {
        let fd = file.as_raw_fd();
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
    Ok(file)
}

/// A regular file's text, refused beyond `cap` bytes (a runaway or hostile
/// file must not take all memory).
pub fn read_text(path: &Path, cap: u64) -> std::io::Result<String> {
    use std::io::Read;
    let file = open_regular(path)?;
    let len = file.metadata()?.len();
    if len > cap {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} is {len} bytes, more than the {cap} this file may have", path.display()),
        ));
    }
    let mut text = String::with_capacity(len as usize);
    file.take(cap + 1).read_to_string(&mut text)?;
    Ok(text)
}

/// What went wrong, in words: the OS's message without "(os error N)".
pub fn io_reason(e: &std::io::Error) -> String {
    crate::error::without_os_code(e.to_string())
}

/// `path: what went wrong`, for messages about one file.
pub fn io_message(path: &Path, e: &std::io::Error) -> String {
    format!("{}: {}", path.display(), io_reason(e))
}

/// The most a metadata file (config.json, a manifest, a tokenizer config) may hold.
pub const METADATA_CAP: u64 = 64 << 20;
/// The most a prompt or batch file may hold.
pub const PROMPTS_CAP: u64 = 256 << 20;

#[cfg(test)]
mod special_files {
    #[test]
    fn fifos_and_folders_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("x.gguf");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo on a path in a fresh temporary folder.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = super::open_regular(&fifo).unwrap_err().to_string();
        assert!(e.contains("a FIFO, not a regular file"), "{e}");
        let e = super::read_text(dir.path(), 10).unwrap_err().to_string();
        assert!(e.contains("a folder"), "{e}");
        let f = dir.path().join("big.json");
        std::fs::write(&f, "x".repeat(100)).unwrap();
        assert!(super::read_text(&f, 10).unwrap_err().to_string().contains("more than the 10"));
        assert_eq!(super::read_text(&f, 100).unwrap().len(), 100);
    }
}
