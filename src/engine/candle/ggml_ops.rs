//! The non-matmul operations of a GGUF transformer computed on the CPU as
//! ggml's CPU backend computes them, so that candle's columns show what
//! llama.cpp shows for the same file.
//!
//! Small models amplify tiny numeric differences: every matrix product
//! quantizes its input (see `qmatmul`), and a value a hair on the other side
//! of a rounding step moves by a whole step. Comparing each intermediate
//! tensor with llama.cpp's (examples/llama_trace.rs) showed which steps
//! differ; each function here copies ggml's arithmetic for one of them:
//! RMS norm (sum of squares in double), GELU through ggml's f16 table,
//! rotary tables built by repeated multiplication, and flash attention with
//! f16 keys and values (and, for fewer than 64 query rows, f16 queries and
//! an f16 value accumulator). Other devices use candle's own kernels.

use candle_core::{DType, Device, Result, Tensor};
use half::f16;

/// RMS norm with a weight, as ggml's fused `rms_norm` + `mul`.
#[derive(Debug, Clone)]
pub struct RmsNorm {
    weight: Tensor,
    cpu_weight: Vec<f32>,
    eps: f32,
}

impl RmsNorm {
    pub fn new(weight: Tensor, eps: f64) -> Result<RmsNorm> {
        let weight = weight.to_dtype(DType::F32)?;
        let cpu_weight = weight.to_device(&Device::Cpu)?.flatten_all()?.to_vec1::<f32>()?;
        Ok(RmsNorm { weight, cpu_weight, eps: eps as f32 })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if !x.device().is_cpu() || x.dtype() != DType::F32 {
            return candle_nn::ops::rms_norm(x, &self.weight, self.eps);
        }
        let n = self.cpu_weight.len();
        let mut v = x.flatten_all()?.to_vec1::<f32>()?;
        for row in v.chunks_exact_mut(n) {
            let sum: f64 = row.iter().map(|&a| f64::from(a * a)).sum();
            let mean = (sum / n as f64) as f32;
            let scale = 1.0 / (mean + self.eps).sqrt();
            for (y, w) in row.iter_mut().zip(&self.cpu_weight) {
                *y = *y * scale * w;
            }
        }
        Tensor::from_vec(v, x.dims(), x.device())
    }
}

/// ggml's `gelu` for one value through its table of f16 results.
fn gelu_f16(x: f32) -> f32 {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    const COEF_A: f32 = 0.044715;
    let x = f16::from_f32(x).to_f32();
    let g = 0.5 * x * (1.0 + (SQRT_2_OVER_PI * x * (1.0 + COEF_A * x * x)).tanh());
    f16::from_f32(g).to_f32()
}

/// `gelu(gate) * up` as ggml's `geglu_split`.
pub fn geglu(gate: &Tensor, up: &Tensor) -> Result<Tensor> {
    if !gate.device().is_cpu() || gate.dtype() != DType::F32 {
        return gate.gelu()? * up;
    }
    let g = gate.flatten_all()?.to_vec1::<f32>()?;
    let u = up.flatten_all()?.to_vec1::<f32>()?;
    let out: Vec<f32> = g
        .iter()
        .zip(&u)
        .map(|(&x, &y)| {
            if x <= -10.0 {
                0.0
            } else if x >= 10.0 {
                x * y
            } else {
                gelu_f16(x) * y
            }
        })
        .collect();
    Tensor::from_vec(out, gate.dims(), gate.device())
}

/// Rotary tables (neox layout) for positions 0..max_len, each angle built
/// as ggml builds it: θ = pos, then θ *= freq_base^(-2/dim) per pair.
#[derive(Debug, Clone)]
pub struct Rotary {
    cos: Tensor,
    sin: Tensor,
}

