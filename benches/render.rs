//! Frame render time with four columns of 200,000 characters of Markdown
//! each (rendered, code highlighted), and the cost of appending a token to
//! such a column. Prints a Markdown section.

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
    // Code-heavy Markdown, streamed four characters at a time: prose,
    // fenced code in two languages, lists, a table and a quote per chunk.
    let chunk = "## Section\n\nSome prose with **bold**, *italic*, `inline code` and a [link](https://example.com/docs); more words fill the line and wrap it across the column.\n\n```rust\nfn main() {\n    let v: Vec<u32> = (0..10).map(|x| x * 2).collect();\n    println!(\"{:?}\", v);\n}\n```\n\n- item one with `code`\n- item two\n  1. nested\n\n| name | value |\n|------|------:|\n| a    | 1     |\n\n> a quote line\n\n```python\ndef f(x):\n    return [i ** 2 for i in range(x)]\n```\n\n";
    let pieces: Vec<&str> = chunk.as_bytes().chunks(4).map(|b| std::str::from_utf8(b).unwrap_or(" ")).collect();
    let mut appended = 0usize;
    let mut append_s = 0.0;
    let mut tokens = 0usize;
    for slot in 0..4 {
        let mut n = 0;
        while n < 200_000 {
            let word = pieces[tokens % pieces.len()];
            let t = Instant::now();
            app.handle(Event::Engine(EngineEvent { run: 1, slot, prompt: 0, sample: 0, kind: EventKind::answer(word) }));
            append_s += t.elapsed().as_secs_f64();
            n += word.len();
            tokens += 1;
        }
        appended += n;
    }
    // End inside an open code block, where each frame highlights a line.
    for slot in 0..4 {
        app.handle(Event::Engine(EngineEvent { run: 1, slot, prompt: 0, sample: 0, kind: EventKind::answer("```rust\nlet x = ") }));
    }
    let t_first = Instant::now();
    app.handle(Event::Frame);
    let first_ms = t_first.elapsed().as_secs_f64() * 1e3;
    let append_us = append_s * 1e6 / tokens as f64;

    let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    for _ in 0..20 {
        app.handle(Event::Frame);
        term.draw(|f| versus::ui::draw(f, &app)).expect("draw");
    }
    let frames = 300;
    let mut times = Vec::with_capacity(frames);
    for i in 0..frames {
        // A token arrives between frames, as while streaming.
        let piece = if i % 10 == 9 { "1;\nlet y = " } else { "x + " };
        app.handle(Event::Engine(EngineEvent { run: 1, slot: i % 4, prompt: 0, sample: 0, kind: EventKind::answer(piece) }));
        let t = Instant::now();
        app.handle(Event::Frame);
        term.draw(|f| versus::ui::draw(f, &app)).expect("draw");
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / frames as f64;
    println!("## TUI rendering\n");
    println!("`cargo bench --bench render`: four columns holding {appended} characters of code-heavy Markdown in all");
    println!("(200,000 each: prose, Rust and Python code blocks, lists, a table, a quote per 600 characters), a {w}×{h}");
    println!("terminal, one token appended before each of {frames} frames into an open code block; a frame is the");
    println!("Markdown refresh plus ratatui's TestBackend drawing and diffing the buffer (without the terminal's write).\n");
    println!("| what | mean | median | p99 | target |");
    println!("|---|---|---|---|---|");
    println!(
        "| frame with 4 × 200,000 characters | {mean:.2} ms | {:.2} ms | {:.2} ms | ≤ 4 ms |",
        times[frames / 2],
        times[frames * 99 / 100]
    );
    println!("| appending a token (wrap included) | {append_us:.2} µs | | | ≤ 5 µs |");
    println!("| first frame after 800,000 characters arrived at once | {first_ms:.0} ms | | | |");
    let (related, unrelated) = diff_times();
    println!("| word diff of 2 × 50,000 characters, one word in ten changed | {related:.1} ms | | | ≤ 50 ms |");
    println!("| word diff of 2 × 50,000 characters of unrelated text | {unrelated:.1} ms | | | ≤ 50 ms |\n");
}

/// Mean time of the column diff on two 50,000-character answers: one a
/// copy of the other with a word in ten changed, and two unrelated texts.
fn diff_times() -> (f64, f64) {
    use ratatui::style::Style;
    let words = ["alpha ", "beta ", "gamma ", "delta ", "epsilon ", "zeta ", "eta ", "theta\n", "iota ", "kappa "];
    let text = |seed: usize, change: usize| {
        let mut s = String::new();
        let mut i = 0usize;
        while s.len() < 50_000 {
            let k = (i * 7 + seed) % words.len();
            if change > 0 && i % change == 0 {
                s.push_str("changed ")
            } else {
                s.push_str(words[k])
            }
            i += 1;
        }
        s
    };
    let time = |a: &str, b: &str| {
        let runs = 10;
        let t = Instant::now();
        for _ in 0..runs {
            std::hint::black_box(versus::app::diff::word_diff(a, b, Style::new(), Style::new()));
        }
        t.elapsed().as_secs_f64() * 1e3 / runs as f64
    };
    let base = text(0, 0);
    (time(&base, &text(0, 10)), time(&base, &text(3, 0)))
}
