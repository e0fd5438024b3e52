//! `versus replay ID [--model N]`: run each answer of a saved comparison
//! again from its receipt (the same model file, rendered prompt, sampler
//! and seed) and say, per answer, `identical` or where the tokens first
//! differ. Exit 0: all identical; 1: some differ; 2: some cannot be
//! replayed (the model file changed, a served model, no receipt), with why.
//!
//! An answer that reused the model's cache (the next sample of a prompt, a
//! follow-up turn, a resident model) depends on the numbers the answer
//! before it left there. Its receipt names them (`cache_before`, the hash
//! of the tokens the cache held); the replay runs that earlier answer
//! first on the same load, found in this comparison or, where it came from
//! another one, in the history. So each model is loaded once and runs, in
//! order, exactly the calls it ran then.

use std::collections::HashMap;

use serde_json::json;

use crate::cli::ReplayArgs;
use crate::engine::protocol::ReplayStep;
use crate::engine::protocol::answer::{Answer, Status};
use crate::engine::protocol::receipt::Receipt;
use crate::engine::{EventKind, RunEntry};
use crate::params::GenerationParams;
use crate::session::{Next, Session};
use crate::store::samples::AnswerAt;
use crate::store::{Store, StoredOutput, StoredRun};

use super::{Context, exit};

/// One stored answer with what replaying it needs.
#[derive(Debug, Clone)]
struct Stored {
    at: AnswerAt,
    label: String,
    rendered: String,
    status: Status,
    error: Option<String>,
    params: Option<GenerationParams>,
    receipt: Option<Receipt>,
}

/// Every answer of `run` (turn by turn, model by model, sample by sample).
fn answers(run: &StoredRun) -> Vec<Stored> {
    let turns = std::iter::once(&run.outputs).chain(run.turns.iter().map(|t| &t.outputs));
    let mut out = Vec::new();
    for (turn, outputs) in turns.enumerate() {
        for o in outputs {
            out.extend(of_output(run.id, turn, o));
        }
    }
    out
}

/// An output's answers: the output itself (sample 0) and its further samples.
fn of_output(run: i64, turn: usize, o: &StoredOutput) -> Vec<Stored> {
    // The receipt's parameters: the settings kept beside a follow-up are
    // its first turn's.
    let settings = o.settings.as_ref().map(|s| s.generation.clone());
    let receipt = |s: &Option<crate::engine::Stats>| s.as_ref().and_then(|s| s.receipt.clone());
    let params_of = |s: &Option<crate::engine::Stats>| receipt(s).and_then(|r| r.params).or_else(|| settings.clone());
    let first = Stored {
        at: AnswerAt { run, turn, slot: o.slot, sample: 0 },
        label: o.label.clone(),
        rendered: o.rendered_prompt.clone(),
        status: o.status,
        error: o.error.clone(),
        params: params_of(&o.stats),
        receipt: receipt(&o.stats),
    };
    let mut out = vec![first];
    out.extend(o.samples.iter().map(|s| Stored {
        at: AnswerAt { run, turn, slot: o.slot, sample: s.sample },
        label: o.label.clone(),
        rendered: o.rendered_prompt.clone(),
        status: s.status,
        error: s.error.clone(),
        params: params_of(&s.stats),
        receipt: receipt(&s.stats),
    }));
    out
}

/// One call of the replay: an answer run again; `target`: it is reported
/// (else it only puts the cache where a reported answer found it).
struct Step {
    answer: Stored,
    fresh: bool,
    target: bool,
}