impl Rotary {
    pub fn new(head_dim: usize, freq_base: f32, max_len: usize, device: &Device) -> Result<Rotary> {
        let half = head_dim / 2;
        let theta_scale = freq_base.powf(-2.0 / head_dim as f32);
        let mut cos = Vec::with_capacity(max_len * half);
        let mut sin = Vec::with_capacity(max_len * half);
        for pos in 0..max_len {
            let mut theta = pos as f32;
            for _ in 0..half {
                cos.push(theta.cos());
                sin.push(theta.sin());
                theta *= theta_scale;
            }
        }
        Ok(Rotary { cos: Tensor::from_vec(cos, (max_len, half), device)?, sin: Tensor::from_vec(sin, (max_len, half), device)? })
    }

    /// Rotate `q` and `k`, shaped (batch, heads, seq, dim), starting at
    /// `pos`: pairs of the two halves (`neox`) or of neighbours.
    pub fn apply(&self, q: &Tensor, k: &Tensor, pos: usize, neox: bool) -> Result<(Tensor, Tensor)> {
        let seq_len = q.dim(2)?;
        let cos = self.cos.narrow(0, pos, seq_len)?;
        let sin = self.sin.narrow(0, pos, seq_len)?;
        let rope = |x: &Tensor| {
            let x = x.contiguous()?;
            if neox { candle_nn::rotary_emb::rope(&x, &cos, &sin) } else { candle_nn::rotary_emb::rope_i(&x, &cos, &sin) }
        };
        Ok((rope(q)?, rope(k)?))
    }
}

/// A value as llama.cpp's f16 KV cache stores it. The layers round each new
/// key and value row once as it enters their cache, so `attention` reads a
/// cache that is already rounded instead of rounding all of it per token.
pub fn f16_round(t: &Tensor) -> Result<Tensor> {
    t.to_dtype(DType::F16)?.to_dtype(DType::F32)
}

/// Attention over a cache whose keys and values are f16, as llama.cpp's
/// (flash attention on: its default). `k` and `v` hold values already
/// rounded to f16 (`f16_round`). Each score is the product times `scale`;
/// `visible(q, k)` says whether the query at absolute position q sees the
/// key at k. Shapes: q (1, heads, seq, dim), k and v (1, kv_heads, kv_len,
/// dim) with the last key at the last query's position. Returns
/// (1, heads, seq, dim).
pub fn attention(q: &Tensor, k: &Tensor, v: &Tensor, pos: usize, scale: f32, visible: &dyn Fn(usize, usize) -> bool) -> Result<Tensor> {
    let (b, n_head, seq_len, d) = q.dims4()?;
    let (_, n_kv, kv_len, _) = k.dims4()?;
    let group = n_head / n_kv.max(1);
    let first_key = pos + seq_len - kv_len;
    if !q.device().is_cpu() || seq_len >= 64 {
        return tiled_attention(q, &k.contiguous()?, &v.contiguous()?, pos, scale, visible);
    }
    // ggml's one-chunk kernel: online softmax, key by key, f16 accumulator.
    let q = f16_round(q)?.flatten_all()?.to_vec1::<f32>()?;
    let k = k.flatten_all()?.to_vec1::<f32>()?;
    let v = v.flatten_all()?.to_vec1::<f32>()?;
    let mut out = vec![0f32; b * n_head * seq_len * d];
    let h16 = |x: f32| f16::from_f32(x).to_f32();
    for h in 0..n_head {
        let kh = h / group;
        for i in 0..seq_len {
            let qi = &q[(h * seq_len + i) * d..][..d];
            let (mut m, mut s_sum) = (f32::NEG_INFINITY, 0f32);
            let mut acc = vec![0f32; d];
            for j in 0..kv_len {
                if !visible(pos + i, first_key + j) {
                    continue;
                }
                let s = dot_f16(qi, &k[(kh * kv_len + j) * d..][..d]) * scale;
                let (mut ms, mut vs) = (1f32, 1f32);
                if s > m {
                    ms = (m - s).exp();
                    m = s;
                    for a in acc.iter_mut() {
                        *a = h16(*a * ms);
                    }
                } else {
                    vs = (s - m).exp();
                }
                for (a, &x) in acc.iter_mut().zip(&v[(kh * kv_len + j) * d..][..d]) {
                    *a = h16(x.mul_add(vs, *a));
                }
                s_sum = s_sum * ms + vs;
            }
            let inv = if s_sum == 0.0 { 0.0 } else { 1.0 / s_sum };
            for (o, a) in out[(h * seq_len + i) * d..][..d].iter_mut().zip(&acc) {
                *o = a * inv;
            }
        }
    }
    Tensor::from_vec(out, (b, n_head, seq_len, d), &Device::Cpu)
}

