//! One stretch of Markdown rendered to lines: pulldown-cmark's events
//! walked with a stack of the blocks we are in (quotes draw a bar, list
//! items a marker), inline text filled to the width, code highlighted,
//! tables fitted. The streaming document (`Doc`) calls this for each
//! settled stretch once and for the unsettled tail once per frame.

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::code::Highlight;
use super::fill::{Filler, Prefix, cut};
use super::table::Table;
use super::{CodeBlock, Look};

/// A block we are inside of.
enum Container {
    Quote,
    /// A list item: its marker, shown on the item's first line only.
    Item {
        marker: String,
        shown: bool,
    },
}

struct Render<'a> {
    width: usize,
    look: &'a Look,
    out: &'a mut Vec<Line<'static>>,
    code: &'a mut Vec<CodeBlock>,
    stack: Vec<Container>,
    /// The next number of each open list (None: bullets).
    lists: Vec<Option<u64>>,
    /// Inline text waiting to be filled: styled pieces.
    inline: Vec<(Style, String)>,
    styles: Vec<Style>,
    links: Vec<String>,
    table: Option<Table>,
    in_head: bool,
    code_block: Option<(String, String)>,
    gap: bool,
}

/// Render `text` at `width`; code blocks met are added to `code` with
/// their line ranges in `out`.
pub fn render(text: &str, width: usize, look: &Look, out: &mut Vec<Line<'static>>, code: &mut Vec<CodeBlock>) {
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut r = Render {
        width: width.max(1),
        look,
        out,
        code,
        stack: Vec::new(),
        lists: Vec::new(),
        inline: Vec::new(),
        styles: vec![look.text],
        links: Vec::new(),
        table: None,
        in_head: false,
        code_block: None,
        gap: false,
    };
    for event in Parser::new_ext(text, opts) {
        r.event(event);
    }
    r.flush();
}

