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

/// Lines of the help overlay, generated from the keymap.
pub fn help_lines(keymap: &Keymap, theme: &Theme) -> Vec<Line<'static>> {
    let key_text = |a: Action| keymap.keys(a).iter().map(|k| k.to_string()).collect::<Vec<_>>().join(" ");
    let width = Action::ALL.iter().map(|a| key_text(*a).chars().count()).max().unwrap_or(10).min(30) + 2;
    let mut lines = Vec::new();
    for (scope, actions) in Keymap::help_sections() {
        lines.push(Line::styled(scope.title(), theme.accent));
        for a in &actions {
            lines.push(Line::from(vec![Span::styled(format!("  {:<width$}", key_text(*a)), theme.key), Span::raw(a.help())]));
        }
    }
    lines
}

impl Overlay for HelpView {
    fn scope(&self) -> Scope {
        Scope::Help
    }

    fn key(&mut self, action: Option<Action>, _: &KeyEvent) -> Reply {
        let max = Keymap::help_len();
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
        let lines = help_lines(ctx.keymap, ctx.theme);
        let area = centered(frame.area(), 86, lines.len() as u16 + 2);
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
