//! `versus fidelity` against llama.cpp's own `llama-perplexity
//! --kl-divergence` (built beside llama-bench from the same llama.cpp and
//! flags by scripts/build-llama-tools.sh --fidelity) on the demo model and
//! a copy requantized by `llama-quantize --allow-requantize`: the same
//! text, chunk size and threads give the same figures. Also: the two
//! engines against each other, a pair of vocabularies refused, a reference
//! kept for a second candidate, and Ctrl-C.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use common::{Sandbox, stderr, stdout};

/// A llama.cpp tool built by scripts/build-llama-tools.sh --fidelity.
fn tool(name: &str, key: &str) -> PathBuf {
    common::server::tool(name, key, "--fidelity")
}

/// The demo model requantized to Q4_0, made once for every test here.
fn requantized() -> &'static Path {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("versus-fidelity-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("gemma-requantized-q4_0.gguf");
        let q = Command::new(tool("llama-quantize", "LLAMA_QUANTIZE"))
            .args(["--allow-requantize".as_ref(), common::demo_model().as_os_str(), out.as_os_str(), "Q4_0".as_ref(), "2".as_ref()])
            .output()
            .expect("llama-quantize runs");
        assert!(q.status.success(), "llama-quantize: {}", String::from_utf8_lossy(&q.stderr));
        out
    })
}

/// About 560 tokens of English prose: four chunks of 128.
fn text(sb: &Sandbox) -> PathBuf {
    prose(sb, 3000)
}

/// The first `bytes` of LICENSE-APACHE in a file.
fn prose(sb: &Sandbox, bytes: usize) -> PathBuf {
    let license = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/LICENSE-APACHE")).unwrap();
    let path = sb.path().join(format!("text-{bytes}.txt"));
    std::fs::write(&path, &license[..bytes]).unwrap();
    path
}

/// A figure from llama-perplexity's report: the number after `label`.
fn figure(report: &str, label: &str) -> f64 {
    let line = report.lines().find(|l| l.trim_start().starts_with(label)).unwrap_or_else(|| panic!("{label} missing:\n{report}"));
    let after = line.split_once(':').map_or(line, |(_, r)| r);
    after.split_whitespace().next().and_then(|w| w.parse().ok()).unwrap_or_else(|| panic!("no number in {line:?}"))
}

fn fidelity(sb: &Sandbox, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["fidelity"];
    all.extend_from_slice(args);
    all.push("--json");
    let out = sb.run(&all);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)))
}

