//! The whole screen in its main states, at 120×40 and 80×24 (insta).

mod common;

use common::ui::*;
use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use versus::app::App;

fn render(app: &App, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    term.draw(|f| versus::ui::draw(f, app)).expect("draw");
    term.backend().to_string()
}

fn both(name: &str, build: impl Fn(u16, u16) -> App) {
    for (w, h) in [(120, 40), (80, 24)] {
        let app = build(w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), render(&app, w, h));
    }
}

#[test]
fn empty_explains_where_models_go() {
    both("empty", |w, h| {
        let mut a = app(vec![], w, h);
        a.searched = vec!["/home/u/.local/share/versus/models (not present)".into(), "/home/u/.cache/huggingface/hub (not present)".into()];
        a
    });
}

#[test]
fn models_listed() {
    both("models", |w, h| {
        let mut a = app(models(), w, h);
        key(&mut a, KeyCode::Char(' '));
        key(&mut a, KeyCode::Char('d'));
        a
    });
}

#[test]
fn run_in_progress_with_three_columns() {
    both("running", |w, h| {
        let mut a = app(models(), w, h);
        in_progress(&mut a);
        a
    });
}

#[test]
fn finished_with_stats() {
    both("finished", |w, h| {
        let mut a = app(models(), w, h);
        let id = in_progress(&mut a);
        finish(&mut a, id, false);
        a
    });
}

#[test]
fn a_failed_column_shows_its_error() {
    both("failed", |w, h| {
        let mut a = app(models(), w, h);
        let id = in_progress(&mut a);
        finish(&mut a, id, true);
        key(&mut a, KeyCode::Tab);
        key(&mut a, KeyCode::Char('l'));
        key(&mut a, KeyCode::Char('l'));
        a
    });
}

#[test]
fn help_overlay() {
    both("help", |w, h| {
        let mut a = app(models(), w, h);
        key(&mut a, KeyCode::Char('?'));
        a
    });
}

#[test]
fn parameters_popup_with_a_validation_message() {
    both("params", |w, h| {
        let mut a = app(models(), w, h);
        key(&mut a, KeyCode::Char('p'));
        key(&mut a, KeyCode::Enter);
        for _ in 0..3 {
            key(&mut a, KeyCode::Backspace);
        }
        typ(&mut a, "7.5");
        key(&mut a, KeyCode::Enter);
        a
    });
}
