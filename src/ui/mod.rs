//! Drawing: a pure function of `&App`, one file per pane. Nothing here
//! changes state; wrapping and scroll positions were settled by `App`.

pub mod columns;
pub mod models;
pub mod prompt;
pub mod status;
pub mod verdict;

use ratatui::Frame;
use ratatui::style::Style;

use crate::app::{App, Focus};
use crate::layout;

pub fn draw(frame: &mut Frame<'_>, app: &App) {
    let panes = layout::panes(frame.area(), app.zoom);
    if !app.zoom {
        models::draw(frame, app, panes.models);
        prompt::draw(frame, app, panes.prompt);
    }
    let (answers, verdict) = layout::answers(panes.columns, app.run.as_ref().is_some_and(|r| r.judge.is_some()));
    columns::draw(frame, app, answers);
    if let Some(area) = verdict {
        verdict::draw(frame, app, area);
    }
    status::draw(frame, app, panes.status);
    if let Some(o) = &app.overlay {
        o.draw(frame, &crate::app::overlays::Ctx { theme: &app.theme, keymap: &app.keymap });
    }
}

/// Border style of a pane: the accent when focused.
pub fn border(app: &App, focus: Focus) -> Style {
    app.theme.border(app.focus == focus)
}

pub use crate::wrap::sanitize;
