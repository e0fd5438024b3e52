//! `versus list`: every discovered model as a table, or JSON.

use serde::Serialize;

use crate::catalog::{Catalog, ModelInfo};

/// One model as `list --json` prints it: the model plus derived fields.
#[derive(Serialize)]
pub struct Listed<'a> {
    #[serde(flatten)]
    pub model: &'a ModelInfo,
    pub engines: Vec<&'static str>,
    pub size: String,
}

pub fn json(catalog: &Catalog) -> String {
    let rows: Vec<Listed<'_>> = catalog
        .models
        .iter()
        .map(|m| Listed { model: m, engines: crate::engine::engines_for(&m).iter().map(|e| e.label()).collect(), size: m.size_label() })
        .collect();
    serde_json::to_string_pretty(&rows).unwrap_or_else(|e| {
        tracing::error!("list --json: {e}");
        "[]".into()
    })
}

pub fn table(catalog: &Catalog) -> String {
    if catalog.models.is_empty() {
        return no_models_help(catalog);
    }
    let header = ["NAME", "FORMAT", "ENGINES", "ARCH", "QUANT", "PARAMS", "CTX", "TEMPLATE", "SOURCE", "PATH"];
    let rows: Vec<[String; 10]> = catalog
        .models
        .iter()
        .map(|m| {
            let engines: Vec<&str> = crate::engine::engines_for(&m).iter().map(|e| e.label()).collect();
            [
                m.name.clone(),
                m.format.label().to_string(),
                if engines.is_empty() { "-".into() } else { engines.join(",") },
                m.architecture.clone().unwrap_or_else(|| "-".into()),
                m.quantization.clone().unwrap_or_else(|| "-".into()),
                m.size_label(),
                m.context_length.map_or_else(|| "-".into(), |c| c.to_string()),
                if m.chat_template { "yes".into() } else { "no".into() },
                m.source.label().to_string(),
                m.path.display().to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: &[&str]| {
        let mut l = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths.iter()).enumerate() {
            if i + 1 == cells.len() {
                l.push_str(cell);
            } else {
                l.push_str(&format!("{cell:<w$}  ", w = *w));
            }
        }
        l.trim_end().to_string() + "\n"
    };
    out.push_str(&line(&header));
    for (r, m) in rows.iter().zip(&catalog.models) {
        let cells: Vec<&str> = r.iter().map(String::as_str).collect();
        out.push_str(&line(&cells));
        if let Some(e) = &m.error {
            out.push_str(&format!("  └ error: {e}\n"));
        }
    }
    out
}

/// What to do when nothing was found.
pub fn no_models_help(catalog: &Catalog) -> String {
    let mut out = String::from("No models found. Looked in:\n");
    for r in &catalog.roots {
        out.push_str(&format!(
            "  {:<12} {}{}\n",
            r.source.label(),
            r.path.display(),
            r.note.as_ref().map(|n| format!(" ({n})")).unwrap_or_default()
        ));
    }
    out.push_str(
        "\nFetch the demo model (Gemma 3 270M, 241 MiB) with scripts/fetch-demo-model.sh,\n\
         put GGUF files or Hugging Face folders in ~/.local/share/versus/models,\n\
         or pass folders: versus list ~/models\n",
    );
    out
}

pub fn run(catalog: &Catalog, as_json: bool) -> u8 {
    let text = if as_json { json(catalog) + "\n" } else { table(catalog) };
    super::print_text(&text);
    super::exit::OK
}
