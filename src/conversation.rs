//! A comparison as a conversation, for every front end: the next turn sends
//! each model its own earlier turns (not the others'), and a retry asks the
//! models that failed a turn again while the others keep their answers.
//! The TUI (`Ctrl-F`, `F6`) and `versus run --continue` build their entries
//! here; the history records either as a turn of the same comparison.

use crate::engine::protocol::answer::Status;
use crate::engine::{RunEntry, Turn};

/// The turns a model answered in full, from each turn's prompt, status and
/// text: a turn it failed or was cancelled in is left out (its follow-up is
/// asked without it).
pub fn answered<'a>(turns: impl IntoIterator<Item = (&'a str, Status, &'a str)>) -> Vec<Turn> {
    turns
        .into_iter()
        .filter(|(_, status, _)| *status == Status::Finished)
        .map(|(user, _, assistant)| Turn { user: user.to_string(), assistant: assistant.to_string() })
        .collect()
}

/// The entries of the next turn: each slot's entry with its own
/// conversation so far (`turns_of(slot)`).
pub fn next_turn(entries: Vec<RunEntry>, turns_of: impl Fn(usize) -> Vec<Turn>) -> Vec<RunEntry> {
    entries
        .into_iter()
        .enumerate()
        .map(|(slot, mut e)| {
            e.history = turns_of(slot);
            e
        })
        .collect()
}

/// The entries of a retry: the `failed` slots ask the same prompt again
/// with the turns before it (`turns_of(slot)`); the others have nothing to
/// answer and keep what they said.
pub fn retry(entries: Vec<RunEntry>, failed: &[usize], turns_of: impl Fn(usize) -> Vec<Turn>) -> Vec<RunEntry> {
    entries
        .into_iter()
        .enumerate()
        .map(|(slot, mut e)| {
            if failed.contains(&slot) {
                e.history = turns_of(slot);
            } else {
                e.prompts = Some(Vec::new());
            }
            e
        })
        .collect()
}
