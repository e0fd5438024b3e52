//! Drawing: a pure function of `&App`, one file per pane. Nothing here
//! changes state; wrapping and scroll positions were settled by `App`.

pub mod columns;
pub mod models;
pub mod overlays;
pub mod prompt;
pub mod status;

use ratatui::Frame;
use ratatui::style::Style;

use crate::app::{App, Focus};
use crate::layout;

pub fn draw(frame: &mut Frame<'_>, app: &App) {
    let panes = layout::panes(frame.area());
    models::draw(frame, app, panes.models);
    prompt::draw(frame, app, panes.prompt);
    columns::draw(frame, app, panes.columns);
    status::draw(frame, app, panes.status);
    overlays::draw(frame, app);
}

/// Border style of a pane: the accent when focused.
pub fn border(app: &App, focus: Focus) -> Style {
    app.theme.border(app.focus == focus)
}

pub use crate::wrap::sanitize;
