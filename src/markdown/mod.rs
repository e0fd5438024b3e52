//! Answers rendered as Markdown while they stream.
//!
//! A `Doc` turns an answer's text into styled display lines at a width.
//! Appending a token only marks it stale (O(1)); once per frame `refresh`
//! reads the complete lines that arrived since and settles what can no
//! longer change: a stretch of prose ends at a blank line followed by an
//! unindented one, a fenced code block at its closing fence. Settled lines
//! are kept; only the unsettled tail (the paragraph, list or table being
//! written, or the last line of an open code block) is rendered again each
//! frame. Code is highlighted one line at a time with the parse state
//! carried over, so a long code block costs one line per frame however
//! long it grows. A width change renders the prose again and re-cuts the
//! code from its kept highlighting.

pub mod code;
mod fill;
mod prose;
mod table;

use std::ops::Range;

use ratatui::style::Style;
use ratatui::text::Line;

use crate::theme::Theme;
use code::{Highlight, Palette, Pieces};
use fill::Prefix;

/// The styles rendering uses, from the UI theme.
#[derive(Debug, Clone, PartialEq)]
pub struct Look {
    pub text: Style,
    pub heading: Style,
    /// Inline code.
    pub code: Style,
    /// Code block text before highlighting.
    pub code_text: Style,
    pub link: Style,
    pub quote: Style,
    pub marker: Style,
    pub dim: Style,
    pub frame: Style,
    pub syntax: Palette,
    pub truecolor: bool,
    /// Keep backticks around inline code (when it has no colour).
    pub ticks: bool,
}

impl Look {
    pub fn from_theme(t: &Theme) -> Look {
        Look {
            text: Style::new(),
            heading: t.heading,
            code: t.code,
            code_text: Style::new(),
            link: t.link,
            quote: t.quote,
            marker: t.key,
            dim: t.dim,
            frame: t.dim,
            syntax: t.syntax,
            truecolor: t.truecolor,
            ticks: t.syntax == Palette::Off,
        }
    }
}

/// Styled pieces filled into lines at `width` (words wrap, `\n` breaks):
/// plain text with some words marked, as a diff shows it.
pub fn fill_pieces(pieces: &[(Style, &str)], width: usize) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let prefix = Prefix::default();
    let mut f = fill::Filler::new(width, &prefix, &mut out);
    for (s, t) in pieces {
        f.push(*s, t);
    }
    f.finish();
    out
}

/// A code block of the answer, for copying it.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeBlock {
    pub lang: String,
    /// The code exactly as the model wrote it.
    pub text: String,
    /// Its display lines (header and footer included).
    pub lines: Range<usize>,
}

/// A settled stretch, kept to render it again at another width.
#[derive(Debug, Clone)]
enum Seg {
    Prose(Range<usize>),
    Code { lang: String, body: Range<usize>, lines: Vec<(Range<usize>, Pieces)>, closed: bool },
}

/// A fenced code block being read.
#[derive(Debug, Clone)]
struct Open {
    fence: (char, usize),
    lang: String,
    body_from: usize,
    hl: Highlight,
    lines: Vec<(Range<usize>, Pieces)>,
    start_line: usize,
}

/// Prose stretches longer than this settle at a heading or list item, so
/// that a long answer without blank lines is not re-parsed whole per frame.
const LONG: usize = 48;

#[derive(Debug, Clone)]
pub struct Doc {
    width: usize,
    look: Look,
    /// Settled display lines.
    lines: Vec<Line<'static>>,
    segs: Vec<Seg>,
    /// The display lines of the unsettled tail.
    tail: Vec<Line<'static>>,
    blocks: Vec<CodeBlock>,
    tail_blocks: Vec<CodeBlock>,
    /// Where the first line not yet read starts.
    scanned: usize,
    /// Where the unsettled prose starts.
    prose_from: usize,
    /// Complete lines read since `prose_from`, and the last blank one.
    prose_lines: usize,
    blank: bool,
    open: Option<Open>,
    /// Text appended since the last refresh.
    stale: bool,
}

impl Doc {
    pub fn new(width: usize, theme: &Theme) -> Doc {
        Doc {
            width: width.max(1),
            look: Look::from_theme(theme),
            lines: Vec::new(),
            segs: Vec::new(),
            tail: Vec::new(),
            blocks: Vec::new(),
            tail_blocks: Vec::new(),
            scanned: 0,
            prose_from: 0,
            prose_lines: 0,
            blank: false,
            open: None,
            stale: false,
        }
    }