impl Render<'_> {
    fn style(&self) -> Style {
        self.styles.last().copied().unwrap_or_default()
    }

    fn push_style(&mut self, patch: Style) {
        let s = self.style().patch(patch);
        self.styles.push(s);
    }

    fn pop_style(&mut self) {
        if self.styles.len() > 1 {
            self.styles.pop();
        }
    }

    fn text(&mut self, style: Style, text: &str) {
        if let Some(cell) =
            self.table.as_mut().and_then(|t| if self.in_head { t.head.last_mut() } else { t.rows.last_mut().and_then(|r| r.last_mut()) })
        {
            cell.push((style, text.to_string()));
            return;
        }
        match self.inline.last_mut() {
            Some((s, t)) if *s == style => t.push_str(text),
            _ => self.inline.push((style, text.to_string())),
        }
    }

    /// The prefix of the blocks we are in; item markers count as shown.
    fn prefix(&mut self) -> Prefix {
        let mut p = Prefix::default();
        for c in &mut self.stack {
            match c {
                Container::Quote => {
                    p.first.push(Span::styled("│ ", self.look.quote));
                    p.rest.push(Span::styled("│ ", self.look.quote));
                }
                Container::Item { marker, shown } => {
                    let blank = " ".repeat(crate::wrap::str_width(marker));
                    p.first.push(if *shown { Span::raw(blank.clone()) } else { Span::styled(marker.clone(), self.look.marker) });
                    p.rest.push(Span::raw(blank));
                    *shown = true;
                }
            }
        }
        p
    }

    /// A blank line between blocks (quote bars carry on through it).
    fn block_start(&mut self) {
        self.flush();
        if self.gap && !self.out.is_empty() {
            let bars: Vec<Span<'static>> =
                self.stack.iter().filter(|c| matches!(c, Container::Quote)).map(|_| Span::styled("│ ", self.look.quote)).collect();
            self.out.push(Line::from(bars));
        }
        self.gap = false;
    }

    /// Fill the waiting inline text into lines.
    fn flush(&mut self) {
        if self.inline.is_empty() {
            return;
        }
        let pieces = std::mem::take(&mut self.inline);
        let prefix = self.prefix();
        let mut f = Filler::new(self.width, &prefix, self.out);
        for (s, t) in &pieces {
            f.push(*s, t);
        }
        f.finish();
        self.gap = true;
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(t) => {
                if let Some((_, body)) = self.code_block.as_mut() {
                    body.push_str(&t);
                } else {
                    self.text(self.style(), &t);
                }
            }
            Event::Code(t) => {
                let t = if self.look.ticks { format!("`{t}`") } else { t.to_string() };
                self.text(self.style().patch(self.look.code), &t);
            }
            Event::InlineMath(t) | Event::DisplayMath(t) => self.text(self.style().patch(self.look.code), &t),
            // Raw HTML is shown as written, dimmed.
            Event::Html(t) | Event::InlineHtml(t) => self.text(self.look.dim, &t),
            Event::FootnoteReference(t) => self.text(self.look.dim, &format!("[^{t}]")),
            Event::SoftBreak => self.text(self.style(), " "),
            Event::HardBreak => self.text(self.style(), "\n"),
            Event::Rule => {
                self.block_start();
                let prefix = self.prefix();
                let room = self.width.saturating_sub(prefix.width()).max(1);
                let mut spans = prefix.first;
                spans.push(Span::styled("─".repeat(room), self.look.dim));
                self.out.push(Line::from(spans));
                self.gap = true;
            }
            Event::TaskListMarker(done) => self.text(self.look.marker, if done { "[x] " } else { "[ ] " }),
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph => self.block_start(),
            Tag::Heading { level, .. } => {
                self.block_start();
                let s = match level {
                    HeadingLevel::H1 => self.look.heading.add_modifier(Modifier::UNDERLINED),
                    HeadingLevel::H2 => self.look.heading,
                    _ => Style::new().add_modifier(Modifier::BOLD),
                };
                self.push_style(s);
            }
            Tag::BlockQuote(_) => {
                self.block_start();
                self.stack.push(Container::Quote);
            }
            Tag::CodeBlock(kind) => {
                self.block_start();
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => info.to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                self.code_block = Some((lang, String::new()));
            }
            Tag::HtmlBlock => self.block_start(),
            Tag::List(start) => {
                if self.lists.is_empty() {
                    self.block_start();
                } else {
                    self.flush();
                }
                self.lists.push(start);
            }
            Tag::Item => {
                self.flush();
                self.gap = false;
                let marker = match self.lists.last_mut() {
                    Some(Some(n)) => {
                        *n += 1;
                        format!("{}. ", *n - 1)
                    }
                    _ => "• ".to_string(),
                };
                self.stack.push(Container::Item { marker, shown: false });
            }
            Tag::Table(align) => {
                self.block_start();
                self.table = Some(Table { align, ..Table::default() });
            }
            Tag::TableHead => self.in_head = true,
            Tag::TableRow => {
                if let Some(t) = self.table.as_mut() {
                    t.rows.push(Vec::new());
                }
            }
            Tag::TableCell => {
                if let Some(t) = self.table.as_mut() {
                    if self.in_head {
                        t.head.push(Vec::new());
                    } else if let Some(r) = t.rows.last_mut() {
                        r.push(Vec::new());
                    }
                }
            }
            Tag::Emphasis => self.push_style(Style::new().add_modifier(Modifier::ITALIC)),
            Tag::Strong => self.push_style(Style::new().add_modifier(Modifier::BOLD)),
            Tag::Strikethrough => self.push_style(Style::new().add_modifier(Modifier::CROSSED_OUT)),
            Tag::Link { dest_url, .. } => {
                self.links.push(dest_url.to_string());
                self.push_style(self.look.link);
            }
            Tag::Image { dest_url, .. } => {
                self.links.push(dest_url.to_string());
                self.text(self.look.dim, "[image: ");
                self.push_style(self.look.link);
            }
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph | TagEnd::HtmlBlock => self.flush(),
            TagEnd::Heading(_) => {
                self.flush();
                self.pop_style();
            }
            TagEnd::BlockQuote(_) => {
                self.flush();
                self.stack.pop();
                self.gap = true;
            }
            TagEnd::CodeBlock => {
                if let Some((lang, body)) = self.code_block.take() {
                    let prefix = self.prefix();
                    code_block(&lang, &body, self.width, &prefix, self.look, self.out, self.code);
                    self.gap = true;
                }
            }
            TagEnd::List(_) => {
                self.flush();
                self.lists.pop();
                self.gap = true;
            }
            TagEnd::Item => {
                self.flush();
                self.stack.pop();
            }
            TagEnd::Table => {
                if let Some(t) = self.table.take() {
                    let prefix = self.prefix();
                    t.render(self.width, &prefix, self.look.dim, self.out);
                    self.gap = true;
                }
            }
            TagEnd::TableHead => self.in_head = false,
            TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough => self.pop_style(),
            TagEnd::Link => {
                self.pop_style();
                let url = self.links.pop().unwrap_or_default();
                let shown: String = self.inline.iter().map(|(_, t)| t.as_str()).collect();
                if !url.is_empty() && !shown.ends_with(url.as_str()) {
                    self.text(self.look.dim, &format!(" ({url})"));
                }
            }
            TagEnd::Image => {
                self.pop_style();
                let url = self.links.pop().unwrap_or_default();
                self.text(self.look.dim, &format!("] ({url})"));
            }
            _ => {}
        }
    }
}