/// ggml's tiled kernel: f32 queries and products over f16-stored keys. On a
/// GPU every op is a kernel launch per layer and token, so: the query heads
/// that share a key/value head are multiplied as one matrix (no copy of
/// the cache per query head), the mask is added only when it hides a key
/// (never in one-token decoding, whose cache holds only visible keys), and
/// softmax is candle's fused kernel.
fn tiled_attention(q: &Tensor, k: &Tensor, v: &Tensor, pos: usize, scale: f32, visible: &dyn Fn(usize, usize) -> bool) -> Result<Tensor> {
    let (b, n_head, seq_len, d) = q.dims4()?;
    let (_, n_kv, kv_len, _) = k.dims4()?;
    let group = n_head / n_kv.max(1);
    let first_key = pos + seq_len - kv_len;
    // Query head h reads key/value head h / group, as repeat_kv pairs them.
    let q = q.contiguous()?.reshape((b, n_kv, group * seq_len, d))?;
    let mut att = q.matmul(&k.t()?)?.reshape((b, n_head, seq_len, kv_len))?;
    if scale != 1.0 {
        att = (att * f64::from(scale))?;
    }
    let mask: Vec<f32> = (0..seq_len * kv_len)
        .map(|ij| if visible(pos + ij / kv_len, first_key + ij % kv_len) { 0f32 } else { f32::NEG_INFINITY })
        .collect();
    if mask.iter().any(|m| *m != 0.0) {
        att = att.broadcast_add(&Tensor::from_vec(mask, (1, 1, seq_len, kv_len), q.device())?)?;
    }
    let att = candle_nn::ops::softmax_last_dim(&att)?;
    att.reshape((b, n_kv, group * seq_len, kv_len))?.matmul(v)?.reshape((b, n_head, seq_len, d))
}

/// `silu(gate) * up` as ggml's `swiglu_split` on x86 with AVX2 and FMA:
/// eight values at a time through its vector exp, the rest through expf.
pub fn swiglu(gate: &Tensor, up: &Tensor) -> Result<Tensor> {
    if !gate.device().is_cpu() || gate.dtype() != DType::F32 {
        return candle_nn::ops::silu(gate)? * up;
    }
    let g = gate.flatten_all()?.to_vec1::<f32>()?;
    let u = up.flatten_all()?.to_vec1::<f32>()?;
    let n = *gate.dims().last().unwrap_or(&1);
    let out: Vec<f32> = g
        .iter()
        .zip(&u)
        .enumerate()
        .map(|(i, (&x, &y))| if i % n < n / 8 * 8 { x / (1.0 + v_expf(-x)) * y } else { x / (1.0 + (-x).exp()) * y })
        .collect();
    Tensor::from_vec(out, gate.dims(), gate.device())
}

/// One lane of ggml's `ggml_v_expf` (AVX2 with FMA), after ARM's optimized
/// routine: the same constants, fused multiply-adds and special cases.
fn v_expf(x: f32) -> f32 {
    let c = |bits: u32| f32::from_bits(bits);
    let r = c(0x4b40_0000);
    let z = x.mul_add(c(0x3fb8_aa3b), r);
    let n = z - r;
    let b = (-n).mul_add(c(0x35bf_be8e), (-n).mul_add(c(0x3f31_7200), x));
    let e = z.to_bits() << 23;
    let k = c(e.wrapping_add(1f32.to_bits()));
    let u = b * b;
    let j = c(0x3c07_2010).mul_add(b, c(0x3d2b_9f17)).mul_add(u, c(0x3e2a_af33).mul_add(b, c(0x3eff_fedb))).mul_add(u, c(0x3f7f_fff6) * b);
    if n.abs() <= 126.0 {
        return j.mul_add(k, k);
    }
    let g: u32 = if n <= 0.0 { 0x8200_0000 } else { 0 };
    let s1 = c(g.wrapping_add(0x7f00_0000));
    let s2 = c(e.wrapping_sub(g));
    if n.abs() > 192.0 { s1 * s1 } else { s2.mul_add(j, s2) * s1 }
}

