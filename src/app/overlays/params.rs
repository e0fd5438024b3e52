//! The parameters popup: every key of `params::PARAMS` for one list entry
//! with its value, range and help, edited as text and validated by
//! `Settings::set` as you confirm; closing it gives the entry its values.

use crossterm::event::KeyEvent;

use ratatui::Frame;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::{Ctx, Overlay, Reply, centered, type_into};
use crate::app::App;
use crate::keymap::{Action, Scope};
use crate::params::{PARAMS, Settings};

#[derive(Debug, Clone, PartialEq)]
pub struct ParamsEditor {
    /// The list entry being edited, and its model's name (the title).
    pub entry: usize,
    pub model: String,
    pub settings: Settings,
    /// What the model has from the config: an emptied value goes back to it.
    pub base: Settings,
    pub row: usize,
    /// The value being typed, when editing a row.
    pub input: Option<String>,
    /// Why the last value was refused.
    pub error: Option<String>,
}

impl ParamsEditor {
    pub fn new(entry: usize, model: String, settings: Settings, base: Settings) -> ParamsEditor {
        ParamsEditor { entry, model, settings, base, row: 0, input: None, error: None }
    }

    /// The parameter on the current row.
    pub fn current(&self) -> &'static str {
        PARAMS[self.row.min(PARAMS.len() - 1)].key
    }

    pub fn move_by(&mut self, delta: isize) {
        self.row = (self.row as isize + delta).clamp(0, PARAMS.len() as isize - 1) as usize;
        self.error = None;
    }

    pub fn begin(&mut self) {
        self.input = Some(self.settings.get(self.current()));
        self.error = None;
    }

    /// Apply the typed value; on error keep editing and show why.
    pub fn commit(&mut self) {
        let Some(mut text) = self.input.clone() else { return };
        let key = self.current();
        // Emptied: the model's own value again (where empty is no value of
        // its own, as it is for text, lists, shares and the seed).
        let empty_means_something = PARAMS.iter().find(|p| p.key == key).is_some_and(|p| {
            matches!(
                p.range,
                crate::params::Range::Text | crate::params::Range::List | crate::params::Range::Shares | crate::params::Range::Seed
            )
        });
        if text.trim().is_empty() && !empty_means_something {
            text = self.base.get(key);
        }
        match self.settings.set(key, &text) {
            Ok(()) => {
                self.input = None;
                self.error = None;
            }
            Err(e) => self.error = Some(e),
        }
    }
}

impl Overlay for ParamsEditor {
    fn scope(&self) -> Scope {
        if self.input.is_some() { Scope::ParamInput } else { Scope::Params }
    }

    fn paste(&mut self, text: &str) -> bool {
        if let Some(input) = self.input.as_mut() {
            input.push_str(&text.replace(['\r', '\n'], " "));
        }
        true
    }

    fn name(&self) -> &'static str {
        "params"
    }

    fn draw(&self, frame: &mut Frame<'_>, ctx: &Ctx<'_>) {
        let (t, p) = (ctx.theme, self);
        let name = &p.model;
        let area = centered(frame.area(), 90, PARAMS.len() as u16 + 4);
        // Rows that fit between the border and the message line; on a short
        // terminal the list scrolls to keep the current row in view.
        let rows = (area.height as usize).saturating_sub(4).max(1);
        let first = p.row.saturating_sub(rows / 2).min(PARAMS.len().saturating_sub(rows));
        let mut lines = Vec::new();
        for (i, spec) in PARAMS.iter().enumerate().skip(first).take(rows) {
            let current = i == p.row;
            let value = match (&p.input, current) {
                (Some(input), true) => format!("{input}▏"),
                _ => p.settings.get(spec.key),
            };
            let (row, mark) = if current { (t.selected, "›") } else { (ratatui::style::Style::new(), " ") };
            lines.push(Line::from(vec![
                Span::styled(format!("{mark}{:<15}", spec.key), row.patch(t.accent)),
                Span::styled(format!("{value:<22}"), row.add_modifier(Modifier::BOLD)),
                Span::styled(format!(" {}", spec.describe()), row.patch(t.dim_on(current))),
            ]));
        }
        lines.push(Line::from(""));
        let k = |a: Action| ctx.keymap.label(a);
        match &p.error {
            Some(e) => lines.push(Line::styled(format!(" {e}"), t.error)),
            None => lines.push(Line::styled(
                format!(
                    " {} edits (empty: the model's default) · {}/{} keeps/undoes · {} closes · applies to the next run",
                    k(Action::ParamsEdit),
                    k(Action::ParamCommit),
                    k(Action::ParamAbort),
                    k(Action::ParamsClose)
                ),
                t.dim,
            )),
        }
        frame.render_widget(Clear, area);
        let block = Block::new().borders(Borders::ALL).title(format!(" Parameters · {name} ")).border_style(t.accent);
        frame.render_widget(Paragraph::new(lines).block(block), area);
    }

    fn key(&mut self, action: Option<Action>, ev: &KeyEvent) -> Reply {
        if let Some(input) = self.input.as_mut() {
            match action {
                Some(Action::ParamCommit) => self.commit(),
                Some(Action::ParamAbort) => {
                    self.input = None;
                    self.error = None;
                }
                _ => {
                    type_into(input, ev);
                }
            }
            return Reply::Stay;
        }
        match action {
            Some(Action::ParamsUp) => self.move_by(-1),
            Some(Action::ParamsDown) => self.move_by(1),
            Some(Action::ParamsEdit) => self.begin(),
            Some(Action::ParamsClose) => {
                let (entry, settings) = (self.entry, self.settings.clone());
                return Reply::Then(Box::new(move |app: &mut App| {
                    if let Some(e) = app.list.entries.get_mut(entry) {
                        e.settings = settings;
                    }
                    vec![]
                }));
            }
            _ => {}
        }
        Reply::Stay
    }
}
