//! The numbers of one model's answer, and why it ended.

use serde::Serialize;

/// Why generation ended.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The model produced an end-of-generation token.
    Eos,
    MaxTokens,
    /// The context window filled up (backend.context_size).
    ContextFull,
    /// A configured stop sequence appeared (it is not part of the text).
    StopSequence(String),
    Cancelled,
    Timeout,
    Error,
}

impl StopReason {
    pub fn label(&self) -> String {
        match self {
            StopReason::Eos => "eos".into(),
            StopReason::MaxTokens => "max tokens".into(),
            StopReason::ContextFull => "context full".into(),
            StopReason::StopSequence(s) => format!("stop {s:?}"),
            StopReason::Cancelled => "cancelled".into(),
            StopReason::Timeout => "timeout".into(),
            StopReason::Error => "error".into(),
        }
    }
}

/// The numbers of one model's turn in a run.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, Default)]
#[serde(default)]
pub struct Stats {
    pub load_ms: f64,
    pub prompt_tokens: u64,
    pub prompt_ms: f64,
    pub prompt_tps: f64,
    /// From the start of prompt processing to the first token of text.
    pub ttft_ms: Option<f64>,
    /// From the start of prompt processing to the first token of the
    /// answer (after any thinking).
    #[serde(default)]
    pub ttfa_ms: Option<f64>,
    /// Tokens spent thinking (reasoning models), part of `generated_tokens`.
    #[serde(default)]
    pub thinking_tokens: u64,
    pub generated_tokens: u64,
    pub decode_ms: f64,
    /// Tokens after the first, per second of decoding.
    pub decode_tps: f64,
    /// Load plus generation.
    pub total_ms: f64,
    /// Peak resident memory of the process while this model ran.
    pub peak_rss_bytes: u64,
    /// This model's own memory: what the process's resident memory grew by
    /// from before its load to its peak (weights, KV cache, compute
    /// buffers), other loaded models left out; for a model still loaded
    /// from an earlier answer, what it took then plus what this answer added.
    pub model_bytes: u64,
    /// Resident memory before loading and after unloading: equal when the
    /// model's memory came back.
    pub rss_before_bytes: u64,
    pub rss_after_bytes: u64,
    pub stop_reason: Option<StopReason>,
    pub seed: Option<u32>,
    /// Exactly what the model was given, after the chat template (for a
    /// server: the messages sent; it applies its own template).
    pub rendered_prompt: String,
    /// Run by a server: load time and local memory do not apply.
    pub remote: bool,
    /// GPU memory in use on the first GPU (NVML) before loading, once
    /// loaded, and after unloading; 0 without a GPU.
    pub gpu_before_bytes: u64,
    pub gpu_loaded_bytes: u64,
    pub gpu_after_bytes: u64,
    /// The server's own timings, when it sends them (llama-server does).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_timings: Option<serde_json::Value>,
    /// The model was still loaded from an earlier answer: no load.
    pub resident: bool,
    /// Prompt tokens whose keys and values were reused from the model's
    /// cache (a follow-up); `prompt_tokens` counts those processed.
    pub prompt_reused: u64,
    /// Everything that decided this answer's tokens (`versus replay`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<super::receipt::Receipt>,
}

impl Stats {
    /// "load 0.31 s · prompt 6 tok (210 tok/s) · ttft 45 ms · 128 tok at 27.1 tok/s · peak 512 MiB · eos"
    pub fn summary(&self) -> String {
        let s = self;
        let mut parts = vec![if s.remote {
            "remote (load n/a)".to_string()
        } else if s.resident {
            "resident".to_string()
        } else {
            format!("load {:.2} s", s.load_ms / 1e3)
        }];
        if s.prompt_tokens > 0 {
            let reused = if s.prompt_reused > 0 { format!(" + {} reused", s.prompt_reused) } else { String::new() };
            parts.push(format!("prompt {} tok{reused} ({:.0} tok/s)", s.prompt_tokens, s.prompt_tps));
        }
        if let Some(t) = s.ttft_ms {
            parts.push(format!("ttft {t:.0} ms"));
        }
        parts.push(format!("{} tok at {:.1} tok/s", s.generated_tokens, s.decode_tps));
        if s.thinking_tokens > 0 {
            let answer_at = s.ttfa_ms.map(|t| format!(", answer after {:.1} s", t / 1e3)).unwrap_or_default();
            parts.push(format!("{} thinking{answer_at}", s.thinking_tokens));
        }
        if !s.remote {
            parts.push(format!(
                "model {} (process peak {})",
                crate::error::human_bytes(s.model_bytes),
                crate::error::human_bytes(s.peak_rss_bytes)
            ));
        }
        if let Some(r) = &s.stop_reason {
            parts.push(r.label());
        }
        if let Some(seed) = s.seed {
            parts.push(format!("seed {seed}"));
        }
        parts.join(" · ")
    }
}

/// What a backend's `generate` reports; the sink measures the rest.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PromptReport {
    pub prompt_tokens: u64,
    pub prompt_ms: f64,
    /// True when the model ended with an end-of-generation token.
    pub eos: bool,
    /// Tokens generated as the server counted them (remote engines; the
    /// sink counts stream chunks, which may hold several tokens).
    pub generated_tokens: Option<u64>,
    /// The server's own timings, when it sends them.
    pub server_timings: Option<serde_json::Value>,
    /// Prompt tokens reused from the cache (not in `prompt_tokens`).
    pub reused_tokens: u64,
    /// What the backend knows of the answer's receipt (local engines).
    pub receipt: Option<super::receipt::EngineReceipt>,
}
