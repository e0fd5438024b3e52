//! The README's demo in a real tmux server with its default settings, as a
//! person uses it day to day: a copy of a model with its own temperature, a
//! run, a copy of an answer to the clipboard through tmux, quitting, and a
//! restart that brings back the selection and the prompt history.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::Sandbox;

struct Tmux {
    socket: String,
}

impl Tmux {
    fn new(sb: &Sandbox) -> Tmux {
        let socket = format!("versus-test-{}", sb.path().file_name().unwrap().to_string_lossy());
        Tmux { socket }
    }

    fn cmd(&self, args: &[&str]) -> std::process::Output {
        // -f /dev/null: tmux's defaults, not this machine's ~/.tmux.conf.
        Command::new("tmux").args(["-L", &self.socket, "-f", "/dev/null"]).args(args).output().expect("tmux (scripts/setup.sh installs it)")
    }

    fn start(&self, command: &str) {
        let out = self.cmd(&["new-session", "-d", "-s", "t", "-x", "120", "-y", "40", command]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        self.cmd(&args);
        std::thread::sleep(Duration::from_millis(150));
    }

    fn literal(&self, text: &str) {
        self.cmd(&["send-keys", "-t", "t", "-l", text]);
        std::thread::sleep(Duration::from_millis(150));
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }

    fn wait_for(&self, what: &str, secs: u64, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            assert!(start.elapsed() < Duration::from_secs(secs), "waited {secs} s for {what}:\n{s}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn alive(&self) -> bool {
        self.cmd(&["has-session", "-t", "t"]).status.success()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.cmd(&["kill-server"]);
    }
}

#[test]
fn a_day_in_tmux_copy_quit_and_come_back() {
    let _g = common::model_lock();
    let sb = Sandbox::new();
    let models = sb.path().join("models");
    std::fs::create_dir_all(&models).unwrap();
    std::os::unix::fs::symlink(common::demo_model(), models.join("gemma-3-270m-q4_k_m.gguf")).unwrap();
    let cfg = sb.path().join("config.toml");
    std::fs::write(&cfg, "[generation]\nmax_tokens = 12\n").unwrap();
    let home = sb.home();
    std::fs::create_dir_all(&home).unwrap();
    let command = format!(
        "env -i PATH=\"$PATH\" HOME={h} XDG_CONFIG_HOME={h}/.config XDG_DATA_HOME={h}/.local/share XDG_STATE_HOME={h}/.local/state TERM=xterm-256color LANG=C.UTF-8 OMP_WAIT_POLICY=passive TMUX=\"$TMUX\" {exe} --config {cfg} {models}",
        h = home.display(),
        exe = env!("CARGO_BIN_EXE_versus"),
        cfg = cfg.display(),
        models = models.display()
    );
    let t = Tmux::new(&sb);
    t.start(&command);
    t.wait_for("the model list", 20, |s| s.contains("gemma-3-270m"));
    // Select, add a copy with its own temperature.
    t.keys(&["Space", "d", "p", "Enter", "BSpace", "BSpace", "BSpace", "BSpace"]);
    t.literal("1.2");
    t.keys(&["Enter", "Escape"]);
    t.wait_for("the copy's settings", 5, |s| s.contains("temperature=1.2"));
    t.keys(&["Tab"]);
    t.literal("The capital of France is");
    t.keys(&["F5"]);
    t.wait_for("both answers", 120, |s| s.matches("✓ done").count() == 2);
    // Copy the first answer: through tmux, which keeps it and passes it on.
    t.keys(&["Tab", "y"]);
    let s = t.wait_for("the copy's report", 5, |s| s.contains("copied "));
    assert!(s.contains("tmux's paste buffer and, through tmux, the terminal's clipboard"), "{s}");
    let buffer = String::from_utf8_lossy(&t.cmd(&["show-buffer"]).stdout).into_owned();
    assert!(!buffer.trim().is_empty(), "tmux holds the copied answer");
    // The first word only: the answer (sampled at the default temperature)
    // may break its line after it, or the column may wrap there.
    let first_word = buffer.split_whitespace().next().unwrap_or_default();
    assert!(s.contains(first_word), "the buffer is the answer on screen ({first_word:?}):\n{s}");
    t.keys(&["q"]);
    let start = Instant::now();
    while t.alive() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!t.alive(), "q quits");

    // The next day: the selection and the prompt are back.
    t.start(&command);
    let s = t.wait_for("the model list", 20, |s| s.contains("gemma-3-270m"));
    assert!(s.contains("Models 2/2") && s.contains("temperature=1.2"), "the selection with its copy is back:\n{s}");
    t.keys(&["C-p"]);
    t.wait_for("the last prompt, recalled", 5, |s| s.contains("The capital of France is"));
    t.keys(&["C-c"]);
}
