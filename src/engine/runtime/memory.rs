//! Memory: what the process holds (from /proc), what the machine has free
//! (sysinfo), what a model is expected to need, and where on the GPUs it
//! may go. The guard that refuses a model that would not fit reads each
//! engine's row and lives in `guard.rs`.

use crate::error::Error;

use crate::engine::RunEntry;

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

/// The guard that refuses to load what cannot fit.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryConfig {
    pub guard: bool,
    pub reserve_mib: u64,
    pub limit_mib: u64,
}

/// What a model is expected to need.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Estimate {
    pub weights: u64,
    pub kv_cache: u64,
    pub overhead: u64,
}

impl Estimate {
    pub fn total(&self) -> u64 {
        self.weights.saturating_add(self.kv_cache).saturating_add(self.overhead)
    }
}

/// The context an entry runs with: configured, else the model's own.
pub fn context_tokens(entry: &RunEntry) -> u64 {
    match entry.settings.backend.context_size {
        0 => entry.model.context_length.unwrap_or(4096),
        n => u64::from(n),
    }
}

/// Key and value values per token of context, over all layers.
pub fn kv_values_per_token(model: &crate::catalog::ModelInfo) -> u64 {
    let s = model.shape.unwrap_or_default();
    // Shapes come from the file: a hostile one must not wrap to a small cache.
    s.n_layer.saturating_mul(s.n_head_kv).saturating_mul(s.head_dim_k.saturating_add(s.head_dim_v))
}

/// GPU memory kept free for the driver, the display and other processes.
pub const GPU_RESERVE: u64 = 512 << 20;

/// The GPUs a model may use, and their free memory together.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// Free bytes over `gpus`, less `GPU_RESERVE` for each GPU past the
    /// first: the one reserve the callers take off leaves each GPU its own.
    /// With shares: the largest model they let fit, plus that one reserve.
    pub free: u64,
    pub gpus: Vec<u32>,
    /// "GPU memory (#1 NVIDIA H200)", "GPU memory (#0, #1 together)",
    /// "GPU memory (#0, #1 split 3/1)".
    pub what: String,
}

/// Where a model's GPU part may go: `main_gpu` alone when it runs on one
/// GPU, every GPU when llama.cpp spreads it (`split_mode` layer or row), so
/// that a model that fits only across two GPUs is placed across them. With
/// `shares` (`tensor_split`) GPU `i` takes `shares[i] / sum` of the model, so
/// the model fits while no GPU's share outgrows that GPU.
/// None without a GPU; an error for a GPU the machine does not have.
pub fn place(gpus: &[crate::gpu::GpuInfo], main_gpu: u32, spread: bool, shares: &[f32]) -> Result<Option<Placement>, String> {
    if gpus.is_empty() {
        return Ok(None);
    }
    let have = || gpus.iter().map(|g| format!("#{}", g.index)).collect::<Vec<_>>().join(", ");
    let Some(main) = gpus.iter().find(|g| g.index == main_gpu) else {
        return Err(format!("main_gpu = {main_gpu}, but this machine's GPUs are {}", have()));
    };
    if spread && !shares.is_empty() {
        let named = shares.iter().rposition(|&w| w > 0.0).map_or(0, |i| i + 1);
        return place_by_shares(gpus, shares)
            .map(Some)
            .ok_or_else(|| format!("tensor_split gives shares to {named} GPUs, but this machine's GPUs are {}", have()));
    }
    if !spread || gpus.len() == 1 {
        return Ok(Some(Placement {
            free: main.free,
            gpus: vec![main.index],
            what: format!("GPU memory (#{} {})", main.index, main.name),
        }));
    }
    let extra = (gpus.len() as u64 - 1).saturating_mul(GPU_RESERVE);
    let free = gpus.iter().map(|g| g.free).fold(0u64, u64::saturating_add).saturating_sub(extra);
    Ok(Some(Placement { free, gpus: gpus.iter().map(|g| g.index).collect(), what: format!("GPU memory ({} together)", have()) }))
}

/// The largest model the shares let fit: the GPU whose room is smallest
/// for its share bounds it. llama.cpp numbers GPUs as they come (NVML's
/// order here, see docs/gpu.md); None when a share goes to a GPU past them.
fn place_by_shares(gpus: &[crate::gpu::GpuInfo], shares: &[f32]) -> Option<Placement> {
    if shares.iter().skip(gpus.len()).any(|&w| w > 0.0) {
        return None;
    }
    let used: Vec<(&crate::gpu::GpuInfo, f64)> =
        gpus.iter().zip(shares).filter(|(_, w)| **w > 0.0).map(|(g, w)| (g, f64::from(*w))).collect();
    let sum: f64 = used.iter().map(|(_, w)| w).sum();
    let fits = used.iter().map(|(g, w)| g.free.saturating_sub(GPU_RESERVE) as f64 * sum / w).fold(f64::INFINITY, f64::min);
    let split: Vec<String> = shares.iter().take(gpus.len()).map(f32::to_string).collect();
    Some(Placement {
        // The caller takes one reserve off; each GPU's own is already out.
        free: (fits as u64).saturating_add(GPU_RESERVE),
        gpus: used.iter().map(|(g, _)| g.index).collect(),
        what: format!(
            "GPU memory ({} split {})",
            used.iter().map(|(g, _)| format!("#{}", g.index)).collect::<Vec<_>>().join(", "),
            split.join("/")
        ),
    })
}

