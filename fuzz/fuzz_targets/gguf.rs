//! The GGUF header reader on arbitrary bytes: an error is fine, a panic, a
//! hang or a large allocation is not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use versus::catalog::gguf::{Arrays, Header};

fuzz_target!(|data: &[u8]| {
    for arrays in [Arrays::Skip, Arrays::Keep] {
        if let Ok(h) = Header::from_bytes(data, arrays) {
            let _ = h.check_bounds();
            let _ = h.parameter_count();
            let _ = h.architecture();
            let _ = h.arch_u64("context_length");
        }
    }
});
