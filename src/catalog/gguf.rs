//! A small reader for GGUF headers: the key/value metadata and the tensor
//! table, without touching the weights. Discovery uses it for the summary of
//! every file (cheap: arrays are skipped), the candle tokenizer builder for the
//! vocabulary arrays. Every length read from the file is bounded, so a corrupt
//! or hostile header gives an error instead of a huge allocation.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

const MAGIC: &[u8; 4] = b"GGUF";
const MAX_STRING: u64 = 64 << 20;
const MAX_ARRAY: u64 = 64 << 20;
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
    SkippedArray { elem_type: u32, len: u64 },
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
    File::open(path).and_then(|mut f| f.read_exact(&mut buf)).is_ok() && &buf == MAGIC
}

impl Header {
    pub fn read(path: &Path, arrays: Arrays) -> Result<Header, String> {
        let file = File::open(path).map_err(|e| e.to_string())?;
        let file_size = file.metadata().map_err(|e| e.to_string())?.len();
        let mut r = Reader { inner: BufReader::with_capacity(64 * 1024, file), pos: 0, file_size };
        let mut magic = [0u8; 4];
        r.bytes(&mut magic).map_err(|_| "empty or truncated file (no GGUF header)".to_string())?;
        if &magic != MAGIC {
            return Err(format!(
                "not a GGUF file (invalid magic {:?}, expected \"GGUF\")",
                String::from_utf8_lossy(&magic)
            ));
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
        let mut tensors = Vec::with_capacity(n_tensors as usize);
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
        let alignment = metadata.get("general.alignment").and_then(Value::as_u64).unwrap_or(32).max(1);
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
        self.tensors.iter().map(|t| t.dims.iter().product::<u64>()).sum()
    }

    /// The end of the furthest tensor, when the types are known; a file shorter
    /// than that is truncated.
    pub fn data_end(&self) -> Option<u64> {
        let mut end = self.data_offset;
        for t in &self.tensors {
            let n: u64 = t.dims.iter().product();
            let (block, bytes) = ggml_type_size(t.ggml_type)?;
            end = end.max(self.data_offset + t.offset + n.div_ceil(block) * bytes);
        }
        Some(end)
    }

    /// An error when the tensors reach past the end of the file.
    pub fn check_bounds(&self) -> Result<(), String> {
        match self.data_end() {
            Some(end) if end > self.file_size => Err(format!(
                "truncated GGUF: tensor data is not within the file bounds (needs {end} bytes, file has {})",
                self.file_size
            )),
            _ => Ok(()),
        }
    }
}

/// (elements per block, bytes per block) of the ggml types in common use.
pub fn ggml_type_size(t: u32) -> Option<(u64, u64)> {
    Some(match t {
        0 => (1, 4),       // F32
        1 => (1, 2),       // F16
        2 => (32, 18),     // Q4_0
        3 => (32, 20),     // Q4_1
        6 => (32, 22),     // Q5_0
        7 => (32, 24),     // Q5_1
        8 => (32, 34),     // Q8_0
        9 => (32, 36),     // Q8_1
        10 => (256, 84),   // Q2_K
        11 => (256, 110),  // Q3_K
        12 => (256, 144),  // Q4_K
        13 => (256, 176),  // Q5_K
        14 => (256, 210),  // Q6_K
        15 => (256, 292),  // Q8_K
        16 => (256, 66),   // IQ2_XXS
        17 => (256, 74),   // IQ2_XS
        18 => (256, 98),   // IQ3_XXS
        19 => (256, 50),   // IQ1_S
        20 => (32, 18),    // IQ4_NL
        21 => (256, 110),  // IQ3_S
        22 => (256, 82),   // IQ2_S
        23 => (256, 136),  // IQ4_XS
        24 => (1, 1),      // I8
        25 => (1, 2),      // I16
        26 => (1, 4),      // I32
        27 => (1, 8),      // I64
        28 => (1, 8),      // F64
        29 => (256, 56),   // IQ1_M
        30 => (1, 2),      // BF16
        34 => (256, 54),   // TQ1_0
        35 => (256, 66),   // TQ2_0
        39 => (32, 17),    // MXFP4
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

struct Reader {
    inner: BufReader<File>,
    pos: u64,
    file_size: u64,
}

impl Reader {
    fn bytes(&mut self, buf: &mut [u8]) -> Result<(), String> {
        self.inner
            .read_exact(buf)
            .map_err(|_| format!("truncated GGUF header (ends at byte {})", self.pos))?;
        self.pos += buf.len() as u64;
        Ok(())
    }

    fn skip(&mut self, n: u64) -> Result<(), String> {
        if self.pos + n > self.file_size {
            return Err(format!("truncated GGUF header (ends at byte {})", self.file_size));
        }
        let delta = i64::try_from(n).map_err(|_| "corrupt GGUF header".to_string())?;
        self.inner.seek_relative(delta).map_err(|e| e.to_string())?;
        self.pos += n;
        Ok(())
    }

    fn u32(&mut self) -> Result<u32, String> {
        let mut b = [0u8; 4];
        self.bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn u64(&mut self) -> Result<u64, String> {
        let mut b = [0u8; 8];
        self.bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn string(&mut self) -> Result<String, String> {
        let len = self.u64()?;
        if len > MAX_STRING || self.pos + len > self.file_size {
            return Err(format!("corrupt GGUF header (string of {len} bytes at byte {})", self.pos));
        }
        let mut buf = vec![0u8; len as usize];
        self.bytes(&mut buf)?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    fn scalar_size(ty: u32) -> Option<u64> {
        Some(match ty {
            0 | 1 | 7 => 1,
            2 | 3 => 2,
            4..=6 => 4,
            10..=12 => 8,
            _ => return None,
        })
    }

    fn value(&mut self, ty: u32, arrays: Arrays) -> Result<Value, String> {
        let mut b8 = [0u8; 8];
        Ok(match ty {
            0 => { self.bytes(&mut b8[..1])?; Value::U8(b8[0]) }
            1 => { self.bytes(&mut b8[..1])?; Value::I8(b8[0] as i8) }
            2 => { self.bytes(&mut b8[..2])?; Value::U16(u16::from_le_bytes([b8[0], b8[1]])) }
            3 => { self.bytes(&mut b8[..2])?; Value::I16(i16::from_le_bytes([b8[0], b8[1]])) }
            4 => Value::U32(self.u32()?),
            5 => Value::I32(self.u32()? as i32),
            6 => Value::F32(f32::from_bits(self.u32()?)),
            7 => { self.bytes(&mut b8[..1])?; Value::Bool(b8[0] != 0) }
            8 => Value::String(self.string()?),
            9 => {
                let elem_type = self.u32()?;
                let len = self.u64()?;
                if len > MAX_ARRAY {
                    return Err(format!("corrupt GGUF header (array of {len} items)"));
                }
                match (arrays, Self::scalar_size(elem_type)) {
                    (Arrays::Skip, Some(size)) => {
                        self.skip(len * size)?;
                        Value::SkippedArray { elem_type, len }
                    }
                    (Arrays::Skip, None) => {
                        for _ in 0..len {
                            self.value(elem_type, Arrays::Skip)?;
                        }
                        Value::SkippedArray { elem_type, len }
                    }
                    (Arrays::Keep, _) => {
                        let mut items = Vec::with_capacity(len.min(1 << 20) as usize);
                        for _ in 0..len {
                            items.push(self.value(elem_type, Arrays::Keep)?);
                        }
                        Value::Array(items)
                    }
                }
            }
            10 => Value::U64(self.u64()?),
            11 => Value::I64(self.u64()? as i64),
            12 => Value::F64(f64::from_bits(self.u64()?)),
            other => return Err(format!("corrupt GGUF header (unknown value type {other})")),
        })
    }
}

/// Writes minimal GGUF files for tests and benchmarks.
pub mod write {
    use super::*;
    use std::io::Write;

    /// A metadata value to write.
    pub enum W<'a> {
        U32(u32),
        F32(f32),
        Bool(bool),
        Str(&'a str),
        StrArray(&'a [&'a str]),
        F32Array(&'a [f32]),
        I32Array(&'a [i32]),
    }

    fn put_str(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as u64).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }

    /// Serialise a header with the given metadata and F32 tensors of the given
    /// shapes, followed by zeroed tensor data (or less, with `truncate`).
    pub fn gguf_bytes(kv: &[(&str, W<'_>)], tensors: &[(&str, &[u64])], truncate: usize) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&(tensors.len() as u64).to_le_bytes());
        out.extend_from_slice(&(kv.len() as u64).to_le_bytes());
        for (k, v) in kv {
            put_str(&mut out, k);
            match v {
                W::U32(x) => { out.extend_from_slice(&4u32.to_le_bytes()); out.extend_from_slice(&x.to_le_bytes()); }
                W::F32(x) => { out.extend_from_slice(&6u32.to_le_bytes()); out.extend_from_slice(&x.to_le_bytes()); }
                W::Bool(x) => { out.extend_from_slice(&7u32.to_le_bytes()); out.push(u8::from(*x)); }
                W::Str(s) => { out.extend_from_slice(&8u32.to_le_bytes()); put_str(&mut out, s); }
                W::StrArray(a) => {
                    out.extend_from_slice(&9u32.to_le_bytes());
                    out.extend_from_slice(&8u32.to_le_bytes());
                    out.extend_from_slice(&(a.len() as u64).to_le_bytes());
                    for s in *a { put_str(&mut out, s); }
                }
                W::F32Array(a) => {
                    out.extend_from_slice(&9u32.to_le_bytes());
                    out.extend_from_slice(&6u32.to_le_bytes());
                    out.extend_from_slice(&(a.len() as u64).to_le_bytes());
                    for x in *a { out.extend_from_slice(&x.to_le_bytes()); }
                }
                W::I32Array(a) => {
                    out.extend_from_slice(&9u32.to_le_bytes());
                    out.extend_from_slice(&5u32.to_le_bytes());
                    out.extend_from_slice(&(a.len() as u64).to_le_bytes());
                    for x in *a { out.extend_from_slice(&x.to_le_bytes()); }
                }
            }
        }
        let mut offset = 0u64;
        let mut data_len = 0u64;
        for (name, dims) in tensors {
            put_str(&mut out, name);
            out.extend_from_slice(&(dims.len() as u32).to_le_bytes());
            for d in *dims { out.extend_from_slice(&d.to_le_bytes()); }
            out.extend_from_slice(&0u32.to_le_bytes());
            out.extend_from_slice(&offset.to_le_bytes());
            let bytes = dims.iter().product::<u64>() * 4;
            offset += bytes.div_ceil(32) * 32;
            data_len = offset;
        }
        let aligned = out.len().div_ceil(32) * 32;
        out.resize(aligned, 0);
        out.resize(aligned + data_len as usize, 0);
        out.truncate(out.len().saturating_sub(truncate));
        out
    }

    pub fn write_gguf(path: &Path, kv: &[(&str, W<'_>)], tensors: &[(&str, &[u64])]) -> std::io::Result<()> {
        std::fs::File::create(path)?.write_all(&gguf_bytes(kv, tensors, 0))
    }

    /// Copy a real GGUF with extra string metadata (e.g. a chat template),
    /// keeping every tensor byte for byte: the tensor table's offsets are
    /// relative to the data section, which is copied unchanged.
    pub fn copy_with_strings(src: &Path, dst: &Path, extra: &[(&str, &str)]) -> std::io::Result<()> {
        use std::io::{Read, Seek, SeekFrom};
        let bad = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
        let header = Header::read(src, Arrays::Keep).map_err(bad)?;
        let mut raw = std::fs::File::open(src)?;
        // Re-read the original key/value and tensor-table bytes verbatim.
        let mut head = vec![0u8; header.data_offset as usize];
        raw.read_exact(&mut head)?;
        let kv_start = 24usize;
        let tensors_start = tensor_table_offset(&head, header.metadata.len()).map_err(bad)?;
        let table_end = tensor_table_end(&head, tensors_start, header.tensors.len()).map_err(bad)?;
        let n_kv = header.metadata.len() as u64 + extra.len() as u64;
        let mut out = Vec::with_capacity(head.len() + 4096);
        out.extend_from_slice(&head[..8]);
        out.extend_from_slice(&(header.tensors.len() as u64).to_le_bytes());
        out.extend_from_slice(&n_kv.to_le_bytes());
        out.extend_from_slice(&head[kv_start..tensors_start]);
        for (k, v) in extra {
            put_str(&mut out, k);
            out.extend_from_slice(&8u32.to_le_bytes());
            put_str(&mut out, v);
        }
        out.extend_from_slice(&head[tensors_start..table_end]);
        let align = header.get("general.alignment").and_then(Value::as_u64).unwrap_or(32) as usize;
        out.resize(out.len().div_ceil(align) * align, 0);
        let mut file = std::fs::File::create(dst)?;
        file.write_all(&out)?;
        raw.seek(SeekFrom::Start(header.data_offset))?;
        std::io::copy(&mut raw, &mut file)?;
        Ok(())
    }

    /// Byte offset where the tensor table starts, after `n_kv` entries.
    fn tensor_table_offset(head: &[u8], n_kv: usize) -> Result<usize, String> {
        let mut pos = 24usize;
        for _ in 0..n_kv {
            pos = skip_string(head, pos)?;
            let ty = read_u32(head, pos)?;
            pos = skip_value(head, pos + 4, ty)?;
        }
        Ok(pos)
    }

    fn tensor_table_end(head: &[u8], mut pos: usize, n: usize) -> Result<usize, String> {
        for _ in 0..n {
            pos = skip_string(head, pos)?;
            let dims = read_u32(head, pos)? as usize;
            pos += 4 + dims * 8 + 4 + 8;
        }
        Ok(pos)
    }

    fn read_u32(b: &[u8], pos: usize) -> Result<u32, String> {
        b.get(pos..pos + 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]])).ok_or_else(|| "short header".into())
    }

    fn read_u64(b: &[u8], pos: usize) -> Result<u64, String> {
        b.get(pos..pos + 8)
            .map(|s| u64::from_le_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]))
            .ok_or_else(|| "short header".into())
    }

    fn skip_string(b: &[u8], pos: usize) -> Result<usize, String> {
        Ok(pos + 8 + read_u64(b, pos)? as usize)
    }

    fn skip_value(b: &[u8], pos: usize, ty: u32) -> Result<usize, String> {
        Ok(match ty {
            0 | 1 | 7 => pos + 1,
            2 | 3 => pos + 2,
            4..=6 => pos + 4,
            10..=12 => pos + 8,
            8 => skip_string(b, pos)?,
            9 => {
                let elem = read_u32(b, pos)?;
                let len = read_u64(b, pos + 4)?;
                let mut p = pos + 12;
                for _ in 0..len {
                    p = skip_value(b, p, elem)?;
                }
                p
            }
            other => return Err(format!("unknown value type {other}")),
        })
    }
}

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
        assert!(h.check_bounds().unwrap_err().contains("not within the file bounds"));
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
