//! How `versus run` shows a run as it goes: text (each model's answers one
//! after another under a header, sample by sample), JSON lines (every
//! event, then a summary per answer and, for several samples, what they
//! say together), or a batch's result lines (one per prompt, model and
//! sample) with its progress on stderr. Events come in as the engine sends
//! them; every answer is also kept as an `Answer`, by (slot, prompt, sample).

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use serde_json::json;

use crate::engine::answer::{Answer, Status};
use crate::engine::think::Channel;
use crate::engine::{EngineEvent, EventKind, RunEntry, Stats};
use crate::session::Session;

/// Every answer of the run, by (slot, prompt, sample).
pub type Outcomes = HashMap<(usize, usize, u32), Answer>;

pub enum Mode {
    Text,
    Json,
    Batch { results: Box<dyn Write>, progress: Option<indicatif::ProgressBar> },
}

/// Progress of a batch on stderr, unless the results themselves go to the
/// terminal: a bar on a terminal (redrawn every quarter second, so the
/// elapsed time moves while a model loads), a line per finished answer
/// where stderr is a file or a pipe.
pub fn progress_bar(total: usize, to_file: bool) -> Option<indicatif::ProgressBar> {
    if !to_file && std::io::stdout().is_terminal() {
        return None;
    }
    if !std::io::stderr().is_terminal() {
        let hidden = indicatif::ProgressBar::hidden();
        hidden.set_length(total as u64);
        return Some(hidden);
    }
    let bar = indicatif::ProgressBar::with_draw_target(Some(total as u64), indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} pairs · {elapsed_precise} · {msg}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(250));
    Some(bar)
}

pub fn model_json(entries: &[RunEntry], slot: usize) -> serde_json::Value {
    match entries.get(slot) {
        Some(e) => json!({ "index": slot, "name": e.label }),
        None => serde_json::Value::Null,
    }
}

/// One answer as JSON: a batch's result line and a `summary` share it.
fn answer_json(entries: &[RunEntry], slot: usize, sample: u32, o: &Answer, history: Option<i64>) -> serde_json::Value {
    json!({
        "model": model_json(entries, slot),
        "engine": entries.get(slot).map(|e| e.engine.label()),
        "sample": sample,
        "seed": o.stats.as_ref().and_then(|s| s.seed),
        "status": o.status,
        "text": o.text,
        "thinking": o.thinking,
        "stats": o.stats,
        "error": o.error,
        "history_id": history,
    })
}

/// One JSON line in one write, so that a run killed mid-write cuts at most
/// one line; a failed write (a full disk) is said, not dropped.
pub fn line(out: &mut dyn Write, value: serde_json::Value) {
    let text = format!("{value}\n");
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        eprintln!("versus: could not write a result: {e}");
    }
}

pub struct Printer<'a> {
    pub mode: Mode,
    pub entries: &'a [RunEntry],
    pub prompts: &'a [String],
    /// Text mode: output not yet printed, per model; whether each is done;
    /// the model whose section is being printed.
    pending: Vec<String>,
    complete: Vec<bool>,
    turn: usize,
    /// Text mode, per model: its header printed; the sample it prints and
    /// the channel (thinking or answer) it is in.
    headed: Vec<bool>,
    sample: Vec<Option<u32>>,
    channel: Vec<Option<Channel>>,
}

