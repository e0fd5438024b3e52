//! Reasoning models think before they answer. Local ones write it between
//! tags (`<think>…</think>` for Qwen3 and the DeepSeek-R1 distills; the tags
//! are the `thinking_tags` parameter); servers send it in a field of its own
//! (`reasoning_content`, `reasoning`). Either way the text leaves the engine
//! on a channel, so every front end can show, record and export the
//! thinking apart from the answer.

use serde::{Deserialize, Serialize};

/// Which part of an answer a piece of text belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    #[default]
    Answer,
    Thinking,
}

/// Splits streamed text at the thinking tags, never showing part of a tag:
/// text that may be the start of the tag looked for is held back until it
/// is known either way.
#[derive(Debug, Clone, Default)]
pub struct ThinkSplitter {
    open: String,
    close: String,
    /// Inside the thinking section.
    thinking: bool,
    /// Tags seen: only the first open and close tags count (a model may
    /// write the tag name in its answer).
    opened: bool,
    closed: bool,
    held: String,
}

/// A thinking section starts only before any answer: an open tag after
/// other text is the model quoting it.
fn starts_answer(text: &str) -> bool {
    !text.trim().is_empty()
}

impl ThinkSplitter {
    /// `tags` is [open, close]; empty or missing tags turn splitting off.
    /// `inside`: the prompt already opened the section (its chat template
    /// ends with the open tag), so generation starts in it.
    pub fn new(tags: &[String], inside: bool) -> ThinkSplitter {
        match tags {
            [open, close, ..] if !open.is_empty() && !close.is_empty() => ThinkSplitter {
                open: open.clone(),
                close: close.clone(),
                thinking: inside,
                opened: inside,
                closed: false,
                held: String::new(),
            },
            _ => ThinkSplitter { opened: true, closed: true, ..ThinkSplitter::default() },
        }
    }

    /// Whether the rendered prompt leaves the model inside its thinking.
    pub fn opens_in(rendered: &str, tags: &[String]) -> bool {
        tags.first().is_some_and(|open| !open.is_empty() && rendered.trim_end().ends_with(open.as_str()))
    }

    /// The tag that would change the channel now, if any.
    fn next_tag(&self) -> Option<&str> {
        match (self.thinking, self.opened, self.closed) {
            (false, false, _) => Some(&self.open),
            (true, _, false) => Some(&self.close),
            _ => None,
        }
    }

    /// Add text; returns the pieces that can be shown now, by channel.
    pub fn push(&mut self, piece: &str) -> Vec<(Channel, String)> {
        let mut out = Vec::new();
        self.held.push_str(piece);
        loop {
            let channel = if self.thinking { Channel::Thinking } else { Channel::Answer };
            let Some(tag) = self.next_tag().map(str::to_string) else {
                emit(&mut out, channel, std::mem::take(&mut self.held));
                return out;
            };
            if let Some(pos) = self.held.find(&tag) {
                if !self.thinking && starts_answer(&self.held[..pos]) {
                    // Text came first: no thinking section in this answer.
                    self.opened = true;
                    self.closed = true;
                    continue;
                }
                let before: String = self.held.drain(..pos + tag.len()).collect();
                // (Whitespace before an open tag goes with the tag.)
                if self.thinking {
                    emit(&mut out, channel, before[..pos].to_string());
                }
                if self.thinking {
                    self.thinking = false;
                    self.closed = true;
                } else {
                    self.thinking = true;
                    self.opened = true;
                }
                continue;
            }
            // Hold back the longest suffix that could start the tag.
            let keep = (1..tag.len()).rev().filter(|k| tag.is_char_boundary(*k)).find(|k| self.held.ends_with(&tag[..*k])).unwrap_or(0);
            let split = self.held.len() - keep;
            if !self.thinking && starts_answer(&self.held[..split]) {
                self.opened = true;
                self.closed = true;
                continue;
            }
            // Leading whitespace before a possible open tag waits with it.
            if !self.thinking && !self.opened {
                return out;
            }
            let now: String = self.held.drain(..split).collect();
            emit(&mut out, channel, now);
            return out;
        }
    }

    /// Text held back at the end, now known not to be a tag.
    pub fn flush(&mut self) -> Vec<(Channel, String)> {
        let channel = if self.thinking { Channel::Thinking } else { Channel::Answer };
        let mut out = Vec::new();
        emit(&mut out, channel, std::mem::take(&mut self.held));
        out
    }
}

fn emit(out: &mut Vec<(Channel, String)>, channel: Channel, text: String) {
    if text.is_empty() {
        return;
    }
    match out.last_mut() {
        Some((c, t)) if *c == channel => t.push_str(&text),
        _ => out.push((channel, text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags() -> Vec<String> {
        vec!["<think>".into(), "</think>".into()]
    }

    fn split(pieces: &[&str], inside: bool) -> (String, String) {
        let mut s = ThinkSplitter::new(&tags(), inside);
        let (mut thinking, mut answer) = (String::new(), String::new());
        let all = pieces.iter().flat_map(|p| s.push(p)).collect::<Vec<_>>();
        for (c, t) in all.into_iter().chain(s.flush()) {
            match c {
                Channel::Thinking => thinking.push_str(&t),
                Channel::Answer => answer.push_str(&t),
            }
        }
        (thinking, answer)
    }

    #[test]
    fn tags_split_across_tokens_are_never_shown() {
        let (t, a) = split(&["<th", "ink>\nLet me", " see.</thi", "nk>\n\n", "Paris."], false);
        assert_eq!(t, "\nLet me see.");
        assert_eq!(a, "\n\nParis.");
    }

    #[test]
    fn a_template_that_opens_the_section_starts_inside_it() {
        assert!(ThinkSplitter::opens_in("<|im_start|>assistant\n<think>\n", &tags()));
        let (t, a) = split(&["Hmm.", "</think>", "42"], true);
        assert_eq!((t.as_str(), a.as_str()), ("Hmm.", "42"));
    }

    #[test]
    fn without_tags_everything_is_answer_and_later_tags_stay_text() {
        let (t, a) = split(&["plain ", "text"], false);
        assert_eq!((t.as_str(), a.as_str()), ("", "plain text"));
        let (t, a) = split(&["<think>a</think>b <think>c</think>"], false);
        assert_eq!((t.as_str(), a.as_str()), ("a", "b <think>c</think>"));
        let (t, a) = split(&["Use the ", "<think>", " tag</think>"], false);
        assert_eq!((t.as_str(), a.as_str()), ("", "Use the <think> tag</think>"), "a quoted tag is text");
        let (t, a) = split(&["\n", "<think>x</think>y"], false);
        assert_eq!((t.as_str(), a.as_str()), ("x", "y"), "whitespace before the tag is dropped with it");
        let mut off = ThinkSplitter::new(&[], false);
        assert_eq!(off.push("<think>x"), vec![(Channel::Answer, "<think>x".to_string())]);
    }

    #[test]
    fn a_partial_tag_at_the_end_is_released() {
        let (t, a) = split(&["answer <thi"], false);
        assert_eq!((t.as_str(), a.as_str()), ("", "answer <thi"));
    }
}