/// Why an answer cannot be replayed, or None when it can.
fn unreplayable(a: &Stored, fingerprint_now: &Result<String, String>) -> Option<String> {
    let Some(r) = &a.receipt else {
        return Some("no receipt (answered by a versus that did not record one)".into());
    };
    if let Some(why) = &r.not_replayable {
        return Some(why.clone());
    }
    if a.params.is_none() {
        return Some("its settings could not be read from the history".into());
    }
    if a.status == Status::Failed {
        return Some(format!("it failed: {}", a.error.as_deref().unwrap_or("no reason recorded")));
    }
    match fingerprint_now {
        Err(why) => Some(why.clone()),
        Ok(now) if *now != r.fingerprint => {
            Some(format!("model file changed: fingerprint {} is now {}", short(&r.fingerprint), short(now)))
        }
        Ok(_) => None,
    }
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// The calls one model makes: each target in order, each preceded, where
/// it reused a cache that the call before did not leave, by the answers
/// that built that cache. Targets that cannot be replayed come back apart.
fn plan(
    targets: Vec<Stored>,
    store: &Store,
    runs: &mut HashMap<i64, Option<StoredRun>>,
    fingerprint_now: &Result<String, String>,
) -> (Vec<Step>, Vec<(Stored, String)>) {
    let mut steps: Vec<Step> = Vec::new();
    let mut cannot = Vec::new();
    // What the cache holds after the last planned call (its receipt's word).
    let mut held: Option<String> = None;
    for t in targets {
        if let Some(why) = unreplayable(&t, fingerprint_now) {
            cannot.push((t, why));
            continue;
        }
        let r = t.receipt.clone().unwrap_or_default();
        if r.reused == 0 || held.as_deref() == Some(r.engine.cache_before.as_str()) {
            held = Some(r.engine.cache_after.clone());
            steps.push(Step { fresh: r.reused == 0, answer: t, target: true });
            continue;
        }
        match chain(&r, t.at, held.as_deref(), store, runs, fingerprint_now) {
            Ok(before) => {
                steps.extend(before);
                held = Some(r.engine.cache_after.clone());
                steps.push(Step { fresh: false, answer: t, target: true });
            }
            Err(why) => cannot.push((t, why)),
        }
    }
    (steps, cannot)
}

/// The answers that left the cache `r` reused, oldest first: back through
/// the history until one that started from nothing (or from what the cache
/// holds now, `held`).
fn chain(
    r: &Receipt,
    at: AnswerAt,
    held: Option<&str>,
    store: &Store,
    runs: &mut HashMap<i64, Option<StoredRun>>,
    fingerprint_now: &Result<String, String>,
) -> Result<Vec<Step>, String> {
    let lost = "it reused the model's cache from an earlier answer that is not in the history any more";
    let mut out: Vec<Step> = Vec::new();
    let (mut hash, mut before) = (r.engine.cache_before.clone(), at);
    for _ in 0..64 {
        let found = store.answer_leaving(&hash, before).map_err(|e| format!("the history could not be read: {e}"))?;
        let Some(p) = found else { return Err(lost.into()) };
        let run = runs.entry(p.run).or_insert_with(|| store.get(p.run).ok().flatten());
        let Some(a) = run.as_ref().and_then(|run| answers(run).into_iter().find(|a| a.at == p)) else { return Err(lost.into()) };
        if let Some(why) = unreplayable(&a, fingerprint_now) {
            return Err(format!("the answer whose cache it reused (#{} turn {}) cannot be replayed: {why}", p.run, p.turn + 1));
        }
        let pr = a.receipt.clone().unwrap_or_default();
        let done = pr.reused == 0 || held == Some(pr.engine.cache_before.as_str());
        out.insert(0, Step { fresh: pr.reused == 0, answer: a, target: false });
        if done {
            return Ok(out);
        }
        (hash, before) = (pr.engine.cache_before, p);
    }
    Err("its cache came through more than 64 earlier answers; replay those first".into())
}

/// How one replayed answer compares with the stored one.
enum Verdict {
    Identical { tokens: usize },
    Differs { index: usize, stored: Option<u32>, new: Option<u32> },
    Cannot(String),
}

/// The first index where the two token lists differ (a length counts).
fn first_difference(stored: &[u32], new: &[u32]) -> Option<usize> {
    let common = stored.iter().zip(new).take_while(|(a, b)| a == b).count();
    (common < stored.len().max(new.len())).then_some(common)
}

pub fn run(ctx: &Context, args: &ReplayArgs, rt: &tokio::runtime::Runtime) -> u8 {
    let usage = |msg: String| {
        eprintln!("versus: {msg}");
        exit::USAGE
    };
    let path = ctx.dirs.history_db();
    let store = match Store::open(&path) {
        Ok(s) => s,
        Err(e) => return usage(format!("cannot open the history store {}: {e}", path.display())),
    };
    let stored = match store.get(args.id) {
        Ok(Some(r)) => r,
        Ok(None) => return usage(format!("no comparison #{} (see `versus history list`)", args.id)),
        Err(e) => return usage(format!("history store {}: {e}", path.display())),
    };
    let slots: Vec<&StoredOutput> = stored.outputs.iter().collect();
    let chosen: Vec<usize> = match &args.model {
        None => slots.iter().map(|o| o.slot).collect(),
        Some(m) => match slots.iter().find(|o| m.parse::<usize>().ok() == Some(o.slot) || o.label == *m) {
            Some(o) => vec![o.slot],
            None => {
                let names: Vec<String> = slots.iter().map(|o| format!("{} ({})", o.slot, o.label)).collect();
                return usage(format!("comparison #{} has no model {m}; its models: {}", args.id, names.join(", ")));
            }
        },
    };

    // Per model: its entry, the plan of its calls, and what cannot be replayed.
    let mut runs: HashMap<i64, Option<StoredRun>> = HashMap::new();
    let mut entries: Vec<RunEntry> = Vec::new();
    let mut prompts: Vec<String> = Vec::new();
    let mut steps: Vec<ReplayStep> = Vec::new();
    // (slot in the request, prompt index) → the answer it replays.
    let mut targets: Vec<(usize, usize, Stored)> = Vec::new();
    let mut cannot: Vec<(Stored, String)> = Vec::new();
    let all = answers(&stored);
    for slot in chosen {
        let Some(output) = slots.iter().find(|o| o.slot == slot) else { continue };
        let mine: Vec<Stored> = all.iter().filter(|a| a.at.slot == slot).cloned().collect();
        let entry = crate::store::query::entry_of(output, &ctx.config.config.endpoints);
        let fingerprint_now = match &entry {
            Ok(e) if crate::engine::registry::info(e.engine).local => Ok(crate::catalog::fingerprint(&e.model.files)),
            Ok(_) => Ok(String::new()),
            Err(e) => Err(e.to_string()),
        };
        let (planned, lost) = plan(mine, &store, &mut runs, &fingerprint_now);
        cannot.extend(lost);
        let Ok(mut entry) = entry else { continue };
        if planned.is_empty() {
            continue;
        }
        if let Some(r) = planned.iter().find_map(|s| s.answer.receipt.as_ref()) {
            for note in differences(r) {
                eprintln!("versus: note: {} {note}", entry.label);
            }
        }
        let request_slot = entries.len();
        let mut mine_prompts = Vec::new();
        for s in planned {
            let mut params = s.answer.params.clone().unwrap_or_default();
            let r = s.answer.receipt.clone().unwrap_or_default();
            // A stopped answer stops where it was stopped.
            if s.answer.status == Status::Cancelled {
                params.max_tokens = r.ids.len() as u32;
            }
            mine_prompts.push(prompts.len());
            if s.target {
                targets.push((request_slot, prompts.len(), s.answer.clone()));
            }
            prompts.push(s.answer.rendered.clone());
            steps.push(ReplayStep { seed: r.seed, params, fresh: s.fresh });
        }
        entry.prompts = Some(mine_prompts);
        entries.push(entry);
    }

    let mut results: HashMap<(usize, usize), Answer> = HashMap::new();
    if !entries.is_empty() {
        // The session listens for signals: it opens inside the runtime.
        let opened = rt.block_on(async {
            Session::open(ctx.config.config.memory.clone(), ctx.config.config.scheduler.keep_loaded, None, ctx.isolation())
        });
        let mut session = match opened {
            Ok(s) => s,
            Err(e) => return usage(format!("could not start the inference thread: {e}")),
        };
        session.start_replay(1, prompts, entries.clone(), steps);
        rt.block_on(async {
            loop {
                match session.next().await {
                    Next::Event(ev) if matches!(ev.kind, EventKind::RunDone) => break,
                    Next::Event(ev) => {
                        if let EventKind::Loading = ev.kind {
                            if let Some(e) = entries.get(ev.slot) {
                                eprintln!("versus: loading {} ({})…", e.label, e.engine.label());
                            }
                        }
                        results.entry((ev.slot, ev.prompt)).or_default().apply(&ev.kind);
                    }
                    Next::Store(_) => {}
                    Next::Ending(why) => {
                        eprintln!("versus: {}; the replay stops", why.describe());
                        session.cancel(1);
                    }
                    Next::Closed => break,
                }
            }
        });
    }

    let mut verdicts: Vec<(Stored, Option<&RunEntry>, Verdict)> =
        cannot.into_iter().map(|(a, why)| (a, None, Verdict::Cannot(why))).collect();
    for (slot, prompt, a) in targets {
        let entry = entries.get(slot);
        let new = results.get(&(slot, prompt));
        let verdict = match new.and_then(|n| n.stats.as_ref()).and_then(|s| s.receipt.as_ref()) {
            None => Verdict::Cannot(match new.and_then(|n| n.error.clone()) {
                Some(e) => format!("the replay failed: {e}"),
                None => "the replay gave no answer".into(),
            }),
            Some(nr) => {
                let stored_ids = a.receipt.as_ref().map(|r| r.ids.clone()).unwrap_or_default();
                match first_difference(&stored_ids, &nr.ids) {
                    None => Verdict::Identical { tokens: stored_ids.len() },
                    Some(index) => Verdict::Differs { index, stored: stored_ids.get(index).copied(), new: nr.ids.get(index).copied() },
                }
            }
        };
        verdicts.push((a, entry, verdict));
    }
    verdicts.sort_by_key(|(a, _, _)| (a.at.turn, a.at.slot, a.at.sample));

    let (mut same, mut differ, mut failed) = (0, 0, 0);
    for (a, entry, v) in &verdicts {
        match v {
            Verdict::Identical { .. } => same += 1,
            Verdict::Differs { .. } => differ += 1,
            Verdict::Cannot(_) => failed += 1,
        }
        let detail = match (v, entry) {
            (Verdict::Differs { index, stored, new }, Some(e)) => Some(describe(e, a, *index, *stored, *new)),
            _ => None,
        };
        if args.json {
            super::print::line(&mut std::io::stdout().lock(), json_line(args.id, a, v, detail.as_ref()));
        } else {
            super::print_text(&format!("{}\n", text_line(args.id, &stored, a, v, detail.as_ref())));
        }
    }
    if args.json {
        super::print::line(
            &mut std::io::stdout().lock(),
            json!({ "event": "replay_done", "id": args.id, "identical": same, "differs": differ, "not_replayable": failed }),
        );
    } else {
        eprintln!("versus: {same} identical, {differ} differ, {failed} not replayable");
    }
    if failed > 0 {
        exit::USAGE
    } else if differ > 0 {
        exit::MODEL_FAILED
    } else {
        exit::OK
    }
}

/// Where the receipt and this machine differ in what may change greedy
/// text at near-ties (kernels, device, engine version).
fn differences(r: &Receipt) -> Vec<String> {
    let mut out = Vec::new();
    let now = crate::cpu::kernels();
    if !r.kernels.is_empty() && r.kernels != now {
        out.push(format!("ran on kernels \"{}\", this binary has \"{now}\": near-ties may break the other way", r.kernels));
    }
    let device = crate::gpu::run_device();
    if !r.device.is_empty() && r.device != device {
        out.push(format!("ran on \"{}\", now \"{device}\"", r.device));
    }
    if !r.versus.is_empty() && r.versus != env!("CARGO_PKG_VERSION") {
        out.push(format!("was answered by versus {}, this is {}", r.versus, env!("CARGO_PKG_VERSION")));
    }
    out
}

/// The first differing token's text on each side (None: that side ended
/// there) and the few words before it.
struct Detail {
    stored: Option<String>,
    new: Option<String>,
    context: String,
}

fn describe(entry: &RunEntry, a: &Stored, index: usize, stored: Option<u32>, new: Option<u32>) -> Detail {
    let ids = a.receipt.as_ref().map(|r| r.ids.as_slice()).unwrap_or_default();
    let before = &ids[index.saturating_sub(16)..index.min(ids.len())];
    let piece = |id: Option<u32>| id.and_then(|id| crate::engine::registry::pieces(entry, &[id]).ok()).map(|p| p.concat());
    let context = crate::engine::registry::pieces(entry, before).map(|p| p.concat()).unwrap_or_default();
    // A few words: the last 40 characters before the difference.
    let chars: Vec<char> = context.chars().collect();
    let context = chars[chars.len().saturating_sub(40)..].iter().collect();
    Detail { stored: piece(stored), new: piece(new), context }
}

/// "1234 \" Paris\"", or "the end" where that side has no more tokens.
fn token_name(id: Option<u32>, piece: Option<&String>) -> String {
    match id {
        Some(id) => format!("{id} {:?}", piece.map_or("", String::as_str)),
        None => "the end".into(),
    }
}

fn where_(stored: &StoredRun, a: &Stored) -> String {
    let turn = if stored.turns.is_empty() { String::new() } else { format!(" turn {}", a.at.turn + 1) };
    let k = stored.outputs.iter().find(|o| o.slot == a.at.slot).map_or(1, |o| o.samples.len() + 1);
    let sample = if k > 1 { format!(" · sample {}/{k}", a.at.sample + 1) } else { String::new() };
    format!("#{}{turn} · model {} {}{sample}", a.at.run, a.at.slot, a.label)
}

fn text_line(_id: i64, stored: &StoredRun, a: &Stored, v: &Verdict, detail: Option<&Detail>) -> String {
    let at = where_(stored, a);
    match (v, detail) {
        (Verdict::Identical { tokens }, _) => format!("{at}: identical ({tokens} tokens)"),
        (Verdict::Differs { index, stored, new }, Some(d)) => format!(
            "{at}: differs at token {index}: stored {}, new {} (after \"…{}\")",
            token_name(*stored, d.stored.as_ref()),
            token_name(*new, d.new.as_ref()),
            d.context.replace('\n', "⏎")
        ),
        (Verdict::Differs { index, stored, new }, None) => {
            format!("{at}: differs at token {index}: stored {}, new {}", token_name(*stored, None), token_name(*new, None))
        }
        (Verdict::Cannot(why), _) => format!("{at}: not replayable: {why}"),
    }
}

fn json_line(id: i64, a: &Stored, v: &Verdict, detail: Option<&Detail>) -> serde_json::Value {
    let mut line = json!({
        "event": "replay",
        "id": id,
        "turn": a.at.turn,
        "model": { "index": a.at.slot, "name": a.label },
        "sample": a.at.sample,
        "seed": a.receipt.as_ref().map(|r| r.seed),
    });
    let extra = match v {
        Verdict::Identical { tokens } => json!({ "result": "identical", "tokens": tokens }),
        Verdict::Differs { index, stored, new } => json!({
            "result": "differs",
            "index": index,
            "stored": { "id": stored, "text": detail.and_then(|d| d.stored.clone()) },
            "new": { "id": new, "text": detail.and_then(|d| d.new.clone()) },
            "context": detail.map(|d| d.context.clone()),
        }),
        Verdict::Cannot(why) => json!({ "result": "not_replayable", "reason": why }),
    };
    if let (Some(obj), Some(more)) = (line.as_object_mut(), extra.as_object()) {
        obj.extend(more.clone());
    }
    line
}

#[cfg(test)]
mod tests {
    use super::first_difference;

    #[test]
    fn the_first_difference_counts_a_missing_token() {
        assert_eq!(first_difference(&[1, 2, 3], &[1, 2, 3]), None);
        assert_eq!(first_difference(&[1, 2, 3], &[1, 5, 3]), Some(1));
        assert_eq!(first_difference(&[1, 2], &[1, 2, 3]), Some(2));
        assert_eq!(first_difference(&[], &[]), None);
    }
}
