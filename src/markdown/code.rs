//! Syntax highlighting of code blocks with syntect (Sublime Text grammars),
//! one line at a time: the parse state after each line is kept, so a code
//! block that streams in is highlighted once per line, however long it
//! grows, and the unfinished last line is highlighted on a copy of it.

use std::ops::Range;
use std::sync::OnceLock;

use ratatui::style::{Color, Modifier, Style};
use syntect::highlighting::{FontStyle, HighlightIterator, HighlightState, Highlighter, ThemeSet};
use syntect::parsing::{ParseState, ScopeStack, SyntaxSet};

pub use crate::theme::Palette;

fn syntaxes() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    SET.get_or_init(SyntaxSet::load_defaults_newlines)
}

fn themes() -> &'static ThemeSet {
    static THEMES: OnceLock<ThemeSet> = OnceLock::new();
    THEMES.get_or_init(ThemeSet::load_defaults)
}

/// `code` as HTML with inline colours (a light theme), for the HTML
/// report; None for a language syntect does not know.
pub fn html(code: &str, lang: &str) -> Option<String> {
    let token = lang.split([' ', ',', '{']).next().unwrap_or("").trim();
    let syntax = if token.is_empty() { None } else { syntaxes().find_syntax_by_token(token) }?;
    let theme = themes().themes.get("InspiredGitHub")?;
    syntect::html::highlighted_html_for_string(code, syntaxes(), syntax, theme).ok()
}

fn highlighter(palette: Palette) -> Option<&'static Highlighter<'static>> {
    static DARK: OnceLock<Option<Highlighter<'static>>> = OnceLock::new();
    static LIGHT: OnceLock<Option<Highlighter<'static>>> = OnceLock::new();
    let make = |name: &str| themes().themes.get(name).map(Highlighter::new);
    match palette {
        Palette::Off => None,
        Palette::Dark => DARK.get_or_init(|| make("base16-ocean.dark")).as_ref(),
        Palette::Light => LIGHT.get_or_init(|| make("InspiredGitHub")).as_ref(),
    }
}

/// Load the grammars and themes now (they take tens of milliseconds), so
/// the first code block of a run does not stall a frame.
pub fn warm_up(palette: Palette) {
    if palette != Palette::Off {
        let _ = syntaxes();
        let _ = highlighter(palette);
    }
}

/// A line's pieces: a style for each byte range of the line.
pub type Pieces = Vec<(Style, Range<usize>)>;

/// The highlighting state of one code block.
#[derive(Clone)]
pub struct Highlight {
    state: Option<(ParseState, HighlightState, &'static Highlighter<'static>)>,
    base: Style,
    truecolor: bool,
}

impl std::fmt::Debug for Highlight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Highlight").field("on", &self.state.is_some()).finish()
    }
}

impl Highlight {
    /// For a block whose info string names `lang` (`rust`, `py`, `sh`, …);
    /// an unknown language, or `Palette::Off`, leaves the code in `base`.
    pub fn new(lang: &str, palette: Palette, base: Style, truecolor: bool) -> Highlight {
        let state = highlighter(palette).and_then(|h| {
            let token = lang.split([' ', ',', '{']).next().unwrap_or("").trim();
            let syntax = if token.is_empty() { None } else { syntaxes().find_syntax_by_token(token) }?;
            Some((ParseState::new(syntax), HighlightState::new(h, ScopeStack::new()), h))
        });
        Highlight { state, base, truecolor }
    }

    /// Highlight the next line (with its newline when it is complete) and
    /// move past it.
    pub fn line(&mut self, line: &str) -> Pieces {
        let Some((parse, hl, h)) = self.state.as_mut() else { return vec![(self.base, 0..line.len())] };
        let ops = match parse.parse_line(line, syntaxes()) {
            Ok(ops) => ops,
            Err(e) => {
                // A grammar that trips on this text: the rest stays plain.
                tracing::debug!("highlighting stopped: {e}");
                self.state = None;
                return vec![(self.base, 0..line.len())];
            }
        };
        let mut out = Vec::new();
        let mut at = 0;
        for (style, piece) in HighlightIterator::new(hl, &ops, line, h) {
            let mut s = self.base.fg(colour(style.foreground, self.truecolor));
            if style.font_style.contains(FontStyle::BOLD) {
                s = s.add_modifier(Modifier::BOLD);
            }
            if style.font_style.contains(FontStyle::ITALIC) {
                s = s.add_modifier(Modifier::ITALIC);
            }
            out.push((s, at..at + piece.len()));
            at += piece.len();
        }
        out
    }

