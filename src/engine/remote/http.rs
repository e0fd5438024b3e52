//! HTTP for the remote engine: the client, requests with the API key,
//! errors in words, bodies read with caps, and the model list with one
//! deadline for the whole answer.

use std::time::Duration;

use serde_json::Value;

use super::{EndpointConfig, base, redact};
use crate::engine::runtime::sink::Sink;
use crate::error::Error;

/// The key for `ep`, read from its environment variable now.
pub(super) fn api_key(ep: &EndpointConfig) -> Option<String> {
    ep.api_key_env.as_ref().and_then(|v| std::env::var(v).ok()).filter(|k| !k.is_empty())
}

pub(super) fn client(ep: &EndpointConfig) -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(ep.timeout_secs.max(1)))
        .build()
        .map_err(|e| Error::Inference(format!("HTTP client: {e}")))
}

pub(super) fn request(client: &reqwest::Client, ep: &EndpointConfig, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    let r = client.request(method, format!("{}{path}", base(&ep.url)));
    match api_key(ep) {
        Some(key) => r.bearer_auth(key),
        None => r,
    }
}

/// Turn a transport error into what the user should know: which URL, and
/// whether it was refused, unknown, or slow.
pub(super) fn transport(ep: &EndpointConfig, e: &reqwest::Error) -> Error {
    let url = &ep.url;
    let mut source: Option<&dyn std::error::Error> = Some(e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if e.is_timeout() {
        Error::Inference(format!("no answer from {url} within {} s (endpoints.timeout_secs)", ep.timeout_secs))
    } else if e.is_connect() {
        Error::Inference(format!(
            "cannot connect to {url}: {detail}; is the server running and listening there? check the url of [[endpoints]] `{}` (or the URL in -m)",
            ep.name
        ))
    } else {
        Error::Inference(format!("request to {url} failed: {detail}"))
    }
}

/// What a non-success status means for the user.
pub(super) fn status_error(
    ep: &EndpointConfig,
    status: reqwest::StatusCode,
    body: &str,
    model: &str,
    served: Option<Vec<String>>,
) -> Error {
    let message = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message").or_else(|| v.get("error")).or_else(|| v.get("message")).map(|m| match m {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
        })
        .unwrap_or_else(|| body.chars().take(300).collect());
    let url = &ep.url;
    match status.as_u16() {
        401 | 403 => Error::Inference(match &ep.api_key_env {
            Some(var) if api_key(ep).is_some() => format!("{url} refused the API key in ${var} (HTTP {status}): {message}"),
            Some(var) => format!("{url} needs an API key (HTTP {status}); put it in the environment variable {var}"),
            None if ep.name == super::redact(&ep.url) => format!(
                "{url} needs an API key (HTTP {status}); a bare URL sends none: add an [[endpoints]] entry with url = \"{url}\" and api_key_env = \"VAR\", put the key in $VAR, and use -m MODEL@NAME"
            ),
            None => format!(
                "{url} needs an API key (HTTP {status}); set api_key_env for endpoint `{}` and put the key in that variable",
                ep.name
            ),
        }),
        404 => Error::Inference(match served {
            Some(list) if !list.is_empty() => format!("model `{model}` is not served at {url} (HTTP 404); it serves: {}", list.join(", ")),
            _ => format!("{url}: not found (HTTP 404): {message}; is the url the API's base (often ending in /v1)?"),
        }),
        _ => Error::Inference(format!("{url} answered HTTP {status}: {message}")),
    }
}

/// The most of a model list read (a few hundred models are a few dozen KiB).
pub(super) const MAX_LIST_BODY: usize = 8 << 20;
/// The most of an error answer read; the message shows only its start.
pub(super) const MAX_ERROR_BODY: usize = 64 << 10;

/// A body as text, read chunk by chunk up to `cap` bytes: a server sending
/// without end is an error, not an allocation without limit.
pub(super) async fn capped_text(mut resp: reqwest::Response, cap: usize) -> Result<String, String> {
    let mut bytes = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
        if bytes.len() + chunk.len() > cap {
            return Err(format!("the answer passed {} KiB", cap >> 10));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The start of a body, at most `cap` bytes, for a message: the rest is not
/// read (an error page or a page of HTML can be any size).
pub(super) async fn body_start(mut resp: reqwest::Response, cap: usize) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < cap {
        match resp.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk[..chunk.len().min(cap - bytes.len())]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Resolves once the run is cancelled or out of time (checked every 50 ms).
pub(super) async fn until_interrupted(sink: &mut Sink<'_>) {
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    while !sink.interrupted() {
        tick.tick().await;
    }
}

/// The model ids an endpoint serves (GET /models).
pub fn list_models(ep: &EndpointConfig, timeout: Duration) -> Result<Vec<String>, Error> {
    let ep = ep.clone();
    // Discovery runs outside any runtime; a thread keeps it so when called from one.
    std::thread::scope(|s| {
        s.spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| Error::Inference(e.to_string()))?;
            rt.block_on(async {
                let client = client(&ep)?;
                // One deadline for the headers and the whole body: a server
                // trickling a byte at a time never trips a per-read timeout.
                let fetch = async {
                    let resp = request(&client, &ep, reqwest::Method::GET, "/models").send().await.map_err(|e| transport(&ep, &e))?;
                    let status = resp.status();
                    let body =
                        capped_text(resp, MAX_LIST_BODY).await.map_err(|e| Error::Inference(format!("{}/models: {e}", redact(&ep.url))))?;
                    Ok::<_, Error>((status, body))
                };
                let (status, body) = tokio::time::timeout(timeout, fetch).await.map_err(|_| {
                    Error::Inference(format!("no complete answer from {} within {} s", redact(&ep.url), timeout.as_secs()))
                })??;
                if !status.is_success() {
                    return Err(status_error(&ep, status, &body, "", None));
                }
                let v: Value = serde_json::from_str(&body).map_err(|e| Error::Inference(format!("{}/models: not JSON ({e})", ep.url)))?;
                Ok(v.get("data")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(|m| m.get("id").and_then(Value::as_str).map(str::to_string)).collect())
                    .unwrap_or_default())
            })
        })
        .join()
        .unwrap_or_else(|_| Err(Error::Inference("listing models panicked".into())))
    })
}
