//! Llama-family models from GGUF on candle (`general.architecture` llama,
//! qwen2, qwen3: Llama 2/3, Mistral, SmolLM, Qwen 2/2.5/3), computed with
//! llama.cpp's arithmetic (see `ggml_ops`, `qmatmul`) so that the same file
//! gives the same greedy text through both engines. Replaces
//! candle-transformers' `quantized_llama`/`quantized_qwen2`/`quantized_qwen3`,
//! whose f32 attention, activation rounding and norms depart from llama.cpp
//! by more than llama.cpp's own kernels do.
//!
//! The graph follows llama.cpp's `llm_build_llama`/`qwen2`/`qwen3`: RMS norm,
//! Q/K/V projections (biases for Qwen 2, per-head Q/K norms for Qwen 3),
//! rotary embedding (interleaved pairs for llama, NeoX halves for Qwen),
//! attention over an f16 cache with scale 1/√head_dim, SwiGLU feed-forward,
//! residuals, final norm, output (tied to the embeddings when the file has
//! no `output.weight`).

use candle_core::quantized::{QTensor, gguf_file};
use candle_core::{Device, IndexOp, Module, Result, Tensor};
use candle_nn::Embedding;

use super::ggml_ops::{self, RmsNorm, Rotary, trace};
use super::qmatmul::QLinear;

#[derive(Debug, Clone)]
struct Layer {
    attn_norm: RmsNorm,
    wq: QLinear,
    wk: QLinear,
    wv: QLinear,
    wo: QLinear,
    /// Qwen 2's projection biases.
    bias: Option<(Tensor, Tensor, Tensor)>,
    /// Qwen 3's per-head norms of Q and K.
    qk_norm: Option<(RmsNorm, RmsNorm)>,
    ffn_norm: RmsNorm,
    gate: QLinear,
    up: QLinear,
    down: QLinear,
    cache: Option<(Tensor, Tensor)>,
}

#[derive(Debug, Clone)]
pub struct ModelWeights {
    embeddings: Embedding,
    layers: Vec<Layer>,
    norm: RmsNorm,
    output: QLinear,
    rotary: Rotary,
    /// Interleaved pairs (llama) or NeoX halves (qwen).
    neox: bool,
    n_head: usize,
    n_kv_head: usize,
    head_dim: usize,
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
        let arch = ct.metadata.get("general.architecture").and_then(|v| v.to_string().ok()).cloned().unwrap_or_else(|| "llama".into());
        let md = |s: &str| {
            let key = format!("{arch}.{s}");
            ct.metadata.get(&key).ok_or_else(|| candle_core::Error::Msg(format!("cannot find {key} in metadata")))
        };
        let n_head = md("attention.head_count")?.to_u32()? as usize;
        let n_kv_head = md("attention.head_count_kv").and_then(|v| v.to_u32()).map_or(n_head, |v| v as usize);
        let n_layer = md("block_count")?.to_u32()? as usize;
        let n_embd = md("embedding_length")?.to_u32()? as usize;
        let head_dim = md("attention.key_length").and_then(|v| v.to_u32()).map_or(n_embd / n_head.max(1), |v| v as usize);
        let rope_dim = md("rope.dimension_count").and_then(|v| v.to_u32()).map_or(head_dim, |v| v as usize);
        if rope_dim != head_dim {
            candle_core::bail!("partial rotary embeddings ({rope_dim} of {head_dim}) are not supported by candle here; use @llama");
        }
        let eps = f64::from(md("attention.layer_norm_rms_epsilon")?.to_f32()?);
        let freq_base = md("rope.freq_base").and_then(|v| v.to_f32()).unwrap_or(10_000.0);
        if ct.tensor_infos.contains_key("rope_freqs.weight") || md("rope.scaling.type").is_ok() {
            candle_core::bail!("scaled rotary embeddings (Llama 3.1 style) are not supported by candle here; use @llama");
        }
        let ctx_len = md("context_length").and_then(|v| v.to_u32()).map_or(max_len, |v| v as usize);
        let max_len = max_len.clamp(1, ctx_len.max(1));

