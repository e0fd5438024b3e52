//! One model's answer to one prompt, as every front end sees it: the TUI's
//! column, the history recorder and `versus run` all keep an `Answer` and
//! change it only through `apply`, so a status means the same everywhere
//! and is spelled for SQL, JSON and the screen from one enum.

use serde::{Deserialize, Serialize};

use crate::engine::think::Channel;
use crate::engine::{EventKind, Stats};

/// Where an answer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Queued,
    Loading,
    Generating,
    Finished,
    Failed,
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 6] = [Status::Queued, Status::Loading, Status::Generating, Status::Finished, Status::Failed, Status::Cancelled];

    /// The spelling in the history database, JSON output and exports.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Loading => "loading",
            Status::Generating => "generating",
            Status::Finished => "finished",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// On screen ("done" reads better than "finished" in a column header).
    pub fn label(self) -> &'static str {
        match self {
            Status::Finished => "done",
            other => other.as_str(),
        }
    }

    /// One-character marker for lists, tabs and headers.
    pub fn marker(self) -> &'static str {
        match self {
            Status::Queued => "…",
            Status::Loading => "◌",
            Status::Generating => "▶",
            Status::Finished => "✓",
            Status::Failed => "✗",
            Status::Cancelled => "⊘",
        }
    }

    /// Nothing more will come for this answer.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Finished | Status::Failed | Status::Cancelled)
    }

    /// The model is loading or generating.
    pub fn is_busy(self) -> bool {
        matches!(self, Status::Loading | Status::Generating)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answer {
    pub status: Status,
    /// The answer (without the thinking).
    pub text: String,
    /// What a reasoning model thought before answering.
    pub thinking: String,
    pub stats: Option<Stats>,
    /// Why it failed, as shown to the user.
    pub error: Option<String>,
    /// Known once the model is loaded, before the stats arrive.
    pub load_ms: Option<f64>,
    /// How far the load has come, while loading.
    pub progress: Option<f32>,
}

impl Answer {
    /// Apply one event of this answer's model and prompt. Returns the
    /// answer text the event added (empty for other events and thinking).
    pub fn apply<'a>(&mut self, kind: &'a EventKind) -> &'a str {
        match kind {
            EventKind::Queued => self.status = Status::Queued,
            EventKind::Loading => self.status = Status::Loading,
            EventKind::LoadProgress { fraction } => self.progress = Some(*fraction),
            EventKind::Loaded { load_ms, .. } => {
                self.load_ms = Some(*load_ms);
                self.status = Status::Generating;
            }
            EventKind::Token { text, channel: Channel::Answer } => {
                self.text.push_str(text);
                return text;
            }
            EventKind::Token { text, channel: Channel::Thinking } => self.thinking.push_str(text),
            EventKind::Finished { stats } => {
                self.stats = Some(stats.clone());
                self.status = Status::Finished;
            }
            EventKind::Failed { error, stats } => {
                self.stats = stats.clone();
                self.error = Some(error.to_string());
                self.status = Status::Failed;
            }
            EventKind::Cancelled { stats } => {
                self.stats = stats.clone();
                self.status = Status::Cancelled;
            }
            EventKind::RunDone | EventKind::Resident { .. } => {}
        }
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn spellings_round_trip_and_match_serde() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), serde_json::Value::String(s.as_str().into()));
        }
        assert_eq!(Status::parse("done"), None);
        assert_eq!(Status::Finished.label(), "done");
    }

    #[test]
    fn apply_follows_a_model_through_its_answer() {
        let mut a = Answer::default();
        a.apply(&EventKind::Loading);
        assert_eq!(a.status, Status::Loading);
        a.apply(&EventKind::Loaded { load_ms: 12.0, rss_bytes: 0 });
        assert_eq!((a.status, a.load_ms), (Status::Generating, Some(12.0)));
        assert_eq!(a.apply(&EventKind::Token { text: "Hmm".into(), channel: Channel::Thinking }), "");
        assert_eq!(a.apply(&EventKind::Token { text: "Hi".into(), channel: Channel::Answer }), "Hi");
        a.apply(&EventKind::Token { text: " there".into(), channel: Channel::Answer });
        assert_eq!(a.thinking, "Hmm");
        a.apply(&EventKind::Finished { stats: Stats { generated_tokens: 2, ..Stats::default() } });
        assert_eq!((a.status, a.text.as_str()), (Status::Finished, "Hi there"));
        assert!(a.status.is_final());

        let mut b = Answer::default();
        b.apply(&EventKind::Failed { error: Error::Inference("boom".into()), stats: None });
        assert_eq!(b.status, Status::Failed);
        assert!(b.error.as_deref().is_some_and(|e| e.contains("boom")));
    }
}
