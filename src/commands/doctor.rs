//! `versus doctor`: what versus sees on this machine, so a user can tell at
//! a glance why a model or a GPU is not being used.

use std::fmt::Write as _;

use crate::catalog::Catalog;
use crate::error::human_bytes;

use super::Context;

/// The engine crates, pinned exactly in Cargo.toml (a test keeps these true).
pub const LLAMA_CPP_2_VERSION: &str = "0.1.160";
pub const CANDLE_VERSION: &str = "0.11.1";

pub fn report(ctx: &Context, catalog: &Catalog) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "versus {}", env!("CARGO_PKG_VERSION"));

    let _ = writeln!(out, "\nengines");
    if cfg!(feature = "llama") {
        let gpu = if cfg!(any(feature = "cuda", feature = "cuda-dl")) {
            "CPU, CUDA"
        } else if cfg!(feature = "metal") {
            "CPU, Metal"
        } else {
            "CPU"
        };
        let _ = writeln!(out, "  llama.cpp   llama-cpp-2 {LLAMA_CPP_2_VERSION} ({gpu})");
        #[cfg(feature = "llama")]
        {
            let devices = crate::engine::llama::devices();
            if !devices.is_empty() {
                let _ = writeln!(out, "              devices: {}", devices.join(", "));
            }
        }
    } else {
        let _ = writeln!(out, "  llama.cpp   not compiled in (feature `llama`)");
    }
    if cfg!(feature = "candle") {
        let dev = if cfg!(any(feature = "cuda", feature = "cuda-dl")) {
            "CPU, CUDA"
        } else if cfg!(feature = "metal") {
            "CPU, Metal"
        } else {
            "CPU"
        };
        let _ = writeln!(out, "  candle      candle {CANDLE_VERSION} ({dev})");
    } else {
        let _ = writeln!(out, "  candle      not compiled in (feature `candle`)");
    }

    let _ = writeln!(out, "\ndevices");
    let physical = sysinfo::System::physical_core_count().unwrap_or(0);
    let logical = std::thread::available_parallelism().map_or(0, |n| n.get());
    let brand = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split_once(':')).map(|(_, v)| v.trim().to_string()))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "  cpu         {physical} physical cores, {logical} logical{}",
        if brand.is_empty() { String::new() } else { format!(" ({brand})") }
    );
    let _ = writeln!(
        out,
        "  threads     {} by default (backend.threads = {})",
        crate::engine::effective_threads(ctx.config.config.backend.threads),
        ctx.config.config.backend.threads
    );
    let _ = writeln!(out, "  omp wait    {}", crate::process::wait_policy_in_effect());
    let _ = writeln!(
        out,
        "  ram         {} total, {} available",
        human_bytes(crate::engine::memory::total_bytes()),
        human_bytes(crate::engine::memory::available_bytes())
    );
    let _ = writeln!(out, "  gpu         {}", crate::gpu::describe());

    let _ = writeln!(out, "\nfiles");
    match &ctx.config.source {
        Some(p) => {
            let _ = writeln!(out, "  config      {}", p.display());
        }
        None => {
            let _ = writeln!(out, "  config      {} (not present: built-in defaults)", ctx.dirs.config_file().display());
        }
    }
    match &ctx.log {
        Ok(p) => {
            let _ = writeln!(out, "  log         {}", p.display());
        }
        Err(e) => {
            let _ = writeln!(out, "  log         off ({e})");
        }
    }
    let _ = writeln!(out, "  data        {}", ctx.dirs.data_dir.display());

    let _ = writeln!(out, "\nmodel folders");
    for root in &catalog.roots {
        let what = match &root.note {
            Some(n) if root.models == 0 => n.clone(),
            Some(n) => format!("{} model{} ({n})", root.models, if root.models == 1 { "" } else { "s" }),
            None => format!("{} model{}", root.models, if root.models == 1 { "" } else { "s" }),
        };
        let _ = writeln!(out, "  {:<12}{}  {what}", root.source.label(), root.path.display());
    }
    if !ctx.config.config.endpoints.is_empty() {
        let _ = writeln!(out, "\nendpoints");
        for ep in &ctx.config.config.endpoints {
            let served: Vec<&crate::catalog::ModelInfo> = catalog
                .models
                .iter()
                .filter(|m| m.format == crate::catalog::Format::Remote && m.path.as_os_str() == ep.url.as_str())
                .collect();
            let state = match served.iter().find_map(|m| m.error.clone()) {
                Some(e) => e,
                None => format!("{} model{}", served.len(), if served.len() == 1 { "" } else { "s" }),
            };
            let key = match &ep.api_key_env {
                Some(v) if std::env::var(v).is_ok_and(|k| !k.is_empty()) => format!(", key in ${v}"),
                Some(v) => format!(", ${v} is not set"),
                None => String::new(),
            };
            let _ = writeln!(out, "  {:<12}{}  {state}{key}", ep.name, ep.url);
            if let Some(w) = crate::engine::remote::insecure_warning(&ep.url) {
                let _ = writeln!(out, "              warning: {w}");
            }
        }
    }
    let broken = catalog.models.iter().filter(|m| m.error.is_some()).count();
    let _ = writeln!(
        out,
        "\n{} model{} discovered{}",
        catalog.models.len(),
        if catalog.models.len() == 1 { "" } else { "s" },
        if broken > 0 { format!(", {broken} with errors (see `versus list`)") } else { String::new() }
    );
    out
}

pub fn run(ctx: &Context, catalog: &Catalog) -> u8 {
    print!("{}", report(ctx, catalog));
    super::exit::OK
}

#[cfg(test)]
mod tests {
    #[test]
    fn pinned_versions_match_cargo_toml() {
        let manifest = include_str!("../../Cargo.toml");
        assert!(manifest.contains(&format!("llama-cpp-2 = {{ version = \"={}\"", super::LLAMA_CPP_2_VERSION)));
        assert!(manifest.contains(&format!("candle-core = {{ version = \"={}\"", super::CANDLE_VERSION)));
    }
}
