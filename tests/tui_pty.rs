//! The real binary in a pseudo-terminal on the demo model: select it twice
//! with different temperatures, type a prompt, run, watch both answers
//! finish with their stats, quit, and find the terminal as it was.

mod common;

use std::time::Duration;

use common::Sandbox;
use common::pty::*;

fn config(sb: &Sandbox) -> String {
    let cfg = sb.path().join("config.toml");
    std::fs::write(&cfg, "[generation]\nmax_tokens = 24\n").unwrap();
    cfg.display().to_string()
}

#[test]
fn compare_two_temperatures_end_to_end() {
    let _g = common::model_lock();
    let demo = common::demo_model();
    let sb = Sandbox::new();
    let cfg = config(&sb);
    let mut t = sb.pty(&["--config", &cfg, demo.to_str().unwrap()], 120, 40);
    t.wait_for("the model list", Duration::from_secs(20), |s| s.contains("gemma-3-270m-q4_k_m"));

    // Select, add a copy, give the copy temperature 1.2 and the original 0.
    t.send(" ");
    t.send("d");
    t.send("p");
    t.send(ENTER);
    t.send(&BACKSPACE.repeat(4));
    t.send("1.2");
    t.send(ENTER);
    t.send(ESC);
    t.send("k");
    t.send("p");
    t.send(ENTER);
    t.send(&BACKSPACE.repeat(4));
    t.send("0");
    t.send(ENTER);
    t.send(ESC);
    t.wait_for("the copy's settings", Duration::from_secs(5), |s| s.contains("temperature=1.2") && s.contains("temperature=0.0"));

    t.send(TAB);
    t.send("The capital of France is");
    t.send(F5);
    t.wait_for("both answers", Duration::from_secs(120), |s| s.matches("✓ done").count() == 2);
    let screen = t.screen();
    assert_eq!(screen.matches("t/s").count(), 2, "both columns show their stats:\n{screen}");
    // Every frame inside synchronized output (DEC mode 2026): begun and ended.
    let raw = String::from_utf8_lossy(&t.raw);
    let (begun, ended) = (raw.matches("\x1b[?2026h").count(), raw.matches("\x1b[?2026l").count());
    assert!(begun > 2 && ended >= begun - 1, "synchronized frames: {begun} begun, {ended} ended");
    assert!(screen.contains("(temperature=1.2)") && screen.contains("(temperature=0.0)"), "both titles keep their setting: {screen}");
    assert!(screen.contains("done · 2 models"), "{screen}");
    for noise in ["llama_", "ggml_", "load_tensors", "print_info"] {
        assert!(!screen.contains(noise), "engine logs leaked onto the screen ({noise}):\n{screen}");
    }
    // Each column has its own answer text below its header.
    let answer_lines =
        screen.lines().filter(|l| l.matches('│').count() >= 4 && l.chars().filter(|c| c.is_alphabetic()).count() > 10).count();
    assert!(answer_lines >= 2, "{screen}");

    t.send(TAB);
    t.send("q");
    assert_eq!(t.wait_exit(Duration::from_secs(10)), Some(0), "screen:\n{}", t.screen());
    let s = t.parser.screen();
    assert!(!s.alternate_screen(), "left the alternate screen");
    assert!(!s.hide_cursor(), "the cursor is visible again");
    assert!(!s.bracketed_paste(), "bracketed paste is off again");
    assert!(t.cooked(), "the terminal is back in cooked mode");
    assert!(sb.log().contains("llama.cpp"), "llama.cpp's logs went to the log file, not the screen");
}

#[test]
fn narrow_terminal_uses_tabs_and_sigterm_restores_the_terminal() {
    let _g = common::model_lock();
    let demo = common::demo_model();
    let sb = Sandbox::new();
    let cfg = config(&sb);
    let mut t = sb.pty(&["--config", &cfg, demo.to_str().unwrap()], 80, 24);
    t.wait_for("the model list", Duration::from_secs(20), |s| s.contains("gemma-3-270m"));
    t.send(" ");
    t.send("d");
    t.send(TAB);
    t.send("Hello");
    t.send("\x12"); // Ctrl-R runs too
    t.wait_for("tabs with both models", Duration::from_secs(60), |s| s.matches("✓ gemma-3-270m").count() == 2);
    // SIGTERM: the terminal is restored and the process exits cleanly.
    let pid = t.child.process_id().expect("pid");
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    assert_eq!(t.wait_exit(Duration::from_secs(10)), Some(0));
    assert!(!t.parser.screen().alternate_screen());
    assert!(t.cooked());
}

