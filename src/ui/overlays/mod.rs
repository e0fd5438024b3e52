//! Popups drawn over everything, one file each (their state and keys are
//! in app/overlays/ under the same names).

mod board;
mod confirm;
mod help;
mod params;
mod saved;

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};

use crate::app::{App, Overlay};

pub use help::help_lines;

pub fn draw(frame: &mut Frame<'_>, app: &App) {
    match &app.overlay {
        Overlay::None => {}
        Overlay::Help(h) => help::draw(frame, app, h),
        Overlay::Params(p) => params::draw(frame, app, p),
        Overlay::ConfirmQuit => confirm::draw(frame, app),
        Overlay::History(h) => saved::draw(frame, app, h),
        Overlay::Board(b) => board::draw(frame, app, b),
    }
}

/// A box of this size in the middle of `area` (smaller when it must be).
fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(height.min(area.height))]).flex(Flex::Center).areas(area);
    let [h] = Layout::horizontal([Constraint::Length(width.min(area.width))]).flex(Flex::Center).areas(v);
    h
}