impl<'a> Printer<'a> {
    pub fn new(mode: Mode, entries: &'a [RunEntry], prompts: &'a [String]) -> Printer<'a> {
        let n = entries.len();
        Printer {
            mode,
            entries,
            prompts,
            pending: vec![String::new(); n],
            complete: vec![false; n],
            turn: 0,
            headed: vec![false; n],
            sample: vec![None; n],
            channel: vec![None; n],
        }
    }

    fn samples(&self, slot: usize) -> u32 {
        self.entries.get(slot).map_or(1, |e| e.settings.generation.samples.max(1))
    }

    pub fn event(&mut self, ev: &EngineEvent, outcomes: &mut Outcomes, session: &Session) {
        let key = (ev.slot, ev.prompt, ev.sample);
        let mut finished = false;
        if ev.slot < self.entries.len() {
            let o = outcomes.entry(key).or_default();
            o.apply(&ev.kind);
            finished = matches!(o.status, Status::Finished | Status::Failed);
        }
        match &mut self.mode {
            // A load's progress is for the TUI's gauge.
            Mode::Json if matches!(ev.kind, EventKind::LoadProgress { .. }) => {}
            Mode::Json => {
                let mut v = serde_json::to_value(&ev.kind).unwrap_or_else(|_| json!({}));
                if let Some(obj) = v.as_object_mut() {
                    obj.insert("run".into(), json!(ev.run));
                    obj.insert("model".into(), model_json(self.entries, ev.slot));
                    if ev.sample > 0 {
                        obj.insert("sample".into(), json!(ev.sample));
                    }
                    if let EventKind::Failed { error, .. } = &ev.kind {
                        obj.insert("error".into(), json!(error.to_string()));
                    }
                }
                line(&mut std::io::stdout().lock(), v);
            }
            Mode::Batch { results, progress } => {
                if let Some(p) = progress.as_ref() {
                    if let (EventKind::Loading, Some(e)) = (&ev.kind, self.entries.get(ev.slot)) {
                        p.set_message(format!("loading {}", e.label));
                    }
                    if let (EventKind::Loaded { .. }, Some(e)) = (&ev.kind, self.entries.get(ev.slot)) {
                        p.set_message(e.label.clone());
                    }
                }
                if finished {
                    let o = &outcomes[&key];
                    let history = session.stored_id(ev.run, ev.prompt);
                    let mut v = answer_json(self.entries, ev.slot, ev.sample, o, history);
                    if let Some(obj) = v.as_object_mut() {
                        obj.insert("prompt_index".into(), json!(ev.prompt));
                        obj.insert("prompt".into(), json!(self.prompts.get(ev.prompt)));
                    }
                    line(results.as_mut(), v);
                    if let Some(p) = progress.as_ref() {
                        p.inc(1);
                        if p.is_hidden() {
                            // Not a terminal: one plain line per answer.
                            let len = p.length().unwrap_or(0);
                            eprintln!("versus: {}/{len} pairs · {} · {}", p.position(), self.entries[ev.slot].label, o.status);
                        }
                    }
                }
            }
            Mode::Text => self.text_event(ev, outcomes),
        }
    }

    /// Text mode: the answers one after another, each sample under a line
    /// of its own. Remote models stream at the same time as local ones;
    /// their output waits in a buffer until every answer before it is
    /// printed, so sections never interleave.
    fn text_event(&mut self, ev: &EngineEvent, outcomes: &Outcomes) {
        let n = self.entries.len();
        let k = self.samples(ev.slot);
        let Some(entry) = self.entries.get(ev.slot) else { return };
        let remote = !crate::engine::registry::info(entry.engine).local;
        match &ev.kind {
            EventKind::Loading if remote => eprintln!("[{}/{n}] sending to {} (remote)…", ev.slot + 1, entry.label),
            EventKind::Loading => eprintln!("[{}/{n}] loading {} ({})…", ev.slot + 1, entry.label, entry.engine.label()),
            EventKind::Loaded { load_ms, .. } if !remote => eprintln!("[{}/{n}] loaded in {:.2} s", ev.slot + 1, load_ms / 1e3),
            EventKind::Failed { error, .. } => eprintln!("[{}/{n}] {} failed: {error}", ev.slot + 1, entry.label),
            _ => {}
        }
        let mut text = String::new();
        let content = matches!(
            ev.kind,
            EventKind::Token { .. } | EventKind::Finished { .. } | EventKind::Failed { .. } | EventKind::Cancelled { .. }
        );
        if (content || matches!(ev.kind, EventKind::Loading)) && !self.headed[ev.slot] {
            self.headed[ev.slot] = true;
            text.push_str(&format!("── {} · {} ──\n", entry.label, entry.engine.label()));
        }
        if content && self.sample[ev.slot] != Some(ev.sample) {
            self.sample[ev.slot] = Some(ev.sample);
            self.channel[ev.slot] = None;
            if k > 1 {
                text.push_str(&format!("── sample {}/{k} ──\n", ev.sample + 1));
            }
        }
        let done = match &ev.kind {
            EventKind::Token { text: t, channel } => {
                // A reasoning model's thinking is marked as such, then its answer.
                if self.channel[ev.slot] != Some(*channel) {
                    match (channel, self.channel[ev.slot]) {
                        (Channel::Thinking, _) => text.push_str("[thinking]\n"),
                        (Channel::Answer, Some(Channel::Thinking)) => text.push_str("\n[answer]\n"),
                        (Channel::Answer, _) => {}
                    }
                    self.channel[ev.slot] = Some(*channel);
                }
                text.push_str(t);
                false
            }
            EventKind::Finished { stats } => {
                text.push_str(&format!("\n[{}]\n\n", stats.summary()));
                ev.sample + 1 >= k
            }
            EventKind::Failed { error, stats } => {
                if stats.is_some() {
                    text.push('\n');
                }
                text.push_str(&format!("[failed: {error}]\n\n"));
                ev.sample + 1 >= k
            }
            EventKind::Cancelled { stats } => {
                let line = stats.as_ref().map(Stats::summary).unwrap_or_default();
                text.push_str(&format!("\n[cancelled{}{line}]\n\n", if line.is_empty() { "" } else { " · " }));
                ev.sample + 1 >= k
            }
            _ => false,
        };
        if done && k > 1 {
            let a = together(outcomes, ev.slot, ev.prompt, k);
            text.push_str(&format!("[{} · {:.1} tok/s ({:.1}–{:.1})]\n\n", a.line(), a.tok_s.mean, a.tok_s.low, a.tok_s.high));
        }
        self.pending[ev.slot].push_str(&text);
        if done {
            self.complete[ev.slot] = true;
        }
        // Print what may be printed: the section in turn, live, and every
        // finished section after it.
        let mut out = std::io::stdout().lock();
        while self.turn < n {
            let chunk = std::mem::take(&mut self.pending[self.turn]);
            // Model output on a terminal cannot send it escape sequences.
            let _ = if out.is_terminal() {
                out.write_all(crate::wrap::terminal_safe(&chunk).as_bytes())
            } else {
                out.write_all(chunk.as_bytes())
            };
            if !self.complete[self.turn] {
                break;
            }
            self.turn += 1;
        }
        let _ = out.flush();
    }

    /// The summary lines; `history` is the comparison's id in the history.
    pub fn finish(&mut self, outcomes: &Outcomes, history: Option<i64>) {
        match &mut self.mode {
            Mode::Json => {
                let mut out = std::io::stdout().lock();
                for slot in 0..self.entries.len() {
                    let k = self.entries[slot].settings.generation.samples.max(1);
                    for sample in 0..k {
                        let o = outcomes.get(&(slot, 0, sample)).cloned().unwrap_or_default();
                        let mut v = answer_json(self.entries, slot, sample, &o, history);
                        if let Some(obj) = v.as_object_mut() {
                            obj.insert("event".into(), json!("summary"));
                            obj.insert("run".into(), json!(1));
                        }
                        line(&mut out, v);
                    }
                    if k > 1 {
                        let a = together(outcomes, slot, 0, k);
                        let mut v = serde_json::to_value(&a).unwrap_or_else(|_| json!({}));
                        if let Some(obj) = v.as_object_mut() {
                            obj.insert("event".into(), json!("samples"));
                            obj.insert("model".into(), model_json(self.entries, slot));
                            obj.insert("engine".into(), json!(self.entries[slot].engine.label()));
                        }
                        line(&mut out, v);
                    }
                }
            }
            Mode::Batch { progress, .. } => {
                if let Some(p) = progress.take() {
                    p.finish_with_message("done");
                }
            }
            Mode::Text => {}
        }
    }
}

/// The finished samples of one model's answer to one prompt, together.
fn together(outcomes: &Outcomes, slot: usize, prompt: usize, k: u32) -> crate::samples::Agreement {
    let done: Vec<(&str, u64, f64)> = (0..k)
        .filter_map(|s| outcomes.get(&(slot, prompt, s)))
        .filter(|o| o.status == Status::Finished)
        .map(|o| (o.text.as_str(), o.stats.as_ref().map_or(0, |s| s.generated_tokens), o.stats.as_ref().map_or(0.0, |s| s.decode_tps)))
        .collect();
    crate::samples::agreement(&done)
}
