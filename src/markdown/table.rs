//! Tables fitted to the column: each column as wide as its widest cell
//! when they all fit; otherwise the width is shared out (narrow columns
//! keep theirs, wide ones wrap). Too narrow for that, each row becomes a
//! list of `header: value` lines.

use pulldown_cmark::Alignment;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::fill::{Filler, Prefix};

/// A cell: its styled pieces.
pub type Cell = Vec<(Style, String)>;

#[derive(Debug, Default)]
pub struct Table {
    pub align: Vec<Alignment>,
    pub head: Vec<Cell>,
    pub rows: Vec<Vec<Cell>>,
}

const GAP: &str = " │ ";

fn cell_width(cell: &Cell) -> usize {
    cell.iter().map(|(_, t)| crate::wrap::str_width(t)).sum()
}

/// Share `room` among columns wanting `want`: the narrow ones get what they
/// want, the rest split what is left evenly.
fn share(want: &[usize], room: usize) -> Vec<usize> {
    let mut got = vec![0; want.len()];
    let mut open: Vec<usize> = (0..want.len()).collect();
    let mut left = room;
    while !open.is_empty() {
        let fair = left / open.len();
        let (small, big): (Vec<usize>, Vec<usize>) = open.iter().partition(|&&i| want[i] <= fair);
        if small.is_empty() {
            for (k, &i) in big.iter().enumerate() {
                got[i] = fair + usize::from(k < left % big.len());
            }
            break;
        }
        for &i in &small {
            got[i] = want[i];
            left -= want[i];
        }
        open = big;
    }
    got
}

/// The lines of one cell at `width`.
fn cell_lines(cell: &Cell, width: usize) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let prefix = Prefix::default();
    let mut f = Filler::new(width, &prefix, &mut out);
    for (style, text) in cell {
        f.push(*style, text);
    }
    f.finish();
    out
}

fn pad(line: Line<'static>, width: usize, align: Alignment) -> Vec<Span<'static>> {
    let w = line.width();
    let extra = width.saturating_sub(w);
    let (before, after) = match align {
        Alignment::Right => (extra, 0),
        Alignment::Center => (extra / 2, extra - extra / 2),
        _ => (0, extra),
    };
    let mut spans = Vec::new();
    if before > 0 {
        spans.push(Span::raw(" ".repeat(before)));
    }
    spans.extend(line.spans);
    if after > 0 {
        spans.push(Span::raw(" ".repeat(after)));
    }
    spans
}

impl Table {
    pub fn render(&self, width: usize, prefix: &Prefix, border: Style, out: &mut Vec<Line<'static>>) {
        let n = self.head.len().max(self.rows.iter().map(Vec::len).max().unwrap_or(0));
        if n == 0 {
            return;
        }
        let room = width.saturating_sub(prefix.width());
        let gaps = GAP.chars().count() * (n - 1);
        let mut want = vec![0usize; n];
        for row in std::iter::once(&self.head).chain(&self.rows) {
            for (i, cell) in row.iter().enumerate() {
                want[i] = want[i].max(cell_width(cell)).max(1);
            }
        }
        if room < gaps + 3 * n {
            return self.stacked(width, prefix, out);
        }
        let widths = share(&want, room - gaps);
        let mut first = true;
        let mut line = |spans: Vec<Span<'static>>, out: &mut Vec<Line<'static>>| {
            let mut all = if first { prefix.first.clone() } else { prefix.rest.clone() };
            first = false;
            all.extend(spans);
            out.push(Line::from(all));
        };
        let head_style = Style::new().add_modifier(Modifier::BOLD);
        for (r, row) in std::iter::once(&self.head).chain(&self.rows).enumerate() {
            let cells: Vec<Vec<Line<'static>>> = (0..n)
                .map(|i| {
                    let cell = row.get(i).cloned().unwrap_or_default();
                    let cell = if r == 0 { cell.into_iter().map(|(s, t)| (s.patch(head_style), t)).collect() } else { cell };
                    cell_lines(&cell, widths[i])
                })
                .collect();
            let height = cells.iter().map(Vec::len).max().unwrap_or(0).max(1);
            for k in 0..height {
                let mut spans = Vec::new();
                for (i, c) in cells.iter().enumerate() {
                    if i > 0 {
                        spans.push(Span::styled(GAP, border));
                    }
                    let l = c.get(k).cloned().unwrap_or_default();
                    spans.extend(pad(l, widths[i], self.align.get(i).copied().unwrap_or(Alignment::None)));
                }
                line(spans, out);
            }
            if r == 0 {
                let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
                line(vec![Span::styled(rule.join("─┼─"), border)], out);
            }
        }
    }

    /// Each row as `header: value` lines, rows apart by a blank line.
    fn stacked(&self, width: usize, prefix: &Prefix, out: &mut Vec<Line<'static>>) {
        for (r, row) in self.rows.iter().enumerate() {
            if r > 0 {
                out.push(Line::from(prefix.rest.clone()));
            }
            for (i, cell) in row.iter().enumerate() {
                let p = if r == 0 && i == 0 { prefix.clone() } else { Prefix { first: prefix.rest.clone(), rest: prefix.rest.clone() } };
                let mut f = Filler::new(width, &p, out);
                for (s, t) in self.head.get(i).into_iter().flatten() {
                    f.push(s.add_modifier(Modifier::BOLD), t);
                }
                f.push(Style::new().add_modifier(Modifier::BOLD), ": ");
                for (s, t) in cell {
                    f.push(*s, t);
                }
                f.finish();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(t: &str) -> Cell {
        vec![(Style::new(), t.to_string())]
    }

    fn render(t: &Table, width: usize) -> Vec<String> {
        let mut out = Vec::new();
        t.render(width, &Prefix::default(), Style::new(), &mut out);
        out.iter().map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect::<String>()).collect()
    }

    #[test]
    fn fits_then_shares_then_stacks() {
        let t = Table {
            align: vec![Alignment::Left, Alignment::Right],
            head: vec![cell("name"), cell("n")],
            rows: vec![vec![cell("alpha"), cell("1")], vec![cell("a much longer cell here"), cell("22")]],
        };
        let wide = render(&t, 80);
        assert_eq!(wide[0], "name                    │  n");
        assert_eq!(wide[1], "────────────────────────┼───");
        assert_eq!(wide[3], "a much longer cell here │ 22");
        let narrow = render(&t, 16);
        assert!(narrow.iter().all(|l| crate::wrap::str_width(l) <= 16), "{narrow:#?}");
        assert!(narrow.len() > wide.len());
        let tiny = render(&t, 8);
        assert_eq!(tiny[0], "name:");
        assert!(tiny.contains(&"n: 1".to_string()), "{tiny:#?}");
    }

    #[test]
    fn share_gives_narrow_columns_what_they_want() {
        assert_eq!(share(&[3, 50, 50], 43), vec![3, 20, 20]);
        assert_eq!(share(&[3, 4], 43), vec![3, 4]);
    }
}
