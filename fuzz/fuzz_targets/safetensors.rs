//! The safetensors header parser: the first 8 bytes are the file's size, the
//! rest is the JSON header.
#![no_main]

use libfuzzer_sys::fuzz_target;
use versus::catalog::hf::parse_safetensors_header;

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let (size, header) = data.split_at(8);
    let size = u64::from_le_bytes(size.try_into().unwrap_or_default());
    if let Ok(h) = parse_safetensors_header(header, size) {
        assert!(h.data_bytes <= size);
    }
});
