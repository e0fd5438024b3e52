//! Which CPU kernels this build runs, against what the CPU could run.
//!
//! llama.cpp and candle pick their SIMD kernels when they are compiled
//! (`-C target-cpu`, which llama-cpp-sys passes on as GGML_AVX2…), except in
//! a build with the `cpu-variants` feature, where llama.cpp loads the best
//! of its CPU backends (`libggml-cpu-*.so`) at start. A build for a lower
//! level than the CPU's runs several times slower without saying so; this
//! module lets `versus doctor` say so.

/// x86-64 micro-architecture levels, lowest first.
const LEVELS: [&str; 4] = ["x86-64 (SSE2)", "x86-64-v2 (SSE4.2)", "x86-64-v3 (AVX2, FMA)", "x86-64-v4 (AVX-512)"];

/// The level this binary was compiled for (0..=3), on x86-64.
pub fn built_level() -> Option<usize> {
    if !cfg!(target_arch = "x86_64") {
        return None;
    }
    Some(if cfg!(all(target_feature = "avx512f", target_feature = "avx512bw", target_feature = "avx512vl")) {
        3
    } else if cfg!(all(target_feature = "avx2", target_feature = "fma")) {
        2
    } else if cfg!(target_feature = "sse4.2") {
        1
    } else {
        0
    })
}

/// The level the CPU supports (0..=3), on x86-64.
pub fn cpu_level() -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        Some(if has!("avx512f") && has!("avx512bw") && has!("avx512vl") {
            3
        } else if has!("avx2") && has!("fma") {
            2
        } else if has!("sse4.2") {
            1
        } else {
            0
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    None
}

/// The name the compiler gives this host's CPU ("znver4"), from the same
/// list `-C target-cpu=native` resolves through; None where no rustc is.
fn host_cpu() -> Option<String> {
    let out = std::process::Command::new("rustc").args(["--print", "target-cpus"]).output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.trim_start().starts_with("native"))
        .find_map(|l| l.split("currently ").nth(1).map(|c| c.trim_end_matches([')', '.']).to_string()))
}

/// Refuse to go on, in words, when this binary was built for a CPU level
/// above this machine's: the alternative is a crash on the first illegal
/// instruction (a target folder carried to an older machine). Runs first
/// thing in `main`.
pub fn check_build() -> Result<(), String> {
    match (built_level(), cpu_level()) {
        (Some(built), Some(cpu)) if built > cpu => Err(format!(
            "this binary was built for {} ({}), which this CPU ({}) cannot run; rebuild it here (scripts/demo.sh builds for the CPU it runs on)",
            env!("VERSUS_TARGET_CPU"),
            LEVELS[built],
            LEVELS[cpu]
        )),
        _ => Ok(()),
    }
}

/// The llama.cpp CPU backend loaded at run time ("haswell", "zen4", …), read
/// from the process's mappings; None in a build that links one in.
pub fn loaded_variant() -> Option<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines().find_map(|l| {
        let file = l.rsplit('/').next()?;
        file.strip_prefix("libggml-cpu-").and_then(|v| v.strip_suffix(".so")).map(str::to_string)
    })
}

/// The kernels answers are computed with, for receipts: the llama.cpp CPU
/// variant loaded at run time, or the CPU the build is for and its level.
pub fn kernels() -> String {
    match (loaded_variant(), built_level()) {
        (Some(v), _) => format!("llama.cpp CPU backend {v}"),
        (None, Some(level)) => format!("built for {} ({})", env!("VERSUS_TARGET_CPU"), LEVELS[level]),
        (None, None) => format!("built for {}", std::env::consts::ARCH),
    }
}

/// `versus doctor`'s line, and a warning when a slower level than the CPU's
/// is in use. Call after llama.cpp's backend is up (its variant is loaded then).
pub fn doctor() -> (String, Option<String>) {
    let (Some(built), Some(cpu)) = (built_level(), cpu_level()) else {
        return (format!("kernels for {}", std::env::consts::ARCH), None);
    };
    if let Some(v) = loaded_variant() {
        let line =
            format!("llama.cpp: CPU backend `{v}`, chosen at start for this CPU ({}); candle's kernels: {}", LEVELS[cpu], LEVELS[built]);
        let warn = (built < cpu).then(|| format!("candle's kernels were compiled for {}; this CPU runs {}", LEVELS[built], LEVELS[cpu]));
        return (line, warn);
    }
    let target = env!("VERSUS_TARGET_CPU");
    let line = match (target.is_empty(), host_cpu()) {
        (false, Some(host)) if host == target => {
            format!("built for this CPU ({target}: {}): llama.cpp and candle run its own kernels", LEVELS[built])
        }
        (false, _) => format!("built for {target} ({}); this CPU runs {}", LEVELS[built], LEVELS[cpu]),
        (true, _) => format!("built for {}; this CPU runs {}", LEVELS[built], LEVELS[cpu]),
    };
    let warn = (built < cpu).then(|| {
        format!(
            "this build leaves {} unused (slower kernels); scripts/demo.sh builds for this CPU, or rebuild with RUSTFLAGS=\"-C target-cpu=native\"",
            LEVELS[cpu]
        )
    });
    (line, warn)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_build_runs_on_this_cpu_and_says_so() {
        let (line, _) = super::doctor();
        if let (Some(b), Some(c)) = (super::built_level(), super::cpu_level()) {
            // A binary built above the CPU's level would not have started.
            assert!(b <= c);
            assert!(line.contains(super::LEVELS[c]), "{line}");
        }
    }
}
