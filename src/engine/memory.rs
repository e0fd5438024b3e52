//! Memory: what the process holds (from /proc), what the machine has free
//! (sysinfo), and the guard that refuses a model that would not fit.

use crate::catalog::{EngineKind, Format};
use crate::config::MemoryConfig;
use crate::error::Error;

use super::RunEntry;

/// Resident set size of this process now.
pub fn rss_bytes() -> u64 {
    let page = page_size();
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()))
        .map_or(0, |pages| pages * page)
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let v = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(v).unwrap_or(4096)
}

/// Peak RSS since the last `reset_peak` (VmHWM).
pub fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()))
        })
        .map_or(0, |kib| kib * 1024)
}

/// Reset the peak so that the next reading covers one model alone
/// (Linux: writing 5 to clear_refs resets VmHWM to the current RSS).
pub fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Give freed heap back to the OS; glibc otherwise keeps tens of MB after a
/// model is dropped, which would read as a leak.
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Memory available for a new model: RAM the kernel reports available.
pub fn available_bytes() -> u64 {
    memory_now().map_or(0, |s| s.available_memory())
}

pub fn total_bytes() -> u64 {
    memory_now().map_or(0, |s| s.total_memory())
}

/// A sysinfo view with fresh memory figures (None where sysinfo cannot read them).
pub fn memory_now() -> Option<sysinfo::System> {
    let mut sys = sysinfo::System::new().ok()?;
    sys.refresh_memory();
    Some(sys)
}

/// What a model is expected to need.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub weights: u64,
    pub kv_cache: u64,
    pub overhead: u64,
}

impl Estimate {
    pub fn total(&self) -> u64 {
        self.weights + self.kv_cache + self.overhead
    }
}

/// Weights + KV cache for the context + compute buffers, per engine.
pub fn estimate(entry: &RunEntry) -> Estimate {
    let model = &entry.model;
    let shape = model.shape.unwrap_or_default();
    let n_ctx = match entry.settings.backend.context_size {
        0 => model.context_length.unwrap_or(4096),
        n => u64::from(n),
    };
    let per_token = shape.n_layer * shape.n_head_kv * (shape.head_dim_k + shape.head_dim_v);
    let mut weights = model.size_bytes;
    let (kv_cache, mut overhead) = match entry.engine {
        // llama.cpp: an f16 cache sized for the whole context, and compute
        // buffers that grow with the batch and the width of the model.
        EngineKind::Llama => (per_token * n_ctx * 2, (96 << 20) + u64::from(entry.settings.backend.batch_size) * shape.n_embd * 32),
        // candle: an f32 cache that grows with the tokens actually used.
        EngineKind::Candle => {
            let used = n_ctx.min(u64::from(entry.settings.generation.max_tokens) + 2048);
            (per_token * used * 4, 128 << 20)
        }
        // A server's memory is its own.
        EngineKind::Remote => return Estimate { weights: 0, kv_cache: 0, overhead: 0 },
    };
    if entry.engine == EngineKind::Candle {
        match model.format {
            // Safetensors in bf16/f16 are converted to f32 on the CPU.
            Format::Safetensors | Format::Pytorch => {
                let dtype = model.quantization.as_deref().unwrap_or("").to_ascii_lowercase();
                if dtype.contains("16") {
                    weights *= 2;
                }
            }
            // Quantized models dequantize the token embeddings to f32.
            Format::Gguf => overhead += shape.vocab * shape.n_embd * 4,
            Format::Remote => {}
        }
    }
    Estimate { weights, kv_cache, overhead }
}

/// GPU memory kept free for the driver, the display and other processes.
const GPU_RESERVE: u64 = 512 << 20;

/// How many of a llama.cpp model's layers go to the GPU: as configured, or
/// with -1 as many as fit in `gpu_free` (all of them when the model fits;
/// none without a GPU). The output layer counts as one more.
pub fn gpu_layers(entry: &RunEntry, gpu_free: Option<u64>) -> u32 {
    let est = estimate(entry);
    let n_layer = entry.model.shape.map_or(0, |s| s.n_layer) as u32;
    let all = n_layer + 1;
    match (entry.settings.backend.n_gpu_layers, gpu_free) {
        (n, _) if n >= 0 => (n as u32).min(all.max(n as u32)),
        (_, None) => 0,
        (_, Some(free)) => {
            let per_layer = (est.weights + est.kv_cache) / u64::from(all.max(1));
            let room = free.saturating_sub(GPU_RESERVE + est.overhead);
            if per_layer == 0 { all } else { ((room / per_layer) as u32).min(all) }
        }
    }
}

