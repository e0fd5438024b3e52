//! The HTML report of a stored comparison: one self-contained file (styles
//! inline, no script, no network) with the prompt, the answers side by side
//! rendered from Markdown with code highlighted, the thinking folded away,
//! the stats, word diffs against the first answer, the votes and every
//! model's settings.

use std::fmt::Write as _;

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

use super::votes::{describe, non_default};
use super::{StoredOutput, StoredRun};
use crate::engine::protocol::figures::{self, Figure};
use crate::params::PARAMS;

const STYLE: &str = "
body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;padding:24px;color:#1f2328;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:24px 0 8px}
.meta{color:#59636e;margin:0 0 16px}
.prompt{background:#f6f8fa;border:1px solid #d1d9e0;border-radius:6px;padding:10px 14px;white-space:pre-wrap;font:14px/1.45 ui-monospace,Menlo,monospace}
.answers{display:grid;gap:16px;align-items:start}
.answer{border:1px solid #d1d9e0;border-radius:8px;padding:12px 16px;min-width:0;overflow-wrap:anywhere}
.answer h3{font-size:16px;margin:0 0 6px}.engine{color:#59636e;font-weight:normal}
.status{display:inline-block;font-size:12px;padding:1px 8px;border-radius:10px;background:#ddf4ff;color:#0969da;margin-bottom:8px}
.status.failed{background:#ffebe9;color:#cf222e}.status.cancelled{background:#fff8c5;color:#9a6700}
.md pre{overflow-x:auto;padding:10px;border-radius:6px;background:#f6f8fa;font:13px/1.45 ui-monospace,Menlo,monospace}
.md code{font:13px ui-monospace,Menlo,monospace;background:#eff1f3;padding:1px 4px;border-radius:4px}.md pre code{background:none;padding:0}
.md table,table.stats,table.settings{border-collapse:collapse}.md td,.md th,table.stats td,table.stats th,table.settings td,table.settings th{border:1px solid #d1d9e0;padding:4px 8px}
.md blockquote{margin:0;padding-left:12px;border-left:3px solid #d1d9e0;color:#59636e}
details.thinking{color:#59636e;margin-bottom:8px}details.thinking div{white-space:pre-wrap;font-style:italic}
.error{color:#cf222e;font-weight:600}
table.stats td{text-align:right}table.stats td:first-child{text-align:left}
.diff{white-space:pre-wrap;border:1px solid #d1d9e0;border-radius:6px;padding:10px;overflow-wrap:anywhere}
del{background:#ffebe9;color:#82071e}ins{background:#dafbe1;color:#116329;text-decoration:none}
.settings-grid{display:grid;gap:16px;align-items:start}
tr.changed td{font-weight:600}
footer{color:#59636e;font-size:12px;margin-top:24px}
";

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An answer's Markdown as HTML: code blocks highlighted with inline
/// colours; raw HTML the model wrote is shown as text, never interpreted.
pub fn markdown_html(text: &str) -> String {
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut events = Vec::new();
    let mut code: Option<(String, String)> = None;
    for ev in Parser::new_ext(text, opts) {
        match ev {
            Event::Start(Tag::CodeBlock(kind)) => {
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => info.to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                code = Some((lang, String::new()));
            }
            Event::Text(t) if code.is_some() => {
                if let Some((_, body)) = code.as_mut() {
                    body.push_str(&t);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some((lang, body)) = code.take() {
                    let html =
                        crate::markdown::code::html(&body, &lang).unwrap_or_else(|| format!("<pre><code>{}</code></pre>", esc(&body)));
                    events.push(Event::Html(html.into()));
                }
            }
            Event::Html(t) | Event::InlineHtml(t) => events.push(Event::Text(t)),
            other => events.push(other),
        }
    }
    let mut out = String::new();
    pulldown_cmark::html::push_html(&mut out, events.into_iter());
    out
}

fn answer(out: &mut String, o: &StoredOutput) {
    let _ = write!(
        out,
        "<article class=\"answer\"><h3>{}. {} <span class=\"engine\">· {}</span></h3><span class=\"status {}\">{}</span>",
        o.slot + 1,
        esc(&o.label),
        esc(&o.model.engine),
        o.status.as_str(),
        o.status.as_str()
    );
    if !o.thinking.is_empty() {
        let tokens = o.stats.as_ref().map(|s| format!(" ({} tokens)", s.thinking_tokens)).unwrap_or_default();
        let _ = write!(out, "<details class=\"thinking\"><summary>Thinking{tokens}</summary><div>{}</div></details>", esc(&o.thinking));
    }
    let _ = write!(out, "<div class=\"md\">{}</div>", markdown_html(&o.text));
    if let Some(e) = &o.error {
        let _ = write!(out, "<p class=\"error\">{}</p>", esc(e));
    }
    receipt(out, o.stats.as_ref(), "Receipt");
    // The model's further samples of the prompt, each folded.
    for s in &o.samples {
        let _ = write!(
            out,
            "<details class=\"sample\"><summary>Sample {} · {}{}</summary><div class=\"md\">{}</div>",
            s.sample + 1,
            s.status.as_str(),
            s.stats.as_ref().and_then(|x| x.seed).map(|x| format!(" · seed {x}")).unwrap_or_default(),
            markdown_html(&s.text)
        );
        if let Some(e) = &s.error {
            let _ = write!(out, "<p class=\"error\">{}</p>", esc(e));
        }
        receipt(out, s.stats.as_ref(), &format!("Receipt of sample {}", s.sample + 1));
        out.push_str("</details>");
    }
    out.push_str("</article>");
}

/// What decided an answer's tokens, folded under its text.
fn receipt(out: &mut String, stats: Option<&crate::engine::Stats>, title: &str) {
    let Some(r) = stats.and_then(|s| s.receipt.as_ref()) else { return };
    let _ = write!(out, "<details class=\"receipt\"><summary>{}</summary><table class=\"settings\">", esc(title));
    for (k, v) in r.fields() {
        let _ = write!(out, "<tr><td>{k}</td><td>{}</td></tr>", esc(&v));
    }
    out.push_str("</table></details>");
}

fn stats(out: &mut String, run: &StoredRun) {
    let figures: Vec<&Figure> = figures::at_a_glance().collect();
    out.push_str("<h2>Stats</h2><table class=\"stats\"><tr><th>model</th>");
    for f in &figures {
        let _ = write!(out, "<th>{}</th>", f.label);
    }
    out.push_str("</tr>");
    for o in &run.outputs {
        let _ = write!(out, "<tr><td>{}. {}</td>", o.slot + 1, esc(&o.label));
        for f in &figures {
            let _ = write!(out, "<td>{}</td>", esc(&o.figure(f)));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
}

/// Each answer against the first, word by word.
fn diffs(out: &mut String, run: &StoredRun) {
    let Some(first) = run.outputs.first() else { return };
    if run.outputs.len() < 2 {
        return;
    }
    out.push_str("<h2>Differences</h2>");
    for o in &run.outputs[1..] {
        let (left, right, similarity) = crate::wordiff::word_diff(&first.text, &o.text);
        let _ = write!(
            out,
            "<h3>{}. {} against {}. {} · {:.0}% of words in common</h3><div class=\"diff\">",
            o.slot + 1,
            esc(&o.label),
            first.slot + 1,
            esc(&first.label),
            similarity * 100.0
        );
        // One text: what only the first has struck out, what only this one has inserted.
        let (mut i, mut j) = (0, 0);
        while i < left.len() || j < right.len() {
            match (left.get(i), right.get(j)) {
                (Some((true, w)), _) => {
                    let _ = write!(out, "<del>{}</del>", esc(w));
                    i += 1;
                }
                (_, Some((true, w))) => {
                    let _ = write!(out, "<ins>{}</ins>", esc(w));
                    j += 1;
                }
                (Some((false, w)), _) => {
                    out.push_str(&esc(w));
                    i += 1;
                    j += 1;
                }
                (None, Some((false, w))) => {
                    out.push_str(&esc(w));
                    j += 1;
                }
                (None, None) => break,
            }
        }
        out.push_str("</div>");
    }
}

fn settings(out: &mut String, run: &StoredRun) {
    out.push_str("<h2>Settings</h2><div class=\"settings-grid\" style=\"grid-template-columns:repeat(auto-fill,minmax(300px,1fr))\">");
    for o in &run.outputs {
        let _ = write!(out, "<table class=\"settings\"><tr><th colspan=\"2\">{}. {}</th></tr>", o.slot + 1, esc(&o.label));
        let _ = write!(
            out,
            "<tr><td>file</td><td>{}</td></tr><tr><td>format</td><td>{} {} {}</td></tr><tr><td>fingerprint</td><td>{}</td></tr>",
            esc(&o.model.path),
            esc(&o.model.format),
            esc(o.model.architecture.as_deref().unwrap_or("")),
            esc(o.model.quantization.as_deref().unwrap_or("")),
            esc(&o.model.fingerprint)
        );
        match &o.settings {
            Some(s) => {
                let changed = non_default(s);
                for p in PARAMS {
                    let value = (p.get)(s);
                    let class = if changed.iter().any(|c| c.starts_with(&format!("{}=", p.key))) { " class=\"changed\"" } else { "" };
                    let _ = write!(out, "<tr{class}><td>{}</td><td>{}</td></tr>", p.key, esc(&value));
                }
            }
            None => out.push_str("<tr><td colspan=\"2\">the settings could not be read from the history</td></tr>"),
        }
        out.push_str("</table>");
    }
    out.push_str("</div>");
}

fn head(out: &mut String, title: &str) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{}</title><style>{STYLE}</style></head><body>",
        esc(title)
    );
}

pub fn html(run: &StoredRun) -> String {
    let mut out = String::new();
    head(&mut out, &format!("versus comparison #{}", run.id));
    body(&mut out, run);
    let _ = write!(out, "<footer>versus {} · {} · {}</footer></body></html>\n", esc(&run.version), esc(&run.device), esc(&run.host));
    out
}

/// Several comparisons (a batch): the prompts × models table, then each one.
pub fn html_many(runs: &[StoredRun]) -> String {
    let mut out = String::new();
    head(&mut out, &format!("versus report · {} comparisons", runs.len()));
    let _ = write!(out, "<h1>versus report</h1><p class=\"meta\">{} comparisons</p>", runs.len());
    let m = super::matrix::build(runs);
    out.push_str("<h2>Prompts × models</h2><table class=\"stats\"><tr><th>prompt</th>");
    for name in &m.models {
        let _ = write!(out, "<th>{}</th>", esc(name));
    }
    out.push_str("</tr>");
    for (p, row) in m.cells.iter().enumerate() {
        let prompt: String = m.prompts[p].prompt.chars().take(80).collect();
        let _ = write!(out, "<tr><td><a href=\"#run-{}\">#{}</a> {}</td>", m.prompts[p].id, m.prompts[p].id, esc(&prompt));
        for c in row {
            let text = match c {
                None => "–".to_string(),
                Some(c) => {
                    let mut s = format!("{} · {} chars", c.status, c.chars);
                    if let Some(t) = c.tokens_per_s {
                        s.push_str(&format!(" · {t:.1} tok/s"));
                    }
                    if let Some(j) = c.judge {
                        s.push_str(&format!(" · judge {j:.1}"));
                    }
                    let places: Vec<&str> = c.votes.iter().map(String::as_str).filter(|p| !p.is_empty()).collect();
                    if !places.is_empty() {
                        s.push_str(&format!(" · place {}", places.join(", ")));
                    }
                    s
                }
            };
            let _ = write!(out, "<td>{}</td>", esc(&text));
        }
        out.push_str("</tr>");
    }
    out.push_str("<tr><th>total</th>");
    for t in &m.totals {
        let judge = t.mean_judge.map(|j| format!(" · judge {j:.1}")).unwrap_or_default();
        let _ = write!(out, "<th>{}/{} finished · {:.0} chars{judge} · {} first places</th>", t.finished, t.answers, t.mean_chars, t.wins);
    }
    out.push_str("</tr></table>");
    for run in runs {
        let _ = write!(out, "<hr id=\"run-{}\">", run.id);
        body(&mut out, run);
    }
    out.push_str("</body></html>\n");
    out
}

fn body(out: &mut String, run: &StoredRun) {
    let _ = write!(
        out,
        "<h1>versus comparison #{}</h1><p class=\"meta\">{} · {} model{} · {} · {}</p>",
        run.id,
        esc(&run.started_at),
        run.outputs.len(),
        if run.outputs.len() == 1 { "" } else { "s" },
        run.state.as_str(),
        esc(&run.device)
    );
    let first = if run.turns.is_empty() { "Prompt".to_string() } else { format!("Turn 1 of {}", run.turns.len() + 1) };
    let _ = write!(out, "<h2>{first}</h2><div class=\"prompt\">{}</div>", esc(&run.prompt));
    if !run.system_prompt.is_empty() {
        let _ = write!(out, "<h2>System prompt</h2><div class=\"prompt\">{}</div>", esc(&run.system_prompt));
    }
    let n = run.outputs.len().clamp(1, 4);
    let _ = write!(out, "<h2>Answers</h2><section class=\"answers\" style=\"grid-template-columns:repeat({n},minmax(0,1fr))\">");
    for o in &run.outputs {
        answer(out, o);
    }
    out.push_str("</section>");
    // Follow-up turns: each prompt, then the answers side by side.
    for t in &run.turns {
        let _ = write!(out, "<h2>Turn {}</h2><div class=\"prompt\">{}</div>", t.turn + 1, esc(&t.prompt));
        let _ = write!(out, "<section class=\"answers\" style=\"grid-template-columns:repeat({n},minmax(0,1fr))\">");
        for o in &t.outputs {
            answer(out, o);
        }
        out.push_str("</section>");
    }
    stats(out, run);
    diffs(out, run);
    if !run.votes.is_empty() {
        out.push_str("<h2>Votes</h2><ul class=\"votes\">");
        let label = |s: usize| run.outputs.iter().find(|o| o.slot == s).map_or_else(|| format!("answer {}", s + 1), |o| o.label.clone());
        for v in &run.votes {
            let note = super::votes::verdict_note(v, &label);
            let note = if note.is_empty() { String::new() } else { format!("<br><small>{}</small>", esc(&note)) };
            let _ = write!(out, "<li>{} · {}: {}{note}</li>", esc(&v.created_at), esc(&v.voter), esc(&describe(v, &label)));
        }
        out.push_str("</ul>");
    }
    settings(out, run);
    for p in &run.problems {
        let _ = write!(out, "<p class=\"error\">{}</p>", esc(p));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn markdown_is_rendered_code_highlighted_and_html_escaped() {
        let h = super::markdown_html("# Hi\n\n<script>alert(1)</script>\n\n```rust\nfn main() {}\n```\n");
        assert!(h.contains("<h1>Hi</h1>"), "{h}");
        assert!(!h.contains("<script>") && h.contains("&lt;script&gt;"), "{h}");
        assert!(h.contains("<pre style=\"background-color:"), "{h}");
        assert!(h.contains("<span style=\"color:"), "{h}");
    }
}