/// `ggml_vec_dot_f16` on x86 with AVX2: four accumulators of eight lanes,
/// fused multiply-adds, then ggml's order of reduction.
fn dot_f16(x: &[f32], y: &[f32]) -> f32 {
    let mut acc = [[0f32; 8]; 4];
    let n = x.len() / 32 * 32;
    for i in (0..n).step_by(32) {
        for (j, a) in acc.iter_mut().enumerate() {
            for (l, lane) in a.iter_mut().enumerate() {
                let k = i + j * 8 + l;
                *lane = x[k].mul_add(y[k], *lane);
            }
        }
    }
    for l in 0..8 {
        acc[0][l] += acc[2][l];
        acc[1][l] += acc[3][l];
    }
    for l in 0..8 {
        acc[0][l] += acc[1][l];
    }
    let t: [f32; 4] = std::array::from_fn(|l| acc[0][l] + acc[0][l + 4]);
    let mut sum = (t[0] + t[1]) + (t[2] + t[3]);
    for i in n..x.len() {
        sum += x[i] * y[i];
    }
    sum
}

thread_local! {
    static TRACE: std::cell::RefCell<Option<Vec<(String, Vec<f32>)>>> = const { std::cell::RefCell::new(None) };
}

/// Start recording, on this thread, the last row of each layer's output
/// (`l_out-N`, `result_norm`: llama.cpp's names), for comparing with
/// llama.cpp's own tensors (examples/llama_trace.rs).
pub fn trace_begin() {
    TRACE.with(|t| *t.borrow_mut() = Some(Vec::new()));
}

pub fn trace_end() -> Vec<(String, Vec<f32>)> {
    TRACE.with(|t| t.borrow_mut().take().unwrap_or_default())
}

