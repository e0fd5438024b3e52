//! `versus fidelity REF CAND`: how far CAND's next-token distributions are
//! from REF's on one text (`crate::fidelity`, llama-perplexity's method).
//! REF runs first and its log-probabilities go to a file as it runs; then
//! CAND runs and is compared position by position, so one model is loaded
//! at a time and memory does not grow with the text. The work runs on its
//! own thread; a signal stops it at the next position and the reference
//! file is removed (unless it is `--keep-base`'s and complete).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::cli::FidelityArgs;
use crate::engine::{LoadProgress, RunEntry};
use crate::error::Error;
use crate::fidelity::base::{Header, Reader, Writer};
use crate::fidelity::{Plan, Report, Tally};

use super::{Context, exit};

pub fn run(ctx: &Context, args: &FidelityArgs, rt: &tokio::runtime::Runtime) -> u8 {
    let usage = |e: Error| {
        eprintln!("versus: {e}");
        if e.is_usage() { exit::USAGE } else { exit::MODEL_FAILED }
    };
    let text = match read_text(args) {
        Ok(t) => t,
        Err(e) => return usage(e),
    };
    let catalog = ctx.discover(&args.scan);
    let resolve = |spec: &str| -> Result<RunEntry, Error> {
        let mut e = crate::spec::resolve(&crate::spec::parse(spec)?, &catalog, &ctx.config.config, &[])?;
        e.settings.backend.context_size = u32::try_from(args.ctx).unwrap_or(u32::MAX);
        Ok(e)
    };
    let (reference, candidate) = match (resolve(&args.reference), resolve(&args.candidate)) {
        (Ok(r), Ok(c)) => (r, c),
        (Err(e), _) | (_, Err(e)) => return usage(e),
    };
    let tokens = match same_vocabulary(&reference, &candidate, &text) {
        Ok(t) => t,
        Err(e) => return usage(e),
    };
    let (kept, base) = match &args.keep_base {
        Some(p) if p.exists() && crate::fidelity::base::Reader::open(p).is_err() => {
            eprintln!(
                "versus: --keep-base {}: the file exists and is not a reference file of versus fidelity; it is left as it is",
                p.display()
            );
            return exit::USAGE;
        }
        Some(p) => (true, p.clone()),
        None => (false, ctx.dirs.state_dir.join(format!("fidelity-{}.base", std::process::id()))),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let job = Job { reference, candidate, text, tokens, ctx: args.ctx, base: base.clone(), stop: stop.clone() };
    let (tx, rx) = tokio::sync::oneshot::channel();
    let worker = std::thread::Builder::new().name("fidelity".into()).spawn(move || {
        let _ = tx.send(job.run());
    });
    if let Err(e) = worker {
        eprintln!("versus: could not start the fidelity thread: {e}");
        return exit::MODEL_FAILED;
    }
    let outcome = rt.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        let signalled = async {
            let t = async {
                match term.as_mut() {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            };
            let h = async {
                match hup.as_mut() {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => 130u8,
                _ = t => 143,
                _ = h => 129,
            }
        };
        tokio::pin!(rx);
        tokio::select! {
            done = &mut rx => Ok(done),
            code = signalled => {
                stop.store(true, Ordering::Relaxed);
                eprintln!("versus: stopping at the next position (again to stop at once)");
                // The work stops at its next position (or its load's next
                // step); wait for it so the file it writes is closed before
                // it is removed. A second Ctrl-C does not wait.
                tokio::select! {
                    _ = rx => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
                Err(code)
            }
        }
    });
    // An unfinished reference file never stays; a finished one stays only
    // when --keep-base asked for it.
    let _ = std::fs::remove_file(crate::fidelity::base::partial(&base));
    if !kept {
        let _ = std::fs::remove_file(&base);
    }
    let result = match outcome {
        Err(code) => {
            eprintln!("versus: stopped{}", if kept { "" } else { "; the reference's log-probabilities are removed" });
            return code;
        }
        Ok(Err(_)) => Err(Error::Inference("the fidelity thread ended without a result".into())),
        Ok(Ok(r)) => r,
    };
    match result {
        Ok(report) => {
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
            } else {
                print!("{}", report.text());
            }
            exit::OK
        }
        Err(e) => usage(e),
    }
}

fn read_text(args: &FidelityArgs) -> Result<String, Error> {
    if let Some(p) = &args.prompt {
        return Ok(p.clone());
    }
    if let Some(f) = &args.file {
        return crate::paths::read_text(f, crate::paths::PROMPTS_CAP).map_err(|e| Error::io(f, e));
    }
    super::read_stdin("no text: give --file TEXT, -p TEXT, or pipe it on standard input")
}

/// Fidelity compares distributions over one vocabulary: the two models
/// must read the text as the same tokens (checked on their vocabularies
/// alone, before any weights are loaded).
fn same_vocabulary(reference: &RunEntry, candidate: &RunEntry, text: &str) -> Result<Vec<u32>, Error> {
    let a = crate::engine::registry::tokens(reference, text, false)?;
    let b = crate::engine::registry::tokens(candidate, text, false)?;
    let Some(i) = (0..a.ids.len().max(b.ids.len())).find(|&i| a.ids.get(i) != b.ids.get(i)) else { return Ok(a.ids) };
    let show = |t: &crate::engine::vocab::Tokens| match (t.ids.get(i), t.pieces.get(i)) {
        (Some(id), Some(p)) => format!("{id} {p:?}"),
        _ => "nothing (the text ends)".into(),
    };
    Err(Error::Usage(format!(
        "{} and {} do not share a vocabulary: the text's token {i} is {} for the first and {} for the second; \
         fidelity compares next-token distributions over one vocabulary (two quantizations of one model, one file on two engines)",
        reference.label,
        candidate.label,
        show(&a),
        show(&b)
    )))
}

struct Job {
    reference: RunEntry,
    candidate: RunEntry,
    text: String,
    /// The text's tokens as the vocabulary reads them (a kept reference of
    /// other tokens is made again).
    tokens: Vec<u32>,
    ctx: usize,
    base: PathBuf,
    stop: Arc<AtomicBool>,
}

impl Job {
    fn run(self) -> Result<Report, Error> {
        let io = |e: std::io::Error| Error::io(&self.base, e);
        // A kept reference of this model, text and ctx is read, not rebuilt.
        let kept = Reader::open(&self.base).ok().map(|(_, h)| h);
        let header = match kept.filter(|h| h.ctx == self.ctx && h.model == self.reference_name() && h.tokens == self.tokens) {
            Some(h) => {
                eprintln!("versus: reading the reference's log-probabilities from {}", self.base.display());
                h
            }
            None => self.reference_pass()?,
        };
        let (mut reader, _) = Reader::open(&self.base).map_err(Error::Usage)?;
        let mut cand = crate::engine::load(&self.candidate, self.progress())?;
        let plan = self.plan(&header.tokens, cand.bos())?;
        let mut tally = Tally::default();
        let mut row = Vec::new();
        let mut failed: Option<Error> = None;
        let clock = Progress::new("candidate", &self.candidate.label, &plan);
        cand.score(&plan.chunks, plan.first, &mut |c, i, logits| {
            if logits.len() != header.n_vocab {
                failed = Some(Error::Usage(format!(
                    "{} has {} tokens in its vocabulary, {} has {}: fidelity needs one vocabulary",
                    self.reference.label,
                    header.n_vocab,
                    self.candidate.label,
                    logits.len()
                )));
                return false;
            }
            if let Err(e) = reader.next(&mut row) {
                failed = Some(io(e));
                return false;
            }
            let pos = c * plan.ctx + i;
            tally.add(pos, header.tokens[pos + 1], &row, logits);
            clock.tick(c, i);
            !self.stop.load(Ordering::Relaxed)
        })?;
        drop(cand);
        if let Some(e) = failed {
            return Err(e);
        }
        let mut report = tally.report(&self.reference.label, &self.candidate.label, &plan);
        self.name_worst(&mut report, &header.tokens);
        Ok(report)
    }

    /// A load that a signal stops too (engines that report progress).
    fn progress(&self) -> LoadProgress {
        let stop = self.stop.clone();
        LoadProgress::new(move |_| !stop.load(Ordering::Relaxed))
    }

    /// What the reference file names its model by: the label and the file,
    /// so a kept reference is never read for another model.
    fn reference_name(&self) -> String {
        format!("{} ({})", self.reference.label, self.reference.model.path.display())
    }

    fn plan(&self, tokens: &[u32], bos: Option<u32>) -> Result<Plan, Error> {
        Plan::new(tokens, self.ctx, bos).map_err(Error::Usage)
    }

    /// Run the reference over the text, writing its log-probabilities.
    fn reference_pass(&self) -> Result<Header, Error> {
        let io = |e: std::io::Error| Error::io(&self.base, e);
        let mut model = crate::engine::load(&self.reference, self.progress())?;
        let tokens = model.token_ids(&self.text)?;
        let plan = self.plan(&tokens, model.bos())?;
        let mut header = Header { n_vocab: 0, ctx: self.ctx, model: self.reference_name(), tokens };
        let mut writer: Option<Writer> = None;
        let mut failed: Option<Error> = None;
        let mut lp = Vec::new();
        let clock = Progress::new("reference", &self.reference.label, &plan);
        model.score(&plan.chunks, plan.first, &mut |c, i, logits| {
            if writer.is_none() {
                header.n_vocab = logits.len();
                match Writer::create(&self.base, &header) {
                    Ok(w) => writer = Some(w),
                    Err(e) => {
                        failed = Some(io(e));
                        return false;
                    }
                }
            }
            crate::fidelity::log_softmax(logits, &mut lp);
            if let Some(Err(e)) = writer.as_mut().map(|w| w.push(&lp)) {
                failed = Some(io(e));
                return false;
            }
            clock.tick(c, i);
            !self.stop.load(Ordering::Relaxed)
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        if self.stop.load(Ordering::Relaxed) {
            return Err(Error::Inference("stopped".into()));
        }
        writer.ok_or_else(|| Error::Inference("the reference scored nothing".into()))?.finish().map_err(io)?;
        Ok(header)
    }

    /// The worst positions' next token and a few tokens before it, in the
    /// reference's words (one read of its vocabulary for all of them).
    fn name_worst(&self, report: &mut Report, tokens: &[u32]) {
        let spans: Vec<std::ops::Range<usize>> =
            report.worst.iter().map(|w| w.pos.saturating_sub(6)..(w.pos + 2).min(tokens.len())).collect();
        let ids: Vec<u32> = spans.iter().flat_map(|r| tokens[r.clone()].iter().copied()).collect();
        let Ok(pieces) = crate::engine::registry::pieces(&self.reference, &ids) else { return };
        let mut at = 0;
        for (w, span) in report.worst.iter_mut().zip(spans) {
            let these = &pieces[at..(at + span.len()).min(pieces.len())];
            at += span.len();
            if let Some((last, before)) = these.split_last() {
                w.token = last.clone();
                w.context = before.concat();
            }
        }
    }
}

/// Chunks done and tokens per second, on stderr.
struct Progress {
    what: String,
    chunks: usize,
    ctx: usize,
    started: Instant,
}

impl Progress {
    fn new(role: &str, label: &str, plan: &Plan) -> Progress {
        eprintln!("versus: {role} {label}: {} chunks of {} tokens", plan.chunks.len(), plan.ctx);
        Progress { what: format!("{role} {label}"), chunks: plan.chunks.len(), ctx: plan.ctx, started: Instant::now() }
    }

    /// Position `i` of chunk `c` is scored: a line when it ends the chunk.
    fn tick(&self, c: usize, i: usize) {
        if i + 2 != self.ctx {
            return;
        }
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        let tokens = (c + 1) * self.ctx;
        eprintln!("versus: {} · chunk {}/{} · {:.0} tokens/s", self.what, c + 1, self.chunks, tokens as f64 / secs);
    }
}
