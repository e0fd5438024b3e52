//! Exports of a stored run: Markdown that reads well on GitHub, JSON that
//! round-trips through serde, CSV for spreadsheets, plain text for terminals;
//! the HTML report is in `html.rs`.

use std::fmt::Write as _;

use super::votes::{describe, place, verdict_note};
use super::{StoredOutput, StoredRun};
use crate::engine::protocol::answer::Status;
use crate::engine::protocol::figures::{self, FIGURES, Figure};
use crate::params::{PARAMS, Settings};

/// The export formats: `versus history export --format`, `[ui] export`
/// (what Ctrl-E writes) and the JSON config read this list; a new format
/// is a variant, its extension and its renderer here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Md,
    Json,
    Csv,
    Txt,
    /// One self-contained page (`html.rs`).
    Html,
}

impl Format {
    /// What Ctrl-E writes unless `[ui] export` says otherwise.
    pub const EXPORT: &'static [Format] = &[Format::Md, Format::Json];

    pub fn extension(self) -> &'static str {
        match self {
            Format::Md => "md",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Txt => "txt",
            Format::Html => "html",
        }
    }
}

pub fn render(run: &StoredRun, format: Format) -> String {
    match format {
        Format::Md => markdown(run),
        Format::Json => serde_json::to_string_pretty(run).unwrap_or_default() + "\n",
        Format::Csv => csv(run),
        Format::Txt => text(run),
        Format::Html => super::html::html(run),
    }
}

/// Several comparisons in one file: Markdown and text one after another,
/// JSON as an array, CSV under one header, HTML as one report.
pub fn render_many(runs: &[StoredRun], format: Format) -> String {
    match format {
        Format::Md => runs.iter().map(markdown).collect::<Vec<_>>().join("\n---\n\n"),
        Format::Txt => runs.iter().map(text).collect::<Vec<_>>().join("\n\n"),
        Format::Json => serde_json::to_string_pretty(runs).unwrap_or_default() + "\n",
        Format::Csv => runs
            .iter()
            .enumerate()
            .flat_map(|(i, r)| csv(r).lines().skip(usize::from(i > 0)).map(|l| format!("{l}\n")).collect::<Vec<_>>())
            .collect(),
        Format::Html => super::html::html_many(runs),
    }
}

fn quote_block(text: &str) -> String {
    text.lines().map(|l| if l.is_empty() { ">".to_string() } else { format!("> {l}") }).collect::<Vec<_>>().join("\n")
}

/// A fence longer than any run of backticks in `text`.
fn fence(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    "`".repeat((longest + 1).max(3))
}

pub fn markdown(run: &StoredRun) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# versus comparison #{}\n", run.id);
    let _ = writeln!(
        out,
        "{} · {} model{} · {}\n",
        run.started_at,
        run.outputs.len(),
        if run.outputs.len() == 1 { "" } else { "s" },
        run.state.as_str()
    );
    if !run.turns.is_empty() {
        let _ = writeln!(out, "{} turns: each model was given its own earlier answers.\n", run.turns.len() + 1);
    }
    let _ = writeln!(out, "**Prompt**\n\n{}\n", quote_block(&run.prompt));
    if !run.system_prompt.is_empty() {
        let _ = writeln!(out, "**System prompt**\n\n{}\n", quote_block(&run.system_prompt));
    }
    for o in &run.outputs {
        let _ = writeln!(out, "## {}. {} · {}\n", o.slot + 1, o.label, o.model.engine);
        if !o.thinking.is_empty() {
            let f = fence(&o.thinking);
            let tokens = o.stats.as_ref().map(|s| format!(" ({} tokens)", s.thinking_tokens)).unwrap_or_default();
            let _ = writeln!(
                out,
                "<details><summary>Thinking{tokens}</summary>\n\n{f}text\n{}\n{f}\n\n</details>\n",
                o.thinking.trim_end_matches('\n')
            );
        }
        if !o.text.is_empty() {
            let f = fence(&o.text);
            let _ = writeln!(out, "{f}text\n{}\n{f}\n", o.text.trim_end_matches('\n'));
        }
        if let Some(e) = &o.error {
            let _ = writeln!(out, "> **{}:** {e}\n", if o.status == Status::Failed { "Failed" } else { "Note" });
        }
        stats_table(&mut out, o);
        samples_md(&mut out, o);
        receipt_md(&mut out, o.stats.as_ref());
        match &o.settings {
            Some(settings) => settings_table(&mut out, o, settings),
            None => {
                let _ = writeln!(out, "\n_The settings of this answer could not be read from the history._\n");
            }
        }
    }
    for t in &run.turns {
        let _ = writeln!(out, "## Turn {}\n\n**Prompt**\n\n{}\n", t.turn + 1, quote_block(&t.prompt));
        for o in &t.outputs {
            let _ = writeln!(out, "### {}. {} · {}\n", o.slot + 1, o.label, o.model.engine);
            if !o.text.is_empty() {
                let f = fence(&o.text);
                let _ = writeln!(out, "{f}text\n{}\n{f}\n", o.text.trim_end_matches('\n'));
            }
            if let Some(e) = &o.error {
                let _ = writeln!(out, "> **{}:** {e}\n", if o.status == Status::Failed { "Failed" } else { "Note" });
            }
            let _ = writeln!(out, "_{}_\n", o.stats.as_ref().map_or_else(|| o.status.to_string(), |s| s.summary()));
        }
    }
    if !run.votes.is_empty() {
        let _ = writeln!(out, "## Votes\n");
        for v in &run.votes {
            let _ = writeln!(out, "- {} · {}: {}", v.created_at, v.voter, describe(v, &|s| label(run, s)));
            let note = verdict_note(v, &|s| label(run, s));
            if !note.is_empty() {
                let _ = writeln!(out, "  > {note}");
            }
        }
        let _ = writeln!(out);
    }
    for p in &run.problems {
        let _ = writeln!(out, "> **Note:** {p}\n");
    }
    let _ = writeln!(out, "<sub>versus {} · {} · {}</sub>", run.version, run.device, run.host);
    out
}

