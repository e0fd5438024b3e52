//! Where a backend's tokens go. The sink is the same for every backend: it
//! times the first token, counts tokens against `max_tokens`, holds back text
//! that may be the start of a stop sequence, checks the cancel flag and the
//! deadline on every token, and forwards text as `Token` events.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::engine::think::{Channel, ThinkSplitter};
use crate::engine::{EventKind, StopReason};

/// What the backend should do after a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// Finds stop sequences in streamed text without ever showing part of one.
#[derive(Debug, Clone, Default)]
pub struct StopMatcher {
    stops: Vec<String>,
    held: String,
}

impl StopMatcher {
    pub fn new(stops: &[String]) -> Self {
        StopMatcher { stops: stops.iter().filter(|s| !s.is_empty()).cloned().collect(), held: String::new() }
    }

    /// Add text; returns what may be shown now and the stop sequence that
    /// matched, if one did (text from it on is dropped).
    pub fn push(&mut self, piece: &str) -> (String, Option<String>) {
        if self.stops.is_empty() {
            return (piece.to_string(), None);
        }
        self.held.push_str(piece);
        let hit = self.stops.iter().filter_map(|s| self.held.find(s.as_str()).map(|pos| (pos, s))).min_by_key(|(pos, _)| *pos);
        if let Some((pos, stop)) = hit {
            let emit = self.held[..pos].to_string();
            let stop = stop.clone();
            self.held.clear();
            return (emit, Some(stop));
        }
        let keep = self
            .stops
            .iter()
            .map(|s| (1..s.len()).rev().filter(|k| s.is_char_boundary(*k)).find(|k| self.held.ends_with(&s[..*k])).unwrap_or(0))
            .max()
            .unwrap_or(0);
        let split = self.held.len() - keep;
        let emit = self.held[..split].to_string();
        self.held.drain(..split);
        (emit, None)
    }

    /// Text held back at the end of generation, now known not to be a stop.
    pub fn flush(&mut self) -> String {
        std::mem::take(&mut self.held)
    }
}

/// What stops an answer early: its run's cancel flag, and its entry's own
/// skip flag when it has one.
#[derive(Clone, Copy)]
pub struct Stop<'a> {
    pub run: &'a AtomicBool,
    pub entry: Option<&'a AtomicBool>,
}

impl<'a> From<&'a AtomicBool> for Stop<'a> {
    fn from(run: &'a AtomicBool) -> Stop<'a> {
        Stop { run, entry: None }
    }
}

impl Stop<'_> {
    pub fn is_set(&self) -> bool {
        self.run.load(Ordering::Relaxed) || self.entry.is_some_and(|e| e.load(Ordering::Relaxed))
    }
}

pub struct Sink<'a> {
    emit: &'a mut dyn FnMut(EventKind),
    cancel: Stop<'a>,
    deadline: Option<Instant>,
    max_tokens: u64,
    stop: StopMatcher,
    think: ThinkSplitter,
    started: Instant,
    /// When the first text of the answer (not thinking) left.
    answer_at: Option<Instant>,
    thinking_tokens: u64,
    first_at: Option<Instant>,
    last_at: Option<Instant>,
    tokens: u64,
    text_len: usize,
    reason: Option<StopReason>,
    /// The ids generated, in order (tests compare engines by them).
    ids: Vec<u32>,
}

impl<'a> Sink<'a> {
    pub fn new(
        emit: &'a mut dyn FnMut(EventKind),
        cancel: impl Into<Stop<'a>>,
        deadline: Option<Instant>,
        max_tokens: u32,
        stops: &[String],
    ) -> Self {
        Sink {
            emit,
            cancel: cancel.into(),
            deadline,
            max_tokens: max_tokens.into(),
            stop: StopMatcher::new(stops),
            think: ThinkSplitter::new(&[], false),
            started: Instant::now(),
            answer_at: None,
            thinking_tokens: 0,
            first_at: None,
            last_at: None,
            tokens: 0,
            text_len: 0,
            reason: None,
            ids: Vec::new(),
        }
    }

