//! A bounded server-sent-events reader for remote answers. Each chunk is
//! scanned once (only the bytes after the last look), and a line or an event
//! longer than the caps is an error: a hostile or broken server sending one
//! endless line would otherwise grow a buffer without limit and re-scan it on
//! every chunk.

/// The longest line accepted. Real events (one token, a usage block) are a few
/// hundred bytes; llama-server's final event with timings is a few KiB.
pub const MAX_LINE: usize = 1 << 20;
/// The most `data:` bytes one event may gather over its lines.
pub const MAX_EVENT: usize = 4 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseError {
    LineTooLong(usize),
    EventTooLong(usize),
}

impl std::fmt::Display for SseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SseError::LineTooLong(n) => write!(f, "a line of the event stream passed {n} bytes without ending"),
            SseError::EventTooLong(n) => write!(f, "an event of the stream passed {n} bytes"),
        }
    }
}

/// Splits a byte stream into the `data` of its events.
#[derive(Debug, Default)]
pub struct Parser {
    /// Bytes of the line not yet ended.
    line: Vec<u8>,
    /// The data lines of the event being read, joined by '\n'.
    data: String,
    /// Whether the event being read has a data field (even empty).
    has_data: bool,
    /// A '\r' ended the last chunk: a '\n' starting the next belongs to it.
    after_cr: bool,
}

impl Parser {
    /// Feeds one chunk; returns the data of every event it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<String>, SseError> {
        let mut events = Vec::new();
        if chunk.is_empty() {
            // An empty frame must not forget a '\r' that ended the last one.
            return Ok(events);
        }
        let mut rest = chunk;
        if self.after_cr && rest.first() == Some(&b'\n') {
            rest = &rest[1..];
        }
        self.after_cr = false;
        while let Some(i) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            if self.line.len() + i > MAX_LINE {
                return Err(SseError::LineTooLong(MAX_LINE));
            }
            self.line.extend_from_slice(&rest[..i]);
            let ended_by_cr = rest[i] == b'\r';
            rest = &rest[i + 1..];
            if ended_by_cr {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    None => self.after_cr = true,
                    Some(_) => {}
                }
            }
            let line = std::mem::take(&mut self.line);
            if let Some(data) = self.line_done(&line)? {
                events.push(data);
            }
        }
        if self.line.len() + rest.len() > MAX_LINE {
            return Err(SseError::LineTooLong(MAX_LINE));
        }
        self.line.extend_from_slice(rest);
        Ok(events)
    }

    /// One complete line: a field, a comment, or the blank line ending an event.
    fn line_done(&mut self, line: &[u8]) -> Result<Option<String>, SseError> {
        if line.is_empty() {
            let had = std::mem::take(&mut self.has_data);
            let data = std::mem::take(&mut self.data);
            return Ok(had.then_some(data));
        }
        if line[0] == b':' {
            return Ok(None);
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(i) => (&line[..i], line[i + 1..].strip_prefix(b" ").unwrap_or(&line[i + 1..])),
            None => (line, &[][..]),
        };
        if field == b"data" {
            if self.data.len() + value.len() + 1 > MAX_EVENT {
                return Err(SseError::EventTooLong(MAX_EVENT));
            }
            if self.has_data {
                self.data.push('\n');
            }
            self.data.push_str(&String::from_utf8_lossy(value));
            self.has_data = true;
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(chunks: &[&[u8]]) -> Vec<String> {
        let mut p = Parser::default();
        chunks.iter().flat_map(|c| p.push(c).unwrap()).collect()
    }

    #[test]
    fn events_split_anywhere_read_the_same() {
        let stream = b"data: {\"a\":1}\n\n: comment\r\ndata: two\r\ndata: lines\r\n\r\nevent: x\nid: 3\ndata:[DONE]\n\n";
        let whole = all(&[stream]);
        assert_eq!(whole, vec!["{\"a\":1}", "two\nlines", "[DONE]"]);
        for cut in 0..stream.len() {
            assert_eq!(all(&[&stream[..cut], &stream[cut..]]), whole, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(all(&bytes), whole);
    }

    #[test]
    fn an_endless_line_is_an_error_not_a_growing_buffer() {
        let mut p = Parser::default();
        let chunk = vec![b'x'; 64 * 1024];
        let mut err = None;
        for _ in 0..(MAX_LINE / chunk.len() + 2) {
            if let Err(e) = p.push(&chunk) {
                err = Some(e);
                break;
            }
        }
        assert_eq!(err, Some(SseError::LineTooLong(MAX_LINE)));
        assert!(p.line.len() <= MAX_LINE);
    }

    #[test]
    fn an_endless_event_is_an_error() {
        let mut p = Parser::default();
        let line = format!("data: {}\n", "y".repeat(1000));
        let mut err = None;
        for _ in 0..(MAX_EVENT / 1000 + 2) {
            if let Err(e) = p.push(line.as_bytes()) {
                err = Some(e);
                break;
            }
        }
        assert_eq!(err, Some(SseError::EventTooLong(MAX_EVENT)));
    }
}
