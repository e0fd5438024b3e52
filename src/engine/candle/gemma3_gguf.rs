//! Gemma 3 from GGUF on candle: our corrected copy of candle-transformers
//! 0.11.1's `quantized_gemma3` (MIT/Apache-2.0, by the candle authors).
//!
//! What is fixed, and why:
//! - The feed-forward uses GELU (tanh approximation) as Gemma does; the
//!   original used SiLU, which makes greedy text diverge from the reference
//!   at the second token (upstream issue #3745).
//! - The sliding window also applies while decoding: sliding layers keep
//!   only the last `window` positions (the query included, as llama.cpp
//!   and transformers count). The original masked only
//!   multi-token prompts, so logits went wrong past ~512 positions.
//! - A multi-token forward after earlier tokens attends to them; the
//!   original masked every cached position out in that case.
//! - Rotary tables cover the context in use, computed once per frequency and
//!   shared by the layers, instead of 131,072 positions in every layer
//!   (~2.4 GB for a 253 MB model).
//! - `clear_kv_cache`, so one loaded model serves several prompts.

use candle_core::quantized::{QTensor, gguf_file};
use candle_core::{Device, IndexOp, Module, Result, Tensor};
use candle_nn::Embedding;

use super::ggml_ops::{self, RmsNorm, Rotary, trace};
use super::qmatmul::QLinear;

const DEFAULT_SLIDING_WINDOW_TYPE: usize = 6;
const DEFAULT_ROPE_FREQUENCY: f32 = 1_000_000.;
const DEFAULT_ROPE_FREQUENCY_SLIDING: f32 = 10_000.;

#[derive(Debug, Clone)]
struct Mlp {
    gate: QLinear,
    up: QLinear,
    down: QLinear,
}

impl Module for Mlp {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        // Gemma's hidden activation is gelu_pytorch_tanh (GELU, tanh form).
        self.down.forward(&ggml_ops::geglu(&self.gate.forward(xs)?, &self.up.forward(xs)?)?)
    }
}

#[derive(Debug, Clone)]
struct Layer {
    wq: QLinear,
    wk: QLinear,
    wv: QLinear,
    wo: QLinear,
    q_norm: RmsNorm,
    k_norm: RmsNorm,
    attn_norm: RmsNorm,
    post_attn_norm: RmsNorm,
    ffn_norm: RmsNorm,
    post_ffn_norm: RmsNorm,
    mlp: Mlp,
    n_head: usize,
    n_kv_head: usize,
    head_dim: usize,
    window: Option<usize>,
    rotary: Rotary,
    kv_cache: Option<(Tensor, Tensor)>,
}

impl Layer {
    fn attention(&mut self, x: &Tensor, pos: usize) -> Result<Tensor> {
        let (b, seq_len, _) = x.dims3()?;
        let q = self.wq.forward(x)?.reshape((b, seq_len, self.n_head, self.head_dim))?.transpose(1, 2)?;
        let k = self.wk.forward(x)?.reshape((b, seq_len, self.n_kv_head, self.head_dim))?.transpose(1, 2)?;
        let v = self.wv.forward(x)?.reshape((b, seq_len, self.n_kv_head, self.head_dim))?.transpose(1, 2)?;
        let q = self.q_norm.forward(&q.contiguous()?)?;
        let k = self.k_norm.forward(&k.contiguous()?)?;
        let (q, k) = self.rotary.apply(&q, &k, pos, true)?;
        // Rounded once as they enter the cache, as llama.cpp's f16 cache stores them.
        let (k, v) = (ggml_ops::f16_round(&k)?, ggml_ops::f16_round(&v)?);
        let (k, v) = match &self.kv_cache {
            Some((kc, vc)) if pos > 0 => (Tensor::cat(&[kc, &k], 2)?, Tensor::cat(&[vc, &v], 2)?),
            _ => (k, v),
        };
        // A sliding layer never looks further back than its window: keep the
        // last window - 1 keys for the next step, whose query makes window.
        let keep = |t: &Tensor| -> Result<Tensor> {
            let len = t.dim(2)?;
            match self.window {
                Some(w) if w > 1 && len >= w => t.narrow(2, len + 1 - w, w - 1)?.contiguous(),
                _ => Ok(t.clone()),
            }
        };
        self.kv_cache = Some((keep(&k)?, keep(&v)?));

        // The query is scaled before the product, as llama.cpp does (exact:
        // a power of two for Gemma's head sizes).
        let q = (q * (1.0 / (self.head_dim as f64).sqrt()))?;
        let window = self.window;
        let visible = |q: usize, k: usize| k <= q && window.is_none_or(|w| q - k < w);
        let out = ggml_ops::attention(&q, &k, &v, pos, 1.0, &visible)?;
        let out = out.transpose(1, 2)?.reshape((b, seq_len, self.n_head * self.head_dim))?;
        self.wo.forward(&out)
    }
}

#[derive(Debug, Clone)]
pub struct ModelWeights {
    embeddings: Embedding,
    embedding_length: usize,
    layers: Vec<Layer>,
    norm: RmsNorm,
    output: QLinear,
    max_len: usize,
}