        let mut t = |name: &str| -> Result<QTensor> { ct.tensor(reader, name, device) };
        let norm = |q: QTensor| RmsNorm::new(q.dequantize(device)?, eps);
        let embd = t("token_embd.weight")?;
        let embeddings = Embedding::new(embd.dequantize(device)?, n_embd);
        let output = match t("output.weight") {
            Ok(o) => QLinear::new(o)?,
            Err(_) => QLinear::new(embd)?,
        };
        let final_norm = norm(t("output_norm.weight")?)?;
        let mut layers = Vec::with_capacity(n_layer);
        for i in 0..n_layer {
            let mut w = |n: &str| t(&format!("blk.{i}.{n}"));
            let bias = match (w("attn_q.bias"), w("attn_k.bias"), w("attn_v.bias")) {
                (Ok(q), Ok(k), Ok(v)) => Some((q.dequantize(device)?, k.dequantize(device)?, v.dequantize(device)?)),
                _ => None,
            };
            let qk_norm = match (w("attn_q_norm.weight"), w("attn_k_norm.weight")) {
                (Ok(q), Ok(k)) => Some((norm(q)?, norm(k)?)),
                _ => None,
            };
            layers.push(Layer {
                attn_norm: norm(w("attn_norm.weight")?)?,
                wq: QLinear::new(w("attn_q.weight")?)?,
                wk: QLinear::new(w("attn_k.weight")?)?,
                wv: QLinear::new(w("attn_v.weight")?)?,
                wo: QLinear::new(w("attn_output.weight")?)?,
                bias,
                qk_norm,
                ffn_norm: norm(w("ffn_norm.weight")?)?,
                gate: QLinear::new(w("ffn_gate.weight")?)?,
                up: QLinear::new(w("ffn_up.weight")?)?,
                down: QLinear::new(w("ffn_down.weight")?)?,
                cache: None,
            });
        }
        Ok(ModelWeights {
            embeddings,
            layers,
            norm: final_norm,
            output,
            rotary: Rotary::new(head_dim, freq_base, max_len, device)?,
            neox: arch != "llama",
            n_head,
            n_kv_head,
            head_dim,
            max_len,
        })
    }

    /// Logits of the last position, shape (batch, vocab).
    pub fn forward(&mut self, x: &Tensor, pos: usize) -> Result<Tensor> {
        let (b, seq_len) = x.dims2()?;
        if pos + seq_len > self.max_len {
            candle_core::bail!("position {} is past the context of {} tokens", pos + seq_len, self.max_len);
        }
        let (n_head, n_kv, hd) = (self.n_head, self.n_kv_head, self.head_dim);
        let scale = 1.0 / (hd as f32).sqrt();
        let mut h = self.embeddings.forward(x)?;
        for (il, layer) in self.layers.iter_mut().enumerate() {
            let a = layer.attn_norm.forward(&h)?;
            let (mut q, mut k, mut v) = (layer.wq.forward(&a)?, layer.wk.forward(&a)?, layer.wv.forward(&a)?);
            if let Some((bq, bk, bv)) = &layer.bias {
                q = q.broadcast_add(bq)?;
                k = k.broadcast_add(bk)?;
                v = v.broadcast_add(bv)?;
            }
            let mut q = q.reshape((b, seq_len, n_head, hd))?;
            let mut k = k.reshape((b, seq_len, n_kv, hd))?;
            let v = v.reshape((b, seq_len, n_kv, hd))?.transpose(1, 2)?;
            if let Some((qn, kn)) = &layer.qk_norm {
                q = qn.forward(&q)?;
                k = kn.forward(&k)?;
            }
            let (q, k) = self.rotary.apply(&q.transpose(1, 2)?, &k.transpose(1, 2)?, pos, self.neox)?;
            // Rounded once as they enter the cache, as llama.cpp's f16 cache stores them.
            let (k, v) = (ggml_ops::f16_round(&k)?, ggml_ops::f16_round(&v)?);
            let (k, v) = match &layer.cache {
                Some((kc, vc)) if pos > 0 => (Tensor::cat(&[kc, &k], 2)?, Tensor::cat(&[vc, &v], 2)?),
                _ => (k, v),
            };
            layer.cache = Some((k.clone(), v.clone()));
            let out = ggml_ops::attention(&q, &k, &v, pos, scale, &|q, k| k <= q)?;
            let out = out.transpose(1, 2)?.reshape((b, seq_len, n_head * hd))?;
            let x = (layer.wo.forward(&out)? + &h)?;
            let m = layer.ffn_norm.forward(&x)?;
            let m = layer.down.forward(&ggml_ops::swiglu(&layer.gate.forward(&m)?, &layer.up.forward(&m)?)?)?;
            h = (m + x)?;
            trace(&format!("l_out-{il}"), &h);
        }
        let last = self.norm.forward(&h.i((.., seq_len - 1, ..))?)?;
        trace("result_norm", &last);
        self.output.forward(&last)
    }

    pub fn clear_kv_cache(&mut self) {
        for l in &mut self.layers {
            l.cache = None;
        }
    }
}