pub(super) fn trace(name: &str, x: &Tensor) {
    TRACE.with(|t| {
        if let Some(v) = t.borrow_mut().as_mut() {
            let row = x.dims().last().copied().unwrap_or(0);
            if let Ok(all) = x.flatten_all().and_then(|f| f.to_vec1::<f32>()) {
                v.push((name.to_string(), all[all.len().saturating_sub(row)..].to_vec()));
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::D;

    #[test]
    fn gelu_table_matches_the_formula_within_f16() {
        for x in [-9.9f32, -3.0, -0.5, 0.0, 0.25, 1.0, 2.5, 9.9] {
            let exact = 0.5 * x * (1.0 + (0.797_884_6 * x * (1.0 + 0.044715 * x * x)).tanh());
            assert!((gelu_f16(x) - exact).abs() <= 2e-3 * exact.abs().max(1.0), "{x}");
        }
    }

    #[test]
    fn vector_exp_is_exp() {
        for x in [-100.0f32, -20.0, -1.5, -0.1, 0.0, 0.3, 1.0, 5.5, 30.0, 80.0] {
            let (got, want) = (v_expf(x), x.exp());
            assert!((got - want).abs() <= want * 4e-7, "{x}: {got} {want}");
        }
    }

    /// The tiled path multiplies the query heads of one KV head as one
    /// matrix and skips a mask that hides nothing: the same numbers as
    /// copying the cache per head (repeat_kv) with the mask always added.
    #[test]
    fn grouped_tiled_attention_is_repeat_kv_attention() {
        let dev = Device::Cpu;
        let (h, kv, d, n) = (4, 2, 16, 6);
        let val = |i: usize, m: usize, div: f32| (i * m % 97) as f32 / div - 1.0;
        let q = Tensor::from_vec((0..h * n * d).map(|i| val(i, 37, 50.0)).collect::<Vec<_>>(), (1, h, n, d), &dev).unwrap();
        let k = Tensor::from_vec((0..kv * n * d).map(|i| val(i, 53, 48.0)).collect::<Vec<_>>(), (1, kv, n, d), &dev).unwrap();
        let v = Tensor::from_vec((0..kv * n * d).map(|i| val(i, 29, 44.0)).collect::<Vec<_>>(), (1, kv, n, d), &dev).unwrap();
        let reference = |seq: usize, visible: &dyn Fn(usize, usize) -> bool| {
            let q = q.narrow(2, n - seq, seq).unwrap();
            let kk = candle_transformers::utils::repeat_kv(k.clone(), h / kv).unwrap();
            let vv = candle_transformers::utils::repeat_kv(v.clone(), h / kv).unwrap();
            let att = (q.contiguous().unwrap().matmul(&kk.t().unwrap()).unwrap() * 0.5).unwrap();
            let first = n - seq;
            let mask: Vec<f32> = (0..seq * n).map(|ij| if visible(first + ij / n, ij % n) { 0.0 } else { f32::NEG_INFINITY }).collect();
            let att = att.broadcast_add(&Tensor::from_vec(mask, (1, 1, seq, n), &dev).unwrap()).unwrap();
            candle_nn::ops::softmax(&att, D::Minus1).unwrap().matmul(&vv).unwrap()
        };
        let max_diff =
            |a: Tensor, b: Tensor| (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap();
        let causal = |q: usize, k: usize| k <= q;
        let window = |q: usize, k: usize| k <= q && q - k < 3;
        // A prompt (mask added), and one-token decoding (every key visible).
        for (seq, visible) in [(n, &causal as &dyn Fn(usize, usize) -> bool), (n, &window), (1, &causal)] {
            let q_rows = q.narrow(2, n - seq, seq).unwrap();
            let ours = tiled_attention(&q_rows, &k, &v, n - seq, 0.5, visible).unwrap();
            assert!(max_diff(ours, reference(seq, visible)) < 1e-6);
        }
    }

    #[test]
    fn one_chunk_attention_is_softmax_attention_within_f16() {
        let dev = Device::Cpu;
        let (h, d, n) = (2, 32, 5);
        let q =
            Tensor::from_vec((0..h * n * d).map(|i| ((i * 37 % 101) as f32 / 50.0 - 1.0) * 0.3).collect::<Vec<_>>(), (1, h, n, d), &dev)
                .unwrap();
        let k = Tensor::from_vec((0..n * d).map(|i| (i * 53 % 97) as f32 / 48.0 - 1.0).collect::<Vec<_>>(), (1, 1, n, d), &dev).unwrap();
        let v = Tensor::from_vec((0..n * d).map(|i| (i * 29 % 89) as f32 / 44.0 - 1.0).collect::<Vec<_>>(), (1, 1, n, d), &dev).unwrap();
        let causal = |q: usize, k: usize| k <= q;
        // As the layers' caches hold them: rounded to f16 once.
        let ours = attention(&q, &f16_round(&k).unwrap(), &f16_round(&v).unwrap(), 0, 1.0, &causal).unwrap();
        // The same through the tiled (f32) path: pad the queries to 64 rows.
        let reference = {
            let kk = candle_transformers::utils::repeat_kv(k.clone(), h).unwrap();
            let vv = candle_transformers::utils::repeat_kv(v.clone(), h).unwrap();
            let att = q.matmul(&kk.t().unwrap()).unwrap();
            let mask: Vec<f32> = (0..n * n).map(|i| if i % n <= i / n { 0.0 } else { f32::NEG_INFINITY }).collect();
            let att = att.broadcast_add(&Tensor::from_vec(mask, (1, 1, n, n), &dev).unwrap()).unwrap();
            candle_nn::ops::softmax(&att, D::Minus1).unwrap().matmul(&vv).unwrap()
        };
        let diff = (ours - reference).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap();
        assert!(diff < 5e-3, "{diff}");
    }
}
