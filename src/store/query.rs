//! What a front end asks of the history while it runs, answered on the
//! store's own thread (`recorder.rs`) after every write sent before it: the
//! TUI never waits on SQLite or on a flush, and a reply never misses what
//! the same session recorded just before.

use std::path::{Path, PathBuf};

use super::export::Format;
use super::leaderboard::{Board, Options};
use super::matrix::Report;
use super::votes::Vote;
use super::{RunSummary, Store, StoredOutput, StoredRun};
use crate::engine::remote::EndpointConfig;
use crate::engine::{EngineKind, RunEntry, RunId};
use crate::error::Error;

/// A comparison, by its history id or by the run of this session that
/// recorded it (its first prompt), which the store thread knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Stored(i64),
    Run(RunId),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// The latest saved comparisons, newest first.
    List { limit: usize },
    /// The prompts asked lately (every turn's), oldest first: the editor's
    /// history at start.
    Prompts { limit: usize },
    /// A comparison with its models as found now (to continue it or run it
    /// again), against the configured servers; `then` comes back with it.
    Open { id: i64, endpoints: Vec<EndpointConfig>, then: OpenFor },
    /// The leaderboard as `options` say; `show`: open it (otherwise it only
    /// informs blind mode's next pair).
    Leaderboard { options: Options, show: bool },
    /// Prompts × models of the batch comparison `id` belongs to (or of `id` alone).
    Matrix(i64),
    /// Write the comparison in each format into `dir`.
    Export { target: Target, formats: Vec<Format>, dir: PathBuf },
    /// Save a vote on the comparison (its `run_id` is filled in).
    Vote { target: Target, vote: Vote },
}

/// What a front end opens a comparison for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenFor {
    /// To show it as it was (and continue it).
    Show,
    /// To run its prompt again: on its own models, or on those selected now.
    Rerun { original: bool },
}

/// A comparison opened, with each output as a run entry (or why it cannot
/// run now).
#[derive(Debug, Clone)]
pub struct Opened {
    pub run: StoredRun,
    pub entries: Vec<Result<RunEntry, String>>,
    pub then: OpenFor,
}

/// What the store thread answers; every error in words.
#[derive(Debug, Clone)]
pub enum Reply {
    List(Result<Vec<RunSummary>, String>),
    Prompts(Result<Vec<String>, String>),
    Opened(Result<Box<Opened>, String>),
    Leaderboard {
        show: bool,
        board: Result<Board, String>,
    },
    /// The batch's name (None: the comparison alone) and its matrix.
    Matrix {
        id: i64,
        result: Result<(Option<String>, Report), String>,
    },
    /// The files written.
    Exported(Result<Vec<PathBuf>, String>),
    /// A vote that could not be saved, and why (saved ones answer nothing).
    VoteFailed(String),
}

/// Reply `query` from `store`; `stored` maps a run of this session to its
/// comparison.
pub fn answer(store: &mut Store, query: Query, stored: &dyn Fn(RunId) -> Option<i64>) -> Option<Reply> {
    let id_of = |t: Target| match t {
        Target::Stored(id) => Some(id),
        Target::Run(run) => stored(run),
    };
    let text = |e: rusqlite::Error| e.to_string();
    Some(match query {
        Query::List { limit } => Reply::List(store.list(limit).map_err(text)),
        Query::Prompts { limit } => Reply::Prompts(store.recent_prompts(limit).map_err(text)),
        Query::Open { id, endpoints, then } => Reply::Opened(match store.get(id) {
            Ok(Some(run)) => {
                let entries = run.outputs.iter().map(|o| entry_of(o, &endpoints).map_err(|e| e.to_string())).collect();
                Ok(Box::new(Opened { run, entries, then }))
            }
            Ok(None) => Err(format!("no comparison #{id}")),
            Err(e) => Err(e.to_string()),
        }),
        Query::Leaderboard { options, show } => Reply::Leaderboard { show, board: store.leaderboard(&options).map_err(text) },
        Query::Matrix(id) => Reply::Matrix { id, result: matrix(store, id) },
        Query::Export { target, formats, dir } => Reply::Exported(match id_of(target) {
            None => Err("the comparison is not in the history".into()),
            Some(id) => match store.get(id) {
                Ok(Some(run)) => super::export::write_files(&run, &formats, &dir),
                Ok(None) => Err(format!("no comparison #{id}")),
                Err(e) => Err(e.to_string()),
            },
        }),
        Query::Vote { target, mut vote } => {
            let saved = match id_of(target) {
                None => Err("the comparison is not in the history".to_string()),
                Some(id) => {
                    vote.run_id = id;
                    store.add_vote(&vote).map(|_| ()).map_err(text)
                }
            };
            return saved.err().map(Reply::VoteFailed);
        }
    })
}

fn matrix(store: &mut Store, id: i64) -> Result<(Option<String>, Report), String> {
    let batch = store.get(id).map_err(|e| e.to_string())?.and_then(|r| r.batch);
    let runs = super::matrix::stored_runs(store, &[batch.clone().unwrap_or_else(|| id.to_string())])?;
    Ok((batch, super::matrix::build(&runs)))
}

/// The entry a stored answer ran as, for running a comparison again on its
/// own models: the file found again by its path (a server by its
/// endpoint), with the engine and settings it had. An answer that cannot
/// be run again says why.
pub fn entry_of(o: &StoredOutput, endpoints: &[EndpointConfig]) -> Result<RunEntry, Error> {
    let gone = |why: String| Error::Usage(format!("{} cannot run again: {why}", o.label));
    let settings = o.settings.clone().ok_or_else(|| gone("its settings could not be read from the history".into()))?;
    let engine = EngineKind::parse(&o.model.engine).ok_or_else(|| gone(format!("unknown engine `{}`", o.model.engine)))?;
    if engine == EngineKind::Remote {
        let (model, ep_name) = o.model.name.rsplit_once('@').unwrap_or(("", o.model.name.as_str()));
        let endpoint = endpoints
            .iter()
            .find(|e| e.name == ep_name || e.url == o.model.path || crate::engine::remote::redact(&e.url) == o.model.path)
            .cloned()
            .unwrap_or_else(|| EndpointConfig {
                name: ep_name.to_string(),
                url: o.model.path.clone(),
                api_key_env: None,
                model: None,
                timeout_secs: 120,
            });
        let model_info = crate::engine::remote::remote_model(&endpoint, model);
        let target = crate::engine::remote::Target { model: model.to_string(), endpoint };
        return Ok(RunEntry {
            label: o.label.clone(),
            model: model_info,
            engine,
            settings,
            prompts: None,
            endpoint: Some(target),
            history: Vec::new(),
        });
    }
    let path = Path::new(&o.model.path);
    let model = crate::catalog::describe_path(path).ok_or_else(|| gone(format!("{} is no longer there", path.display())))?;
    Ok(RunEntry { label: o.label.clone(), model, engine, settings, prompts: None, endpoint: None, history: Vec::new() })
}
