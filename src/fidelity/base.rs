//! The reference's log-probabilities on disk, as llama-perplexity's
//! `--kl-divergence-base` keeps them: the text's tokens in a header, then
//! for every scored position the log-probabilities of the whole vocabulary
//! as 16-bit steps between the smallest and the largest, with the step and
//! the smallest as f32 (a step of (largest − smallest) / 65535, a
//! thousandth of a nat for a 65-nat range: a rare next token keeps its
//! true log-probability, and both perplexities agree with
//! llama-perplexity's to the digits it prints). Written while
//! the reference runs, read back in the same order while the candidate
//! runs, so memory never holds more than one position.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"VSFIDEL1";

/// What the file was made from.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub n_vocab: usize,
    pub ctx: usize,
    /// The reference model's name, for messages.
    pub model: String,
    /// The whole text's tokens (the chunks are cut from them).
    pub tokens: Vec<u32>,
}

/// Written beside `path` as `path.partial`, renamed to `path` when
/// complete: a file at `path` is always whole.
pub struct Writer {
    out: BufWriter<File>,
    row: Vec<u8>,
    partial: PathBuf,
    path: PathBuf,
}

/// Where a reference file is written until it is complete.
pub fn partial(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".partial");
    PathBuf::from(p)
}

impl Writer {
    pub fn create(path: &Path, h: &Header) -> std::io::Result<Writer> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let partial = partial(path);
        let mut out = BufWriter::with_capacity(1 << 20, File::create(&partial)?);
        out.write_all(MAGIC)?;
        for v in [h.n_vocab as u64, h.ctx as u64, h.model.len() as u64, h.tokens.len() as u64] {
            out.write_all(&v.to_le_bytes())?;
        }
        out.write_all(h.model.as_bytes())?;
        for t in &h.tokens {
            out.write_all(&t.to_le_bytes())?;
        }
        Ok(Writer { out, row: Vec::new(), partial, path: path.to_path_buf() })
    }

    /// One position's log-probabilities.
    pub fn push(&mut self, logp: &[f32]) -> std::io::Result<()> {
        let max = logp.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        // -inf (a token masked out) would make every step infinite.
        let min = logp.iter().copied().filter(|l| l.is_finite()).fold(f32::INFINITY, f32::min).min(max);
        let scale = if max > min { (max - min) / 65535.0 } else { 1.0 };
        self.row.clear();
        self.row.extend_from_slice(&scale.to_le_bytes());
        self.row.extend_from_slice(&min.to_le_bytes());
        for &l in logp {
            let q = ((l - min) / scale).round().clamp(0.0, 65535.0) as u16;
            self.row.extend_from_slice(&q.to_le_bytes());
        }
        self.out.write_all(&self.row)
    }

    pub fn finish(mut self) -> std::io::Result<()> {
        self.out.flush()?;
        self.out.get_ref().sync_all()?;
        std::fs::rename(&self.partial, &self.path)
    }
}

pub struct Reader {
    input: BufReader<File>,
    n_vocab: usize,
    row: Vec<u8>,
}

impl Reader {
    pub fn open(path: &Path) -> Result<(Reader, Header), String> {
        let bad = |why: &str| format!("{}: not a reference file of versus fidelity ({why})", path.display());
        let mut input = BufReader::with_capacity(1 << 20, File::open(path).map_err(|e| format!("{}: {e}", path.display()))?);
        let mut magic = [0u8; 8];
        input.read_exact(&mut magic).map_err(|_| bad("too short"))?;
        if &magic != MAGIC {
            return Err(bad("wrong magic"));
        }
        let mut word = || -> Result<u64, String> {
            let mut b = [0u8; 8];
            input.read_exact(&mut b).map_err(|_| bad("truncated header"))?;
            Ok(u64::from_le_bytes(b))
        };
        let (n_vocab, ctx, name_len, n_tokens) = (word()?, word()?, word()?, word()?);
        if n_vocab == 0 || n_vocab > 1 << 24 || name_len > 4096 || n_tokens > 1 << 32 {
            return Err(bad("implausible header"));
        }
        let length = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if 40 + name_len + 4 * n_tokens > length {
            return Err(bad("truncated tokens"));
        }
        let mut name = vec![0u8; name_len as usize];
        input.read_exact(&mut name).map_err(|_| bad("truncated header"))?;
        let mut raw = vec![0u8; n_tokens as usize * 4];
        input.read_exact(&mut raw).map_err(|_| bad("truncated tokens"))?;
        let tokens = raw.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        let header = Header { n_vocab: n_vocab as usize, ctx: ctx as usize, model: String::from_utf8_lossy(&name).into_owned(), tokens };
        Ok((Reader { input, n_vocab: n_vocab as usize, row: vec![0; 8 + 2 * n_vocab as usize] }, header))
    }

    /// The next position's log-probabilities into `out`.
    pub fn next(&mut self, out: &mut Vec<f32>) -> std::io::Result<()> {
        self.input.read_exact(&mut self.row)?;
        let scale = f32::from_le_bytes([self.row[0], self.row[1], self.row[2], self.row[3]]);
        let min = f32::from_le_bytes([self.row[4], self.row[5], self.row[6], self.row[7]]);
        out.clear();
        out.extend(self.row[8..].chunks_exact(2).map(|c| f32::from(u16::from_le_bytes([c[0], c[1]])) * scale + min));
        debug_assert_eq!(out.len(), self.n_vocab);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_probabilities_come_back_within_a_step() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("base");
        let h = Header { n_vocab: 4, ctx: 8, model: "m".into(), tokens: vec![1, 2, 3] };
        let mut w = Writer::create(&path, &h).unwrap();
        let row = [-0.1f32, -2.5, -40.0, -7.0];
        w.push(&row).unwrap();
        assert!(!path.exists() && partial(&path).exists(), "whole or absent");
        w.finish().unwrap();
        assert!(path.exists() && !partial(&path).exists());
        let (mut r, back) = Reader::open(&path).unwrap();
        assert_eq!(back, h);
        let mut out = Vec::new();
        r.next(&mut out).unwrap();
        let step = 39.9 / 65535.0;
        for (a, b) in row.iter().zip(&out) {
            assert!((a - b).abs() <= step, "{row:?} {out:?}");
        }
        assert!(r.next(&mut out).is_err(), "no more rows");
        assert!(Reader::open(dir.path()).is_err());
    }
}
