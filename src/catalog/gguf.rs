//! A small reader for GGUF headers: the key/value metadata and the tensor
//! table, without touching the weights. Discovery uses it for the summary of
//! every file (cheap: arrays are skipped), the candle tokenizer builder for the
//! vocabulary arrays. Every length read from the file is bounded, so a corrupt
//! or hostile header gives an error instead of a huge allocation.

use std::collections::BTreeMap;
use std::io::{BufReader, Read};

use reader::Reader;
use std::path::Path;

const MAGIC: &[u8; 4] = b"GGUF";
const MAX_STRING: u64 = 64 << 20;
const MAX_ARRAY: u64 = 64 << 20;
/// Arrays of arrays deeper than this are refused (real files use none).
const MAX_NESTING: u32 = 8;
const MAX_TENSORS: u64 = 1 << 20;
const MAX_KV: u64 = 1 << 20;

/// A metadata value. Arrays are kept only when asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    U64(u64),
    I64(i64),
    F32(f32),
    F64(f64),
    Bool(bool),
    String(String),
    Array(Vec<Value>),
    /// An array that was skipped: its element type code and length.
    SkippedArray {
        elem_type: u32,
        len: u64,
    },
}

impl Value {
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U8(v) => Some(v.into()),
            Value::U16(v) => Some(v.into()),
            Value::U32(v) => Some(v.into()),
            Value::U64(v) => Some(v),
            Value::I8(v) => u64::try_from(v).ok(),
            Value::I16(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(v) => Some(v.into()),
            Value::F64(v) => Some(v),
            _ => self.as_u64().map(|v| v as f64),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The length of an array, whether kept or skipped.
    pub fn array_len(&self) -> Option<u64> {
        match self {
            Value::Array(a) => Some(a.len() as u64),
            Value::SkippedArray { len, .. } => Some(*len),
            _ => None,
        }
    }
}

/// One entry of the tensor table.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    pub dims: Vec<u64>,
    pub ggml_type: u32,
    pub offset: u64,
}

impl TensorInfo {
    /// The number of elements; None when the product overflows.
    pub fn elements(&self) -> Option<u64> {
        self.dims.iter().try_fold(1u64, |n, &d| n.checked_mul(d))
    }
}

/// Everything before the tensor data.
#[derive(Debug, Clone)]
pub struct Header {
    pub version: u32,
    pub metadata: BTreeMap<String, Value>,
    pub tensors: Vec<TensorInfo>,
    /// Where tensor data begins (aligned).
    pub data_offset: u64,
    pub file_size: u64,
}

/// Which arrays to keep when reading.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arrays {
    Skip,
    Keep,
}

/// True when the file starts with the GGUF magic.
pub fn has_magic(path: &Path) -> bool {
    let mut buf = [0u8; 4];
    crate::paths::open_regular(path).and_then(|mut f| f.read_exact(&mut buf)).is_ok() && &buf == MAGIC
}

impl Header {
    pub fn read(path: &Path, arrays: Arrays) -> Result<Header, String> {
        let file = crate::paths::open_regular(path).map_err(|e| crate::paths::io_message(path, &e))?;
        let file_size = file.metadata().map_err(|e| crate::paths::io_message(path, &e))?.len();
        Header::parse(BufReader::with_capacity(64 * 1024, file), file_size, arrays)
    }

    /// The header of a GGUF file held in memory (the fuzz target's entry).
    pub fn from_bytes(bytes: &[u8], arrays: Arrays) -> Result<Header, String> {
        Header::parse(std::io::Cursor::new(bytes), bytes.len() as u64, arrays)
    }

