//! Quantized matrix products on the CPU that quantize the activations
//! exactly as llama.cpp does.
//!
//! A quantized GGUF weight is multiplied by activations that are themselves
//! quantized first (to Q8_0, Q8_1 or Q8_K blocks, by the weight's type).
//! candle 0.11 and llama.cpp agree on the block formats but not on the last
//! bit of that step: candle scales by `1/(max/127)` and rounds halves away
//! from zero, llama.cpp scales by `127/max` and rounds halves to even. A
//! value on the other side of a rounding step moves the product by a whole
//! quantization step, and Gemma 3's large activations turn those steps into
//! logit differences of a tenth or more (found by comparing every
//! intermediate tensor with llama.cpp's, docs/performance-notes.md). Here
//! the activations are quantized with llama.cpp's rule and the dot products
//! are candle's own kernels for each block type; other devices, and types
//! without quantized activations, go through candle's `QMatMul` unchanged.

use std::sync::Arc;

use candle_core::quantized::k_quants::{
    BlockQ2K, BlockQ3K, BlockQ4_0, BlockQ4_1, BlockQ4K, BlockQ5_0, BlockQ5_1, BlockQ5K, BlockQ6K, BlockQ8_0, BlockQ8_1, BlockQ8K,
};
use candle_core::quantized::{GgmlDType, GgmlType, QMatMul, QTensor};
use candle_core::{DType, Module, Result, Tensor};
use half::f16;

/// A linear layer over a quantized weight.
#[derive(Debug, Clone)]
pub struct QLinear {
    inner: QMatMul,
    /// The weight, when the CPU path here handles its type.
    exact: Option<Arc<QTensor>>,
}

impl QLinear {
    pub fn new(w: QTensor) -> Result<QLinear> {
        let w = Arc::new(w);
        let handled = w.device().is_cpu()
            && matches!(
                w.dtype(),
                GgmlDType::Q4_0
                    | GgmlDType::Q4_1
                    | GgmlDType::Q5_0
                    | GgmlDType::Q5_1
                    | GgmlDType::Q8_0
                    | GgmlDType::Q2K
                    | GgmlDType::Q3K
                    | GgmlDType::Q4K
                    | GgmlDType::Q5K
                    | GgmlDType::Q6K
            );
        Ok(QLinear { inner: QMatMul::from_arc(w.clone())?, exact: handled.then_some(w) })
    }
}

impl Module for QLinear {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let Some(w) = &self.exact else { return self.inner.forward(xs) };
        if !xs.device().is_cpu() || xs.dtype() != DType::F32 {
            return self.inner.forward(xs);
        }
        let (n, k) = w.shape().dims2()?;
        let mut dims = xs.dims().to_vec();
        if dims.last() != Some(&k) {
            candle_core::bail!("qlinear: input {:?} does not end in {k}", xs.dims());
        }
        let m = xs.elem_count() / k;
        let lhs = xs.flatten_all()?.to_vec1::<f32>()?;
        let data = w.data()?;
        let mut dst = vec![0f32; m * n];
        match w.dtype() {
            GgmlDType::Q4_0 => matmul::<BlockQ4_0>(&data, &lhs, (m, k, n), &mut dst, q8_0),
            GgmlDType::Q5_0 => matmul::<BlockQ5_0>(&data, &lhs, (m, k, n), &mut dst, q8_0),
            GgmlDType::Q8_0 => matmul::<BlockQ8_0>(&data, &lhs, (m, k, n), &mut dst, q8_0),
            GgmlDType::Q4_1 => matmul::<BlockQ4_1>(&data, &lhs, (m, k, n), &mut dst, q8_1),
            GgmlDType::Q5_1 => matmul::<BlockQ5_1>(&data, &lhs, (m, k, n), &mut dst, q8_1),
            GgmlDType::Q2K => matmul::<BlockQ2K>(&data, &lhs, (m, k, n), &mut dst, q8_k),
            GgmlDType::Q3K => matmul::<BlockQ3K>(&data, &lhs, (m, k, n), &mut dst, q8_k),
            GgmlDType::Q4K => matmul::<BlockQ4K>(&data, &lhs, (m, k, n), &mut dst, q8_k),
            GgmlDType::Q5K => matmul::<BlockQ5K>(&data, &lhs, (m, k, n), &mut dst, q8_k),
            GgmlDType::Q6K => matmul::<BlockQ6K>(&data, &lhs, (m, k, n), &mut dst, q8_k),
            other => candle_core::bail!("qlinear: no CPU path for {other:?}"),
        }?;
        dims.pop();
        dims.push(n);
        Tensor::from_vec(dst, dims, xs.device())
    }
}

