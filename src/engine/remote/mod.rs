//! The remote engine: OpenAI-compatible servers (llama-server, vLLM,
//! Ollama, TGI) over HTTP with server-sent events.
//!
//! A remote entry uses no local memory, so the scheduler runs it on a
//! thread of its own, concurrently with the local queue. Each such thread
//! drives reqwest on a current-thread tokio runtime, which lets `Remote`
//! implement the same blocking `Backend` trait and feed the same `Sink`.
//! API keys are read from the environment when a request is made and go
//! only into the Authorization header, which is never logged.

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use super::redact::redact;
use super::{Backend, PromptReport, StopReason};
use crate::engine::runtime::sink::{Flow, Sink};
use crate::error::Error;
use crate::params::GenerationParams;
pub use http::list_models;
use http::{MAX_ERROR_BODY, api_key, body_start, client, request, status_error, transport, until_interrupted};

mod http;

/// A remote inference server, named so specs can say `MODEL@NAME`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    pub name: String,
    /// The API base, e.g. `http://gpu-2:8000/v1`.
    pub url: String,
    /// The environment variable that holds the API key (never the key itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// The model to use when a spec names only the endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Seconds without data from the server before giving up.
    #[serde(default = "default_endpoint_timeout")]
    pub timeout_secs: u64,
}

fn default_endpoint_timeout() -> u64 {
    120
}

/// The models every endpoint serves (GET /v1/models), each as
/// `MODEL@ENDPOINT`; an endpoint that does not answer is listed with its error.
pub fn discover_endpoints(endpoints: &[EndpointConfig]) -> Vec<crate::catalog::ModelInfo> {
    if endpoints.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for ep in endpoints {
        match list_models(ep, std::time::Duration::from_secs(3)) {
            Ok(ids) if !ids.is_empty() => out.extend(ids.iter().map(|id| remote_model(ep, id))),
            Ok(_) => out.push(crate::catalog::ModelInfo { error: Some("the endpoint lists no models".into()), ..remote_model(ep, "") }),
            Err(e) => out.push(crate::catalog::ModelInfo { error: Some(scrub(ep, e).to_string()), ..remote_model(ep, "") }),
        }
    }
    out
}

/// A served model as a catalog entry.
pub fn remote_model(ep: &EndpointConfig, model: &str) -> crate::catalog::ModelInfo {
    crate::catalog::ModelInfo {
        name: if model.is_empty() { ep.name.clone() } else { format!("{model}@{}", ep.name) },
        format: crate::catalog::Format::Remote,
        path: std::path::PathBuf::from(redact(&ep.url)),
        files: Vec::new(),
        source: crate::catalog::Source::Endpoint,
        size_bytes: 0,
        architecture: None,
        quantization: None,
        parameters: None,
        context_length: None,
        chat_template: true,
        shape: None,
        error: None,
    }
}

/// Which server and which of its models an entry runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub endpoint: EndpointConfig,
    /// The model name sent to the server (empty: the server's default).
    pub model: String,
}

fn base(url: &str) -> &str {
    url.trim_end_matches('/')
}

/// The server and model a discovered remote model (`MODEL@ENDPOINT`) runs on.
pub fn target_for(model: &crate::catalog::ModelInfo, endpoints: &[EndpointConfig]) -> Option<Target> {
    if model.format != crate::catalog::Format::Remote {
        return None;
    }
    let (name, ep) = model.name.rsplit_once('@').unwrap_or(("", model.name.as_str()));
    let endpoint = endpoints.iter().find(|e| e.name == ep)?.clone();
    let model = if name.is_empty() { endpoint.model.clone().unwrap_or_default() } else { name.to_string() };
    Some(Target { endpoint, model })
}

/// An error of endpoint `ep` as it may be shown and stored: no credentials
/// from its URL, and not its API key (a server may echo it back).
fn scrub(ep: &EndpointConfig, e: Error) -> Error {
    match e {
        Error::Inference(s) => {
            let mut s = redact(&s);
            if let Some(key) = api_key(ep).filter(|k| k.len() >= 4) {
                s = s.replace(&key, "***");
            }
            Error::Inference(s)
        }
        other => other,
    }
}