    fn parse<R: reader::Source>(inner: R, file_size: u64, arrays: Arrays) -> Result<Header, String> {
        let mut r = Reader { inner, pos: 0, file_size, depth: 0 };
        let mut magic = [0u8; 4];
        r.bytes(&mut magic).map_err(|_| "empty or truncated file (no GGUF header)".to_string())?;
        if &magic != MAGIC {
            return Err(format!("not a GGUF file (invalid magic {:?}, expected \"GGUF\")", String::from_utf8_lossy(&magic)));
        }
        let version = r.u32()?;
        if !(2..=3).contains(&version) {
            return Err(format!("unsupported GGUF version {version} (2 and 3 are known)"));
        }
        let n_tensors = r.u64()?;
        let n_kv = r.u64()?;
        if n_tensors > MAX_TENSORS || n_kv > MAX_KV {
            return Err(format!("corrupt GGUF header ({n_tensors} tensors, {n_kv} keys)"));
        }
        let mut metadata = BTreeMap::new();
        for _ in 0..n_kv {
            let key = r.string()?;
            let ty = r.u32()?;
            let value = r.value(ty, arrays)?;
            metadata.insert(key, value);
        }
        // Within what the rest of the file could hold (an entry is ≥ 24 bytes).
        let mut tensors = Vec::with_capacity(n_tensors.min(file_size.saturating_sub(r.pos) / 24) as usize);
        for _ in 0..n_tensors {
            let name = r.string()?;
            let n_dims = r.u32()?;
            if n_dims > 8 {
                return Err(format!("corrupt tensor entry {name:?} ({n_dims} dimensions)"));
            }
            let dims = (0..n_dims).map(|_| r.u64()).collect::<Result<Vec<_>, _>>()?;
            let ggml_type = r.u32()?;
            let offset = r.u64()?;
            tensors.push(TensorInfo { name, dims, ggml_type, offset });
        }
        let alignment = metadata.get("general.alignment").and_then(Value::as_u64).unwrap_or(32);
        if !alignment.is_power_of_two() || alignment > 1 << 30 {
            return Err(format!("corrupt GGUF header (general.alignment = {alignment}: a power of two up to 2^30 is expected)"));
        }
        let data_offset = r.pos.div_ceil(alignment) * alignment;
        Ok(Header { version, metadata, tensors, data_offset, file_size })
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.get(key)
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    pub fn u64(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(Value::as_u64)
    }

    pub fn architecture(&self) -> Option<&str> {
        self.str("general.architecture")
    }

    /// A per-architecture key such as `{arch}.context_length`.
    pub fn arch_u64(&self, suffix: &str) -> Option<u64> {
        let arch = self.architecture()?;
        self.u64(&format!("{arch}.{suffix}"))
    }

    /// Sum of the elements of every tensor.
    pub fn parameter_count(&self) -> u64 {
        self.tensors.iter().map(|t| t.elements().unwrap_or(u64::MAX)).fold(0, u64::saturating_add)
    }

    /// The end of the furthest tensor, when the types are known; a file shorter
    /// than that is truncated.
    pub fn data_end(&self) -> Option<u64> {
        // Saturating: a hostile offset near 2^64 or a dims product that
        // overflows must read as "past the end", never wrap to a small number.
        let mut end = self.data_offset;
        for t in &self.tensors {
            let n = t.elements().unwrap_or(u64::MAX);
            let (block, bytes) = ggml_type_size(t.ggml_type)?;
            let size = n.div_ceil(block).saturating_mul(bytes);
            end = end.max(self.data_offset.saturating_add(t.offset).saturating_add(size));
        }
        Some(end)
    }

    /// An error when the tensors reach past the end of the file.
    pub fn check_bounds(&self) -> Result<(), String> {
        match self.data_end() {
            Some(end) if end > self.file_size => Err(format!(
                "truncated GGUF: its tensors need {} but the file has {} ({end} bytes against {}); the download was cut short: download it again",
                crate::error::human_bytes(end),
                crate::error::human_bytes(self.file_size),
                self.file_size
            )),
            _ => Ok(()),
        }
    }
}

/// (elements per block, bytes per block) of the ggml types in common use.
pub fn ggml_type_size(t: u32) -> Option<(u64, u64)> {
    Some(match t {
        0 => (1, 4),      // F32
        1 => (1, 2),      // F16
        2 => (32, 18),    // Q4_0
        3 => (32, 20),    // Q4_1
        6 => (32, 22),    // Q5_0
        7 => (32, 24),    // Q5_1
        8 => (32, 34),    // Q8_0
        9 => (32, 36),    // Q8_1
        10 => (256, 84),  // Q2_K
        11 => (256, 110), // Q3_K
        12 => (256, 144), // Q4_K
        13 => (256, 176), // Q5_K
        14 => (256, 210), // Q6_K
        15 => (256, 292), // Q8_K
        16 => (256, 66),  // IQ2_XXS
        17 => (256, 74),  // IQ2_XS
        18 => (256, 98),  // IQ3_XXS
        19 => (256, 50),  // IQ1_S
        20 => (32, 18),   // IQ4_NL
        21 => (256, 110), // IQ3_S
        22 => (256, 82),  // IQ2_S
        23 => (256, 136), // IQ4_XS
        24 => (1, 1),     // I8
        25 => (1, 2),     // I16
        26 => (1, 4),     // I32
        27 => (1, 8),     // I64
        28 => (1, 8),     // F64
        29 => (256, 56),  // IQ1_M
        30 => (1, 2),     // BF16
        34 => (256, 54),  // TQ1_0
        35 => (256, 66),  // TQ2_0
        39 => (32, 17),   // MXFP4
        _ => return None,
    })
}

/// The name llama.cpp gives a `general.file_type` value.
pub fn file_type_name(ft: u64) -> Option<&'static str> {
    Some(match ft {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        19 => "IQ2_XXS",
        20 => "IQ2_XS",
        21 => "Q2_K_S",
        22 => "IQ3_XS",
        23 => "IQ3_XXS",
        24 => "IQ1_S",
        25 => "IQ4_NL",
        26 => "IQ3_S",
        27 => "IQ3_M",
        28 => "IQ2_S",
        29 => "IQ2_M",
        30 => "IQ4_XS",
        31 => "IQ1_M",
        32 => "BF16",
        36 => "TQ1_0",
        37 => "TQ2_0",
        38 => "MXFP4_MOE",
        _ => return None,
    })
}

