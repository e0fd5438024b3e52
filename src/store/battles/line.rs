//! One line of a battle file, as FastChat writes it (plus versus's own
//! fields), read leniently where FastChat's files vary.

use serde::{Deserialize, Serialize};

use super::Winner;
use crate::rating::style::Style;

/// The line as FastChat writes it, plus versus's own fields.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Line {
    pub(super) model_a: String,
    pub(super) model_b: String,
    pub(super) winner: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) tstamp: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) judge: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) question_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) prompt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) conv_metadata: Option<serde_json::Value>,
    /// A blind vote (LMArena's "anony").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) anony: Option<bool>,
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub(super) flagged: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) key_a: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) key_b: Option<String>,
    /// The history the vote was cast in (see `history_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) versus_history: Option<String>,
    /// The vote a battle comes from (`HISTORY:ID`): the battles of one
    /// ranking count as one vote for each model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) vote: Option<String>,
    /// An imported battle's digest, passed on (see `Battle::digest`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) digest: Option<String>,
}

pub(super) fn metadata(s: &(Style, Style)) -> serde_json::Value {
    let (a, b) = s;
    serde_json::json!({
        "sum_assistant_a_tokens": a.tokens, "header_count_a": a.headers, "list_count_a": a.lists, "bold_count_a": a.bold,
        "sum_assistant_b_tokens": b.tokens, "header_count_b": b.headers, "list_count_b": b.lists, "bold_count_b": b.bold,
    })
}

/// The style counts of `conv_metadata`; a count may be a number or, as in
/// LMArena's files, an object of numbers (`{"h1": 2, "h2": 1}`) summed.
pub(super) fn style_of(meta: Option<&serde_json::Value>) -> Option<(Style, Style)> {
    let meta = meta?;
    let count = |k: &str| -> Option<f64> {
        match meta.get(k)? {
            serde_json::Value::Object(parts) => parts.values().map(serde_json::Value::as_f64).sum(),
            v => v.as_f64(),
        }
    };
    let side = |s: &str| -> Option<Style> {
        Some(Style {
            tokens: count(&format!("sum_assistant_{s}_tokens"))?,
            headers: count(&format!("header_count_{s}"))?,
            lists: count(&format!("list_count_{s}"))?,
            bold: count(&format!("bold_count_{s}"))?,
        })
    };
    Some((side("a")?, side("b")?))
}

/// A line of a battle file, read leniently where FastChat's files vary (a
/// time as Unix seconds or RFC 3339 text; the prompt as `prompt` or the
/// first user turn of `conversation_a`).
pub(super) fn parse(text: &str) -> Result<Line, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let field = |k: &str| -> Result<String, String> {
        match v.get(k) {
            Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            Some(_) => Err(format!("`{k}` must be a non-empty string")),
            None => Err(format!("no `{k}`")),
        }
    };
    let (model_a, model_b, winner) = (field("model_a")?, field("model_b")?, field("winner")?);
    if Winner::parse(&winner).is_none() {
        return Err(format!("`winner` is {winner:?}: expected model_a, model_b, tie or \"tie (bothbad)\""));
    }
    if model_a == model_b {
        return Err(format!("model_a and model_b are both {model_a:?}"));
    }
    let text_of = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    let tstamp = match v.get("tstamp") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::Number(n)) => n.as_f64(),
        Some(serde_json::Value::String(s)) => Some(unix(s).ok_or_else(|| format!("`tstamp` {s:?} is not a time"))?),
        Some(_) => return Err("`tstamp` must be Unix seconds or an RFC 3339 time".into()),
    };
    let first_user = || {
        v.get("conversation_a")?
            .as_array()?
            .iter()
            .find(|m| m.get("role").and_then(|r| r.as_str()) == Some("user"))?
            .get("content")?
            .as_str()
            .map(str::to_string)
    };
    Ok(Line {
        model_a,
        model_b,
        winner,
        tstamp,
        judge: text_of("judge"),
        question_id: v.get("question_id").and_then(|q| if q.is_string() { q.as_str().map(str::to_string) } else { Some(q.to_string()) }),
        prompt: text_of("prompt").or_else(first_user),
        conv_metadata: v.get("conv_metadata").cloned(),
        anony: v.get("anony").and_then(|a| a.as_bool()),
        flagged: v.get("flagged").and_then(|f| f.as_bool()).unwrap_or(false),
        key_a: text_of("key_a"),
        key_b: text_of("key_b"),
        versus_history: text_of("versus_history"),
        vote: text_of("vote"),
        digest: text_of("digest"),
    })
}

/// Unix seconds of an RFC 3339 time.
pub fn unix(text: &str) -> Option<f64> {
    let t = time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339).ok()?;
    Some(t.unix_timestamp_nanos() as f64 / 1e9)
}
