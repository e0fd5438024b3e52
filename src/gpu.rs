//! NVIDIA GPUs through NVML, loaded at run time (nvml-wrapper uses
//! libloading), so the binary starts on machines without a driver.

use std::sync::OnceLock;

use nvml_wrapper::Nvml;

use crate::error::human_bytes;

/// Memory of one GPU now.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuInfo {
    pub index: u32,
    pub name: String,
    pub total: u64,
    pub free: u64,
    pub used: u64,
}

fn nvml() -> Option<&'static Nvml> {
    static NVML: OnceLock<Option<Nvml>> = OnceLock::new();
    NVML.get_or_init(|| match Nvml::init() {
        Ok(n) => Some(n),
        Err(e) => {
            tracing::debug!("NVML unavailable: {e}");
            None
        }
    })
    .as_ref()
}

/// Every GPU NVML reports, with its memory now; empty without a driver.
pub fn gpus() -> Vec<GpuInfo> {
    let Some(nvml) = nvml() else { return Vec::new() };
    let count = nvml.device_count().unwrap_or(0);
    (0..count)
        .filter_map(|i| {
            let dev = nvml.device_by_index(i).ok()?;
            let mem = dev.memory_info().ok()?;
            Some(GpuInfo { index: i, name: dev.name().unwrap_or_default(), total: mem.total, free: mem.free, used: mem.used })
        })
        .collect()
}

/// Memory used on GPU `index` now, for before/after comparisons.
pub fn used_bytes(index: u32) -> Option<u64> {
    let nvml = nvml()?;
    nvml.device_by_index(index).ok()?.memory_info().ok().map(|m| m.used)
}

/// Memory used on every GPU together now: a model spread over several
/// shows in its before/after figures.
pub fn used_all() -> u64 {
    gpus().iter().map(|g| g.used).fold(0, u64::saturating_add)
}

/// One line for `versus doctor`.
/// What ran a comparison, as the history records it: "cuda: NVIDIA H200"
/// when this build computes on an NVIDIA GPU and one is present, else "cpu".
pub fn run_device() -> String {
    match gpus().first() {
        Some(g) if cfg!(any(feature = "cuda", feature = "cuda-dl")) => format!("cuda: {}", g.name),
        _ => "cpu".into(),
    }
}

pub fn describe() -> String {
    let gpus = gpus();
    if gpus.is_empty() {
        return "none detected (no NVIDIA driver or NVML)".into();
    }
    let driver = nvml().and_then(|n| n.sys_driver_version().ok()).unwrap_or_default();
    gpus.iter()
        .map(|g| format!("#{} {}: {} total, {} free (driver {driver})", g.index, g.name, human_bytes(g.total), human_bytes(g.free)))
        .collect::<Vec<_>>()
        .join("\n              ")
}