fn f(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn the_same_figures_as_llama_perplexity() {
    let _lock = common::model_lock();
    let sb = Sandbox::new();
    let (reference, candidate, text) = (common::demo_model(), requantized(), text(&sb));
    let perplexity = tool("llama-perplexity", "LLAMA_PERPLEXITY");
    let base = sb.path().join("llama.kld");
    let run = |args: &[&std::ffi::OsStr]| {
        let out = Command::new(&perplexity).args(args).output().expect("llama-perplexity runs");
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{all}");
        all
    };
    run(&[
        "-m".as_ref(),
        reference.as_os_str(),
        "-f".as_ref(),
        text.as_os_str(),
        "-c".as_ref(),
        "128".as_ref(),
        "-t".as_ref(),
        "2".as_ref(),
        "--kl-divergence-base".as_ref(),
        base.as_os_str(),
    ]);
    let anchor = run(&[
        "-m".as_ref(),
        candidate.as_os_str(),
        "--kl-divergence-base".as_ref(),
        base.as_os_str(),
        "--kl-divergence".as_ref(),
        "-c".as_ref(),
        "128".as_ref(),
        "-t".as_ref(),
        "2".as_ref(),
    ]);

    let (r, c) = (format!("{},threads=2", reference.display()), format!("{},threads=2", candidate.display()));
    let ours = fidelity(&sb, &[&r, &c, "--file", text.to_str().unwrap(), "--ctx", "128"]);
    assert_eq!((ours["ctx"].as_u64(), ours["chunks"].as_u64()), (Some(128), Some(4)), "{ours:#}");
    assert_eq!(ours["tokens"].as_u64(), Some(4 * 63), "the second half of each chunk");
    let kld = figure(&anchor, "Mean    KLD");
    let ours_kld = f(&ours["kld"]["mean"]);
    assert!((ours_kld - kld).abs() <= (0.05 * kld).max(0.001), "mean KLD {ours_kld} against llama-perplexity's {kld}\n{anchor}");
    let same = figure(&anchor, "Same top p");
    assert!((100.0 * f(&ours["same_top_p"]) - same).abs() <= 0.5, "same top p {} against {same}%", ours["same_top_p"]);
    for (key, label) in [("reference", "Mean PPL(base)"), ("candidate", "Mean PPL(Q)")] {
        let (mine, theirs) = (f(&ours["ppl"][key]), figure(&anchor, label));
        assert!((mine / theirs - 1.0).abs() <= 0.005, "PPL({key}) {mine} against {theirs}");
    }
    for key in ["stderr", "median", "p99", "max"] {
        assert!(f(&ours["kld"][key]) >= 0.0, "{key}: {ours:#}");
    }
    assert!(f(&ours["kld"]["median"]) <= f(&ours["kld"]["p99"]) && f(&ours["kld"]["p99"]) <= f(&ours["kld"]["max"]));
    let worst = ours["worst"].as_array().unwrap();
    assert_eq!(worst.len(), 10);
    assert!((f(&worst[0]["kld"]) - f(&ours["kld"]["max"])).abs() < 1e-4, "{ours:#}");
    assert!(worst[0]["token"].is_string() && worst[0]["pos"].is_u64());

    // A kept reference serves a second candidate without running again.
    let kept = sb.path().join("gemma.base");
    let keep = ["--keep-base", kept.to_str().unwrap(), "--file", text.to_str().unwrap(), "--ctx", "128"];
    let first = fidelity(&sb, &[&[r.as_str(), c.as_str()][..], &keep].concat());
    assert!(kept.is_file());
    let out = sb.run(&[&["fidelity", r.as_str(), c.as_str()][..], &keep, &["--json"]].concat());
    assert!(stderr(&out).contains("reading the reference's log-probabilities"), "{}", stderr(&out));
    let second: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(first["kld"], second["kld"]);
    assert_eq!(first, ours, "a kept reference changes nothing");
}

/// The engines against each other: the most precise measure of how
/// faithful candle is to llama.cpp on one file.
#[test]
fn candle_against_llama_cpp_on_one_file() {
    let _lock = common::model_lock();
    let sb = Sandbox::new();
    // Two chunks: candle's second halves decode one token at a time.
    let text = prose(&sb, 1500);
    let m = common::demo_model();
    let v = fidelity(
        &sb,
        &[
            &format!("{}@llama,threads=2", m.display()),
            &format!("{}@candle,threads=2", m.display()),
            "--file",
            text.to_str().unwrap(),
            "--ctx",
            "128",
        ],
    );
    assert!(f(&v["kld"]["mean"]) < 0.02, "{v:#}");
    assert!(f(&v["same_top_p"]) > 0.9, "{v:#}");
    assert!(f(&v["ln_ppl_ratio"]).abs() < 0.05, "{v:#}");
    eprintln!("gemma llama.cpp → candle: {}", serde_json::to_string(&v["kld"]).unwrap());
}

#[test]
fn two_vocabularies_are_refused_and_ctrl_c_cleans_up() {
    let sb = Sandbox::new();
    let text = text(&sb);
    let out = sb.run(&[
        "fidelity",
        common::demo_model().to_str().unwrap(),
        common::demo_chat_model().to_str().unwrap(),
        "--file",
        text.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(said.contains("do not share a vocabulary") && said.contains("token 0 is 2 \"<bos>\""), "{said}");
    assert!(stdout(&out).is_empty(), "no figure that would mean nothing");

    // Ctrl-C while the reference runs: exit 130, no reference file left.
    let _lock = common::model_lock();
    let m = format!("{},threads=2", common::demo_model().display());
    let mut child = sb
        .command()
        .args(["fidelity", &m, &m, "--file", text.to_str().unwrap(), "--ctx", "64"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("versus starts");
    let mut err = child.stderr.take().unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 256];
    while !seen.contains("chunk 1/") {
        use std::io::Read;
        let n = err.read(&mut buf).unwrap_or(0);
        assert!(n > 0, "ended before its first chunk: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    // SAFETY: kill(2) on the child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{seen}");
    let state = sb.home().join(".local/state/versus");
    let left: Vec<_> =
        std::fs::read_dir(&state).into_iter().flatten().flatten().filter(|e| e.file_name().to_string_lossy().contains(".base")).collect();
    assert!(left.is_empty(), "{left:?}");
}