/// The model's further samples of the prompt, each under its own heading.
fn samples_md(out: &mut String, o: &StoredOutput) {
    for s in &o.samples {
        let _ = writeln!(out, "\n### {}. {} · sample {}\n", o.slot + 1, o.label, s.sample + 1);
        if !s.text.is_empty() {
            let f = fence(&s.text);
            let _ = writeln!(out, "{f}text\n{}\n{f}\n", s.text.trim_end_matches('\n'));
        }
        if let Some(e) = &s.error {
            let _ = writeln!(out, "> **{}:** {e}\n", if s.status == Status::Failed { "Failed" } else { "Note" });
        }
        let _ = writeln!(out, "_{}_\n", s.stats.as_ref().map_or_else(|| s.status.to_string(), |x| x.summary()));
    }
}

/// The receipt, folded.
fn receipt_md(out: &mut String, stats: Option<&crate::engine::Stats>) {
    let Some(r) = stats.and_then(|s| s.receipt.as_ref()) else { return };
    let _ = writeln!(out, "\n<details><summary>Receipt</summary>\n\n| | |\n|---|---|");
    for (k, v) in r.fields() {
        let _ = writeln!(out, "| {k} | {} |", v.replace('|', "\\|"));
    }
    let _ = writeln!(out, "\n</details>\n");
}

/// An answer's figures at a glance, as a one-row table.
fn stats_table(out: &mut String, o: &StoredOutput) {
    let figures: Vec<&Figure> = figures::at_a_glance().collect();
    let _ = writeln!(out, "| {} |", figures.iter().map(|f| f.label).collect::<Vec<_>>().join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(figures.len()));
    let cells: Vec<String> = figures.iter().map(|f| o.figure(f)).collect();
    let _ = writeln!(out, "| {} |", cells.join(" | "));
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

pub fn csv(run: &StoredRun) -> String {
    let head: Vec<&str> = ["run", "started_at", "prompt", "turn", "slot", "sample", "label", "model", "engine", "path", "status"]
        .into_iter()
        .chain(FIGURES.iter().map(|f| f.key))
        .chain(["votes", "error", "thinking", "text"])
        .collect();
    let mut out = format!("{}\n", head.join(","));
    let turns = std::iter::once((1, run.prompt.as_str(), &run.outputs))
        .chain(run.turns.iter().map(|t| (t.turn + 1, t.prompt.as_str(), &t.outputs)));
    for (o, turn, prompt) in turns.flat_map(|(n, p, outs)| outs.iter().map(move |o| (o, n, p))) {
        // The answer (sample 0), then its further samples, a row each.
        let first = (0u32, o.status, &o.stats, &o.error, &o.thinking, &o.text);
        let rest = o.samples.iter().map(|s| (s.sample, s.status, &s.stats, &s.error, &s.thinking, &s.text));
        for (sample, status, stats, error, thinking, text) in std::iter::once(first).chain(rest) {
            let s = stats.clone().unwrap_or_default();
            let mut fields = vec![
                run.id.to_string(),
                run.started_at.clone(),
                prompt.to_string(),
                turn.to_string(),
                o.slot.to_string(),
                sample.to_string(),
                o.label.clone(),
                o.model.name.clone(),
                o.model.engine.clone(),
                o.model.path.clone(),
                status.to_string(),
            ];
            fields.extend(FIGURES.iter().map(|f| (f.get)(&s).map(|v| v.raw()).unwrap_or_default()));
            fields.extend([
                // Its place in each vote on this sample ("=1": tied first), oldest vote first.
                run.votes.iter().filter(|v| v.sample == sample).map(|v| place(v, o.slot)).collect::<Vec<_>>().join(" "),
                error.clone().unwrap_or_default(),
                thinking.clone(),
                text.clone(),
            ]);
            out.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
            out.push('\n');
        }
    }
    out
}

pub fn text(run: &StoredRun) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Comparison #{} · {} · {}", run.id, run.started_at, run.state.as_str());
    let _ = writeln!(out, "Prompt: {}", run.prompt);
    if !run.system_prompt.is_empty() {
        let _ = writeln!(out, "System: {}", run.system_prompt);
    }
    let turns = std::iter::once((run.prompt.as_str(), &run.outputs)).chain(run.turns.iter().map(|t| (t.prompt.as_str(), &t.outputs)));
    for (k, (prompt, outputs)) in turns.enumerate() {
        if k > 0 {
            let _ = writeln!(out, "\n══ Turn {} ══\nPrompt: {prompt}", k + 1);
        }
        for o in outputs {
            text_answer(&mut out, o);
        }
    }
    for v in &run.votes {
        let _ = writeln!(out, "\nVote ({}, {}): {}", v.voter, v.created_at, describe(v, &|s| label(run, s)));
    }
    out
}

