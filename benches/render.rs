//! Frame render time with four columns of 200,000 characters each, and the
//! cost of appending a token to such a column. Prints a Markdown section.

use std::time::Instant;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use versus::app::{App, Event};
use versus::catalog::{Format, ModelInfo, Source};
use versus::engine::{EngineEvent, EventKind};

fn model(i: usize) -> ModelInfo {
    ModelInfo {
        name: format!("model-{i}"),
        format: Format::Gguf,
        path: format!("/m/{i}.gguf").into(),
        files: vec![],
        source: Source::Cli,
        size_bytes: 1 << 30,
        architecture: Some("llama".into()),
        quantization: Some("Q4_K_M".into()),
        parameters: Some(1_000_000_000),
        context_length: Some(8192),
        chat_template: true,
        shape: None,
        error: None,
    }
}

fn key(app: &mut App, code: crossterm::event::KeyCode) {
    app.handle(Event::Key(crossterm::event::KeyEvent::new(code, crossterm::event::KeyModifiers::NONE)));
}

fn main() {
    let (w, h) = (200u16, 60u16);
    let config = versus::config::Config::defaults();
    let mut app = App::new((0..4).map(model).collect(), |m| config.settings_for(&m.name), versus::keymap::Keymap::defaults(), "");
    app.handle(Event::Resize(w, h));
    for _ in 0..4 {
        key(&mut app, crossterm::event::KeyCode::Char(' '));
        key(&mut app, crossterm::event::KeyCode::Down);
    }
    key(&mut app, crossterm::event::KeyCode::Tab);
    for c in "a prompt".chars() {
        key(&mut app, crossterm::event::KeyCode::Char(c));
    }
    key(&mut app, crossterm::event::KeyCode::F(5));
    let words = ["the ", "quick ", "brown ", "fox ", "jumps ", "over ", "lazy ", "dogs, ", "and\n", "then "];
    let mut appended = 0usize;
    let t_append = Instant::now();
    let mut tokens = 0usize;
    for slot in 0..4 {
        let mut n = 0;
        while n < 200_000 {
            let word = words[(n / 7) % words.len()];
            app.handle(Event::Engine(EngineEvent { run: 1, slot, prompt: 0, kind: EventKind::answer(word) }));
            n += word.len();
            tokens += 1;
        }
        appended += n;
    }
    let append_us = t_append.elapsed().as_secs_f64() * 1e6 / tokens as f64;

    let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    for _ in 0..20 {
        term.draw(|f| versus::ui::draw(f, &app)).expect("draw");
    }
    let frames = 300;
    let mut times = Vec::with_capacity(frames);
    for i in 0..frames {
        // A token arrives between frames, as while streaming.
        app.handle(Event::Engine(EngineEvent { run: 1, slot: i % 4, prompt: 0, kind: EventKind::answer("x ") }));
        let t = Instant::now();
        term.draw(|f| versus::ui::draw(f, &app)).expect("draw");
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / frames as f64;
    println!("## TUI rendering\n");
    println!("`cargo bench --bench render`: four columns holding {appended} characters in all (200,000 each), a");
    println!("{w}×{h} terminal, one token appended before each of {frames} frames; ratatui's TestBackend (drawing");
    println!("and diffing the buffer, without the terminal's own write).\n");
    println!("| what | mean | median | p99 | target |");
    println!("|---|---|---|---|---|");
    println!(
        "| frame with 4 × 200,000 characters | {mean:.2} ms | {:.2} ms | {:.2} ms | ≤ 4 ms |",
        times[frames / 2],
        times[frames * 99 / 100]
    );
    println!("| appending a token (wrap included) | {append_us:.2} µs | | | |\n");
}
