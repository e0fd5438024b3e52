//! Writing GGUF files: minimal ones for tests and benchmarks, and copies of
//! real ones with extra metadata (a chat template) for tests.

use super::*;
use std::io::Write;
use std::path::Path;

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
            W::U32(x) => {
                out.extend_from_slice(&4u32.to_le_bytes());
                out.extend_from_slice(&x.to_le_bytes());
            }
            W::F32(x) => {
                out.extend_from_slice(&6u32.to_le_bytes());
                out.extend_from_slice(&x.to_le_bytes());
            }
            W::Bool(x) => {
                out.extend_from_slice(&7u32.to_le_bytes());
                out.push(u8::from(*x));
            }
            W::Str(s) => {
                out.extend_from_slice(&8u32.to_le_bytes());
                put_str(&mut out, s);
            }
            W::StrArray(a) => {
                out.extend_from_slice(&9u32.to_le_bytes());
                out.extend_from_slice(&8u32.to_le_bytes());
                out.extend_from_slice(&(a.len() as u64).to_le_bytes());
                for s in *a {
                    put_str(&mut out, s);
                }
            }
            W::F32Array(a) => {
                out.extend_from_slice(&9u32.to_le_bytes());
                out.extend_from_slice(&6u32.to_le_bytes());
                out.extend_from_slice(&(a.len() as u64).to_le_bytes());
                for x in *a {
                    out.extend_from_slice(&x.to_le_bytes());
                }
            }
            W::I32Array(a) => {
                out.extend_from_slice(&9u32.to_le_bytes());
                out.extend_from_slice(&5u32.to_le_bytes());
                out.extend_from_slice(&(a.len() as u64).to_le_bytes());
                for x in *a {
                    out.extend_from_slice(&x.to_le_bytes());
                }
            }
        }
    }
    let mut offset = 0u64;
    let mut data_len = 0u64;
    for (name, dims) in tensors {
        put_str(&mut out, name);
        out.extend_from_slice(&(dims.len() as u32).to_le_bytes());
        for d in *dims {
            out.extend_from_slice(&d.to_le_bytes());
        }
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

/// A vocabulary-only copy of a real GGUF: every metadata entry verbatim,
/// except the string keys in `set` (replaced, or added), and no tensors.
/// llama.cpp loads such a file with `vocab_only`; tests use it to give one
/// real vocabulary another pre-tokenizer.
pub fn copy_metadata_only(src: &Path, dst: &Path, set: &[(&str, &str)]) -> std::io::Result<()> {
    copy_metadata_without(src, dst, set, &[])
}

/// `copy_metadata_only`, leaving out the keys in `remove`.
pub fn copy_metadata_without(src: &Path, dst: &Path, set: &[(&str, &str)], remove: &[&str]) -> std::io::Result<()> {
    use std::io::Read;
    let bad = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
    let header = Header::read(src, Arrays::Skip).map_err(bad)?;
    let mut head = vec![0u8; header.data_offset as usize];
    std::fs::File::open(src)?.read_exact(&mut head)?;
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    let mut pos = 24usize;
    for _ in 0..header.metadata.len() {
        let key_end = skip_string(&head, pos).map_err(bad)?;
        let key = String::from_utf8_lossy(head.get(pos + 8..key_end).ok_or_else(|| bad("short header".into()))?).into_owned();
        let ty = read_u32(&head, key_end).map_err(bad)?;
        let end = skip_value(&head, key_end + 4, ty).map_err(bad)?;
        if !remove.contains(&key.as_str()) {
            entries.push((key, head[key_end..end].to_vec()));
        }
        pos = end;
    }
    for (k, v) in set {
        let mut value = 8u32.to_le_bytes().to_vec();
        put_str(&mut value, v);
        match entries.iter_mut().find(|(key, _)| key == k) {
            Some(e) => e.1 = value,
            None => entries.push((k.to_string(), value)),
        }
    }
    let mut out = Vec::with_capacity(head.len());
    out.extend_from_slice(&head[..8]);
    out.extend_from_slice(&0u64.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    for (k, v) in &entries {
        put_str(&mut out, k);
        out.extend_from_slice(v);
    }
    out.resize(out.len().div_ceil(32) * 32, 0);
    std::fs::write(dst, out)
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
    b.get(pos..pos + 8).map(|s| u64::from_le_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]])).ok_or_else(|| "short header".into())
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
