//! The key list, generated from the keymap: every scope, its actions, their
//! keys and what they do; it scrolls on short terminals.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::{Ctx, Overlay, Reply, centered};
use crate::keymap::{Action, Keymap, Scope};
use crate::theme::Theme;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct HelpView {
    /// Lines scrolled off the top.
    pub scroll: usize,
}

/// Lines of the help overlay, generated from the keymap, each description
/// wrapped at word boundaries to `width` columns under its own column (so
/// nothing is cut at the overlay's edge, at 80 columns too).
pub fn help_lines(keymap: &Keymap, theme: &Theme, width: usize) -> Vec<Line<'static>> {
    let key_text = |a: Action| keymap.keys(a).iter().map(|k| k.to_string()).collect::<Vec<_>>().join(" ");
    let keys = Action::ALL.iter().map(|a| key_text(*a).chars().count()).max().unwrap_or(10).min(30) + 2;
    let room = width.saturating_sub(keys + 2).max(16);
    let mut lines = Vec::new();
    for (scope, actions) in Keymap::help_sections() {
        lines.push(Line::styled(scope.title(), theme.accent));
        for a in &actions {
            for (i, part) in wrap_words(a.help(), room).into_iter().enumerate() {
                let head = if i == 0 { format!("  {:<keys$}", key_text(*a)) } else { " ".repeat(keys + 2) };
                lines.push(Line::from(vec![Span::styled(head, theme.key), Span::raw(part)]));
            }
        }
    }
    lines
}

/// `text` in lines of at most `width` characters, broken between words (a
/// word longer than a line gets a line of its own, cut).
fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let (have, add) = (line.chars().count(), word.chars().count());
        if have > 0 && have + 1 + add > width {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.extend(word.chars().take(width));
    }
    if !line.is_empty() || out.is_empty() {
        out.push(line);
    }
    out
}

impl Overlay for HelpView {
    fn scope(&self) -> Scope {
        Scope::Help
    }

    fn key(&mut self, action: Option<Action>, _: &KeyEvent) -> Reply {
        // Wrapped at 80 columns a description takes two lines at most;
        // drawing clamps the scroll to what the width gives.
        let max = 2 * Keymap::help_len();
        self.scroll = match action {
            Some(Action::HelpUp) => self.scroll.saturating_sub(1),
            Some(Action::HelpDown) => (self.scroll + 1).min(max),
            Some(Action::HelpPageUp) => self.scroll.saturating_sub(10),
            Some(Action::HelpPageDown) => (self.scroll + 10).min(max),
            // Any other key closes, as the title says.
            _ => return Reply::Close,
        };
        Reply::Stay
    }

    fn draw(&self, frame: &mut Frame<'_>, ctx: &Ctx<'_>) {
        let width = frame.area().width.min(86);
        let lines = help_lines(ctx.keymap, ctx.theme, usize::from(width.saturating_sub(2)));
        let area = centered(frame.area(), width, lines.len() as u16 + 2);
        let fits = lines.len() + 2 <= area.height as usize;
        let scroll = ctx.keymap.label(Action::HelpDown);
        let title = if fits {
            " Keys · any key closes · [ui.keys] in the config changes them ".to_string()
        } else {
            format!(" Keys · {scroll} scroll · any other key closes ")
        };
        let max_scroll = (lines.len() + 2).saturating_sub(area.height as usize);
        frame.render_widget(Clear, area);
        let block = Block::new().borders(Borders::ALL).title(title).border_style(ctx.theme.accent);
        let para = Paragraph::new(lines).block(block).scroll((self.scroll.min(max_scroll) as u16, 0));
        frame.render_widget(para, area);
    }

    fn name(&self) -> &'static str {
        "help"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_wrap_between_words_within_the_overlay() {
        assert_eq!(wrap_words("send the prompt as a follow-up", 12), vec!["send the", "prompt as a", "follow-up"]);
        assert_eq!(wrap_words("", 10), vec![""]);
        let keymap = Keymap::defaults();
        for width in [78, 84] {
            let lines = help_lines(&keymap, &Theme::default(), width);
            let widest = lines.iter().map(|l| l.width()).max().unwrap_or(0);
            assert!(widest <= width, "{widest} > {width}");
            let text: String =
                lines.iter().map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect::<String>()).collect::<Vec<_>>().join(" ");
            let squeezed = text.split_whitespace().collect::<Vec<_>>().join(" ");
            for a in Action::ALL {
                assert!(squeezed.contains(a.help()), "{:?}'s description is whole: {}", a, a.help());
            }
        }
    }
}
