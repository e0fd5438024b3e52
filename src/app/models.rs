//! The model list: one entry per discovered model, plus the copies a user
//! adds to compare settings or engines of one model.

use crate::catalog::ModelInfo;
use crate::engine::EngineKind;
use crate::params::Settings;

#[derive(Debug, Clone, PartialEq)]
pub struct ListEntry {
    /// Index into the catalog's models.
    pub model: usize,
    pub engine: EngineKind,
    pub settings: Settings,
    /// The settings the model has from the config: a column's label shows
    /// what differs from them.
    pub base: Settings,
    pub selected: bool,
    /// 0 for the discovered model, n for its n-th copy.
    pub copy: u32,
}

/// The list with its cursor and filter.
#[derive(Debug, Clone, Default)]
pub struct ModelList {
    pub models: Vec<ModelInfo>,
    pub entries: Vec<ListEntry>,
    /// Index into `visible()`.
    pub cursor: usize,
    pub filter: String,
    pub filtering: bool,
}

impl ModelList {
    pub fn new(models: Vec<ModelInfo>, settings_for: impl Fn(&ModelInfo) -> Settings) -> ModelList {
        let entries = models
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let s = settings_for(m);
                ListEntry {
                    model: i,
                    engine: crate::engine::engines_for(&m).first().copied().unwrap_or_default(),
                    base: s.clone(),
                    settings: s,
                    selected: false,
                    copy: 0,
                }
            })
            .collect();
        ModelList { models, entries, ..ModelList::default() }
    }

    pub fn model(&self, entry: &ListEntry) -> &ModelInfo {
        &self.models[entry.model]
    }

    /// Entry indices that pass the filter, in list order.
    pub fn visible(&self) -> Vec<usize> {
        let f = self.filter.to_lowercase();
        (0..self.entries.len()).filter(|&i| f.is_empty() || self.models[self.entries[i].model].name.to_lowercase().contains(&f)).collect()
    }

    /// The entry under the cursor.
    pub fn current(&self) -> Option<usize> {
        self.visible().get(self.cursor).copied()
    }

    pub fn move_by(&mut self, delta: isize) {
        let n = self.visible().len();
        if n == 0 {
            self.cursor = 0;
            return;
        }
        self.cursor = (self.cursor as isize + delta).clamp(0, n as isize - 1) as usize;
    }

    pub fn toggle(&mut self) {
        if let Some(i) = self.current() {
            if self.models[self.entries[i].model].error.is_none() {
                self.entries[i].selected = !self.entries[i].selected;
            }
        }
    }

    /// Add a selected copy of the current entry right after it.
    pub fn duplicate(&mut self) {
        let Some(i) = self.current() else { return };
        let mut copy = self.entries[i].clone();
        copy.copy = self.entries.iter().filter(|e| e.model == copy.model).map(|e| e.copy).max().unwrap_or(0) + 1;
        copy.selected = true;
        self.entries.insert(i + 1, copy);
        self.move_by(1);
    }

    /// Remove the current entry if it is a copy.
    pub fn remove(&mut self) -> bool {
        match self.current() {
            Some(i) if self.entries[i].copy > 0 => {
                self.entries.remove(i);
                self.move_by(0);
                true
            }
            _ => false,
        }
    }

    /// Switch the current entry to the model's next engine.
    pub fn cycle_engine(&mut self) -> Option<EngineKind> {
        let i = self.current()?;
        let engines = crate::engine::engines_for(&self.models[self.entries[i].model]);
        let pos = engines.iter().position(|e| *e == self.entries[i].engine).unwrap_or(0);
        let next = *engines.get((pos + 1) % engines.len().max(1))?;
        self.entries[i].engine = next;
        Some(next)
    }

    /// Select the models of resolved specs (the TUI's `-m`), with their
    /// engines and settings; a model named a second time gets a copy.
    pub fn select_entries(&mut self, wanted: &[crate::engine::RunEntry]) {
        for w in wanted {
            let found = self.entries.iter().position(|e| e.copy == 0 && self.models[e.model].path == w.model.path);
            let Some(i) = found else {
                // A path outside the scanned folders, or a server's model.
                self.models.push(w.model.clone());
                let settings = w.settings.clone();
                let model = self.models.len() - 1;
                self.entries.push(ListEntry { model, engine: w.engine, base: settings.clone(), settings, selected: true, copy: 0 });
                continue;
            };
            let mut entry = self.entries[i].clone();
            entry.engine = w.engine;
            entry.settings = w.settings.clone();
            entry.selected = true;
            if self.entries[i].selected {
                entry.copy = self.entries.iter().filter(|e| e.model == entry.model).map(|e| e.copy).max().unwrap_or(0) + 1;
                self.entries.insert(i + 1, entry);
            } else {
                self.entries[i] = entry;
            }
        }
    }

    pub fn selected(&self) -> Vec<usize> {
        (0..self.entries.len()).filter(|&i| self.entries[i].selected).collect()
    }

    /// Name, engine when not the default, and settings that differ.
    pub fn label(&self, i: usize) -> String {
        let e = &self.entries[i];
        crate::spec::label(&self.models[e.model], e.engine, &e.settings.diff(&e.base))
    }
}