/// The README's first command: both demo models selected, the cursor in
/// the prompt editor, so typing a prompt and one key compares a base model
/// with an instruction-tuned one.
#[test]
fn demo_screen_compares_two_models_with_one_key() {
    let _g = common::model_lock();
    let (base, chat) = (common::demo_model(), common::demo_chat_model());
    let sb = Sandbox::new();
    let cfg = config(&sb);
    let args = ["--config", &cfg, "-m", base.to_str().unwrap_or_default(), "-m", chat.to_str().unwrap_or_default()];
    let mut t = sb.pty(&args, 120, 40);
    t.wait_for("the model list", Duration::from_secs(20), |s| s.contains("SmolLM2-135M-Instruct") && s.contains("gemma-3-270m"));
    t.send("What is the capital of France?");
    t.send(F5);
    t.wait_for("both answers", Duration::from_secs(120), |s| s.matches("✓ done").count() == 2);
    let screen = t.screen();
    assert!(screen.contains("✓ done SmolLM2-135M-Instruct") && screen.contains("✓ done gemma-3-270m"), "{screen}");
    assert!(screen.contains("done · 2 models"), "{screen}");
    t.send(ESC);
    t.send(TAB);
    t.send("q");
    assert_eq!(t.wait_exit(Duration::from_secs(10)), Some(0), "screen:\n{}", t.screen());

    // A spec that names nothing is reported before the screen is taken.
    let out = sb.run(&["--config", &cfg, "-m", "no-such-model"]);
    assert_eq!(out.status.code(), Some(2), "{}", common::stderr(&out));
    assert!(common::stderr(&out).contains("no-such-model"), "{}", common::stderr(&out));
}

/// An abort no Rust code sees (allocation failure, a C++ exception escaping
/// an engine, ggml giving up) still puts the terminal back and says so.
#[test]
fn an_abort_restores_the_terminal() {
    let demo = common::demo_model();
    let sb = Sandbox::new();
    let cfg = config(&sb);
    let mut t = sb.pty(&["--config", &cfg, demo.to_str().unwrap()], 80, 24);
    t.wait_for("the model list", Duration::from_secs(20), |s| s.contains("gemma-3-270m"));
    assert!(t.parser.screen().alternate_screen());
    let pid = t.child.process_id().expect("pid");
    unsafe { libc::kill(pid as i32, libc::SIGABRT) };
    assert!(t.wait_exit(Duration::from_secs(10)).is_some(), "the process ends");
    assert!(!t.parser.screen().alternate_screen());
    assert!(t.cooked());
    assert!(t.screen().contains("versus: aborted"), "{}", t.screen());
}

/// A history that is slow to write (another process holds its write lock)
/// never holds up the screen: the TUI asks the store's thread and goes on,
/// so keys typed after Ctrl-O reach the editor and are drawn before the
/// saved comparisons open. (When the UI thread read the store itself it
/// waited for the lock, and the keys went to the overlay once it opened.)
#[test]
fn a_slow_history_store_never_holds_up_keys_or_frames() {
    let _g = common::model_lock();
    let demo = common::demo_model();
    let sb = Sandbox::new();
    let cfg = config(&sb);
    let mut t = sb.pty(&["--config", &cfg, "-m", demo.to_str().unwrap()], 120, 40);
    t.wait_for("the model list", Duration::from_secs(20), |s| s.contains("gemma-3-270m"));
    let db = sb.home().join(".local/share/versus/history.sqlite3");
    let lock = rusqlite::Connection::open(&db).expect("the history exists once the TUI is up");
    lock.execute_batch("BEGIN IMMEDIATE").expect("take the write lock");
    t.send("Hi");
    t.send(F5);
    t.send("\x0f"); // Ctrl-O: the saved comparisons, queued behind the blocked write
    t.send("xyz");
    t.wait_for("the keys typed after Ctrl-O", Duration::from_secs(30), |s| s.contains("xyz"));
    let screen = t.screen();
    assert!(!screen.contains("Saved comparisons"), "the overlay opened before the keys were handled:\n{screen}");
    assert!(screen.contains("Hixyz"), "the keys went to the editor:\n{screen}");
    lock.execute_batch("COMMIT").expect("release the lock");
    t.wait_for("the saved comparisons", Duration::from_secs(30), |s| s.contains("Saved comparisons"));
    t.send(ESC);
    t.send("\x03");
    assert!(t.wait_exit(Duration::from_secs(10)).is_some());
}