    /// Text was appended: render it at the next refresh.
    pub fn touch(&mut self) {
        self.stale = true;
    }

    pub fn is_stale(&self) -> bool {
        self.stale
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn look(&self) -> &Look {
        &self.look
    }

    pub fn len(&self) -> usize {
        self.lines.len() + self.gap_before_tail() + self.tail.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn gap_before_tail(&self) -> usize {
        usize::from(!self.lines.is_empty() && !self.tail.is_empty() && self.open.is_none())
    }

    pub fn line(&self, i: usize) -> Option<&Line<'static>> {
        let gap = self.gap_before_tail();
        if i < self.lines.len() {
            self.lines.get(i)
        } else if i < self.lines.len() + gap {
            static BLANK: Line<'static> = Line { spans: Vec::new(), style: Style::new(), alignment: None };
            Some(&BLANK)
        } else {
            self.tail.get(i - self.lines.len() - gap)
        }
    }

    /// The code blocks, with their display lines.
    pub fn code_blocks(&self) -> impl Iterator<Item = CodeBlock> + '_ {
        let off = self.lines.len() + self.gap_before_tail();
        self.blocks
            .iter()
            .cloned()
            .chain(self.tail_blocks.iter().map(move |b| CodeBlock { lines: b.lines.start + off..b.lines.end + off, ..b.clone() }))
    }

    /// Render everything again from `text` at `width` with `theme`: code
    /// keeps its highlighting and is only cut again.
    pub fn reset(&mut self, text: &str, width: usize, theme: &Theme) {
        let look = Look::from_theme(theme);
        if look != self.look {
            *self = Doc::new(width, theme);
        } else {
            self.width = width.max(1);
            self.lines.clear();
            self.blocks.clear();
            for seg in self.segs.clone() {
                self.draw_seg(text, &seg);
            }
            if let Some(open) = self.open.take() {
                let prefix = Prefix::default();
                self.gap();
                let start = self.lines.len();
                self.lines.push(prose::code_header(&open.lang, self.width, &prefix, &self.look));
                for (r, p) in &open.lines {
                    prose::code_line(&text[r.clone()], p, self.width, &prefix, &mut self.lines);
                }
                self.open = Some(Open { start_line: start, ..open });
            }
        }
        self.stale = true;
        self.refresh(text);
    }

    /// A blank line before a new block when there is something above.
    fn gap(&mut self) {
        if !self.lines.is_empty() {
            self.lines.push(Line::default());
        }
    }

    fn draw_seg(&mut self, text: &str, seg: &Seg) {
        match seg {
            Seg::Prose(r) => {
                let mut out = Vec::new();
                let mut code = Vec::new();
                prose::render(&text[r.clone()], self.width, &self.look, &mut out, &mut code);
                if out.is_empty() {
                    return;
                }
                self.gap();
                let off = self.lines.len();
                self.blocks.extend(code.into_iter().map(|b| CodeBlock { lines: b.lines.start + off..b.lines.end + off, ..b }));
                self.lines.extend(out);
            }
            Seg::Code { lang, body, lines, closed } => {
                let prefix = Prefix::default();
                self.gap();
                let start = self.lines.len();
                self.lines.push(prose::code_header(lang, self.width, &prefix, &self.look));
                for (r, p) in lines {
                    prose::code_line(&text[r.clone()], p, self.width, &prefix, &mut self.lines);
                }
                if *closed {
                    self.lines.push(prose::code_footer(self.width, &prefix, &self.look));
                }
                self.blocks.push(CodeBlock { lang: lang.clone(), text: text[body.clone()].to_string(), lines: start..self.lines.len() });
            }
        }
    }

    fn settle_prose(&mut self, text: &str, end: usize) {
        if end > self.prose_from {
            let seg = Seg::Prose(self.prose_from..end);
            self.draw_seg(text, &seg);
            self.segs.push(seg);
        }
        self.prose_from = end;
        self.prose_lines = 0;
        self.blank = false;
    }

