//! A real llama-server (built by scripts/build-llama-tools.sh from the
//! llama.cpp inside llama-cpp-python's sdist) on a loopback port.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn binary() -> PathBuf {
    tool("llama-server", "LLAMA_SERVER", "--server-only")
}

/// A llama.cpp program built by scripts/build-llama-tools.sh: `$KEY`, or
/// the path its paths.env names, or its bin folder; `flag` is what builds it.
pub fn tool(name: &str, key: &str, flag: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(key) {
        return p.into();
    }
    let tools = std::env::var_os("VERSUS_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/versus/llama-tools"));
    let from_env = std::fs::read_to_string(tools.join("paths.env"))
        .ok()
        .and_then(|t| t.lines().find_map(|l| l.strip_prefix(&format!("{key}=")).map(PathBuf::from)));
    let path = from_env.unwrap_or_else(|| tools.join("bin").join(name));
    assert!(path.is_file(), "{name} not found at {}: run scripts/build-llama-tools.sh {flag} (scripts/test.sh does)", path.display());
    path
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

pub struct Server {
    pub child: Child,
    pub port: u16,
}

impl Server {
    /// Start on a free port serving `model` as "demo"; waits until ready.
    pub fn start(model: &Path, api_key: Option<&str>) -> Server {
        Server::start_with(model, api_key, &["-c", "2048", "-t", "1"])
    }

    /// As `start`, with these arguments instead of the context and threads.
    pub fn start_with(model: &Path, api_key: Option<&str>, args: &[&str]) -> Server {
        let port = free_port();
        let mut cmd = Command::new(binary());
        cmd.args(["-m", model.to_str().unwrap_or_default(), "--host", "127.0.0.1", "--port", &port.to_string()])
            .args(args)
            .args(["--alias", "demo", "-np", "1"])
            .env("OMP_WAIT_POLICY", "passive")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(k) = api_key {
            cmd.args(["--api-key", k]);
        }
        let child = cmd.spawn().expect("start llama-server");
        let server = Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                use std::io::{Read, Write};
                let _ = s.write_all(b"GET /health HTTP/1.0\r\n\r\n");
                let mut buf = String::new();
                let _ = s.read_to_string(&mut buf);
                if buf.starts_with("HTTP/1.1 200") || buf.starts_with("HTTP/1.0 200") {
                    return server;
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("llama-server did not become ready on port {port}");
    }

    /// POST a JSON body to `path` (e.g. "/completion") and parse the answer.
    pub fn post(&self, path: &str, body: &serde_json::Value) -> serde_json::Value {
        use std::io::{Read, Write};
        let body = body.to_string();
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connect to llama-server");
        let req = format!(
            "POST {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).expect("send");
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).expect("read");
        let answer = String::from_utf8_lossy(&answer);
        let (_, json) = answer.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no body in {answer:?}"));
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{path}: {e}: {json:?}"))
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One HTTP request read from a scripted server's connection: its first
/// line ("POST /v1/chat/completions HTTP/1.1") and its body.
pub fn read_request(stream: &std::net::TcpStream) -> (String, Vec<u8>) {
    use std::io::{BufRead, BufReader, Read};
    let mut reader = BufReader::new(stream.try_clone().expect("clone the stream"));
    let (mut first, mut length) = (String::new(), 0usize);
    let _ = reader.read_line(&mut first);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    (first, body)
}