fn text_answer(out: &mut String, o: &StoredOutput) {
    let _ = writeln!(out, "\n── {} · {} · {} ──", o.label, o.model.engine, o.status);
    if !o.thinking.is_empty() {
        let _ = writeln!(out, "[thinking]\n{}\n[answer]", o.thinking.trim_end_matches('\n'));
    }
    if !o.text.is_empty() {
        let _ = writeln!(out, "{}", o.text.trim_end_matches('\n'));
    }
    if let Some(e) = &o.error {
        let _ = writeln!(out, "[{e}]");
    }
    if let Some(s) = &o.stats {
        let _ = writeln!(out, "[{}]", s.summary());
    }
    for s in &o.samples {
        let _ = writeln!(out, "── sample {} · {} ──\n{}", s.sample + 1, s.status, s.text.trim_end_matches('\n'));
        if let Some(x) = &s.stats {
            let _ = writeln!(out, "[{}]", x.summary());
        }
    }
}

/// The label of slot `slot` in `run`.
fn label(run: &StoredRun, slot: usize) -> String {
    run.outputs.iter().find(|o| o.slot == slot).map_or_else(|| format!("answer {}", slot + 1), |o| o.label.clone())
}

/// Write `run` into `dir` once per format, under one name with each
/// format's extension; returns the paths written. An earlier export is never
/// replaced: the next free "-2", "-3"… instead.
pub fn write_files(run: &StoredRun, formats: &[Format], dir: &std::path::Path) -> Result<Vec<std::path::PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let stamp: String = run.started_at.chars().filter(|c| c.is_ascii_digit()).take(14).collect();
    let name = |k: usize| if k < 2 { format!("versus-{}-{stamp}", run.id) } else { format!("versus-{}-{stamp}-{k}", run.id) };
    let taken = |base: &std::path::Path| formats.iter().any(|f| base.with_extension(f.extension()).exists());
    let free = (1..10_000).map(|k| dir.join(name(k))).find(|b| !taken(b));
    let base = free.ok_or_else(|| format!("{}: no free name for versus-{}-{stamp}", dir.display(), run.id))?;
    let mut written = Vec::new();
    for f in formats {
        let path = base.with_extension(f.extension());
        std::fs::write(&path, render(run, *f)).map_err(|e| format!("{}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// The settings of one answer, as a collapsed table: the model file, then
/// every parameter of the table (the seed actually used beside a random one).
fn settings_table(out: &mut String, o: &StoredOutput, settings: &Settings) {
    let _ = writeln!(out, "\n<details><summary>Settings</summary>\n\n| | |\n|---|---|");
    let _ = writeln!(out, "| model | `{}` |", o.model.path);
    let _ = writeln!(
        out,
        "| format | {} {} {} |",
        o.model.format,
        o.model.architecture.as_deref().unwrap_or(""),
        o.model.quantization.as_deref().unwrap_or("")
    );
    let _ = writeln!(out, "| fingerprint | `{}` |", o.model.fingerprint);
    let used_seed = o.stats.as_ref().and_then(|s| s.seed);
    for p in PARAMS {
        let mut value = (p.get)(settings).replace('|', "\\|");
        if let (Some(seed), None) = (used_seed.filter(|_| p.range == crate::params::Range::Seed), settings.generation.seed) {
            value = format!("{value} (used {seed})");
        }
        let _ = writeln!(out, "| {} | {} |", p.key, if value.is_empty() { "–".into() } else { format!("`{value}`") });
    }
    let _ = writeln!(out, "\n</details>\n");
}
