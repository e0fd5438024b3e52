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
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()))
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
        EngineKind::Llama => (
            per_token * n_ctx * 2,
            (96 << 20) + u64::from(entry.settings.backend.batch_size) * shape.n_embd * 32,
        ),
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

/// Refuse a model that would not fit in the memory available now.
pub fn check(entry: &RunEntry, config: &MemoryConfig) -> Result<Estimate, Error> {
    let est = estimate(entry);
    if !config.guard {
        return Ok(est);
    }
    let reserve = config.reserve_mib << 20;
    let available = if config.limit_mib > 0 {
        config.limit_mib << 20
    } else {
        available_bytes().saturating_sub(reserve)
    };
    if est.total() > available {
        return Err(Error::InsufficientMemory {
            model: entry.label.clone(),
            what: "RAM".into(),
            needed: est.total(),
            available,
            gpu_hint: if entry.engine == EngineKind::Llama { " or n_gpu_layers".into() } else { String::new() },
        });
    }
    Ok(est)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_readings_are_plausible() {
        let rss = rss_bytes();
        assert!(rss > 1 << 20, "rss {rss}");
        reset_peak();
        assert!(peak_rss_bytes() >= rss / 2);
        assert!(total_bytes() >= available_bytes());
    }
}
