//! "Quit while a run is active?": the bound key quits (cancelling the
//! run), any other key stays.

use super::Reply;
use crate::keymap::Action;

pub fn key(action: Option<Action>) -> Reply {
    if action == Some(Action::ConfirmQuit) { Reply::Quit } else { Reply::Close }
}
