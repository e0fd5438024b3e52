//! The TUI against the headless runner on the demo model: tokens per second
//! reaching the screen (seen through a pseudo-terminal) against tokens per
//! second of `versus run`, with the same settings, and the CPU time an idle
//! TUI uses in 10 seconds. Prints a Markdown section.

use std::io::{BufRead, BufReader, Read, Write};
use std::num::NonZeroU16;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

const TOKENS: usize = 300;

fn demo() -> PathBuf {
    std::env::var_os("VERSUS_DEMO_MODEL").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".local/share/versus/models/gemma-3-270m-q4_k_m.gguf")
    })
}

fn sandbox() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, format!("[generation]\ntemperature = 0.0\nignore_eos = true\nmax_tokens = {TOKENS}\n")).expect("config");
    (dir, cfg)
}

fn env(cmd: &mut CommandBuilder, home: &std::path::Path) {
    cmd.env("HOME", home);
    cmd.env("XDG_DATA_HOME", home.join("data"));
    cmd.env("XDG_STATE_HOME", home.join("state"));
    cmd.env("XDG_CONFIG_HOME", home.join("config"));
    cmd.env("TERM", "xterm-256color");
}

/// `versus run --json`: tokens/s between the first token event and the last
/// one, as seen by a reader of its output.
fn headless(home: &std::path::Path, cfg: &std::path::Path) -> (f64, f64) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_versus"))
        .args(["--config", cfg.to_str().unwrap_or_default(), "run", "--json", "-m", demo().to_str().unwrap_or_default(), "-p", "The"])
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("versus run");
    let reader = BufReader::new(child.stdout.take().expect("stdout"));
    let (mut first, mut last, mut n, mut engine_tps) = (None, None, 0usize, 0.0);
    for line in reader.lines() {
        let Ok(line) = line else { break };
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        match v["event"].as_str() {
            Some("token") => {
                first.get_or_insert_with(Instant::now);
                last = Some(Instant::now());
                n += 1;
            }
            Some("finished") => {
                // The TUI shows "done" when this event arrives: the same end point.
                last = Some(Instant::now());
                engine_tps = v["stats"]["decode_tps"].as_f64().unwrap_or(0.0);
            }
            _ => {}
        }
    }
    let _ = child.wait();
    let secs = match (first, last) {
        (Some(a), Some(b)) => (b - a).as_secs_f64(),
        _ => f64::NAN,
    };
    ((n.max(2) - 1) as f64 / secs, engine_tps)
}

/// Output chunks with their arrival times; parsed after the run so that
/// watching the screen costs the machine nothing while it generates.
struct Recording {
    chunks: Vec<(Instant, Vec<u8>)>,
}

impl Recording {
    /// When the screen first satisfied `what`, replaying from chunk `from`.
    fn when(&self, parser: &mut vt100::Parser, from: &mut usize, what: &dyn Fn(&str) -> bool) -> Option<Instant> {
        while *from < self.chunks.len() {
            let (t, bytes) = &self.chunks[*from];
            parser.process(bytes);
            *from += 1;
            if what(&parser.screen().contents()) {
                return Some(*t);
            }
        }
        None
    }
}

/// The TUI: tokens/s between the first text appearing in the column and
/// the last token's text on screen.
fn tui(home: &std::path::Path, cfg: &std::path::Path) -> (f64, u32) {
    let pair = native_pty_system().openpty(PtySize { rows: 40, cols: 160, pixel_width: 0, pixel_height: 0 }).expect("pty");
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_versus"));
    cmd.args(["--config", cfg.to_str().unwrap_or_default(), demo().to_str().unwrap_or_default()]);
    env(&mut cmd, home);
    let mut child = pair.slave.spawn_command(cmd).expect("spawn");
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().expect("reader");
    let mut writer = pair.master.take_writer().expect("writer");
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 || tx.send((Instant::now(), buf[..n].to_vec())).is_err() {
                break;
            }
        }
    });
    let rows = NonZeroU16::new(40).expect("rows");
    let cols = NonZeroU16::new(160).expect("cols");
    let mut rec = Recording { chunks: Vec::new() };
    let mut parser = vt100::Parser::new(rows, cols, 0);
    let mut pos = 0;
    // Wait (cheaply, every 200 ms, on the raw bytes) for the list; type; run;
    // wait for the end. Timing comes from replaying the recording below.
    let wait = |rec: &mut Recording, needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            while let Ok(c) = rx.try_recv() {
                seen.extend_from_slice(&c.1);
                rec.chunks.push(c);
            }
            if seen.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("timed out waiting for {needle}");
    };
    wait(&mut rec, "gemma-3-270m");
    for keys in [" ", "\t", "The", "\x1b[15~"] {
        writer.write_all(keys.as_bytes()).expect("keys");
        writer.flush().expect("flush");
        std::thread::sleep(Duration::from_millis(100));
    }
    wait(&mut rec, "✓ done");
    let has_text = |c: &str| {
        c.contains("generating")
            && c.lines().any(|l| l.matches('│').count() >= 4 && l.split('│').nth(3).is_some_and(|col| col.trim().len() > 2))
    };
    let first = rec.when(&mut parser, &mut pos, &has_text).expect("first text");
    let last = rec.when(&mut parser, &mut pos, &|c| c.contains("✓ done")).expect("done");
    let tps = (TOKENS - 1) as f64 / (last - first).as_secs_f64();

    // Idle: nothing happens for 10 s; count the CPU time the process uses.
    std::thread::sleep(Duration::from_secs(2));
    let pid = child.process_id().unwrap_or(0);
    let ticks = || -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<u64> = after.split_whitespace().filter_map(|x| x.parse().ok()).collect();
        // utime and stime are fields 14 and 15 of stat; 12 and 13 after the name.
        f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)
    };
    let before = ticks();
    std::thread::sleep(Duration::from_secs(10));
    let idle_ticks = ticks() - before;
    writer.write_all(b"\x03").expect("quit");
    let _ = child.wait();
    (tps, idle_ticks as u32)
}

fn main() {
    let (dir, cfg) = sandbox();
    let home = dir.path().to_path_buf();
    let mut head = Vec::new();
    let mut screen = Vec::new();
    let mut engine = Vec::new();
    let mut idle = 0;
    for _ in 0..3 {
        let (h, e) = headless(&home, &cfg);
        head.push(h);
        engine.push(e);
        let (t, i) = tui(&home, &cfg);
        screen.push(t);
        idle = idle.max(i);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    println!("## TUI against the headless runner\n");
    println!("`cargo bench --bench tui`: the demo model, greedy, {TOKENS} tokens (ignore_eos), 3 alternating runs of");
    println!("each. Headless: tokens/s between the first token line and the `finished` line of `versus run --json`. TUI:");
    println!("tokens/s between the answer's first text and \"done\" appearing in a 160×40 pseudo-terminal (output");
    println!("recorded with arrival times, replayed through a VT100 parser afterwards), so it includes drawing and the");
    println!("terminal round trip. Both end at the model's Finished event, which follows its unload.\n");
    println!("| what | value | target |");
    println!("|---|---|---|");
    println!("| `versus run` tokens/s (reader's view) | {:.1} | |", mean(&head));
    println!("| engine-reported decode tokens/s, headless | {:.1} | |", mean(&engine));
    println!("| TUI tokens/s reaching the screen | {:.1} | |", mean(&screen));
    println!("| ratio TUI / headless | {:.3} | ≥ 0.98 |", mean(&screen) / mean(&head));
    println!("| CPU time of an idle TUI over 10 s (worst of 3) | {:.2} s | ≈ 0 |\n", idle as f64 / hz);
}
