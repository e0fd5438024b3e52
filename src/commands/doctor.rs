//! `versus doctor`: what versus sees on this machine, so a user can tell at
//! a glance why a model or a GPU is not being used.

use std::fmt::Write as _;

use crate::catalog::Catalog;
use crate::error::human_bytes;

use super::Context;

pub fn report(ctx: &Context, catalog: &Catalog) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "versus {}", env!("CARGO_PKG_VERSION"));

    let _ = writeln!(out, "\nengines");
    for engine in crate::engine::registry::all() {
        let lines = if engine.compiled { (engine.doctor)() } else { vec![format!("not compiled in (feature `{}`)", engine.feature)] };
        for (i, line) in lines.iter().enumerate() {
            let name = if i == 0 { engine.title } else { "" };
            let _ = writeln!(out, "  {name:<11} {line}");
        }
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
    let (kernels, slow) = crate::cpu::doctor();
    let _ = writeln!(out, "  kernels     {kernels}");
    if let Some(w) = slow {
        let _ = writeln!(out, "              warning: {w}");
    }
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
        human_bytes(crate::engine::runtime::memory::total_bytes()),
        human_bytes(crate::engine::runtime::memory::available_bytes())
    );
    let _ = writeln!(out, "  gpu         {}", crate::gpu::describe());
    let keep = match ctx.config.config.scheduler.keep_loaded {
        crate::engine::runtime::resident::KeepLoaded::Auto => "auto: a model stays loaded while the run's next models fit beside it",
        crate::engine::runtime::resident::KeepLoaded::Always => "always: models stay loaded until another needs their memory",
        crate::engine::runtime::resident::KeepLoaded::Never => "never: one model in memory at a time",
    };
    // Models are held by a running versus (its status line lists them); a
    // doctor process holds none.
    let _ = writeln!(out, "  resident    keep_loaded = {keep}; none loaded in this process (the TUI's status line lists what it holds)");
    worker(&mut out, ctx);

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
                .filter(|m| {
                    m.format == crate::catalog::Format::Remote && m.path.as_os_str() == crate::engine::remote::redact(&ep.url).as_str()
                })
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
            let _ = writeln!(out, "  {:<12}{}  {state}{key}", ep.name, crate::engine::remote::redact(&ep.url));
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

/// The worker process local models run in: which run now (the versus that
/// started each), and the crashes it has survived.
fn worker(out: &mut String, ctx: &Context) {
    use crate::engine::runtime::worker::state;
    let how = match ctx.isolation() {
        Some(iso) => format!("local models run in a worker process ({} worker)", iso.exe.display()),
        None if ctx.config.config.scheduler.isolate => "local models run inside versus (this binary cannot start its worker)".into(),
        None => "local models run inside versus ([scheduler] isolate = false)".into(),
    };
    let _ = writeln!(out, "  worker      {how}");
    let dir = &ctx.dirs.state_dir;
    for (parent, pid) in state::running(dir) {
        let _ = writeln!(out, "              running: pid {pid} (for versus pid {parent})");
    }
    let crashes = state::crashes(dir);
    match crashes.last() {
        None => {
            let _ = writeln!(out, "              no crash recorded");
        }
        Some(last) => {
            let n = crashes.len();
            let _ = writeln!(
                out,
                "              {n} crash{} recorded (the latest {}); last: {} {}: {}",
                if n == 1 { "" } else { "es" },
                state::KEEP,
                last.at,
                last.model,
                last.what
            );
            let _ = writeln!(out, "              each is in {}", dir.join(state::CRASH_LOG).display());
        }
    }
}

pub fn run(ctx: &Context, catalog: &Catalog) -> u8 {
    print!("{}", report(ctx, catalog));
    super::exit::OK
}
