//! The memory guard: refuses a model that would not fit, before it loads.
//! What each engine needs and where (its estimate, its GPU share, whether
//! it spreads over GPUs) comes from its row in the registry.

use super::memory::{Estimate, GPU_RESERVE, MemoryConfig, available_bytes, placement};
use crate::engine::RunEntry;
use crate::error::Error;

/// Refuse a model that would not fit: the part that goes to the GPU against
/// the GPU's free memory, the rest against the RAM available now.
pub fn check(entry: &RunEntry, config: &MemoryConfig) -> Result<Estimate, Error> {
    check_beside(entry, config, 0)
}

/// As `check`, beside models already loaded that are expected to hold
/// `held` bytes: with a fixed `limit_mib` they count against it; otherwise
/// the memory they use is already gone from what the system reports free.
pub fn check_beside(entry: &RunEntry, config: &MemoryConfig, held: u64) -> Result<Estimate, Error> {
    let engine = crate::engine::registry::info(entry.engine);
    let est = (engine.estimate)(entry);
    if !config.guard || !engine.local {
        return Ok(est);
    }
    let place = placement(entry, engine.spreads_over_gpus)?;
    let gpu_share = (engine.gpu_share)(entry, place.as_ref().map(|p| p.free));
    let on_gpu = (est.weights.saturating_add(est.kv_cache) as f64 * gpu_share) as u64;
    let on_gpu = on_gpu.saturating_add(if gpu_share > 0.0 { est.overhead } else { 0 });
    let ctx = super::memory::context_tokens(entry);
    let lower = format!("lower backend.context_size (now {ctx}; --context-size N, or ,context_size=N in the spec)");
    if let (Some(p), true) = (&place, gpu_share > 0.0) {
        let room = p.free.saturating_sub(GPU_RESERVE);
        if on_gpu > room {
            return Err(Error::InsufficientMemory {
                model: entry.label.clone(),
                what: p.what.clone(),
                needed: on_gpu,
                available: room,
                fix: format!("{lower}{}", engine.gpu_hint),
            });
        }
    }
    let in_ram = est.total().saturating_sub(on_gpu);
    let reserve = config.reserve_mib.saturating_mul(1 << 20);
    let available = if config.limit_mib > 0 {
        config.limit_mib.saturating_mul(1 << 20).saturating_sub(held)
    } else {
        available_bytes().saturating_sub(reserve)
    };
    if in_ram > available {
        let gpu = if place.is_some() { engine.ram_hint } else { "" };
        let limit = if config.limit_mib > 0 {
            format!("; or raise [memory] limit_mib (now {})", config.limit_mib)
        } else {
            "; [memory] guard = false skips this check".into()
        };
        return Err(Error::InsufficientMemory {
            model: entry.label.clone(),
            what: "RAM".into(),
            needed: in_ram,
            available,
            fix: format!("{lower}{gpu}{limit}"),
        });
    }
    Ok(est)
}
