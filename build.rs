//! A build for an x86-64 level without AVX2 and FMA runs candle's quantized
//! kernels as scalar code and llama.cpp without its AVX2 paths: several times
//! slower, silently. `.cargo/config.toml` asks for x86-64-v3, but only cargo
//! runs started inside the repository read it (`cargo install --git …` or a
//! `cargo install --path` run from elsewhere do not), so say it here, where
//! the person building sees it.

/// The `-C target-cpu` this build is for ("znver4", "x86-64-v3"), with
/// "native" resolved to the CPU rustc names for this host, so that `versus
/// doctor` can say which CPU's kernels the binary carries.
fn target_cpu() -> String {
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let cpu = flags.split('\x1f').find_map(|f| f.split("target-cpu=").nth(1)).unwrap_or("").to_string();
    if cpu != "native" {
        return cpu;
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let listed = std::process::Command::new(rustc)
        .args(["--print", "target-cpus"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    listed
        .ok()
        .and_then(|l| {
            l.lines()
                .filter(|line| line.trim_start().starts_with("native"))
                .find_map(|line| line.split("currently ").nth(1).map(|c| c.trim_end_matches([')', '.']).to_string()))
        })
        .unwrap_or(cpu)
}

fn main() {
    println!("cargo:rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
    println!("cargo:rustc-env=VERSUS_TARGET_CPU={}", target_cpu());
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let has = |f: &str| features.split(',').any(|x| x == f);
    // The cpu-variants build picks llama.cpp's kernels at run time on purpose.
    let variants = std::env::var_os("CARGO_FEATURE_CPU_VARIANTS").is_some();
    if arch == "x86_64" && !(has("avx2") && has("fma")) && !variants {
        println!(
            "cargo:warning=versus is being built without AVX2/FMA (x86-64 baseline): GGUF models will run several times slower. \
             Build from the repository's folder (its .cargo/config.toml selects x86-64-v3), or set RUSTFLAGS=\"-C target-cpu=native\"."
        );
    }
}
