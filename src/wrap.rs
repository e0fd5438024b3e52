//! Incremental word wrapping for streaming text.
//!
//! A column holds the whole answer as one string and, beside it, the byte
//! ranges of its wrapped lines. Greedy wrapping never revisits a line once a
//! later character has pushed past the width, so appending a token only
//! re-wraps the last, still-growing line: a 200,000-character answer costs
//! the same per token, and per frame, as a short one. Only a width change
//! re-wraps everything.

use unicode_width::UnicodeWidthChar;

/// Display width of one character as the UI draws it: tabs are four
/// columns, control characters one (they are drawn as a replacement).
pub fn char_width(c: char) -> usize {
    match c {
        '\t' => 4,
        c if c.is_control() => 1,
        c => c.width().unwrap_or(1),
    }
}

/// A character as drawn: a control character (part of an escape sequence
/// a model might print) becomes U+FFFD so it cannot reach the terminal;
/// tabs are left for the caller to expand.
pub fn visible(c: char) -> char {
    if c.is_control() && c != '\t' { '\u{FFFD}' } else { c }
}

/// Text from a model, a file or a server on its way to a terminal outside
/// the TUI: control characters other than newline and tab (the start of
/// escape sequences that set the window title, clear the screen or write
/// the clipboard) become U+FFFD.
pub fn terminal_safe(text: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !text.chars().any(bad) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(text.chars().map(|c| if bad(c) { '\u{FFFD}' } else { c }).collect())
}

/// A line as drawn: tabs as four spaces, control characters as U+FFFD.
pub fn sanitize(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        match visible(c) {
            '\t' => out.push_str("    "),
            c => out.push(c),
        }
    }
    out
}

