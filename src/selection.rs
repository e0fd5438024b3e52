//! What the TUI keeps between launches: the models selected, with their
//! copies, engines and parameters, written to `$XDG_STATE_HOME/versus/
//! selection.json` when a run starts and when versus quits, and put back
//! at the next start unless `-m` names models. A model no longer found is
//! left out (and said in the status line).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::app::{ListEntry, ModelList};
use crate::engine::EngineKind;
use crate::params::Settings;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    /// The model's file or folder (its name as a fallback).
    pub path: String,
    pub name: String,
    pub engine: EngineKind,
    pub settings: Settings,
    pub copy: u32,
}

pub fn file(state_dir: &Path) -> PathBuf {
    state_dir.join("selection.json")
}

/// Write the selected entries of `list`; an error is logged, not shown.
pub fn save(state_dir: &Path, list: &ModelList) {
    let saved: Vec<Saved> = list
        .entries
        .iter()
        .filter(|e| e.selected)
        .map(|e| {
            let m = list.model(e);
            Saved {
                path: m.path.to_string_lossy().into_owned(),
                name: m.name.clone(),
                engine: e.engine,
                settings: e.settings.clone(),
                copy: e.copy,
            }
        })
        .collect();
    let path = file(state_dir);
    let written =
        std::fs::create_dir_all(state_dir).and_then(|()| std::fs::write(&path, serde_json::to_vec_pretty(&saved).unwrap_or_default()));
    if let Err(e) = written {
        tracing::warn!("{}: {e}", path.display());
    }
}

/// Select what was selected last time; how many saved entries are gone.
pub fn restore(state_dir: &Path, list: &mut ModelList) -> usize {
    let Ok(text) = std::fs::read_to_string(file(state_dir)) else { return 0 };
    let Ok(saved) = serde_json::from_str::<Vec<Saved>>(&text) else {
        tracing::warn!("{}: unreadable, the selection starts empty", file(state_dir).display());
        return 0;
    };
    let mut gone = 0;
    for s in saved {
        let found = list
            .models
            .iter()
            .position(|m| m.path.to_string_lossy() == s.path && m.error.is_none())
            .or_else(|| list.models.iter().position(|m| m.name == s.name && m.error.is_none()));
        let Some(model) = found else {
            gone += 1;
            continue;
        };
        let engines = crate::engine::engines_for(&list.models[model]);
        let engine = if engines.contains(&s.engine) { s.engine } else { engines.first().copied().unwrap_or(s.engine) };
        match list.entries.iter().position(|e| e.model == model && e.copy == s.copy) {
            Some(i) => {
                let e = &mut list.entries[i];
                e.engine = engine;
                e.settings = s.settings;
                e.selected = true;
            }
            None => {
                let Some(first) = list.entries.iter().rposition(|e| e.model == model) else { continue };
                let base = list.entries[first].base.clone();
                let entry = ListEntry { model, engine, settings: s.settings, base, selected: true, copy: s.copy };
                list.entries.insert(first + 1, entry);
            }
        }
    }
    gone
}
