//! Headless subcommands. Each takes the loaded context and returns an exit
//! status; none of them touches the TUI.

pub mod batch;
pub mod doctor;
pub mod fidelity;
pub mod follow;
pub mod history;
pub mod judge;
pub mod leaderboard;
pub mod list;
pub mod print;
pub mod replay;
pub mod report;
pub mod run;
pub mod tokenize;
pub mod votes;

pub use crate::context::{Context, exit};

/// Write `text` to standard output; on a terminal its control characters
/// are neutralised first (`wrap::terminal_safe`): model output, GGUF
/// metadata and stored prompts are untrusted. Piped output is left exact.
pub fn print_text(text: &str) {
    use std::io::{IsTerminal, Write};
    let mut out = std::io::stdout().lock();
    let _ = if out.is_terminal() { out.write_all(crate::wrap::terminal_safe(text).as_bytes()) } else { out.write_all(text.as_bytes()) };
    let _ = out.flush();
}

/// Standard input as text, unless it is a terminal (then `hint` says what
/// to give instead: nobody types a prompt into a waiting command by chance).
pub fn read_stdin(hint: &str) -> Result<String, crate::error::Error> {
    use std::io::{IsTerminal, Read};
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(crate::error::Error::Usage(hint.into()));
    }
    let mut text = String::new();
    stdin.read_to_string(&mut text).map_err(|e| crate::error::Error::io("standard input", e))?;
    Ok(text)
}
