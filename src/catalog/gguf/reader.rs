//! The byte-level GGUF reader: every length it reads is checked against the
//! file's size and the caps in the parent module before it allocates.

use std::io::{BufRead, Seek};

use super::{Arrays, MAX_ARRAY, MAX_NESTING, MAX_STRING, Value};

/// What the reader reads from: a buffered file, or bytes in memory (fuzzing).
pub(super) trait Source: BufRead {
    fn skip_forward(&mut self, n: i64) -> std::io::Result<()>;
}

impl Source for std::io::BufReader<std::fs::File> {
    fn skip_forward(&mut self, n: i64) -> std::io::Result<()> {
        self.seek_relative(n)
    }
}

impl Source for std::io::Cursor<&[u8]> {
    fn skip_forward(&mut self, n: i64) -> std::io::Result<()> {
        self.seek(std::io::SeekFrom::Current(n)).map(|_| ())
    }
}

pub(super) struct Reader<R> {
    pub(super) inner: R,
    pub(super) pos: u64,
    pub(super) file_size: u64,
    /// How deep in arrays of arrays the reader is.
    pub(super) depth: u32,
}

impl<R: Source> Reader<R> {
    pub(super) fn bytes(&mut self, buf: &mut [u8]) -> Result<(), String> {
        self.inner.read_exact(buf).map_err(|_| format!("truncated GGUF header (ends at byte {})", self.pos))?;
        self.pos += buf.len() as u64;
        Ok(())
    }

    fn skip(&mut self, n: u64) -> Result<(), String> {
        if self.pos.saturating_add(n) > self.file_size {
            return Err(format!("truncated GGUF header (ends at byte {})", self.file_size));
        }
        let delta = i64::try_from(n).map_err(|_| "corrupt GGUF header".to_string())?;
        self.inner.skip_forward(delta).map_err(|e| e.to_string())?;
        self.pos += n;
        Ok(())
    }

    pub(super) fn u32(&mut self) -> Result<u32, String> {
        let mut b = [0u8; 4];
        self.bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    pub(super) fn u64(&mut self) -> Result<u64, String> {
        let mut b = [0u8; 8];
        self.bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    pub(super) fn string(&mut self) -> Result<String, String> {
        let len = self.u64()?;
        if len > MAX_STRING || self.pos.saturating_add(len) > self.file_size {
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

    pub(super) fn value(&mut self, ty: u32, arrays: Arrays) -> Result<Value, String> {
        let mut b8 = [0u8; 8];
        Ok(match ty {
            0 => {
                self.bytes(&mut b8[..1])?;
                Value::U8(b8[0])
            }
            1 => {
                self.bytes(&mut b8[..1])?;
                Value::I8(b8[0] as i8)
            }
            2 => {
                self.bytes(&mut b8[..2])?;
                Value::U16(u16::from_le_bytes([b8[0], b8[1]]))
            }
            3 => {
                self.bytes(&mut b8[..2])?;
                Value::I16(i16::from_le_bytes([b8[0], b8[1]]))
            }
            4 => Value::U32(self.u32()?),
            5 => Value::I32(self.u32()? as i32),
            6 => Value::F32(f32::from_bits(self.u32()?)),
            7 => {
                self.bytes(&mut b8[..1])?;
                Value::Bool(b8[0] != 0)
            }
            8 => Value::String(self.string()?),
            9 => {
                let elem_type = self.u32()?;
                let len = self.u64()?;
                if len > MAX_ARRAY {
                    return Err(format!("corrupt GGUF header (array of {len} items)"));
                }
                // Arrays of arrays are read by recursion: a hostile file
                // nesting them a million deep would overflow the stack.
                if elem_type == 9 {
                    self.depth += 1;
                    if self.depth > MAX_NESTING {
                        return Err(format!("corrupt GGUF header (arrays nested more than {MAX_NESTING} deep)"));
                    }
                }
                let v = match (arrays, Self::scalar_size(elem_type)) {
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
                        // Capacity within what the rest of the file could hold: a small
                        // hostile file declaring a long array must not reserve much.
                        let mut items = Vec::with_capacity(len.min(1 << 20).min(self.file_size.saturating_sub(self.pos)) as usize);
                        for _ in 0..len {
                            items.push(self.value(elem_type, Arrays::Keep)?);
                        }
                        Value::Array(items)
                    }
                };
                if elem_type == 9 {
                    self.depth -= 1;
                }
                v
            }
            10 => Value::U64(self.u64()?),
            11 => Value::I64(self.u64()? as i64),
            12 => Value::F64(f64::from_bits(self.u64()?)),
            other => return Err(format!("corrupt GGUF header (unknown value type {other})")),
        })
    }
}
