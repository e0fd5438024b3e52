//! The application state and its one entry point, `App::handle`.
//!
//! `App` is plain data: no terminal, no threads, no I/O. Keys and engine
//! events come in as `Event`s; what must happen outside (start or cancel a
//! run, quit, copy text) goes out as `Effect`s for the event loop to carry
//! out. Drawing (`ui::draw`) is a pure function of `&App`.

pub mod blind;
pub mod columns;
pub mod conversation;
pub mod diff;
pub mod judging;
mod keys;
mod launch;
pub mod models;
pub mod overlays;
mod reading;
pub mod samples;
mod stored;

use std::time::Instant;

use crossterm::event::{KeyEvent, KeyEventKind};
use ratatui::layout::Rect;
use ratatui_textarea::TextArea;

use crate::catalog::ModelInfo;
use crate::engine::{EngineEvent, EventKind, RunEntry, RunId};
use crate::keymap::Keymap;
use crate::layout;
use crate::params::Settings;
use crate::store::query::{Query, Reply, Target};

pub use columns::{Column, RunView};
pub use models::{ListEntry, ModelList};
pub use overlays::Overlay;
pub use reading::{Search, find_all};

/// What comes in.
#[derive(Debug, Clone)]
pub enum Event {
    Key(KeyEvent),
    Paste(String),
    Resize(u16, u16),
    Engine(EngineEvent),
    /// Time passed (only while a run is active): elapsed times and memory.
    Tick {
        now: Instant,
        ram: Option<(u64, u64)>,
        gpu: Option<(u64, u64)>,
    },
    /// The saved comparisons, for the history overlay.
    HistoryList(Vec<crate::store::RunSummary>),
    /// Show a saved comparison in the columns, as it was; `entries`: its
    /// models as found now, to continue it (empty when one is gone).
    Reopen {
        run: crate::store::StoredRun,
        entries: Vec<RunEntry>,
    },
    /// Run a saved comparison's prompt again: on these entries (its
    /// original models), or with None on the models selected now.
    Rerun {
        run: crate::store::StoredRun,
        entries: Option<Vec<RunEntry>>,
    },
    /// A one-line message for the status bar (export paths, store problems).
    Notice(String),
    /// A table to show in an overlay: the leaderboard, a batch's matrix;
    /// `page`: a second table a key flips to (title, table).
    Table {
        title: String,
        table: String,
        footer: String,
        page: Option<(String, String)>,
    },
    /// A frame is about to be drawn: render the text that streamed in since
    /// the last one (once per frame, not once per token).
    Frame,
    /// The history's answer to an `Effect::Query` or `Effect::Export`.
    Store(Reply),
}

/// What must happen outside the app.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Submit this run to the engine.
    Run {
        id: RunId,
        prompt: String,
        entries: Vec<RunEntry>,
        /// A follow-up of this comparison.
        follows: Option<Target>,
        /// With `follows`: answer that comparison's turn N again (the
        /// models that failed it) instead of adding a turn.
        retry: Option<usize>,
    },
    /// Set the cancel flag of this run.
    Cancel(RunId),
    /// Skip one entry of a run: its answer stops, the run goes on.
    Skip {
        run: RunId,
        slot: usize,
    },
    /// Put text on the user's clipboard (OSC 52).
    Copy(String),
    /// Start run `id`, the judge reading the comparison on screen (not
    /// saved as a comparison: its verdict is saved as a vote).
    Judge {
        id: RunId,
        prompts: Vec<String>,
        entry: RunEntry,
    },
    /// Ask the history (the answer comes back as `Event::Store`).
    Query(Query),
    /// Read a saved comparison, to show it or run it again (the event loop
    /// adds the configured servers, to find its models).
    Open {
        id: i64,
        then: crate::store::query::OpenFor,
    },
    /// Save the comparison on screen in the configured formats.
    Export(Target),
    Quit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Models,
    Prompt,
    Columns,
}