    /// Split thinking from the answer at these tags ([open, close]),
    /// starting inside the section when the `rendered` prompt opened it.
    pub fn think_from(&mut self, tags: &[String], rendered: &str) {
        self.think = ThinkSplitter::new(tags, ThinkSplitter::opens_in(rendered, tags));
    }

    /// Restart the clock when prompt processing begins.
    pub fn start(&mut self) {
        self.started = Instant::now();
    }

    /// True when the run was cancelled or is past its deadline; backends
    /// check it between prompt batches, which can take a while.
    pub fn interrupted(&mut self) -> bool {
        if self.cancel.is_set() {
            self.reason = Some(StopReason::Cancelled);
            return true;
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            self.reason = Some(StopReason::Timeout);
            return true;
        }
        false
    }

    /// One generated token, with the complete UTF-8 text it finished
    /// (possibly empty while a multi-byte character is still incomplete).
    pub fn token(&mut self, id: u32, piece: &str) -> Flow {
        self.ids.push(id);
        let now = Instant::now();
        self.first_at.get_or_insert(now);
        self.last_at = Some(now);
        self.tokens += 1;
        if self.interrupted() {
            return Flow::Stop;
        }
        let parts = self.think.push(piece);
        let thinking = parts.iter().any(|(c, _)| *c == Channel::Thinking) && !parts.iter().any(|(c, _)| *c == Channel::Answer);
        if thinking {
            self.thinking_tokens += 1;
        }
        for (channel, text) in parts {
            if self.answer(channel, &text) == Flow::Stop {
                return Flow::Stop;
            }
        }
        if self.tokens >= self.max_tokens {
            self.reason = Some(StopReason::MaxTokens);
            return Flow::Stop;
        }
        Flow::Continue
    }

    /// Text of one channel: the answer goes through the stop sequences.
    fn answer(&mut self, channel: Channel, text: &str) -> Flow {
        if channel == Channel::Thinking {
            self.send(Channel::Thinking, text.to_string());
            return Flow::Continue;
        }
        let (text, hit) = self.stop.push(text);
        self.send(Channel::Answer, text);
        if let Some(stop) = hit {
            self.reason = Some(StopReason::StopSequence(stop));
            return Flow::Stop;
        }
        Flow::Continue
    }

    /// Thinking a server sent in a field of its own (`reasoning_content`):
    /// counted and timed as a token.
    pub fn reasoning(&mut self, piece: &str) -> Flow {
        let now = Instant::now();
        self.first_at.get_or_insert(now);
        self.last_at = Some(now);
        self.tokens += 1;
        self.thinking_tokens += 1;
        if self.interrupted() {
            return Flow::Stop;
        }
        self.send(Channel::Thinking, piece.to_string());
        if self.tokens >= self.max_tokens {
            self.reason = Some(StopReason::MaxTokens);
            return Flow::Stop;
        }
        Flow::Continue
    }

    fn send(&mut self, channel: Channel, text: String) {
        if !text.is_empty() {
            self.text_len += text.len();
            if channel == Channel::Answer {
                self.answer_at.get_or_insert_with(Instant::now);
            }
            (self.emit)(EventKind::Token { text, channel });
        }
    }

    /// End of generation: release held-back text (unless a stop matched) and
    /// settle the stop reason.
    pub fn finish(&mut self, eos: bool) -> StopReason {
        if !matches!(self.reason, Some(StopReason::StopSequence(_)) | Some(StopReason::Cancelled)) {
            for (channel, text) in self.think.flush() {
                if self.answer(channel, &text) == Flow::Stop {
                    return self.reason.clone().unwrap_or(StopReason::Eos);
                }
            }
            let rest = self.stop.flush();
            self.send(Channel::Answer, rest);
        }
        self.reason.clone().unwrap_or(if eos { StopReason::Eos } else { StopReason::MaxTokens })
    }

