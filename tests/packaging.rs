//! What a packaged or installed versus carries besides the TUI: the manual
//! page and completions from the clap definition, doctor's kernels line,
//! and the per-model GPU placement settings as a user types them.

mod common;

use common::{Sandbox, stderr, stdout};

#[test]
fn the_manual_page_and_completions_cover_every_subcommand() {
    let sb = Sandbox::new();
    let man = sb.run(&["man"]);
    assert_eq!(man.status.code(), Some(0), "{}", stderr(&man));
    let page = stdout(&man);
    assert!(page.contains(".TH versus 1"), "{page}");
    // One page per subcommand, each with its own flags.
    let dir = sb.path().join("man");
    let out = sb.run(&["man", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for sub in ["list", "doctor", "run", "history", "leaderboard", "report", "tokenize", "keys", "completions"] {
        assert!(page.contains(&format!("versus\\-{sub}(1)")), "{sub} is not listed on the main page");
        let sub_page = std::fs::read_to_string(dir.join(format!("versus-{sub}.1"))).unwrap_or_else(|e| panic!("versus-{sub}.1: {e}"));
        assert!(sub_page.contains(&format!(".TH versus-{sub} 1")), "{sub_page}");
    }
    let run = std::fs::read_to_string(dir.join("versus-run.1")).unwrap();
    assert!(run.contains("\\-\\-prompts") && run.contains("\\-\\-resume"), "versus-run.1 documents its flags");
    for shell in ["bash", "zsh", "fish"] {
        let out = sb.run(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        assert!(stdout(&out).contains("versus") && stdout(&out).contains("doctor"), "{shell}");
    }
}

#[test]
fn doctor_says_which_cpu_kernels_are_in_use() {
    let sb = Sandbox::new();
    let out = sb.run(&["doctor"]);
    let text = stdout(&out);
    let kernels = text.lines().find(|l| l.trim_start().starts_with("kernels")).unwrap_or_else(|| panic!("{text}"));
    if cfg!(target_arch = "x86_64") {
        assert!(kernels.contains("x86-64"), "{kernels}");
    }
}

#[test]
fn gpu_placement_settings_are_checked_like_every_setting() {
    let _g = common::model_lock();
    let sb = Sandbox::new();
    let demo = common::demo_model();
    let d = demo.to_str().unwrap();
    // On a machine without a GPU they change nothing, and are recorded.
    let spec = format!("{d},split_mode=none,main_gpu=0");
    let out = sb.run(&["run", "--json", "-m", &spec, "-p", "Hi", "--max-tokens", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // tensor_split reaches llama.cpp through the patched llama-cpp-2 (which
    // ignores it without GPUs) and names the column, as any changed setting.
    let spec = format!("{d},tensor_split=3/1");
    let out = sb.run(&["run", "--json", "-m", &spec, "-p", "Hi", "--max-tokens", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("(tensor_split=3/1)"), "{}", stdout(&out));
    let bad = [
        (format!("{d},main_gpu=99"), "0..=63"),
        (format!("{d},split_mode=diagonal"), "layer, row, none"),
        (format!("{d},tensor_split=0/0"), "up to 16 shares"),
    ];
    for (spec, says) in bad {
        let out = sb.run(&["run", "-m", &spec, "-p", "Hi"]);
        assert_eq!(out.status.code(), Some(2), "{spec}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{spec}: {}", stderr(&out));
    }
}
