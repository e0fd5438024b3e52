//! Exports of a stored run: Markdown that reads well on GitHub, JSON that
//! round-trips through serde, CSV for spreadsheets, plain text for terminals;
//! the HTML report is in `html.rs`.

use std::fmt::Write as _;

use super::votes::{describe, place, verdict_note};
use super::{StoredOutput, StoredRun};
use crate::engine::answer::Status;
use crate::error::human_bytes;
use crate::params::Settings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Md,
    Json,
    Csv,
    Txt,
    /// One self-contained page (`html.rs`).
    Html,
}

impl Format {
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

/// A duration for people: "41 ms", "1.20 s".
pub(super) fn ms(v: f64) -> String {
    if v >= 1000.0 { format!("{:.2} s", v / 1e3) } else { format!("{v:.0} ms") }
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
        let _ = writeln!(out, "| load | first token | prompt | generation | tokens | peak memory | stop |");
        let _ = writeln!(out, "|---|---|---|---|---|---|---|");
        match &o.stats {
            Some(s) => {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} tok · {:.0} tok/s | {:.1} tok/s | {} | {} | {} |",
                    if s.remote { "n/a (remote)".to_string() } else { ms(s.load_ms) },
                    s.ttft_ms.map_or_else(|| "–".into(), ms),
                    s.prompt_tokens,
                    s.prompt_tps,
                    s.decode_tps,
                    s.generated_tokens,
                    if s.remote { "n/a (remote)".to_string() } else { human_bytes(s.peak_rss_bytes) },
                    s.stop_reason.as_ref().map_or_else(|| o.status.to_string(), |r| r.label())
                );
            }
            None => {
                let _ = writeln!(out, "| – | – | – | – | – | – | {} |", o.status);
            }
        }
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

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

pub fn csv(run: &StoredRun) -> String {
    let mut out = String::from(
        "run,started_at,prompt,turn,slot,label,model,engine,path,status,stop_reason,load_ms,ttft_ms,prompt_tokens,prompt_tps,generated_tokens,decode_tps,peak_rss_bytes,seed,ttfa_ms,thinking_tokens,votes,error,thinking,text\n",
    );
    let turns = std::iter::once((1, run.prompt.as_str(), &run.outputs))
        .chain(run.turns.iter().map(|t| (t.turn + 1, t.prompt.as_str(), &t.outputs)));
    for (o, turn, prompt) in turns.flat_map(|(n, p, outs)| outs.iter().map(move |o| (o, n, p))) {
        let s = o.stats.clone().unwrap_or_default();
        let stop = s.stop_reason.as_ref().map(|r| r.label()).unwrap_or_default();
        let fields = [
            run.id.to_string(),
            run.started_at.clone(),
            prompt.to_string(),
            turn.to_string(),
            o.slot.to_string(),
            o.label.clone(),
            o.model.name.clone(),
            o.model.engine.clone(),
            o.model.path.clone(),
            o.status.to_string(),
            stop,
            format!("{:.1}", s.load_ms),
            s.ttft_ms.map(|t| format!("{t:.1}")).unwrap_or_default(),
            s.prompt_tokens.to_string(),
            format!("{:.2}", s.prompt_tps),
            s.generated_tokens.to_string(),
            format!("{:.2}", s.decode_tps),
            s.peak_rss_bytes.to_string(),
            s.seed.map(|x| x.to_string()).unwrap_or_default(),
            s.ttfa_ms.map(|t| format!("{t:.1}")).unwrap_or_default(),
            s.thinking_tokens.to_string(),
            // Its place in each vote ("=1": tied first), oldest vote first.
            run.votes.iter().map(|v| place(v, o.slot)).collect::<Vec<_>>().join(" "),
            o.error.clone().unwrap_or_default(),
            o.thinking.clone(),
            o.text.clone(),
        ];
        out.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        out.push('\n');
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
}

/// The label of slot `slot` in `run`.
fn label(run: &StoredRun, slot: usize) -> String {
    run.outputs.iter().find(|o| o.slot == slot).map_or_else(|| format!("answer {}", slot + 1), |o| o.label.clone())
}

/// Write the Markdown and JSON exports of `run` into `dir`; returns both paths.
pub fn write_files(run: &StoredRun, dir: &std::path::Path) -> Result<(std::path::PathBuf, std::path::PathBuf), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let stamp: String = run.started_at.chars().filter(|c| c.is_ascii_digit()).take(14).collect();
    // Never replace an earlier export: the next free "-2", "-3"… instead.
    let name = |k: usize| if k < 2 { format!("versus-{}-{stamp}", run.id) } else { format!("versus-{}-{stamp}-{k}", run.id) };
    let free = (1..).map(|k| dir.join(name(k))).find(|b| !b.with_extension("md").exists() && !b.with_extension("json").exists());
    let base = free.unwrap_or_else(|| dir.join(name(0)));
    let md = base.with_extension("md");
    let json = base.with_extension("json");
    std::fs::write(&md, markdown(run)).map_err(|e| format!("{}: {e}", md.display()))?;
    std::fs::write(&json, render(run, Format::Json)).map_err(|e| format!("{}: {e}", json.display()))?;
    Ok((md, json))
}

/// The settings of one answer, as a collapsed table.
fn settings_table(out: &mut String, o: &StoredOutput, settings: &Settings) {
    let g = &settings.generation;
    let seed = o.stats.as_ref().and_then(|s| s.seed).or(g.seed).map_or_else(|| "random".into(), |s| s.to_string());
    let _ = writeln!(
        out,
        "\n<details><summary>Settings</summary>\n\n| | |\n|---|---|\n| model | `{}` |\n| format | {} {} {} |\n| fingerprint | `{}` |\n| temperature | {} |\n| top_k / top_p / min_p | {} / {} / {} |\n| repeat penalty | {} over {} |\n| max tokens | {} |\n| seed | {} |\n| context | {} |\n| raw | {} |\n\n</details>\n",
        o.model.path,
        o.model.format,
        o.model.architecture.as_deref().unwrap_or(""),
        o.model.quantization.as_deref().unwrap_or(""),
        o.model.fingerprint,
        g.temperature,
        g.top_k,
        g.top_p,
        g.min_p,
        g.repeat_penalty,
        g.repeat_last_n,
        g.max_tokens,
        seed,
        settings.backend.context_size,
        g.raw
    );
}