    /// Bring the display lines up to date with `text` (the answer so far,
    /// which only ever grows).
    pub fn refresh(&mut self, text: &str) {
        if !self.stale {
            return;
        }
        self.stale = false;
        while let Some(nl) = text[self.scanned..].find('\n') {
            let (at, end) = (self.scanned, self.scanned + nl + 1);
            self.read_line(text, at, end);
            self.scanned = end;
        }
        self.draw_tail(text);
    }

    /// One complete line, `text[at..end]`.
    fn read_line(&mut self, text: &str, at: usize, end: usize) {
        let line = &text[at..end];
        if let Some(open) = self.open.as_mut() {
            if closes(line, open.fence) {
                let open = self.open.take().expect("open block");
                self.lines.push(prose::code_footer(self.width, &Prefix::default(), &self.look));
                self.blocks.push(CodeBlock {
                    lang: open.lang.clone(),
                    text: text[open.body_from..at].to_string(),
                    lines: open.start_line..self.lines.len(),
                });
                self.segs.push(Seg::Code { lang: open.lang, body: open.body_from..at, lines: open.lines, closed: true });
                self.prose_from = end;
                self.prose_lines = 0;
                self.blank = false;
            } else {
                let pieces = open.hl.line(line);
                prose::code_line(line, &pieces, self.width, &Prefix::default(), &mut self.lines);
                open.lines.push((at..end, pieces));
            }
            return;
        }
        if let Some((fence, lang)) = opens(line) {
            self.settle_prose(text, at);
            self.gap();
            let start_line = self.lines.len();
            self.lines.push(prose::code_header(&lang, self.width, &Prefix::default(), &self.look));
            let hl = Highlight::new(&lang, self.look.syntax, self.look.code_text, self.look.truecolor);
            self.open = Some(Open { fence, lang, body_from: end, hl, lines: Vec::new(), start_line });
            return;
        }
        let blank = line.trim().is_empty();
        let unindented = !line.starts_with([' ', '\t']);
        if !blank && unindented && (self.blank || (self.prose_lines >= LONG && starts_block(line))) {
            self.settle_prose(text, at);
        }
        self.blank = blank;
        self.prose_lines += 1;
    }

    fn draw_tail(&mut self, text: &str) {
        self.tail.clear();
        self.tail_blocks.clear();
        let rest = &text[self.scanned..];
        if let Some(open) = &self.open {
            if !rest.is_empty() {
                let pieces = open.hl.peek(rest);
                prose::code_line(rest, &pieces, self.width, &Prefix::default(), &mut self.tail);
            }
            return;
        }
        prose::render(&text[self.prose_from..], self.width, &self.look, &mut self.tail, &mut self.tail_blocks);
    }

    /// The open code block, for copying while it streams.
    pub fn open_block(&self, text: &str) -> Option<CodeBlock> {
        self.open.as_ref().map(|o| CodeBlock {
            lang: o.lang.clone(),
            text: text[o.body_from.min(text.len())..].to_string(),
            lines: o.start_line..self.len(),
        })
    }
}

/// An opening fence: up to three spaces, then three or more backticks or
/// tildes, then the info string (no backtick in it after backticks).
fn opens(line: &str) -> Option<((char, usize), String)> {
    let body = line.trim_end_matches(['\n', '\r']);
    let indent = body.len() - body.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = &body[indent..];
    let c = rest.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let n = rest.chars().take_while(|x| *x == c).count();
    if n < 3 {
        return None;
    }
    let info = rest[n..].trim();
    if c == '`' && info.contains('`') {
        return None;
    }
    Some(((c, n), info.to_string()))
}

/// A closing fence for `fence`: the same character, at least as many, and
/// nothing else on the line.
fn closes(line: &str, (c, n): (char, usize)) -> bool {
    let body = line.trim_end_matches(['\n', '\r']);
    let indent = body.len() - body.trim_start_matches(' ').len();
    let rest = body[indent..].trim_end();
    indent <= 3 && rest.len() >= n && rest.chars().all(|x| x == c)
}

/// A line that starts a block of its own: a heading, list item or quote.
fn starts_block(line: &str) -> bool {
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    line.starts_with('#')
        || line.starts_with("- ")
        || line.starts_with("* ")
        || line.starts_with("+ ")
        || line.starts_with('>')
        || (digits > 0 && line[digits..].starts_with(". "))
}

#[cfg(test)]
mod tests;