mod reader;
pub mod write;

#[cfg(test)]
mod tests {
    use super::write::*;
    use super::*;

    #[test]
    fn reads_what_it_writes_and_checks_bounds() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.gguf");
        let bytes = gguf_bytes(
            &[
                ("general.architecture", W::Str("llama")),
                ("llama.context_length", W::U32(2048)),
                ("tokenizer.ggml.tokens", W::StrArray(&["a", "b"])),
            ],
            &[("tok_embd.weight", &[4, 2]), ("output.weight", &[4, 2])],
            0,
        );
        std::fs::write(&p, &bytes).unwrap();
        let h = Header::read(&p, Arrays::Skip).unwrap();
        assert_eq!(h.architecture(), Some("llama"));
        assert_eq!(h.arch_u64("context_length"), Some(2048));
        assert_eq!(h.get("tokenizer.ggml.tokens").and_then(Value::array_len), Some(2));
        assert_eq!(h.parameter_count(), 16);
        assert!(h.check_bounds().is_ok());
        let h = Header::read(&p, Arrays::Keep).unwrap();
        assert_eq!(h.get("tokenizer.ggml.tokens").and_then(Value::as_array).map(|a| a.len()), Some(2));

        std::fs::write(&p, &bytes[..bytes.len() - 8]).unwrap();
        let h = Header::read(&p, Arrays::Skip).unwrap();
        let err = h.check_bounds().unwrap_err();
        assert!(err.contains("truncated GGUF") && err.contains("download it again"), "{err}");
    }

    #[test]
    fn corrupt_headers_are_errors_not_panics() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.gguf");
        std::fs::write(&p, b"").unwrap();
        assert!(Header::read(&p, Arrays::Skip).unwrap_err().contains("empty or truncated"));
        std::fs::write(&p, b"GGML\x03\0\0\0").unwrap();
        assert!(Header::read(&p, Arrays::Skip).unwrap_err().contains("invalid magic"));
        let mut huge = b"GGUF\x03\0\0\0".to_vec();
        huge.extend_from_slice(&0u64.to_le_bytes());
        huge.extend_from_slice(&1u64.to_le_bytes());
        huge.extend_from_slice(&u64::MAX.to_le_bytes());
        std::fs::write(&p, &huge).unwrap();
        assert!(Header::read(&p, Arrays::Skip).unwrap_err().contains("corrupt"));
        let full = gguf_bytes(&[("general.architecture", W::Str("llama"))], &[], 0);
        let header_len = 24 + 8 + "general.architecture".len() + 4 + 8 + "llama".len();
        assert!(full.len() >= header_len);
        for cut in 0..header_len {
            std::fs::write(&p, &full[..cut]).unwrap();
            assert!(Header::read(&p, Arrays::Skip).is_err(), "cut at {cut}");
        }
    }
}