    /// Highlight an unfinished line without moving past it.
    pub fn peek(&self, line: &str) -> Pieces {
        self.clone().line(line)
    }
}

/// A syntect colour for the terminal: as is where it shows 24-bit colour,
/// else the nearest of xterm's 256.
fn colour(c: syntect::highlighting::Color, truecolor: bool) -> Color {
    if truecolor { Color::Rgb(c.r, c.g, c.b) } else { Color::Indexed(xterm256(c.r, c.g, c.b)) }
}

/// The nearest xterm-256 colour: the 6×6×6 cube or the grey ramp.
pub fn xterm256(r: u8, g: u8, b: u8) -> u8 {
    const LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
    let near = |v: u8| LEVELS.iter().enumerate().min_by_key(|(_, l)| (i32::from(**l) - i32::from(v)).abs()).map_or(0, |(i, _)| i);
    let (ri, gi, bi) = (near(r), near(g), near(b));
    let cube = 16 + 36 * ri + 6 * gi + bi;
    let dist = |x: u8, y: u8, z: u8| {
        let d = |p: u8, q: u8| (i32::from(p) - i32::from(q)).pow(2);
        d(x, r) + d(y, g) + d(z, b)
    };
    let cube_d = dist(LEVELS[ri], LEVELS[gi], LEVELS[bi]);
    let avg = (u32::from(r) + u32::from(g) + u32::from(b)) / 3;
    let grey = ((avg.saturating_sub(8)) / 10).min(23) as u8;
    let level = 8 + 10 * grey;
    if dist(level, level, level) < cube_d { 232 + grey } else { cube as u8 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_is_coloured_and_pieces_cover_the_line() {
        let mut h = Highlight::new("rust", Palette::Dark, Style::new(), true);
        let line = "fn main() { let x = \"hi\"; }\n";
        let pieces = h.line(line);
        assert!(pieces.len() > 3, "{pieces:?}");
        assert_eq!(pieces.first().map(|p| p.1.start), Some(0));
        assert_eq!(pieces.last().map(|p| p.1.end), Some(line.len()));
        assert!(pieces.windows(2).all(|w| w[0].1.end == w[1].1.start));
        let colours: std::collections::HashSet<_> = pieces.iter().map(|p| p.0.fg).collect();
        assert!(colours.len() > 1, "one colour for everything: {pieces:?}");
    }

    #[test]
    fn state_carries_across_lines_and_peek_does_not_move() {
        let mut h = Highlight::new("python", Palette::Dark, Style::new(), false);
        h.line("s = \"\"\"a long\n");
        let inside = h.peek("still in the string");
        let again = h.peek("still in the string");
        assert_eq!(inside, again);
        // Every piece of the line is the string's colour.
        let fg: std::collections::HashSet<_> = inside.iter().map(|p| p.0.fg).collect();
        assert_eq!(fg.len(), 1, "{inside:?}");
    }

    #[test]
    fn unknown_languages_and_no_colour_stay_plain() {
        let base = Style::new().fg(Color::Yellow);
        assert_eq!(Highlight::new("klingon", Palette::Dark, base, true).line("qapla'\n"), vec![(base, 0..7)]);
        assert_eq!(Highlight::new("rust", Palette::Off, base, true).line("fn x() {}\n"), vec![(base, 0..10)]);
    }

    #[test]
    fn xterm_colours() {
        assert_eq!(xterm256(0, 0, 0), 16);
        assert_eq!(xterm256(255, 255, 255), 231);
        assert_eq!(xterm256(255, 0, 0), 196);
        assert_eq!(xterm256(128, 128, 128), 244);
    }
}