/// A fenced code block: a header naming the language, the code cut (never
/// reflowed) and highlighted, a rule under it.
pub fn code_block(
    lang: &str,
    body: &str,
    width: usize,
    prefix: &Prefix,
    look: &Look,
    out: &mut Vec<Line<'static>>,
    code: &mut Vec<CodeBlock>,
) {
    let start = out.len();
    out.push(code_header(lang, width, prefix, look));
    let mut hl = Highlight::new(lang, look.syntax, look.code_text, look.truecolor);
    for line in body.split_inclusive('\n') {
        let pieces = hl.line(line);
        code_line(line, &pieces, width, prefix, out);
    }
    out.push(code_footer(width, prefix, look));
    code.push(CodeBlock { lang: lang.trim().to_string(), text: body.to_string(), lines: start..out.len() });
}

/// "── rust ─────": the first line of a code block.
pub fn code_header(lang: &str, width: usize, prefix: &Prefix, look: &Look) -> Line<'static> {
    let lang = lang.split([' ', ',', '{']).next().unwrap_or("").trim();
    let room = width.saturating_sub(prefix.width()).max(1);
    let label = if lang.is_empty() { "──".to_string() } else { format!("── {lang} ") };
    let rest = room.saturating_sub(crate::wrap::str_width(&label));
    let mut spans = prefix.rest.clone();
    spans.push(Span::styled(format!("{label}{}", "─".repeat(rest)), look.frame));
    Line::from(spans)
}

pub fn code_footer(width: usize, prefix: &Prefix, look: &Look) -> Line<'static> {
    let room = width.saturating_sub(prefix.width()).max(1);
    let mut spans = prefix.rest.clone();
    spans.push(Span::styled("─".repeat(room), look.frame));
    Line::from(spans)
}

/// One line of code (its newline dropped) cut at the width.
pub fn code_line(line: &str, pieces: &super::code::Pieces, width: usize, prefix: &Prefix, out: &mut Vec<Line<'static>>) {
    let body = line.trim_end_matches(['\n', '\r']);
    let parts: Vec<(Style, &str)> = pieces
        .iter()
        .filter_map(|(s, r)| body.get(r.start.min(body.len())..r.end.min(body.len())).map(|t| (*s, t)))
        .filter(|(_, t)| !t.is_empty())
        .collect();
    let p = Prefix { first: prefix.rest.clone(), rest: prefix.rest.clone() };
    cut(&parts, width, &p, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(md: &str, width: usize) -> Vec<String> {
        let look = Look::from_theme(&crate::theme::Theme::plain());
        let mut out = Vec::new();
        render(md, width, &look, &mut out, &mut Vec::new());
        out.iter().map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect()).collect()
    }

    #[test]
    fn blocks_render_with_markers_bars_and_gaps() {
        let md = "# Title\n\nSome *text* and `code`.\n\n- one\n- two\n  1. inner\n  2. next\n\n> quoted\n> more\n\n---\n\n[site](https://x.org) <https://y.org>\n";
        assert_eq!(
            lines(md, 40),
            vec![
                "Title",
                "",
                "Some text and `code`.",
                "",
                "• one",
                "• two",
                "  1. inner",
                "  2. next",
                "",
                "│ quoted more",
                "",
                "────────────────────────────────────────",
                "",
                "site (https://x.org) https://y.org",
            ]
        );
    }

    #[test]
    fn code_keeps_its_indentation_and_tables_fit() {
        let md = "```python\ndef f():\n    return 1\n```\n\n| a | b |\n|---|--:|\n| x | 22 |\n";
        let out = lines(md, 30);
        assert_eq!(out[0], format!("── python {}", "─".repeat(20)));
        assert_eq!(out[1], "def f():");
        assert_eq!(out[2], "    return 1");
        assert_eq!(out[3], "─".repeat(30));
        assert_eq!(&out[5..], ["a │  b", "──┼───", "x │ 22"]);
    }

    #[test]
    fn ordered_lists_keep_their_start_and_tasks_their_boxes() {
        assert_eq!(lines("3. c\n4. d\n", 20), vec!["3. c", "4. d"]);
        assert_eq!(lines("- [x] done\n- [ ] todo\n", 20), vec!["• [x] done", "• [ ] todo"]);
    }
}