/// Free memory of the GPU an engine would use for `entry`, when it uses one.
pub fn gpu_free_for(entry: &RunEntry) -> Option<u64> {
    let gpu = crate::gpu::gpus().into_iter().next()?;
    let uses_gpu = match entry.engine {
        EngineKind::Llama => entry.settings.backend.n_gpu_layers != 0 && llama_offloads(),
        EngineKind::Candle => {
            cfg!(any(feature = "cuda", feature = "cuda-dl")) && entry.settings.backend.device != crate::params::Device::Cpu
        }
        EngineKind::Remote => false,
    };
    uses_gpu.then_some(gpu.free)
}

fn llama_offloads() -> bool {
    #[cfg(feature = "llama")]
    {
        super::llama::backend().is_ok_and(|b| b.supports_gpu_offload())
    }
    #[cfg(not(feature = "llama"))]
    {
        false
    }
}

/// Refuse a model that would not fit: the part that goes to the GPU against
/// the GPU's free memory, the rest against the RAM available now.
pub fn check(entry: &RunEntry, config: &MemoryConfig) -> Result<Estimate, Error> {
    let est = estimate(entry);
    if !config.guard {
        return Ok(est);
    }
    let gpu_free = gpu_free_for(entry);
    let gpu_share = match (entry.engine, gpu_free) {
        (_, None) => 0.0,
        (EngineKind::Llama, Some(free)) => {
            let all = entry.model.shape.map_or(1, |s| s.n_layer + 1).max(1);
            f64::from(gpu_layers(entry, Some(free))) / all as f64
        }
        (_, Some(_)) => 1.0,
    };
    let on_gpu = ((est.weights + est.kv_cache) as f64 * gpu_share) as u64 + if gpu_share > 0.0 { est.overhead } else { 0 };
    if let Some(free) = gpu_free {
        let room = free.saturating_sub(GPU_RESERVE);
        if on_gpu > room {
            return Err(Error::InsufficientMemory {
                model: entry.label.clone(),
                what: "GPU memory".into(),
                needed: on_gpu,
                available: room,
                gpu_hint: if entry.engine == EngineKind::Llama { " or n_gpu_layers".into() } else { " or use device = \"cpu\"".into() },
            });
        }
    }
    let in_ram = est.total().saturating_sub(on_gpu);
    let reserve = config.reserve_mib << 20;
    let available = if config.limit_mib > 0 { config.limit_mib << 20 } else { available_bytes().saturating_sub(reserve) };
    if in_ram > available {
        return Err(Error::InsufficientMemory {
            model: entry.label.clone(),
            what: "RAM".into(),
            needed: in_ram,
            available,
            gpu_hint: if entry.engine == EngineKind::Llama { " or n_gpu_layers".into() } else { String::new() },
        });
    }
    Ok(est)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n_gpu_layers: i32) -> RunEntry {
        let model = crate::catalog::ModelInfo {
            name: "m".into(),
            format: Format::Gguf,
            path: "/m.gguf".into(),
            files: vec![],
            source: crate::catalog::Source::Cli,
            size_bytes: 31 << 30,
            architecture: Some("llama".into()),
            quantization: None,
            parameters: None,
            context_length: Some(4096),
            chat_template: false,
            shape: Some(crate::catalog::Shape { n_layer: 30, n_head_kv: 8, head_dim_k: 128, head_dim_v: 128, n_embd: 4096, vocab: 32000 }),
            error: None,
        };
        let mut settings = crate::params::Settings::default();
        settings.backend.n_gpu_layers = n_gpu_layers;
        RunEntry { label: "m".into(), model, engine: EngineKind::Llama, settings, prompts: None, endpoint: None }
    }

    #[test]
    fn layers_go_to_the_gpu_as_far_as_they_fit() {
        assert_eq!(gpu_layers(&entry(-1), None), 0, "no GPU, no offload");
        assert_eq!(gpu_layers(&entry(-1), Some(80 << 30)), 31, "everything fits on 80 GiB");
        let half = gpu_layers(&entry(-1), Some(17 << 30));
        assert!((12..=17).contains(&half), "about half of a 32 GiB model fits in 17 GiB: {half}");
        assert_eq!(gpu_layers(&entry(10), Some(80 << 30)), 10, "an explicit count is kept");
        assert_eq!(gpu_layers(&entry(0), Some(80 << 30)), 0);
    }

    #[test]
    fn proc_readings_are_plausible() {
        let rss = rss_bytes();
        assert!(rss > 1 << 20, "rss {rss}");
        reset_peak();
        assert!(peak_rss_bytes() >= rss / 2);
        assert!(total_bytes() >= available_bytes());
    }
}