/// `dst = lhs · wᵀ` with `lhs` (m×k) quantized row by row by `quantize`,
/// output rows spread over candle's CPU threads.
fn matmul<T: GgmlType>(
    data: &[u8],
    lhs: &[f32],
    (_, k, n): (usize, usize, usize),
    dst: &mut [f32],
    quantize: fn(&[f32]) -> Vec<T::VecDotType>,
) -> Result<()> {
    let kb = k / T::BLCK_SIZE;
    if k % T::BLCK_SIZE != 0 || data.len() != n * kb * std::mem::size_of::<T>() {
        candle_core::bail!("qlinear: a {:?} weight of {n}×{k} has {} bytes", T::DTYPE, data.len());
    }
    // SAFETY: `data` is the weight's storage: n·kb blocks of T laid out as
    // ggml lays them out, which candle's #[repr(C)] block types mirror; the
    // length was checked above. Blocks are read only.
    let w: &[T] = unsafe { std::slice::from_raw_parts(data.as_ptr().cast::<T>(), n * kb) };
    let acts: Vec<Vec<T::VecDotType>> = lhs.chunks_exact(k).map(quantize).collect();
    let out = dst.as_mut_ptr() as usize;
    candle_core::utils::barrier_pool().execute_chunked(n, |rows| {
        for (r, a) in acts.iter().enumerate() {
            for j in rows.clone() {
                let v = T::vec_dot(k, &w[j * kb..(j + 1) * kb], a);
                // SAFETY: each (r, j) is written by exactly one chunk, and
                // `dst` outlives `execute_chunked`, which waits for all chunks.
                unsafe { *(out as *mut f32).add(r * n + j) = v };
            }
        }
    });
    Ok(())
}

/// Mirrors of candle's activation blocks (same #[repr(C)] layout), whose
/// fields candle keeps private.
#[repr(C)]
struct Q8_0 {
    d: f16,
    qs: [i8; 32],
}

#[repr(C)]
struct Q8_1 {
    d: f16,
    s: f16,
    qs: [i8; 32],
}

#[repr(C)]
struct Q8K {
    d: f32,
    qs: [i8; 256],
    bsums: [i16; 16],
}

const _: () = assert!(std::mem::size_of::<Q8_0>() == std::mem::size_of::<BlockQ8_0>());
const _: () = assert!(std::mem::size_of::<Q8_1>() == std::mem::size_of::<BlockQ8_1>());
const _: () = assert!(std::mem::size_of::<Q8K>() == std::mem::size_of::<BlockQ8K>());

/// Reinterpret mirror blocks as candle's.
fn cast<A, B>(v: Vec<A>) -> Vec<B> {
    assert_eq!(std::mem::size_of::<A>(), std::mem::size_of::<B>());
    assert_eq!(std::mem::align_of::<A>(), std::mem::align_of::<B>());
    let mut v = std::mem::ManuallyDrop::new(v);
    // SAFETY: same size and alignment (checked), and both are plain #[repr(C)]
    // blocks of numbers for which every bit pattern is valid.
    unsafe { Vec::from_raw_parts(v.as_mut_ptr().cast::<B>(), v.len(), v.capacity()) }
}

/// llama.cpp's `quantize_row_q8_0` (x86): d = max/127 kept as f16, values
/// scaled by 127/max and rounded half to even.
fn q8_0(x: &[f32]) -> Vec<BlockQ8_0> {
    let blocks = x
        .chunks_exact(32)
        .map(|b| {
            let max = b.iter().fold(0f32, |m, v| m.max(v.abs()));
            let id = if max != 0.0 { 127.0 / max } else { 0.0 };
            let mut qs = [0i8; 32];
            for (q, v) in qs.iter_mut().zip(b) {
                *q = (v * id).round_ties_even() as i8;
            }
            Q8_0 { d: f16::from_f32(max / 127.0), qs }
        })
        .collect();
    cast(blocks)
}