/// `place` for an entry on this machine's GPUs now; `spreads`: its engine
/// may spread a model over several GPUs (its registry row says), which it
/// does unless the entry's split_mode is none.
pub fn placement(entry: &RunEntry, spreads: bool) -> Result<Option<Placement>, Error> {
    let b = &entry.settings.backend;
    let spread = spreads && b.split_mode != crate::params::SplitMode::None;
    place(&crate::gpu::gpus(), b.main_gpu, spread, &b.tensor_split)
        .map_err(|reason| Error::ModelLoad { model: entry.label.clone(), reason })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::GpuInfo;

    fn gpus(free_gib: &[u64]) -> Vec<GpuInfo> {
        free_gib
            .iter()
            .enumerate()
            .map(|(i, &f)| GpuInfo { index: i as u32, name: format!("GPU{i}"), total: 80 << 30, free: f << 30, used: (80 - f) << 30 })
            .collect()
    }

    /// Scripted device lists: one GPU, a spread over two, main_gpu alone,
    /// and a main_gpu the machine does not have.
    #[test]
    fn models_are_placed_on_the_gpus_they_may_use() {
        assert_eq!(place(&[], 0, true, &[]), Ok(None));
        let one = place(&gpus(&[40]), 0, true, &[]).unwrap().unwrap();
        assert_eq!((one.free, one.gpus.clone()), (40 << 30, vec![0]));
        // 60 GiB fits on neither of two GPUs with 40 free, but across both.
        let two = place(&gpus(&[40, 40]), 0, true, &[]).unwrap().unwrap();
        assert_eq!(two.gpus, vec![0, 1]);
        assert_eq!(two.free, (80 << 30) - GPU_RESERVE);
        assert!(two.free - GPU_RESERVE >= 60 << 30 && (40u64 << 30) - GPU_RESERVE < 60 << 30);
        assert_eq!(two.what, "GPU memory (#0, #1 together)");
        let alone = place(&gpus(&[10, 40]), 1, false, &[]).unwrap().unwrap();
        assert_eq!((alone.free, alone.gpus.clone(), alone.what.as_str()), (40 << 30, vec![1], "GPU memory (#1 GPU1)"));
        let err = place(&gpus(&[10, 40]), 2, false, &[]).unwrap_err();
        assert!(err.contains("main_gpu = 2") && err.contains("#0, #1"), "{err}");
    }

    /// tensor_split: the GPU with the least room for its share bounds the
    /// model; a GPU with share 0 is left out; a share past the GPUs is refused.
    #[test]
    fn shares_bound_the_model_by_the_tightest_gpu() {
        let room = |gib: u64| (gib << 30) - GPU_RESERVE;
        // 3/1 over 40 and 40 GiB: GPU 0 holds 3/4 of the model, so 4/3 × its room.
        let p = place(&gpus(&[40, 40]), 0, true, &[3.0, 1.0]).unwrap().unwrap();
        assert_eq!(p.gpus, vec![0, 1]);
        assert_eq!(p.free - GPU_RESERVE, room(40) * 4 / 3);
        assert_eq!(p.what, "GPU memory (#0, #1 split 3/1)");
        // 1/1 over 10 and 40 GiB: the small GPU bounds it at twice its room.
        let p = place(&gpus(&[10, 40]), 0, true, &[1.0, 1.0]).unwrap().unwrap();
        assert_eq!(p.free - GPU_RESERVE, room(10) * 2);
        // 0/1: GPU 1 alone, even though main_gpu is 0.
        let p = place(&gpus(&[10, 40]), 0, true, &[0.0, 1.0]).unwrap().unwrap();
        assert_eq!((p.gpus.clone(), p.free - GPU_RESERVE), (vec![1], room(40)));
        // A zero past the GPUs is harmless; a share there is not.
        assert!(place(&gpus(&[10, 40]), 0, true, &[1.0, 1.0, 0.0]).is_ok());
        let err = place(&gpus(&[10, 40]), 0, true, &[1.0, 1.0, 1.0]).unwrap_err();
        assert!(err.contains("tensor_split gives shares to 3 GPUs") && err.contains("#0, #1"), "{err}");
        // One GPU: a share for a second one is refused too.
        let one = place(&gpus(&[40]), 0, true, &[1.0]).unwrap().unwrap();
        assert_eq!((one.gpus.clone(), one.free), (vec![0], 40 << 30));
        assert!(place(&gpus(&[40]), 0, true, &[1.0, 1.0, 0.0]).unwrap_err().contains("shares to 2 GPUs"));
        // split_mode none ignores the shares, as llama.cpp does.
        let p = place(&gpus(&[10, 40]), 1, false, &[1.0, 1.0, 1.0]).unwrap().unwrap();
        assert_eq!(p.gpus, vec![1]);
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
