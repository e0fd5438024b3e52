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

/// NO_COLOR: not one cell has a colour, and the focus still shows: the
/// cursor row and the active tab in reverse video, the focused pane bold,
/// the active tab bracketed.
#[test]
fn no_color_keeps_the_focus_visible_without_colour() {
    use ratatui::style::{Color, Modifier};
    use versus::theme::{Theme, ThemeName};
    let mut a = app(models(), 80, 24);
    a.theme = Theme::pick(ThemeName::Dark, true);
    let id = in_progress(&mut a);
    finish(&mut a, id, false);
    let mut term = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
    term.draw(|f| versus::ui::draw(f, &a)).expect("draw");
    let buf = term.backend().buffer().clone();
    assert!(buf.content().iter().all(|c| c.fg == Color::Reset && c.bg == Color::Reset), "a coloured cell");
    let text = term.backend().to_string();
    assert!(text.contains("[✓ gemma-3") && text.contains("q4_k_m]"), "the active tab is marked:\n{text}");
    let reversed = buf.content().iter().filter(|c| c.modifier.contains(Modifier::REVERSED)).count();
    assert!(reversed > 10, "the list cursor and the active tab are in reverse video");
    let bold_border = buf.content().iter().any(|c| c.symbol() == "┌" && c.modifier.contains(Modifier::BOLD));
    assert!(bold_border, "the focused pane's border is bold");
}

#[test]
fn the_light_theme_draws_the_same_screen() {
    use versus::theme::{Theme, ThemeName};
    let mut dark = app(models(), 120, 40);
    let mut light = app(models(), 120, 40);
    light.theme = Theme::pick(ThemeName::Light, false);
    for a in [&mut dark, &mut light] {
        let id = in_progress(a);
        finish(a, id, false);
    }
    assert_eq!(render(&dark, 120, 40), render(&light, 120, 40), "only colours differ");
}
