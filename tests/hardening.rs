//! Hostile inputs (issue 17, first part): special files where models,
//! configs and prompts are read, GGUF metadata nested to overflow the
//! stack, and budgets that would wrap. Each must end quickly with a message
//! that names the file, and never hang or crash.

mod common;

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use common::{Sandbox, stderr, stdout};

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo on a path in the test's own temporary folder.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo {}", path.display());
}

/// Run versus, killing it after 30 s: a hang is a failure, not a stuck test.
fn bounded(sb: &Sandbox, args: &[&str]) -> Output {
    let child = sb.command().args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    common::finish_within_30s(child, &format!("versus {args:?}"))
}

#[test]
fn fifos_where_files_are_read_are_refused_without_hanging() {
    let sb = Sandbox::new();
    let models = sb.path().join("models");
    std::fs::create_dir_all(models.join("hf")).unwrap();
    mkfifo(&models.join("x.gguf"));
    mkfifo(&models.join("hf/config.json"));
    std::fs::write(models.join("hf/model.safetensors"), b"").unwrap();
    // A device behind a model's name, and a symlink loop among the folders.
    std::os::unix::fs::symlink("/dev/zero", models.join("zero.gguf")).unwrap();
    std::os::unix::fs::symlink(models.join("loop-b"), models.join("loop-a")).unwrap();
    std::os::unix::fs::symlink(models.join("loop-a"), models.join("loop-b")).unwrap();
    let out = bounded(&sb, &["list", models.to_str().unwrap()]);
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(all.contains("x.gguf") && all.contains("FIFO"), "names the file and what it is: {all}");
    assert!(all.contains("zero.gguf") && all.contains("a device"), "names the device: {all}");

    let prompt = sb.path().join("prompt.txt");
    mkfifo(&prompt);
    let out = bounded(&sb, &["run", "-m", "whatever", "--prompt-file", prompt.to_str().unwrap()]);
    assert!(matches!(out.status.code(), Some(1 | 2)), "{}", stderr(&out));
    assert!(stderr(&out).contains("prompt.txt") && stderr(&out).contains("FIFO"), "{}", stderr(&out));

    let config = sb.home().join(".config/versus");
    std::fs::create_dir_all(&config).unwrap();
    mkfifo(&config.join("config.toml"));
    let out = bounded(&sb, &["doctor"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("config.toml") && stderr(&out).contains("FIFO"), "{}", stderr(&out));
}

/// A GGUF header whose one metadata value is an array of arrays `depth` deep.
fn nested_gguf(path: &Path, depth: usize) {
    let mut b = Vec::with_capacity(depth * 12 + 64);
    b.extend_from_slice(b"GGUF");
    b.extend_from_slice(&3u32.to_le_bytes());
    b.extend_from_slice(&0u64.to_le_bytes()); // tensors
    b.extend_from_slice(&1u64.to_le_bytes()); // metadata entries
    let key = b"general.nested";
    b.extend_from_slice(&(key.len() as u64).to_le_bytes());
    b.extend_from_slice(key);
    b.extend_from_slice(&9u32.to_le_bytes());
    for _ in 0..depth {
        b.extend_from_slice(&9u32.to_le_bytes());
        b.extend_from_slice(&1u64.to_le_bytes());
    }
    b.extend_from_slice(&4u32.to_le_bytes());
    b.extend_from_slice(&1u64.to_le_bytes());
    b.extend_from_slice(&7u32.to_le_bytes());
    std::fs::write(path, b).unwrap();
}

#[test]
fn deeply_nested_gguf_metadata_is_corrupt_not_a_crash() {
    let sb = Sandbox::new();
    let models = sb.path().join("models");
    std::fs::create_dir_all(&models).unwrap();
    nested_gguf(&models.join("deep.gguf"), 1_000_000);
    let out = bounded(&sb, &["list", models.to_str().unwrap()]);
    assert!(out.status.code().is_some(), "no crash: {out:?}");
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(all.contains("deep") && all.contains("nested more than 8 deep"), "{all}");
    // A shallow nesting is read as usual.
    let h = versus::catalog::gguf::Header::read(
        &{
            let p = models.join("shallow.gguf");
            nested_gguf(&p, 3);
            p
        },
        versus::catalog::gguf::Arrays::Keep,
    );
    assert!(h.is_ok(), "{h:?}");
}

#[test]
fn a_memory_budget_that_would_wrap_is_refused_with_its_place() {
    let sb = Sandbox::new();
    let config = sb.home().join(".config/versus");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("config.toml"), "[memory]\nlimit_mib = 17592186044416\n").unwrap();
    let out = bounded(&sb, &["doctor"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("memory.limit_mib") && stderr(&out).contains("config.toml:2"), "{}", stderr(&out));
}

#[test]
fn nothing_clobbers_an_input_or_an_existing_file() {
    let sb = Sandbox::new();
    let prompts = sb.path().join("prompts.txt");
    std::fs::write(&prompts, "one\ntwo\n").unwrap();
    let p = prompts.to_str().unwrap();
    let out = bounded(&sb, &["run", "-m", "x", "--prompts", p, "--out", p]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("is the --prompts file"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&prompts).unwrap(), "one\ntwo\n", "the prompts are intact");
    let results = sb.path().join("results.jsonl");
    std::fs::write(&results, "{\"kept\": true}\n").unwrap();
    let out = bounded(&sb, &["run", "-m", "x", "--prompts", p, "--out", results.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--resume continues it, --force replaces it"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&results).unwrap(), "{\"kept\": true}\n");
    let report = sb.path().join("report.md");
    std::fs::write(&report, "mine").unwrap();
    let out = bounded(&sb, &["history", "export", "1", "-o", report.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--force replaces it"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&report).unwrap(), "mine");
}

/// A JSON lines batch with one bad line names the line instead of sending
/// every line as literal text; a resumed batch sets a line cut short apart
/// (in FILE.cut, said on stderr) and counts duplicate prompts one by one.
#[test]
fn batch_files_report_bad_lines_and_resume_exactly() {
    let sb = Sandbox::new();
    let demo = common::demo_model();
    let d = demo.to_str().unwrap();
    let bad = sb.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"prompt\": \"one\"}\n\n{\"prompt\": two}\n").unwrap();
    let out = bounded(&sb, &["run", "-m", d, "--prompts", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("bad.jsonl line 3: not JSON"), "{}", stderr(&out));

    let _g = common::model_lock();
    // A 1 MB prompt fails its pair with the sizes; the next prompt still runs.
    let big = sb.path().join("big.txt");
    std::fs::write(&big, format!("{}\nHi\n", "word ".repeat(200_000))).unwrap();
    // The results (each with its 1 MB prompt) go to a file: a pipe nobody
    // reads until the end would fill.
    let big_out = sb.path().join("big.jsonl");
    let out = bounded(&sb, &["run", "-m", d, "--prompts", big.to_str().unwrap(), "--out", big_out.to_str().unwrap(), "--max-tokens", "2"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = std::fs::read_to_string(&big_out).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert_eq!(lines.len(), 2, "{}", stderr(&out));
    let error = lines[0]["error"].as_str().unwrap_or_default();
    assert!(lines[0]["status"] == "failed" && error.contains("context holds"), "{}", lines[0]);
    assert_eq!(lines[1]["status"], "finished", "{}", lines[1]);

    let prompts = sb.path().join("same.txt");
    std::fs::write(&prompts, "Hi\nHi\n").unwrap();
    let results = sb.path().join("results.jsonl");
    let (p, r) = (prompts.to_str().unwrap(), results.to_str().unwrap());
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "-m", d, "--prompts", p, "--out", r, "--max-tokens", "2"];
        args.extend_from_slice(extra);
        bounded(&sb, &args)
    };
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&results).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    // Killed while writing the second result: half a line, no newline.
    std::fs::write(&results, format!("{}\n{}", lines[0], &lines[1][..lines[1].len() / 2])).unwrap();
    let out = run(&["--resume"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&results).unwrap();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).expect("the new result is a line of its own");
    assert_eq!(last["prompt_index"], 1, "the duplicate prompt got its own result: {text}");
    assert_eq!(text.lines().count(), 2, "the cut line is set apart: {text}");
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("every line of the results parses");
    }
    assert!(stderr(&out).contains("line 2 was not whole JSON") && stderr(&out).contains("results.jsonl.cut"), "{}", stderr(&out));
    let aside = std::fs::read_to_string(sb.path().join("results.jsonl.cut")).unwrap();
    assert_eq!(aside.trim_end(), &lines[1][..lines[1].len() / 2], "the cut line is kept apart, as it was");
}

#[test]
fn escape_sequences_never_reach_a_terminal() {
    let hostile = "title\x1b]0;pwned\x07 clip\x1b]52;c;aGk=\x07 clear\x1b[2J\r\nnext\tline";
    let safe = versus::wrap::terminal_safe(hostile);
    assert!(!safe.contains('\x1b') && !safe.contains('\x07') && !safe.contains('\r'), "{safe:?}");
    assert!(safe.contains("\nnext\tline"), "newlines and tabs stay: {safe:?}");
    assert!(matches!(versus::wrap::terminal_safe("plain\ntext"), std::borrow::Cow::Borrowed(_)));
}

#[test]
fn a_hostile_model_name_reaches_a_terminal_harmless() {
    use versus::catalog::gguf::write::{W, write_gguf};
    let sb = Sandbox::new();
    let dir = sb.path().join("models");
    std::fs::create_dir_all(&dir).unwrap();
    let kv = vec![("general.architecture", W::Str("llama\x1b]0;arch-title\x07")), ("tokenizer.ggml.tokens", W::StrArray(&["<s>", "a"]))];
    write_gguf(&dir.join("evil\x1b]0;pwned\x07\x1b[2J.gguf"), &kv, &[("token_embd.weight", &[8, 2])]).unwrap();
    let mut t = sb.pty(&["list", dir.to_str().unwrap()], 160, 40);
    t.wait_exit(Duration::from_secs(30));
    let raw = String::from_utf8_lossy(&t.raw).into_owned();
    assert!(raw.contains("evil"), "the model is listed: {raw:?}");
    for seq in ["\x1b]0;pwned", "\x1b]0;arch-title", "\x1b[2J"] {
        assert!(!raw.contains(seq), "{seq:?} reached the terminal: {raw:?}");
    }
}

#[test]
fn credentials_never_reach_output_history_or_log() {
    use std::io::Write;
    // A server that lists one model and refuses every chat request, echoing
    // the key it was sent.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (first, _) = common::server::read_request(&stream);
            let mut out = stream;
            let (status, body) = if first.starts_with("GET") {
                ("200 OK", "{\"data\": [{\"id\": \"m\"}]}".to_string())
            } else {
                ("401 Unauthorized", "{\"error\": {\"message\": \"invalid key sk-SECRET1234 for user bob\"}}".to_string())
            };
            let _ = write!(
                out,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let sb = Sandbox::new();
    let cfg = sb.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!("[[endpoints]]\nname = \"srv\"\nurl = \"http://bob:hunter2@127.0.0.1:{port}/v1\"\napi_key_env = \"VERSUS_TEST_KEY\"\n"),
    )
    .unwrap();
    let c = cfg.to_str().unwrap();
    let run =
        sb.command().env("VERSUS_TEST_KEY", "sk-SECRET1234").args(["--config", c, "run", "-m", "m@srv", "-p", "hi"]).output().unwrap();
    let url_spec = format!("m@http://bob:hunter2@127.0.0.1:{port}/v1");
    let direct = sb.command().args(["run", "-m", &url_spec, "-p", "hi"]).output().unwrap();
    let doctor = sb.command().env("VERSUS_TEST_KEY", "sk-SECRET1234").args(["--config", c, "doctor"]).output().unwrap();
    let export = sb.run(&["history", "export", "1", "2", "--format", "json"]);
    let everything = [&run, &direct, &doctor, &export].map(|o| format!("{}{}", stdout(o), stderr(o))).join("\n") + &sb.log();
    assert!(stderr(&run).contains("refused the API key"), "{}", stderr(&run));
    assert!(stdout(&export).contains("***@127.0.0.1"), "the URL is recorded, redacted: {}", stdout(&export));
    for secret in ["hunter2", "sk-SECRET1234"] {
        assert!(!everything.contains(secret), "{secret} leaked:\n{everything}");
    }
}

#[test]
fn store_metadata_cannot_lead_outside_the_store_and_empty_names_are_refused() {
    let sb = Sandbox::new();
    let ollama = sb.path().join("ollama");
    let m = ollama.join("manifests/registry.ollama.ai/library/evil");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::create_dir_all(ollama.join("blobs")).unwrap();
    std::fs::write(
        m.join("latest"),
        r#"{"layers":[{"mediaType":"application/vnd.ollama.image.model","digest":"../../../../etc/hostname"}]}"#,
    )
    .unwrap();
    let hub = sb.path().join("hub");
    let repo = hub.join("models--org--evil");
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::create_dir_all(repo.join("snapshots")).unwrap();
    std::fs::write(repo.join("refs/main"), "../../../../etc").unwrap();
    let out = sb.command().env("OLLAMA_MODELS", &ollama).env("HF_HUB_CACHE", &hub).args(["list", "--json"]).output().unwrap();
    let text = stdout(&out);
    assert!(!text.contains("/etc/hostname\"") && !text.contains("\"/etc\""), "followed out of the store: {text}");
    assert!(text.contains("not a sha256 digest"), "{text}");

    let demo_dir = sb.path().join("one");
    std::fs::create_dir_all(&demo_dir).unwrap();
    for spec in ["@llama", ",temperature=0", " "] {
        let out = bounded(&sb, &["run", "--scan", demo_dir.to_str().unwrap(), "-m", spec, "-p", "hi"]);
        assert_eq!(out.status.code(), Some(2), "{spec:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("no model name") || stderr(&out).contains("empty model spec"), "{spec:?}: {}", stderr(&out));
    }
}

/// A model whose file name is not UTF-8 is found and read by its real name
/// (shown with U+FFFD); a folder that cannot be read is named in the note.
#[test]
fn non_utf8_names_and_unreadable_folders() {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let models = sb.path().join("models");
    std::fs::create_dir_all(models.join("locked")).unwrap();
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.gguf");
    std::fs::copy(common::demo_model(), models.join(name)).unwrap();
    std::fs::set_permissions(models.join("locked"), std::fs::Permissions::from_mode(0o000)).unwrap();
    let out = bounded(&sb, &["list", "--json", models.to_str().unwrap()]);
    let list: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    let model = list.as_array().and_then(|a| a.iter().find(|m| m["name"] == "caf\u{fffd}")).unwrap_or_else(|| panic!("{list}"));
    assert!(model["error"].is_null(), "read by its real name: {model}");
    assert_eq!(model["architecture"], "gemma3");
    // root reads any folder; the note can only be checked as another user.
    if std::fs::read_dir(models.join("locked")).is_err() {
        let out = bounded(&sb, &["list", models.to_str().unwrap()]);
        assert!(stdout(&out).contains("skipped unreadable") && stdout(&out).contains("locked"), "{}", stdout(&out));
    }
    std::fs::set_permissions(models.join("locked"), std::fs::Permissions::from_mode(0o755)).unwrap();
}