impl ModelWeights {
    /// Load from GGUF; positions beyond `max_len` are refused at forward time.
    pub fn from_gguf<R: std::io::Seek + std::io::Read>(
        ct: gguf_file::Content,
        reader: &mut R,
        device: &Device,
        max_len: usize,
    ) -> Result<ModelWeights> {
        let prefix = ["gemma3", "gemma2", "gemma", "gemma-embedding"]
            .iter()
            .find(|p| ct.metadata.contains_key(&format!("{p}.attention.head_count")))
            .copied()
            .unwrap_or("gemma3");
        let md = |s: &str| {
            let key = format!("{prefix}.{s}");
            ct.metadata.get(&key).ok_or_else(|| candle_core::Error::Msg(format!("cannot find {key} in metadata")))
        };
        let head_count = md("attention.head_count")?.to_u32()? as usize;
        let head_count_kv = md("attention.head_count_kv")?.to_u32()? as usize;
        let block_count = md("block_count")?.to_u32()? as usize;
        let embedding_length = md("embedding_length")?.to_u32()? as usize;
        let key_length = md("attention.key_length")?.to_u32()? as usize;
        let eps = md("attention.layer_norm_rms_epsilon")?.to_f32()? as f64;
        let window = md("attention.sliding_window")?.to_u32()? as usize;
        let window_type =
            md("attention.sliding_window_type").and_then(|m| Ok(m.to_u32()? as usize)).unwrap_or(DEFAULT_SLIDING_WINDOW_TYPE).max(1);
        let freq = md("rope.freq_base").and_then(|m| m.to_f32()).unwrap_or(DEFAULT_ROPE_FREQUENCY);
        let freq_local = md("rope.local_freq_base").and_then(|m| m.to_f32()).unwrap_or(DEFAULT_ROPE_FREQUENCY_SLIDING);
        let ctx_len = md("context_length").and_then(|m| Ok(m.to_u32()? as usize)).unwrap_or(max_len);
        let max_len = max_len.clamp(1, ctx_len.max(1));

        let global = Rotary::new(key_length, freq, max_len, device)?;
        let local = Rotary::new(key_length, freq_local, max_len, device)?;
        let embeddings = ct.tensor(reader, "token_embd.weight", device)?.dequantize(device)?;
        let norm = RmsNorm::new(ct.tensor(reader, "output_norm.weight", device)?.dequantize(device)?, eps)?;
        let output = match ct.tensor(reader, "output.weight", device) {
            Ok(t) => t,
            Err(_) => ct.tensor(reader, "token_embd.weight", device)?,
        };
        let mut layers = Vec::with_capacity(block_count);
        for i in 0..block_count {
            let mut t = |name: &str| -> Result<QTensor> { ct.tensor(reader, &format!("blk.{i}.{name}.weight"), device) };
            let q = |x: QTensor| QLinear::new(x);
            let n = |x: QTensor| RmsNorm::new(x.dequantize(device)?, eps);
            let sliding = (i + 1) % window_type > 0;
            layers.push(Layer {
                wq: q(t("attn_q")?)?,
                wk: q(t("attn_k")?)?,
                wv: q(t("attn_v")?)?,
                wo: q(t("attn_output")?)?,
                q_norm: n(t("attn_q_norm")?)?,
                k_norm: n(t("attn_k_norm")?)?,
                attn_norm: n(t("attn_norm")?)?,
                post_attn_norm: n(t("post_attention_norm")?)?,
                ffn_norm: n(t("ffn_norm")?)?,
                post_ffn_norm: n(t("post_ffw_norm")?)?,
                mlp: Mlp { gate: q(t("ffn_gate")?)?, up: q(t("ffn_up")?)?, down: q(t("ffn_down")?)? },
                n_head: head_count,
                n_kv_head: head_count_kv,
                head_dim: key_length,
                window: sliding.then_some(window),
                rotary: if sliding { local.clone() } else { global.clone() },
                kv_cache: None,
            });
        }
        Ok(ModelWeights {
            embeddings: Embedding::new(embeddings, embedding_length),
            embedding_length,
            layers,
            norm,
            output: QLinear::new(output)?,
            max_len,
        })
    }

    /// Logits of the last position, shape (batch, vocab).
    pub fn forward(&mut self, x: &Tensor, pos: usize) -> Result<Tensor> {
        let (_b, seq_len) = x.dims2()?;
        if pos + seq_len > self.max_len {
            candle_core::bail!("position {} is past the context of {} tokens", pos + seq_len, self.max_len);
        }
        let mut h = (self.embeddings.forward(x)? * (self.embedding_length as f64).sqrt())?;
        for (il, layer) in self.layers.iter_mut().enumerate() {
            let residual = &h;
            let a = layer.attn_norm.forward(&h)?;
            let a = layer.attention(&a, pos)?;
            let a = layer.post_attn_norm.forward(&a)?;
            let x = (a + residual)?;
            let residual = &x;
            let m = layer.ffn_norm.forward(&x)?;
            let m = layer.mlp.forward(&m)?;
            let m = layer.post_ffn_norm.forward(&m)?;
            h = (m + residual)?;
            trace(&format!("l_out-{il}"), &h);
        }
        let last = h.i((.., seq_len - 1, ..))?;
        let last = self.norm.forward(&last)?;
        trace("result_norm", &last);
        self.output.forward(&last)
    }

    pub fn clear_kv_cache(&mut self) {
        for l in &mut self.layers {
            l.kv_cache = None;
        }
    }
}