pub struct App {
    pub list: ModelList,
    pub prompt: TextArea<'static>,
    pub system: TextArea<'static>,
    /// The editor shows the system prompt instead of the prompt.
    pub editing_system: bool,
    pub history: Vec<String>,
    /// Position in `history` while browsing it; None: editing a new prompt.
    pub history_pos: Option<usize>,
    /// The unfinished prompt put aside while browsing history.
    pub draft: String,
    pub focus: Focus,
    /// The popup open over the panes, if any.
    pub overlay: Option<Box<dyn Overlay>>,
    /// The comparison on screen (the current run or the last one).
    pub run: Option<RunView>,
    pub next_run: RunId,
    pub keymap: Keymap,
    pub search: Search,
    /// New runs are blind (shuffled, unnamed until the vote).
    pub blind: bool,
    /// Two columns diffed, and a column marked to diff with another.
    pub diff: Option<diff::Diff>,
    /// A column (and its sample shown then) marked for a diff.
    pub diff_mark: Option<(usize, u32)>,
    /// What a judge scores answers on (`[judge] criteria`).
    pub criteria: Vec<String>,
    /// Where blind mode's shuffles come from.
    pub blind_seed: u64,
    /// The leaderboard as last read (with its matrix): blind mode's next
    /// pair comes from it.
    pub board: Option<crate::store::leaderboard::Board>,
    /// The models a suggested pair was picked from (`B`), so the next
    /// suggestion comes from all of them; a selection by hand clears it.
    pub pair_pool: Option<Vec<usize>>,
    pub sync_scroll: bool,
    pub zoom: bool,
    /// The colours drawing uses (from `[ui] theme` and `NO_COLOR`).
    pub theme: crate::theme::Theme,
    pub active_column: usize,
    pub now: Instant,
    /// (used, total) bytes of RAM and GPU memory, when known.
    pub ram: Option<(u64, u64)>,
    pub gpu: Option<(u64, u64)>,
    /// The models the engine keeps loaded (`[scheduler] keep_loaded`), each
    /// with its memory and the tokens its cache holds.
    pub resident: Vec<String>,
    /// A one-line message for the status bar (cleared by the next key).
    pub notice: Option<String>,
    /// The notice is about this run's start ("asking … again"): it goes
    /// when the run ends, so it never outlives what it says.
    pub notice_for: Option<RunId>,
    /// The export asked for was of a run still going.
    pub export_partial: bool,
    pub size: Rect,
    /// Where models were looked for, for the empty-state help.
    pub searched: Vec<String>,
    /// The configured servers, to run their models.
    pub endpoints: Vec<crate::engine::remote::EndpointConfig>,
    pub quit: bool,
}

impl App {
    pub fn new(models: Vec<ModelInfo>, settings_for: impl Fn(&ModelInfo) -> Settings, keymap: Keymap, system: &str) -> App {
        let mut prompt = TextArea::default();
        prompt.set_placeholder_text("Type a prompt, then F5 (or Ctrl-R, Alt-Enter) to run it on the selected models");
        prompt.set_wrap_mode(ratatui_textarea::WrapMode::WordOrGlyph);
        let mut sys = TextArea::new(system.lines().map(str::to_string).collect());
        sys.set_placeholder_text("Optional system prompt, used through each model's chat template");
        sys.set_wrap_mode(ratatui_textarea::WrapMode::WordOrGlyph);
        App {
            list: ModelList::new(models, settings_for),
            prompt,
            system: sys,
            editing_system: false,
            history: Vec::new(),
            history_pos: None,
            draft: String::new(),
            focus: Focus::Models,
            overlay: None,
            run: None,
            next_run: 1,
            keymap,
            search: Search::default(),
            blind: false,
            diff: None,
            diff_mark: None,
            criteria: crate::judge::JudgeConfig::default().criteria,
            board: None,
            pair_pool: None,
            blind_seed: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(7, |d| d.as_nanos() as u64),
            sync_scroll: false,
            zoom: false,
            theme: crate::theme::Theme::default(),
            active_column: 0,
            now: Instant::now(),
            ram: None,
            gpu: None,
            resident: Vec::new(),
            notice: None,
            notice_for: None,
            export_partial: false,
            size: Rect::new(0, 0, 120, 40),
            searched: Vec::new(),
            endpoints: Vec::new(),
            quit: false,
        }
    }

    /// A run or its judge is going.
    pub fn run_active(&self) -> bool {
        self.run.as_ref().is_some_and(|r| r.active() || r.judge.as_ref().is_some_and(judging::JudgeView::busy))
    }

    pub fn prompt_text(&self) -> String {
        self.prompt.lines().join("\n")
    }

    pub fn system_text(&self) -> String {
        self.system.lines().join("\n")
    }

    /// The one entry point: apply an event, return what must happen outside.
    pub fn handle(&mut self, event: Event) -> Vec<Effect> {
        let effects = self.dispatch(event);
        self.sync_cursor();
        effects
    }

    /// Show the editor's cursor only while the editor has the focus.
    fn sync_cursor(&mut self) {
        use ratatui::style::Style;
        let style = if self.focus == Focus::Prompt && self.overlay.is_none() { self.theme.cursor } else { Style::new() };
        self.prompt.set_cursor_style(style);
        self.system.set_cursor_style(style);
        self.prompt.set_cursor_line_style(Style::new());
        self.system.set_cursor_line_style(Style::new());
    }