pub fn str_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// A model's label in `width` columns, keeping what tells it from the
/// other columns: the engine and the changed settings after its name
/// ("gemma-3-270m-q4_k_m@candle (temperature=1.2)") stay whole while the
/// name loses its middle ("gemma-3…q4_k_m@candle (temperature=1.2)"); only
/// when even they do not fit is the end cut.
pub fn shorten_label(label: &str, width: usize) -> String {
    if str_width(label) <= width {
        return label.to_string();
    }
    let cut = label.find(['@', ' ']).unwrap_or(label.len());
    let (name, tail) = label.split_at(cut);
    let room = width.saturating_sub(str_width(tail));
    if room >= 5 {
        // The start and the end of the name (its quantization) stay.
        let chars: Vec<char> = name.chars().collect();
        let keep = room - 1;
        let (head, end) = (keep.div_ceil(2), keep / 2);
        let start: String = chars.iter().take(head).collect();
        let last: String = chars[chars.len().saturating_sub(end)..].iter().collect();
        return format!("{start}…{last}{tail}");
    }
    let mut out = String::new();
    let mut w = 0;
    for c in label.chars() {
        let cw = char_width(c);
        if w + cw + 1 > width {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    out
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Wrapped {
    width: usize,
    /// Byte ranges of the finished lines.
    lines: Vec<(usize, usize)>,
    /// Where the line still growing starts.
    tail: usize,
    /// Whether the text ends inside a line (so the tail is shown).
    text_len: usize,
}

impl Wrapped {
    pub fn new(width: usize) -> Wrapped {
        Wrapped { width: width.max(1), ..Wrapped::default() }
    }

    pub fn width(&self) -> usize {
        self.width
    }

    /// Re-wrap all of `text` at `width`.
    pub fn rewrap(&mut self, text: &str, width: usize) {
        *self = Wrapped::new(width);
        self.update(text);
    }

    /// Bring the wrap up to date after text was appended to `text`.
    pub fn update(&mut self, text: &str) {
        let (done, tail) = wrap_from(text, self.tail, self.width);
        self.lines.extend(done);
        self.tail = tail;
        self.text_len = text.len();
    }

    /// Number of display lines, the growing one included.
    pub fn len(&self) -> usize {
        if self.text_len == 0 { 0 } else { self.lines.len() + 1 }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Display line `i` of `text` (the text this wrap was built from).
    pub fn line<'a>(&self, text: &'a str, i: usize) -> &'a str {
        let (s, e) = match self.lines.get(i) {
            Some(r) => *r,
            None if i == self.lines.len() => (self.tail, self.text_len.min(text.len())),
            None => return "",
        };
        text.get(s..e).unwrap_or("")
    }
}

/// Wrap `text[start..]`: the finished lines, and where the unfinished last
/// line begins.
fn wrap_from(text: &str, start: usize, width: usize) -> (Vec<(usize, usize)>, usize) {
    let mut lines = Vec::new();
    let mut line_start = start;
    let mut col = 0usize;
    // Byte index just after the last space of the line: where it may break.
    let mut last_break: Option<usize> = None;
    let Some(rest) = text.get(start..) else { return (lines, start) };
    for (off, ch) in rest.char_indices() {
        let i = start + off;
        if ch == '\n' {
            lines.push((line_start, i));
            line_start = i + 1;
            col = 0;
            last_break = None;
            continue;
        }
        let w = char_width(ch);
        if col + w > width && col > 0 {
            if ch == ' ' {
                // Break at this space and drop it rather than start a line with it.
                lines.push((line_start, i));
                line_start = i + 1;
                col = 0;
                last_break = None;
                continue;
            }
            match last_break {
                Some(b) if b > line_start => {
                    lines.push((line_start, b));
                    line_start = b;
                    col = str_width(&text[b..i]);
                }
                _ => {
                    lines.push((line_start, i));
                    line_start = i;
                    col = 0;
                }
            }
            last_break = None;
            // A word longer than the width is cut where it overflows.
            if col + w > width && col > 0 {
                lines.push((line_start, i));
                line_start = i;
                col = 0;
            }
        }
        col += w;
        if ch == ' ' {
            last_break = Some(i + 1);
        }
    }
    (lines, line_start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str, width: usize) -> Vec<String> {
        let mut w = Wrapped::new(width);
        w.update(text);
        (0..w.len()).map(|i| w.line(text, i).to_string()).collect()
    }

    #[test]
    fn labels_keep_what_differs_and_shorten_the_name() {
        let l = "gemma-3-270m-q4_k_m@candle (temperature=1.2)";
        assert_eq!(super::shorten_label(l, 60), l);
        let s = super::shorten_label(l, 36);
        assert!(s.ends_with("@candle (temperature=1.2)") && s.contains('…') && super::str_width(&s) <= 36, "{s}");
        assert!(s.starts_with("gemma") && s.contains("k_m@"), "{s}");
        assert_eq!(super::str_width(&super::shorten_label(l, 10)), 10);
    }

    #[test]
    fn wraps_at_spaces_and_cuts_long_words() {
        assert_eq!(lines("hello world foo", 11), vec!["hello world", "foo"]);
        assert_eq!(lines("hello world", 5), vec!["hello", "world"]);
        assert_eq!(lines("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(lines("a\n\nb", 10), vec!["a", "", "b"]);
        assert_eq!(lines("", 10), Vec::<String>::new());
        assert_eq!(lines("日本語のテキスト", 6), vec!["日本語", "のテキ", "スト"]);
    }

    #[test]
    fn streaming_matches_wrapping_all_at_once() {
        let text = "The quick brown fox jumps over the lazy dog.\nA second paragraph, with 日本語 and a verylongwordthatdoesnotfit in it.  Two  spaces.";
        for width in [1, 3, 7, 10, 13, 80] {
            let mut w = Wrapped::new(width);
            let mut acc = String::new();
            for ch in text.chars() {
                acc.push(ch);
                w.update(&acc);
            }
            let streamed: Vec<&str> = (0..w.len()).map(|i| w.line(&acc, i)).collect();
            assert_eq!(streamed, lines(text, width), "width {width}");
            for l in &streamed {
                assert!(str_width(l) <= width.max(2), "{l:?} wider than {width}");
            }
        }
    }

    #[test]
    fn every_character_survives_wrapping() {
        let text = "one two three four five six seven eight nine ten";
        let got = lines(text, 9).join(" ");
        assert_eq!(got.split_whitespace().collect::<Vec<_>>(), text.split_whitespace().collect::<Vec<_>>());
    }
}
