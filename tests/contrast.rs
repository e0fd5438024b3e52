//! Every theme keeps text readable where a row is highlighted: the model
//! under the cursor with its settings line, the parameter being edited
//! with its range, the saved comparison under the cursor. Each drawn cell's
//! colours are taken as xterm's default palette shows them and must have a
//! contrast of at least 3:1 (WCAG's figure for large or bold text), where
//! grey on grey had about 1:1.

mod common;

use common::ui::*;
use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};
use versus::app::{App, Event, Focus};
use versus::theme::{Theme, ThemeName};

/// xterm's default colours for the 16 named ones, its 256-colour cube and
/// grey ramp; `default` for the terminal's own foreground or background.
fn rgb(c: Color, default: (u8, u8, u8)) -> (u8, u8, u8) {
    const NAMED: [(u8, u8, u8); 16] = [
        (0, 0, 0),
        (205, 0, 0),
        (0, 205, 0),
        (205, 205, 0),
        (0, 0, 238),
        (205, 0, 205),
        (0, 205, 205),
        (229, 229, 229),
        (127, 127, 127),
        (255, 0, 0),
        (0, 255, 0),
        (255, 255, 0),
        (92, 92, 255),
        (255, 0, 255),
        (0, 255, 255),
        (255, 255, 255),
    ];
    let indexed = |i: u8| -> (u8, u8, u8) {
        match i {
            0..=15 => NAMED[i as usize],
            16..=231 => {
                let n = i - 16;
                let level = |v: u8| if v == 0 { 0 } else { 55 + 40 * v };
                (level(n / 36), level((n / 6) % 6), level(n % 6))
            }
            _ => {
                let g = 8 + 10 * (i - 232);
                (g, g, g)
            }
        }
    };
    match c {
        Color::Reset => default,
        Color::Black => NAMED[0],
        Color::Red => NAMED[1],
        Color::Green => NAMED[2],
        Color::Yellow => NAMED[3],
        Color::Blue => NAMED[4],
        Color::Magenta => NAMED[5],
        Color::Cyan => NAMED[6],
        Color::Gray => NAMED[7],
        Color::DarkGray => NAMED[8],
        Color::LightRed => NAMED[9],
        Color::LightGreen => NAMED[10],
        Color::LightYellow => NAMED[11],
        Color::LightBlue => NAMED[12],
        Color::LightMagenta => NAMED[13],
        Color::LightCyan => NAMED[14],
        Color::White => NAMED[15],
        Color::Indexed(i) => indexed(i),
        Color::Rgb(r, g, b) => (r, g, b),
    }
}

fn luminance((r, g, b): (u8, u8, u8)) -> f64 {
    let lin = |v: u8| {
        let c = f64::from(v) / 255.0;
        if c <= 0.03928 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    };
    0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
}

fn contrast(a: (u8, u8, u8), b: (u8, u8, u8)) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// Cells of `rows` whose text is hard to read: (x, y, symbol, ratio).
fn unreadable(buf: &Buffer, dark: bool, rows: std::ops::Range<u16>) -> Vec<(u16, u16, String, f64)> {
    let (fg0, bg0) = if dark { ((229, 229, 229), (0, 0, 0)) } else { ((0, 0, 0), (255, 255, 255)) };
    let mut out = Vec::new();
    for y in rows {
        for x in 0..buf.area.width {
            let cell = &buf[(x, y)];
            let sym = cell.symbol();
            if sym.trim().is_empty() || "│─┌┐└┘├┤╭╮╰╯›▏".contains(sym) {
                continue;
            }
            let (mut fg, mut bg) = (rgb(cell.fg, fg0), rgb(cell.bg, bg0));
            if cell.modifier.contains(Modifier::REVERSED) {
                std::mem::swap(&mut fg, &mut bg);
            }
            let ratio = contrast(fg, bg);
            if ratio < 3.0 {
                out.push((x, y, sym.to_string(), ratio));
            }
        }
    }
    out
}

fn draw(a: &App) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    term.draw(|f| versus::ui::draw(f, a)).expect("draw");
    term.backend().buffer().clone()
}

/// The rows of `buf` whose text contains `needle`.
fn rows_with(buf: &Buffer, needle: &str) -> Vec<u16> {
    (0..buf.area.height)
        .filter(|&y| (0..buf.area.width).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>().contains(needle))
        .collect()
}

fn themes() -> Vec<(&'static str, Theme, bool)> {
    vec![
        ("dark", Theme::pick(ThemeName::Dark, false), true),
        ("light", Theme::pick(ThemeName::Light, false), false),
        ("plain", Theme::plain(), true),
    ]
}

fn check(what: &str, name: &str, buf: &Buffer, dark: bool, needle: &str) {
    let rows = rows_with(buf, needle);
    assert!(!rows.is_empty(), "{what} ({name}): `{needle}` is not on screen");
    for y in rows {
        let bad = unreadable(buf, dark, y..y + 1);
        assert!(bad.is_empty(), "{what} ({name}): unreadable cells on row {y}: {bad:?}");
    }
}

#[test]
fn a_highlighted_model_shows_its_settings_line_in_every_theme() {
    for (name, theme, dark) in themes() {
        let mut a = app(models(), 120, 40);
        a.theme = theme;
        // A copy with its own temperature: its second line says so.
        key(&mut a, KeyCode::Char('d'));
        key(&mut a, KeyCode::Char('p'));
        key(&mut a, KeyCode::Enter);
        for _ in 0..4 {
            key(&mut a, KeyCode::Backspace);
        }
        typ(&mut a, "1.2");
        key(&mut a, KeyCode::Enter);
        let buf = draw(&a);
        check("the parameter being edited", name, &buf, dark, "0 = greedy");
        key(&mut a, KeyCode::Esc);
        assert_eq!(a.focus, Focus::Models);
        let buf = draw(&a);
        check("the highlighted model's settings", name, &buf, dark, "temperature=1.2");
    }
}

#[test]
fn the_highlighted_saved_comparison_is_readable_in_every_theme() {
    for (name, theme, dark) in themes() {
        let mut a = app(models(), 120, 40);
        a.theme = theme;
        a.handle(Event::HistoryList(vec![versus::store::RunSummary {
            id: 7,
            started_at: "2026-12-02T10:00:00Z".into(),
            state: versus::store::RunState::Complete,
            prompt: "hi".into(),
            models: vec!["gemma".into(), "SmolLM2".into()],
        }]));
        let buf = draw(&a);
        check("the saved comparison under the cursor", name, &buf, dark, "SmolLM2");
    }
}
