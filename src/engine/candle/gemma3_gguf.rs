//! Gemma 3 from GGUF on candle: our corrected copy of candle-transformers
//! 0.11.1's `quantized_gemma3` (MIT/Apache-2.0, by the candle authors).
//!
//! What is fixed, and why:
//! - The feed-forward uses GELU (tanh approximation) as Gemma does; the
//!   original used SiLU, which makes greedy text diverge from the reference
//!   at the second token (upstream issue #3745).
//! - The sliding window also applies while decoding: sliding layers keep
//!   only the last `window` keys in their cache. The original masked only
//!   multi-token prompts, so logits went wrong past ~512 positions.
//! - A multi-token forward after earlier tokens attends to them; the
//!   original masked every cached position out in that case.
//! - Rotary tables cover the context in use, computed once per frequency and
//!   shared by the layers, instead of 131,072 positions in every layer
//!   (~2.4 GB for a 253 MB model).
//! - `clear_kv_cache`, so one loaded model serves several prompts.

use candle_core::quantized::{QMatMul, QTensor, gguf_file};
use candle_core::{DType, Device, IndexOp, Module, Result, Tensor};
use candle_nn::Embedding;
use candle_transformers::quantized_nn::RmsNorm;

const DEFAULT_SLIDING_WINDOW_TYPE: usize = 6;
const DEFAULT_ROPE_FREQUENCY: f32 = 1_000_000.;
const DEFAULT_ROPE_FREQUENCY_SLIDING: f32 = 10_000.;

#[derive(Debug, Clone)]
struct Mlp {
    gate: QMatMul,
    up: QMatMul,
    down: QMatMul,
}

impl Module for Mlp {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        // Gemma's hidden activation is gelu_pytorch_tanh; candle's `gelu` is the tanh form.
        let gate = self.gate.forward(xs)?.gelu()?;
        let up = self.up.forward(xs)?;
        self.down.forward(&(gate * up)?)
    }
}

#[derive(Debug, Clone)]
struct Rotary {
    sin: Tensor,
    cos: Tensor,
}

impl Rotary {
    fn new(head_dim: usize, freq: f32, max_len: usize, device: &Device) -> Result<Rotary> {
        let theta: Vec<f32> = (0..head_dim).step_by(2).map(|i| 1f32 / freq.powf(i as f32 / head_dim as f32)).collect();
        let theta = Tensor::new(theta.as_slice(), device)?;
        let idx = Tensor::arange(0, max_len as u32, device)?
            .to_dtype(DType::F32)?
            .reshape((max_len, 1))?
            .matmul(&theta.reshape((1, theta.elem_count()))?)?;
        Ok(Rotary { sin: idx.sin()?, cos: idx.cos()? })
    }

    fn apply(&self, q: &Tensor, k: &Tensor, pos: usize) -> Result<(Tensor, Tensor)> {
        let (_b, _h, seq_len, _d) = q.dims4()?;
        let cos = self.cos.narrow(0, pos, seq_len)?;
        let sin = self.sin.narrow(0, pos, seq_len)?;
        Ok((candle_nn::rotary_emb::rope(&q.contiguous()?, &cos, &sin)?, candle_nn::rotary_emb::rope(&k.contiguous()?, &cos, &sin)?))
    }
}

#[derive(Debug, Clone)]
struct Layer {
    wq: QMatMul,
    wk: QMatMul,
    wv: QMatMul,
    wo: QMatMul,
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
    /// Additive mask for `seq_len` queries starting at absolute position
    /// `pos`, against `kv_len` keys ending at the last query.
    fn mask(&self, seq_len: usize, kv_len: usize, pos: usize, device: &Device) -> Result<Tensor> {
        let first_key = pos + seq_len - kv_len;
        let mut mask = Vec::with_capacity(seq_len * kv_len);
        for i in 0..seq_len {
            let q = pos + i;
            for j in 0..kv_len {
                let k = first_key + j;
                let visible = k <= q && self.window.is_none_or(|w| q - k <= w);
                mask.push(if visible { 0f32 } else { f32::NEG_INFINITY });
            }
        }
        Tensor::from_vec(mask, (1, 1, seq_len, kv_len), device)
    }

    fn attention(&mut self, x: &Tensor, pos: usize) -> Result<Tensor> {
        let (b, seq_len, _) = x.dims3()?;
        let q = self.wq.forward(x)?.reshape((b, seq_len, self.n_head, self.head_dim))?.transpose(1, 2)?;
        let k = self.wk.forward(x)?.reshape((b, seq_len, self.n_kv_head, self.head_dim))?.transpose(1, 2)?;
        let v = self.wv.forward(x)?.reshape((b, seq_len, self.n_kv_head, self.head_dim))?.transpose(1, 2)?;
        let q = self.q_norm.forward(&q.contiguous()?)?;
        let k = self.k_norm.forward(&k.contiguous()?)?;
        let (q, k) = self.rotary.apply(&q, &k, pos)?;

        let (k, v) = match &self.kv_cache {
            Some((kc, vc)) if pos > 0 => (Tensor::cat(&[kc, &k], 2)?, Tensor::cat(&[vc, &v], 2)?),
            _ => (k, v),
        };
        // A sliding layer never looks further back than its window: keep just
        // that much for the next step (the query itself makes window + 1).
        let keep = |t: &Tensor| -> Result<Tensor> {
            let len = t.dim(2)?;
            match self.window {
                Some(w) if len > w => t.narrow(2, len - w, w)?.contiguous(),
                _ => Ok(t.clone()),
            }
        };
        self.kv_cache = Some((keep(&k)?, keep(&v)?));

        let kv_len = k.dim(2)?;
        let k = candle_transformers::utils::repeat_kv(k, self.n_head / self.n_kv_head)?;
        let v = candle_transformers::utils::repeat_kv(v, self.n_head / self.n_kv_head)?;
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        let mut att = (q.matmul(&k.t()?)? * scale)?;
        let needs_mask = seq_len > 1 || self.window.is_some_and(|w| kv_len > w + 1);
        if needs_mask {
            let mask = self.mask(seq_len, kv_len, pos, x.device())?;
            att = att.broadcast_add(&mask)?;
        }
        let att = candle_nn::ops::softmax_last_dim(&att)?;
        let out = att.matmul(&v.contiguous()?)?;
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
    output: QMatMul,
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
        let norm = RmsNorm::from_qtensor(ct.tensor(reader, "output_norm.weight", device)?, eps)?;
        let output = match ct.tensor(reader, "output.weight", device) {
            Ok(t) => t,
            Err(_) => ct.tensor(reader, "token_embd.weight", device)?,
        };
        let mut layers = Vec::with_capacity(block_count);
        for i in 0..block_count {
            let mut t = |name: &str| -> Result<QTensor> { ct.tensor(reader, &format!("blk.{i}.{name}.weight"), device) };
            let q = |x: QTensor| QMatMul::from_qtensor(x);
            let n = |x: QTensor| RmsNorm::from_qtensor(x, eps);
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
            output: QMatMul::from_qtensor(output)?,
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
        for layer in self.layers.iter_mut() {
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
        }
        let last = h.i((.., seq_len - 1, ..))?;
        let last = self.norm.forward(&last)?;
        self.output.forward(&last)
    }

    pub fn clear_kv_cache(&mut self) {
        for l in &mut self.layers {
            l.kv_cache = None;
        }
    }
}