    fn dispatch(&mut self, event: Event) -> Vec<Effect> {
        match event {
            Event::Key(key) if key.kind != KeyEventKind::Release => self.key(key),
            Event::Key(_) => vec![],
            Event::Paste(text) => {
                self.paste(&text);
                vec![]
            }
            Event::Resize(w, h) => {
                self.size = Rect::new(0, 0, w, h);
                self.reflow();
                vec![]
            }
            Event::Engine(ev) => self.engine(ev),
            Event::Tick { now, ram, gpu } => {
                self.now = now;
                self.ram = ram.or(self.ram);
                self.gpu = gpu.or(self.gpu);
                vec![]
            }
            Event::HistoryList(items) => {
                self.overlay = Some(Box::new(overlays::saved::HistoryView::new(items)));
                vec![]
            }
            Event::Reopen { run, entries } => {
                self.show_stored(&run, entries);
                vec![]
            }
            Event::Rerun { run, entries } => {
                self.prompt = replace_text(&self.prompt, &run.prompt);
                self.system = replace_text(&self.system, &run.system_prompt);
                match entries {
                    Some(entries) => self.start_entries(run.prompt.clone(), run.system_prompt.clone(), entries),
                    None => self.start_run(),
                }
            }
            Event::Notice(text) => {
                self.notice = Some(text);
                vec![]
            }
            Event::Table { title, table, footer, page } => {
                let mut view = overlays::board::BoardView::new(&title, &table, &footer);
                if let Some((title, table)) = page {
                    view = view.with_page(&title, &table);
                }
                self.overlay = Some(Box::new(view));
                vec![]
            }
            Event::Store(answer) => self.stored(answer),
            Event::Frame => {
                if let Some(run) = self.run.as_mut() {
                    run.columns.iter_mut().for_each(Column::refresh);
                }
                self.update_diff(false);
                vec![]
            }
        }
    }

    fn paste(&mut self, text: &str) {
        if self.overlay.as_mut().is_some_and(|o| o.paste(text)) {
            return;
        }
        match () {
            _ if self.list.filtering => self.list.filter.push_str(text.trim()),
            _ => {
                // Terminals send \r for newlines in pastes.
                let text = text.replace("\r\n", "\n").replace('\r', "\n");
                self.focus = Focus::Prompt;
                self.editor().insert_str(text);
            }
        }
    }

    fn editor(&mut self) -> &mut TextArea<'static> {
        if self.editing_system { &mut self.system } else { &mut self.prompt }
    }

    fn engine(&mut self, ev: EngineEvent) -> Vec<Effect> {
        let now = self.now;
        if let EventKind::Resident { models } = &ev.kind {
            self.resident = models.clone();
            return vec![];
        }
        let Some(run) = self.run.as_mut() else { return vec![] };
        if ev.run != run.id {
            // The judge's, or an event of a run no longer on screen.
            return self.judge_event(ev);
        }
        if let EventKind::RunDone = ev.kind {
            run.finished = Some(now);
            if self.notice_for == Some(ev.run) {
                self.notice = None;
                self.notice_for = None;
            }
            return vec![];
        }
        let theme = &self.theme;
        if let Some(col) = run.column_of(ev.slot) {
            col.apply_sample(ev.sample, &ev.kind, now, theme);
        }
        vec![]
    }

    /// Re-wrap every column at the width it is drawn at.
    pub fn reflow(&mut self) {
        let area = layout::panes(self.size, self.zoom).columns;
        let Some(run) = self.run.as_mut() else { return };
        let n = run.columns.len();
        let width = |i: usize, zoom: bool| {
            let l = layout::columns(area, n, zoom, i);
            l.shown.iter().find(|(j, _)| *j == i).or(l.shown.first()).map_or(40, |(_, r)| layout::inner(*r).0)
        };
        for i in 0..n {
            let w = width(i, self.zoom);
            let c = &mut run.columns[i];
            c.set_width(w, &self.theme);
            c.zoomed = self.zoom && i == self.active_column;
        }
        self.redo_diff();
    }
}

/// A fresh editor holding `text`, with the settings of `like`.
fn replace_text(like: &TextArea<'static>, text: &str) -> TextArea<'static> {
    let mut t = TextArea::new(if text.is_empty() { vec![String::new()] } else { text.lines().map(str::to_string).collect() });
    t.set_placeholder_text(like.placeholder_text().to_string());
    t.set_wrap_mode(like.wrap_mode());
    t.move_cursor(ratatui_textarea::CursorMove::Bottom);
    t.move_cursor(ratatui_textarea::CursorMove::End);
    t
}