    /// The backend ran out of context window.
    pub fn context_full(&mut self) {
        self.reason.get_or_insert(StopReason::ContextFull);
    }

    pub fn reason(&self) -> Option<&StopReason> {
        self.reason.as_ref()
    }

    pub fn tokens(&self) -> u64 {
        self.tokens
    }

    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    /// Text that completes after the last token (a dangling partial
    /// character) is sent without counting as a token.
    pub fn flush_text(&mut self, text: &str) {
        for (channel, text) in self.think.push(text) {
            let _ = self.answer(channel, &text);
        }
    }

    pub fn ttft_ms(&self) -> Option<f64> {
        self.first_at.map(|t| (t - self.started).as_secs_f64() * 1e3)
    }

    /// Time to the first text of the answer, after any thinking.
    pub fn ttfa_ms(&self) -> Option<f64> {
        self.answer_at.map(|t| (t - self.started).as_secs_f64() * 1e3)
    }

    pub fn thinking_tokens(&self) -> u64 {
        self.thinking_tokens
    }

    /// Time from the first token to the last, over which `tokens - 1` decodes ran.
    pub fn decode_ms(&self) -> f64 {
        match (self.first_at, self.last_at) {
            (Some(a), Some(b)) => (b - a).as_secs_f64() * 1e3,
            _ => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stops: &[&str], pieces: &[&str]) -> (String, Option<String>) {
        let stops: Vec<String> = stops.iter().map(|s| s.to_string()).collect();
        let mut m = StopMatcher::new(&stops);
        let mut out = String::new();
        for p in pieces {
            let (emit, hit) = m.push(p);
            out.push_str(&emit);
            if hit.is_some() {
                return (out, hit);
            }
        }
        out.push_str(&m.flush());
        (out, None)
    }

    #[test]
    fn stop_across_pieces_is_never_shown() {
        assert_eq!(run(&["###"], &["a#", "#", "#b"]), ("a".into(), Some("###".into())));
        assert_eq!(run(&["###"], &["a#", "#b"]), ("a##b".into(), None));
        assert_eq!(run(&["\n\n"], &["x\n", "\ny"]), ("x".into(), Some("\n\n".into())));
        assert_eq!(run(&[], &["a", "b"]), ("ab".into(), None));
        assert_eq!(run(&["é!"], &["caf", "é", "!"]), ("caf".into(), Some("é!".into())));
    }

    #[test]
    fn held_text_is_released_as_soon_as_it_cannot_match() {
        let mut m = StopMatcher::new(&["END".to_string()]);
        assert_eq!(m.push("xE"), ("x".into(), None));
        assert_eq!(m.push("Nx"), ("ENx".into(), None));
    }

    #[test]
    fn sink_counts_tokens_and_stops() {
        let cancel = AtomicBool::new(false);
        let mut got = Vec::new();
        let mut emit = |e: EventKind| got.push(e);
        let mut sink = Sink::new(&mut emit, &cancel, None, 3, &[]);
        assert_eq!(sink.token(1, "a"), Flow::Continue);
        assert_eq!(sink.token(2, ""), Flow::Continue);
        assert_eq!(sink.token(3, "c"), Flow::Stop);
        assert_eq!(sink.finish(false), StopReason::MaxTokens);
        drop(sink);
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn cancel_stops_on_the_next_token() {
        let cancel = AtomicBool::new(false);
        let mut n = 0;
        let mut emit = |_e: EventKind| n += 1;
        let mut sink = Sink::new(&mut emit, &cancel, None, 100, &[]);
        assert_eq!(sink.token(1, "a"), Flow::Continue);
        cancel.store(true, Ordering::Relaxed);
        assert_eq!(sink.token(2, "b"), Flow::Stop);
        assert_eq!(sink.finish(false), StopReason::Cancelled);
        drop(sink);
        assert_eq!(n, 1);
    }
}
