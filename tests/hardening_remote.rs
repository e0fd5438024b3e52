//! Hostile servers (issue 17): a body that trickles a byte at a time, an
//! event line without end, an HTML page where the event stream belongs, and
//! a server that takes the request and never answers. Each ends with a
//! message that says what the server did, and a signal still ends the run.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::process::{Output, Stdio};
use std::time::Duration;

use common::{Sandbox, stderr, stdout};

/// A server on a free port: GET /v1/models lists model `m` (through
/// `models` when given), and every POST is answered by `chat`.
fn serve(models: Option<fn(TcpStream)>, chat: fn(TcpStream)) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let (first, _) = common::server::read_request(&stream);
                match (first.starts_with("GET"), models) {
                    (true, Some(f)) => f(stream),
                    (true, None) => {
                        let body = "{\"data\": [{\"id\": \"m\"}]}";
                        let _ = write!(
                            &stream,
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                    }
                    (false, _) => chat(stream),
                }
            });
        }
    });
    port
}

fn config(sb: &Sandbox, port: u16, model: bool) -> String {
    let cfg = sb.path().join("c.toml");
    let model = if model { "model = \"m\"\n" } else { "" };
    std::fs::write(&cfg, format!("[[endpoints]]\nname = \"srv\"\nurl = \"http://127.0.0.1:{port}/v1\"\ntimeout_secs = 600\n{model}"))
        .unwrap();
    cfg.display().to_string()
}

fn run(sb: &Sandbox, cfg: &str) -> Output {
    let child = sb
        .command()
        .args(["--config", cfg, "run", "-m", "m@srv", "-p", "hi"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    common::finish_within_30s(child, "versus run")
}

#[test]
fn an_endless_event_line_is_an_error_with_a_bound() {
    let port = serve(None, |mut s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: ");
        let chunk = vec![b'x'; 64 << 10];
        // Until versus hangs up; 64 MiB at most.
        for _ in 0..1024 {
            if s.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    let sb = Sandbox::new();
    let out = run(&sb, &config(&sb, port, true));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("without ending"), "{}", stderr(&out));
}

#[test]
fn an_html_page_instead_of_events_says_so() {
    let port = serve(None, |mut s| {
        // Longer than what the message quotes: its start is still shown.
        let body = format!("<html><body><h1>Welcome to nginx!</h1>{}</body></html>", "<p>padding</p>".repeat(200));
        let _ =
            write!(s, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    });
    let sb = Sandbox::new();
    let out = run(&sb, &config(&sb, port, true));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("HTML page (status 200)") && err.contains("Welcome to nginx"), "{err}");
}

#[test]
fn a_model_list_that_trickles_is_given_up_on() {
    let trickle: fn(TcpStream) = |mut s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n");
        // A byte every 200 ms: each read is quick, the whole never comes.
        for b in std::iter::repeat_n(b' ', 100_000) {
            if s.write_all(&[b]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let port = serve(Some(trickle), |_| {});
    let sb = Sandbox::new();
    let cfg = config(&sb, port, false);
    let child = sb.command().args(["--config", &cfg, "list"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let out = common::finish_within_30s(child, "versus list");
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(all.contains("no complete answer"), "{all}");
}

#[test]
fn a_server_that_never_answers_is_left_on_a_signal() {
    let port = serve(None, |s| {
        // Take the request and hold the connection, saying nothing.
        std::thread::sleep(Duration::from_secs(120));
        drop(s);
    });
    let sb = Sandbox::new();
    let cfg = config(&sb, port, true);
    let child = sb
        .command()
        .args(["--config", &cfg, "run", "-m", "m@srv", "-p", "hi"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_secs(2));
    // SAFETY: a signal to the child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = common::finish_within_30s(child, "versus run after SIGINT");
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    let export = sb.run(&["history", "export", "1", "--format", "json"]);
    assert!(stdout(&export).contains("interrupted"), "the run is saved as interrupted: {}", stdout(&export));
}
