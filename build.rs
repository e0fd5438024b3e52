//! A build for an x86-64 level without AVX2 and FMA runs candle's quantized
//! kernels as scalar code and llama.cpp without its AVX2 paths: several times
//! slower, silently. `.cargo/config.toml` asks for x86-64-v3, but only cargo
//! runs started inside the repository read it (`cargo install --git …` or a
//! `cargo install --path` run from elsewhere do not), so say it here, where
//! the person building sees it.

fn main() {
    println!("cargo:rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
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
