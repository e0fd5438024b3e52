//! The history's answers, as they come back from the store's thread: the
//! saved comparisons, one reopened or run again, the leaderboard and a
//! batch's matrix as tables, the files an export wrote, a vote that could
//! not be saved. The app asks with `Effect::Query`; nothing here waits.

use super::{App, Effect, Event};

/// Under the leaderboard overlay.
const FOOTER: &str = "? provisional · versus leaderboard --json --matrix --style-control for the figures";
use crate::store::query::{OpenFor, Opened, Reply};

impl App {
    pub(super) fn stored(&mut self, answer: Reply) -> Vec<Effect> {
        match answer {
            Reply::List(Ok(items)) => self.dispatch(Event::HistoryList(items)),
            Reply::List(Err(e)) => self.say(format!("history unavailable: {e}")),
            Reply::Prompts(Ok(prompts)) => {
                // Older than what was typed in this session, if anything was.
                let typed = std::mem::take(&mut self.history);
                let mut history: Vec<String> = prompts.into_iter().filter(|p| !typed.contains(p)).collect();
                history.extend(typed);
                self.history = history;
                vec![]
            }
            Reply::Prompts(Err(e)) => {
                tracing::debug!("no prompt history: {e}");
                vec![]
            }
            Reply::Opened(Ok(opened)) => self.opened(*opened),
            Reply::Opened(Err(e)) => self.say(e),
            Reply::Leaderboard { show, board: Ok(board) } => {
                let table = Event::Table {
                    title: "Leaderboard · blind votes, judges, imported battles".into(),
                    table: crate::tables::leaderboard(&board),
                    footer: FOOTER.into(),
                    page: Some(("Leaderboard · win matrix".into(), crate::tables::win_matrix(&board))),
                };
                self.board = Some(board);
                if show { self.dispatch(table) } else { vec![] }
            }
            Reply::Leaderboard { show: true, board: Err(e) } => self.say(format!("leaderboard unavailable: {e}")),
            Reply::Leaderboard { show: false, board: Err(e) } => {
                tracing::debug!("no leaderboard for the next pair: {e}");
                vec![]
            }
            Reply::Matrix { id, result: Ok((batch, report)) } => self.dispatch(Event::Table {
                title: match batch {
                    Some(b) => format!("Batch {b} · prompts × models"),
                    None => format!("Comparison #{id} · not part of a batch"),
                },
                table: crate::tables::matrix(&report),
                footer: "versus report BATCH_OR_IDS --json for the figures".into(),
                page: None,
            }),
            Reply::Matrix { result: Err(e), .. } => self.say(format!("report unavailable: {e}")),
            Reply::Exported(Ok(paths)) => {
                let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
                let what = if std::mem::take(&mut self.export_partial) {
                    "the answers so far (the run was still going)"
                } else {
                    "the comparison"
                };
                self.say(format!("exported {what} to {}", names.join(" and ")))
            }
            Reply::Exported(Err(e)) => self.say(format!("export failed: {e}")),
            Reply::VoteFailed(e) => self.say(format!("the vote could not be saved: {e}")),
        }
    }

    fn say(&mut self, notice: String) -> Vec<Effect> {
        self.notice = Some(notice);
        vec![]
    }

    /// A comparison read back: shown as it was, or its prompt run again.
    fn opened(&mut self, o: Opened) -> Vec<Effect> {
        let gone: Vec<String> = o.entries.iter().filter_map(|e| e.as_ref().err().cloned()).collect();
        let found: Vec<_> = o.entries.into_iter().filter_map(Result::ok).collect();
        match o.then {
            OpenFor::Show => {
                // Continuing needs every model; one gone leaves it read-only.
                let entries = if gone.is_empty() { found } else { Vec::new() };
                self.dispatch(Event::Reopen { run: o.run, entries })
            }
            OpenFor::Rerun { original } => {
                let mut effects = self.dispatch(Event::Rerun { run: o.run, entries: original.then_some(found) });
                if let (true, Some(first)) = (original, gone.first()) {
                    let more = if gone.len() > 1 { format!(" (and {} more)", gone.len() - 1) } else { String::new() };
                    effects.extend(self.say(format!("{first}{more}")));
                }
                effects
            }
        }
    }
}
