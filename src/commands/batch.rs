//! Batch files: the prompts file a batch reads, and the results file it
//! appends to and resumes from.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;

use crate::engine::protocol::answer::Status;
use crate::error::Error;

/// A batch file: JSON lines (`{"prompt": …}` or a JSON string per line), or
/// else one prompt per line. Blank lines are skipped. The first line
/// decides: once it is a JSON prompt, a later line that is not is an error
/// naming it, rather than every line being sent as literal JSON.
pub fn read_prompts(path: &Path) -> Result<Vec<String>, Error> {
    let text = crate::paths::read_text(path, crate::paths::PROMPTS_CAP).map_err(|e| Error::io(path, e))?;
    let lines: Vec<(usize, &str)> = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).collect();
    let json_prompt = |l: &str| match serde_json::from_str::<serde_json::Value>(l) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        Ok(serde_json::Value::Object(o)) => match o.get("prompt") {
            Some(serde_json::Value::String(p)) => Ok(p.clone()),
            _ => Err("an object without a \"prompt\" string".to_string()),
        },
        Ok(other) => Err(format!("JSON {}, not a prompt", json_kind(&other))),
        Err(e) => Err(format!("not JSON ({e})")),
    };
    // JSON lines when the first line is a `{"prompt": …}` object, or when
    // every line is a JSON prompt; a text file whose first line happens to
    // be a quoted string stays text.
    let first_is_object = lines.first().is_some_and(|(_, l)| l.trim_start().starts_with('{') && json_prompt(l).is_ok());
    let is_json = first_is_object || (!lines.is_empty() && lines.iter().all(|(_, l)| json_prompt(l).is_ok()));
    let prompts: Vec<String> = if is_json {
        lines
            .iter()
            .map(|(n, l)| {
                json_prompt(l).map_err(|why| {
                    Error::Usage(format!(
                        "{} line {}: {why}; a JSON lines file needs {{\"prompt\": \"…\"}} or a JSON string on every line",
                        path.display(),
                        n + 1
                    ))
                })
            })
            .collect::<Result<_, _>>()?
    } else {
        lines.iter().map(|(_, l)| l.to_string()).collect()
    };
    if prompts.is_empty() {
        return Err(Error::Usage(format!("{}: no prompts in the file", path.display())));
    }
    Ok(prompts)
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "true/false",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::Array(_) => "array",
        _ => "value",
    }
}

/// (prompt index, model label) pairs in a results file, with the samples of
/// each that finished. A line counts only where its prompt is the one at
/// its index, so a changed prompts file reruns what changed, and duplicate
/// prompts each get their own result. A pair is done once all its samples
/// are (`samples = K`); one with some missing runs all K again.
pub fn finished_pairs(path: &Path, prompts: &[String]) -> HashMap<(usize, String), HashSet<u64>> {
    // Bytes, not text: a line cut inside a character must not hide the rest.
    let bytes = match crate::paths::open_regular(path).and_then(|f| {
        use std::io::Read;
        let mut b = Vec::new();
        f.take(crate::paths::PROMPTS_CAP).read_to_end(&mut b).map(|_| b)
    }) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return HashMap::new(),
        Err(e) => {
            eprintln!("versus: {}; every pair runs again", crate::paths::io_message(path, &e));
            return HashMap::new();
        }
    };
    let mut done: HashMap<(usize, String), HashSet<u64>> = HashMap::new();
    let text = String::from_utf8_lossy(&bytes);
    let finished = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["status"] == Status::Finished.as_str())
        .filter_map(|v| {
            let index = usize::try_from(v["prompt_index"].as_u64()?).ok()?;
            let pair = (prompts.get(index).map(String::as_str) == v["prompt"].as_str())
                .then(|| Some((index, v["model"]["name"].as_str()?.to_string())))??;
            Some((pair, v["sample"].as_u64().unwrap_or(0)))
        });
    for (pair, sample) in finished {
        done.entry(pair).or_default().insert(sample);
    }
    done
}

/// Open the results file. When resuming, lines that are not whole JSON
/// (a run killed mid-write cuts its last one) are moved out to `FILE.cut`
/// and said on stderr, so every line of the results parses afterwards and
/// their pairs run again instead of being glued onto the next result.
pub fn open_results(path: &Path, resume: bool) -> std::io::Result<std::fs::File> {
    if resume {
        set_apart_cut_lines(path)?;
    }
    std::fs::OpenOptions::new().create(true).read(true).write(true).append(resume).truncate(!resume).open(path)
}

fn set_apart_cut_lines(path: &Path) -> std::io::Result<()> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let mut good = Vec::with_capacity(bytes.len());
    let mut cut: Vec<(usize, &[u8])> = Vec::new();
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if serde_json::from_slice::<serde_json::Value>(line).is_ok() {
            good.extend_from_slice(line);
            good.push(b'\n');
        } else {
            cut.push((i + 1, line));
        }
    }
    if cut.is_empty() {
        return Ok(());
    }
    let aside = path.with_file_name(format!("{}.cut", path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()));
    let mut out = std::fs::OpenOptions::new().create(true).append(true).open(&aside)?;
    for (_, line) in &cut {
        out.write_all(line)?;
        out.write_all(b"\n")?;
    }
    // The results without them, replaced in one step.
    let tmp = path.with_file_name(format!(".{}.tmp", path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()));
    std::fs::write(&tmp, &good)?;
    std::fs::rename(&tmp, path)?;
    let lines: Vec<String> = cut.iter().map(|(n, _)| n.to_string()).collect();
    eprintln!(
        "versus: {}: line{} {} {} not whole JSON (a run killed mid-write); moved to {}, and {} pair{} run again",
        path.display(),
        if cut.len() == 1 { "" } else { "s" },
        lines.join(", "),
        if cut.len() == 1 { "was" } else { "were" },
        aside.display(),
        if cut.len() == 1 { "its" } else { "their" },
        if cut.len() == 1 { "" } else { "s" }
    );
    Ok(())
}