/// llama.cpp's `quantize_row_q8_1` (x86): as Q8_0, plus s = d·Σq as f16.
fn q8_1(x: &[f32]) -> Vec<BlockQ8_1> {
    let blocks = x
        .chunks_exact(32)
        .map(|b| {
            let max = b.iter().fold(0f32, |m, v| m.max(v.abs()));
            let d = max / 127.0;
            let id = if max != 0.0 { 127.0 / max } else { 0.0 };
            let mut qs = [0i8; 32];
            let mut sum = 0i32;
            for (q, v) in qs.iter_mut().zip(b) {
                let r = (v * id).round_ties_even() as i32;
                sum += r;
                *q = r as i8;
            }
            Q8_1 { d: f16::from_f32(d), s: f16::from_f32(d * sum as f32), qs }
        })
        .collect();
    cast(blocks)
}

/// llama.cpp's `quantize_row_q8_K_ref`: scale -127/max by the signed
/// extreme, round half to even, sums of each 16 values.
fn q8_k(x: &[f32]) -> Vec<BlockQ8K> {
    let blocks = x
        .chunks_exact(256)
        .map(|b| {
            let (mut max, mut amax) = (0f32, 0f32);
            for &v in b {
                if v.abs() > amax {
                    amax = v.abs();
                    max = v;
                }
            }
            let mut out = Q8K { d: 0.0, qs: [0; 256], bsums: [0; 16] };
            if amax == 0.0 {
                return out;
            }
            let iscale = -127.0 / max;
            for (q, v) in out.qs.iter_mut().zip(b) {
                *q = ((iscale * v).round_ties_even() as i32).min(127) as i8;
            }
            for (j, s) in out.bsums.iter_mut().enumerate() {
                *s = out.qs[j * 16..(j + 1) * 16].iter().map(|&q| i16::from(q)).sum();
            }
            out.d = 1.0 / iscale;
            out
        })
        .collect();
    cast(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// Against candle's own (dequantized) product: the same to within the
    /// quantization of the activations, for every handled type.
    #[test]
    fn matches_the_dequantized_product() {
        let (m, k, n) = (3, 512, 40);
        let w: Vec<f32> = (0..n * k).map(|i| ((i * 7919 % 1000) as f32 / 500.0 - 1.0) * 0.1).collect();
        let x: Vec<f32> = (0..m * k).map(|i| ((i * 104729 % 997) as f32 / 498.0 - 1.0) * 3.0).collect();
        let dev = Device::Cpu;
        let wt = Tensor::from_vec(w, (n, k), &dev).unwrap();
        let xt = Tensor::from_vec(x, (m, k), &dev).unwrap();
        let exact = xt.matmul(&wt.t().unwrap()).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        for dt in [GgmlDType::Q4_0, GgmlDType::Q4_1, GgmlDType::Q5_0, GgmlDType::Q5_1, GgmlDType::Q8_0, GgmlDType::Q4K, GgmlDType::Q6K] {
            let q = QTensor::quantize(&wt, dt).unwrap();
            let deq = q.dequantize(&dev).unwrap();
            let reference = xt.matmul(&deq.t().unwrap()).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let got = QLinear::new(q).unwrap().forward(&xt).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let err = got.iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            let scale = exact.iter().map(|v| v.abs()).fold(0f32, f32::max);
            assert!(err < 0.02 * scale, "{dt:?}: {err} against {scale}");
        }
    }

    #[test]
    fn rounds_halves_to_even_as_llama_cpp() {
        let mut x = vec![0f32; 32];
        x[0] = 127.0;
        x[1] = 2.5;
        x[2] = -3.5;
        let b: Vec<Q8_0> = cast(q8_0(&x));
        assert_eq!(&b[0].qs[..3], &[127, 2, -4]);
    }
}
