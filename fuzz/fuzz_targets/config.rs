//! The config file parser (TOML, then every value's checks).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = versus::config::parse(text, None);
    }
});
