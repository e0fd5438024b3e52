//! Filling styled text into lines: words wrap at spaces, a word wider than
//! the line is cut, `\n` breaks the line; each line starts with the prefix
//! of the blocks it is in (list markers, quote bars).

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::wrap::char_width;

/// The prefix drawn before each line of a block: `first` on its first
/// line, `rest` on the others.
#[derive(Debug, Clone, Default)]
pub struct Prefix {
    pub first: Vec<Span<'static>>,
    pub rest: Vec<Span<'static>>,
}

impl Prefix {
    pub fn width(&self) -> usize {
        self.first.iter().map(|s| s.width()).sum::<usize>().max(self.rest.iter().map(|s| s.width()).sum())
    }
}

/// Lines being built at a fixed width.
pub struct Filler<'a> {
    width: usize,
    prefix: &'a Prefix,
    out: &'a mut Vec<Line<'static>>,
    spans: Vec<Span<'static>>,
    col: usize,
    /// The word being read, not yet placed: its pieces and width.
    word: Vec<(Style, String)>,
    word_w: usize,
    /// A space waits between the placed text and the word.
    space: Option<Style>,
    first: bool,
}

impl<'a> Filler<'a> {
    pub fn new(width: usize, prefix: &'a Prefix, out: &'a mut Vec<Line<'static>>) -> Filler<'a> {
        Filler { width: width.max(1), prefix, out, spans: Vec::new(), col: 0, word: Vec::new(), word_w: 0, space: None, first: true }
    }

    fn room(&self) -> usize {
        self.width.saturating_sub(self.prefix.width()).max(1)
    }

    pub fn push(&mut self, style: Style, text: &str) {
        for c in text.chars() {
            match c {
                '\n' => {
                    self.place_word();
                    self.space = None;
                    self.end_line();
                }
                ' ' => {
                    self.place_word();
                    if self.col > 0 {
                        self.space = Some(style);
                    }
                }
                c => {
                    let c = crate::wrap::visible(c);
                    match self.word.last_mut() {
                        Some((s, w)) if *s == style => w.push(c),
                        _ => self.word.push((style, c.to_string())),
                    }
                    self.word_w += char_width(c);
                    if self.word_w > self.room() {
                        self.cut_word();
                    }
                }
            }
        }
    }

    /// A word wider than the line: what fits goes on the line, the rest
    /// carries on.
    fn cut_word(&mut self) {
        if self.col > 0 {
            self.space = None;
            self.end_line();
        }
        let room = self.room();
        let mut keep = Vec::new();
        let mut w = 0;
        let mut rest: Vec<(Style, String)> = Vec::new();
        for (style, text) in std::mem::take(&mut self.word) {
            let mut k = String::new();
            let mut r = String::new();
            for c in text.chars() {
                let cw = char_width(c);
                if rest.is_empty() && r.is_empty() && w + cw <= room {
                    k.push(c);
                    w += cw;
                } else {
                    r.push(c);
                }
            }
            if !k.is_empty() {
                keep.push((style, k));
            }
            if !r.is_empty() {
                rest.push((style, r));
            }
        }
        for (s, t) in keep {
            self.spans.push(Span::styled(t, s));
        }
        self.col = w;
        self.end_line();
        self.word_w = rest.iter().map(|(_, t)| t.chars().map(char_width).sum::<usize>()).sum();
        self.word = rest;
    }

    fn place_word(&mut self) {
        if self.word.is_empty() {
            return;
        }
        let gap = usize::from(self.space.is_some() && self.col > 0);
        if self.col > 0 && self.col + gap + self.word_w > self.room() {
            self.space = None;
            self.end_line();
        }
        if let Some(style) = self.space.take().filter(|_| self.col > 0) {
            self.spans.push(Span::styled(" ", style));
            self.col += 1;
        }
        for (style, text) in self.word.drain(..) {
            let text = text.replace('\t', "    ");
            match self.spans.last_mut() {
                Some(last) if last.style == style => last.content.to_mut().push_str(&text),
                _ => self.spans.push(Span::styled(text, style)),
            }
        }
        self.col += self.word_w;
        self.word_w = 0;
    }

    fn end_line(&mut self) {
        let prefix = if self.first { &self.prefix.first } else { &self.prefix.rest };
        let mut spans = prefix.clone();
        spans.append(&mut self.spans);
        self.out.push(Line::from(spans));
        self.col = 0;
        self.first = false;
    }

    /// Place what is left; returns whether anything was written.
    pub fn finish(mut self) -> bool {
        self.place_word();
        if self.col > 0 || !self.spans.is_empty() {
            self.end_line();
        }
        !self.first
    }
}

/// Hard-wrap styled pieces of one line of code at `width`: code keeps its
/// exact text and indentation, so it is cut, never reflowed.
pub fn cut(pieces: &[(Style, &str)], width: usize, prefix: &Prefix, out: &mut Vec<Line<'static>>) {
    let room = width.saturating_sub(prefix.width()).max(1);
    let mut spans: Vec<Span<'static>> = prefix.first.clone();
    let mut col = 0;
    for (style, text) in pieces {
        let mut cur = String::new();
        for c in text.chars() {
            let c = crate::wrap::visible(c);
            let cw = char_width(c);
            if col + cw > room && col > 0 {
                if !cur.is_empty() {
                    spans.push(Span::styled(std::mem::take(&mut cur), *style));
                }
                out.push(Line::from(std::mem::replace(&mut spans, prefix.rest.clone())));
                col = 0;
            }
            if c == '\t' {
                cur.push_str("    ");
            } else {
                cur.push(c);
            }
            col += cw;
        }
        if !cur.is_empty() {
            spans.push(Span::styled(cur, *style));
        }
    }
    out.push(Line::from(spans));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lines: &[Line<'_>]) -> Vec<String> {
        lines.iter().map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect()).collect()
    }

    fn fill(parts: &[&str], width: usize, prefix: &Prefix) -> Vec<String> {
        let mut out = Vec::new();
        let mut f = Filler::new(width, prefix, &mut out);
        for p in parts {
            f.push(Style::new(), p);
        }
        f.finish();
        text(&out)
    }

    #[test]
    fn wraps_words_across_pieces_with_prefixes() {
        let p = Prefix { first: vec![Span::raw("- ")], rest: vec![Span::raw("  ")] };
        assert_eq!(fill(&["hello wo", "rld and more"], 10, &p), vec!["- hello", "  world", "  and more"]);
        assert_eq!(fill(&["abcdefghijkl"], 6, &Prefix::default()), vec!["abcdef", "ghijkl"]);
        assert_eq!(fill(&["a\nb"], 6, &Prefix::default()), vec!["a", "b"]);
        assert_eq!(fill(&["x ", " ", "y"], 6, &Prefix::default()), vec!["x y"]);
    }

    #[test]
    fn code_is_cut_not_reflowed() {
        let mut out = Vec::new();
        cut(&[(Style::new(), "    let x = 1;")], 8, &Prefix::default(), &mut out);
        assert_eq!(text(&out), vec!["    let ", "x = 1;"]);
    }
}