/// A warning for `http://` to a host that is not this machine.
pub fn insecure_warning(url: &str) -> Option<String> {
    let rest = url.strip_prefix("http://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let hostport = authority.rsplit('@').next().unwrap_or(authority);
    let host = if hostport.starts_with('[') {
        hostport.split(']').next().map_or(hostport, |h| &hostport[..h.len() + 1])
    } else {
        hostport.split(':').next().unwrap_or("")
    };
    let local = host == "localhost" || host.starts_with("127.") || host == "[::1]";
    (!local).then(|| format!("{}: plain http to another machine; prompts, answers and any API key travel unencrypted", redact(url)))
}

/// An OpenAI-compatible completion request (`/completions` with `prompt`,
/// `/chat/completions` with `messages`), with the sampling extensions
/// llama-server and vLLM accept (`top_k`, `min_p`, the penalties).
#[derive(Serialize)]
struct Request {
    stream: bool,
    stream_options: StreamOptions,
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<String>,
    temperature: f32,
    top_p: f32,
    max_tokens: u32,
    seed: u32,
    top_k: u32,
    min_p: f32,
    repeat_penalty: f32,
    repetition_penalty: f32,
    repeat_last_n: u32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    stop: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    ignore_eos: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    messages: Option<Value>,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

pub struct Remote {
    target: Target,
    client: reqwest::Client,
    rt: tokio::runtime::Runtime,
    /// Whether the model name was checked against the server's list.
    checked: bool,
}

impl Remote {
    /// No network yet: the first request says whether the server is there.
    pub fn connect(target: &Target, label: &str) -> Result<Remote, Error> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::ModelLoad { model: label.into(), reason: e.to_string() })?;
        Ok(Remote { target: target.clone(), client: client(&target.endpoint)?, rt, checked: false })
    }

    /// Some servers (llama-server) answer whatever model is named; check
    /// the name against their list once, so a typo is an error, not a
    /// silently different model.
    fn check_model(&mut self) -> Result<(), Error> {
        if self.checked || self.target.model.is_empty() {
            return Ok(());
        }
        self.checked = true;
        let ep = &self.target.endpoint;
        match list_models(ep, Duration::from_secs(ep.timeout_secs.clamp(1, 10))) {
            Ok(list) if !list.is_empty() && !list.contains(&self.target.model) => {
                Err(Error::Inference(format!("model `{}` is not served at {}; it serves: {}", self.target.model, ep.url, list.join(", "))))
            }
            // A server without a model list, or one that is down: the request
            // itself will say what is wrong.
            _ => Ok(()),
        }
    }

    /// The endpoint path and the request body; `rendered` is the prompt
    /// (raw) or the JSON array of chat messages `render` made.
    fn body(&self, rendered: &str, p: &GenerationParams, seed: u32) -> (String, Value) {
        let messages =
            (!p.raw).then(|| serde_json::from_str(rendered).unwrap_or_else(|_| json!([{ "role": "user", "content": rendered }])));
        let body = Request {
            stream: true,
            stream_options: StreamOptions { include_usage: true },
            model: (!self.target.model.is_empty()).then(|| self.target.model.clone()),
            temperature: p.temperature,
            top_p: p.top_p,
            max_tokens: p.max_tokens,
            seed,
            top_k: p.top_k,
            min_p: p.min_p,
            repeat_penalty: p.repeat_penalty,
            repetition_penalty: p.repeat_penalty,
            repeat_last_n: p.repeat_last_n,
            stop: p.stop.clone(),
            ignore_eos: p.ignore_eos,
            prompt: p.raw.then(|| rendered.to_string()),
            messages,
        };
        let path = if p.raw { "/completions" } else { "/chat/completions" };
        (path.into(), serde_json::to_value(body).unwrap_or_default())
    }

    async fn stream(&self, rendered: &str, p: &GenerationParams, seed: u32, sink: &mut Sink<'_>) -> Result<PromptReport, Error> {
        let ep = &self.target.endpoint;
        let (path, body) = self.body(rendered, p, seed);
        sink.start();
        let started = Instant::now();
        let mut retried = false;
        let resp = loop {
            // A server that takes the request and never answers is left as
            // soon as the run is cancelled, not at the read timeout.
            let send = request(&self.client, ep, reqwest::Method::POST, &path).json(&body).send();
            let resp = tokio::select! {
                resp = send => resp.map_err(|e| transport(ep, &e))?,
                _ = until_interrupted(sink) => return Ok(PromptReport::default()),
            };
            let status = resp.status();
            if status.is_success() {
                break resp;
            }
            // One retry, before any token, for "busy" answers.
            if !retried && (status.as_u16() == 429 || status.as_u16() == 503) {
                retried = true;
                let wait = resp
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(1)
                    .min(10);
                tracing::info!(url = %redact(&ep.url), %status, wait, "retrying once");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(wait)) => {}
                    _ = until_interrupted(sink) => return Ok(PromptReport::default()),
                }
                continue;
            }
            let text = body_start(resp, MAX_ERROR_BODY).await;
            let served = if status.as_u16() == 404 { list_models(ep, Duration::from_secs(3)).ok() } else { None };
            return Err(status_error(ep, status, &text, &self.target.model, served));
        };

        let content_type = resp.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        if content_type.contains("text/html") {
            let status = resp.status().as_u16();
            let page = body_start(resp, 4096).await;
            let page: String = page.chars().filter(|c| !c.is_control()).take(120).collect();
            return Err(Error::Inference(format!(
                "{} answered an HTML page (status {status}) instead of an event stream; is the url the API's base (often ending in /v1)? It began: {page}",
                redact(&ep.url)
            )));
        }
        let mut body = resp.bytes_stream();
        let mut parser = super::sse::Parser::default();
        let mut pending = std::collections::VecDeque::new();
        let mut events_seen = 0usize;
        let mut report = PromptReport::default();
        let mut finished = false;
        let mut draining = false;
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        loop {
            if pending.is_empty() {
                let chunk = tokio::select! {
                    chunk = body.next() => chunk,
                    _ = tick.tick() => {
                        // Cancel and timeout are seen even while the server is silent;
                        // returning drops the stream, which closes the connection.
                        if sink.interrupted() {
                            return Ok(report);
                        }
                        continue;
                    }
                };
                match chunk {
                    None if finished => break,
                    None if events_seen == 0 => {
                        return Err(Error::Inference(format!(
                            "{} ended its answer without sending any event (content type {content_type:?}, expected text/event-stream)",
                            redact(&ep.url)
                        )));
                    }
                    None => {
                        return Err(Error::Inference(format!(
                            "the stream from {} ended before the answer was complete (the partial answer is kept)",
                            redact(&ep.url)
                        )));
                    }
                    Some(Err(e)) => {
                        return Err(Error::Inference(format!(
                            "the stream from {} broke: {e} (the partial answer is kept)",
                            redact(&ep.url)
                        )));
                    }
                    Some(Ok(bytes)) => {
                        let events = parser.push(&bytes).map_err(|e| {
                            Error::Inference(format!("the stream from {} is malformed: {e} (the partial answer is kept)", redact(&ep.url)))
                        })?;
                        pending.extend(events);
                        continue;
                    }
                }
            }
            let Some(data) = pending.pop_front() else { continue };
            events_seen += 1;
            if data.trim() == "[DONE]" {
                break;
            }
            let v: Value = serde_json::from_str(&data).map_err(|e| {
                Error::Inference(format!("malformed event from {}: {e}: {}", ep.url, data.chars().take(200).collect::<String>()))
            })?;
            if let Some(err) = v.get("error") {
                return Err(Error::Inference(format!("{} reported an error mid-answer: {err}", ep.url)));
            }
            if let Some(u) = v.get("usage").filter(|u| !u.is_null()) {
                report.prompt_tokens = u.get("prompt_tokens").and_then(Value::as_u64).unwrap_or(report.prompt_tokens);
                report.generated_tokens = u.get("completion_tokens").and_then(Value::as_u64);
            }
            if let Some(t) = v.get("timings") {
                // llama-server's own counts, when no `usage` came.
                report.prompt_ms = t.get("prompt_ms").and_then(Value::as_f64).unwrap_or(report.prompt_ms);
                if report.prompt_tokens == 0 {
                    report.prompt_tokens = t.get("prompt_n").and_then(Value::as_u64).unwrap_or(0);
                }
                if report.generated_tokens.is_none() {
                    report.generated_tokens = t.get("predicted_n").and_then(Value::as_u64);
                }
                report.server_timings = Some(t.clone());
            }
            let Some(choice) = v.get("choices").and_then(|c| c.get(0)) else { continue };
            // Servers that parse the thinking out (llama-server, vLLM) send it
            // as `reasoning_content` (or `reasoning`) beside `content`.
            let thought = ["/delta/reasoning_content", "/delta/reasoning"].iter().find_map(|p| choice.pointer(p).and_then(Value::as_str));
            let thought = thought.unwrap_or_default();
            let text = choice.pointer("/delta/content").or_else(|| choice.get("text")).and_then(Value::as_str).unwrap_or_default();
            let flow = match (thought.is_empty(), text.is_empty()) {
                _ if draining => Flow::Continue,
                (false, true) => sink.reasoning(thought),
                (false, false) if sink.reasoning(thought) == Flow::Stop => Flow::Stop,
                (_, false) => sink.token(0, text),
                (true, true) => Flow::Continue,
            };
            if flow == Flow::Stop {
                // At max_tokens the server stops too: read on for its final
                // chunk, which carries the token counts. Otherwise (cancel, a
                // stop sequence) close the stream now.
                if sink.reason() != Some(&StopReason::MaxTokens) {
                    return Ok(report);
                }
                draining = true;
            }
            if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
                finished = true;
                report.eos = reason == "stop";
            }
        }
        if report.prompt_ms == 0.0 {
            // Without server timings, the time to the first token is the best
            // measure of prompt processing seen from here.
            report.prompt_ms = sink.ttft_ms().unwrap_or_else(|| started.elapsed().as_secs_f64() * 1e3);
        }
        Ok(report)
    }
}

impl Backend for Remote {
    /// Raw: the prompt as is, for /completions. Otherwise the chat messages
    /// sent to /chat/completions, as JSON; the server applies its own
    /// template, so this is the faithful record of what the model got.
    fn render(&self, turns: &[super::Turn], prompt: &str, params: &GenerationParams) -> Result<String, Error> {
        if params.raw {
            return Ok(super::template::continuation(turns, prompt));
        }
        let mut messages = Vec::new();
        if !params.system_prompt.is_empty() {
            messages.push(json!({ "role": "system", "content": params.system_prompt }));
        }
        for t in turns {
            messages.push(json!({ "role": "user", "content": t.user }));
            messages.push(json!({ "role": "assistant", "content": t.assistant }));
        }
        messages.push(json!({ "role": "user", "content": prompt }));
        Ok(Value::from(messages).to_string())
    }

    fn generate(&mut self, rendered: &str, params: &GenerationParams, seed: u32, sink: &mut Sink<'_>) -> Result<PromptReport, Error> {
        let ep = self.target.endpoint.clone();
        self.check_model().map_err(|e| scrub(&ep, e))?;
        self.rt.block_on(self.stream(rendered, params, seed, sink)).map_err(|e| scrub(&ep, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_to_another_host_is_flagged() {
        assert!(insecure_warning("http://gpu-2:8000/v1").is_some());
        assert!(insecure_warning("http://127.0.0.1:8080/v1").is_none());
        assert!(insecure_warning("http://localhost/v1").is_none());
        assert!(insecure_warning("https://gpu-2/v1").is_none());
    }

    #[test]
    fn status_errors_name_what_to_do() {
        let ep =
            EndpointConfig { name: "s".into(), url: "http://h/v1".into(), api_key_env: Some("S_KEY".into()), model: None, timeout_secs: 5 };
        let e = status_error(&ep, reqwest::StatusCode::UNAUTHORIZED, "{}", "m", None).to_string();
        assert!(e.contains("S_KEY"), "{e}");
        let e = status_error(&ep, reqwest::StatusCode::NOT_FOUND, "{}", "m", Some(vec!["a".into(), "b".into()])).to_string();
        assert!(e.contains("model `m` is not served") && e.contains("a, b"), "{e}");
        let e = status_error(&ep, reqwest::StatusCode::SERVICE_UNAVAILABLE, r#"{"error":{"message":"loading"}}"#, "m", None).to_string();
        assert!(e.contains("503") && e.contains("loading"), "{e}");
    }
}
