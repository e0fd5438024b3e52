//! Chat templates, rendered the way Hugging Face renders them (Jinja with
//! `trim_blocks` and `lstrip_blocks`, Python string methods, `raise_exception`,
//! `strftime_now`), with minijinja. Both engines use this one renderer, so the
//! same model gets the same prompt through llama.cpp and candle.

use std::sync::Arc;
use std::time::Duration;

/// How to send a prompt without the chat template, in every place it can be said.
const BYPASS: &str = "send the prompt without it with --raw, ,raw=true in the model's spec, or raw = true in its [overrides.\"NAME\"]";

use minijinja::{Environment, ErrorKind, Value, context};

use crate::error::Error;

/// Template instructions one render may run. A real template spends a few
/// hundred per message; this stops a template that loops for ever within
/// about a second.
const FUEL: u64 = 20_000_000;
/// The longest prompt a template may produce; far beyond any context.
const MAX_OUTPUT: usize = 16 << 20;
/// Macro calls nested deeper than this fail (minijinja's own limit is 500,
/// which can overflow a 2 MiB thread stack first).
const MAX_RECURSION: usize = 64;
/// A render that takes longer fails, whatever it is doing; its thread runs
/// out of fuel on its own.
const DEADLINE: Duration = Duration::from_secs(5);

pub struct ChatTemplate {
    env: Arc<Environment<'static>>,
    bos: String,
    eos: String,
    /// sha256 of the source, for answers' receipts.
    pub hash: String,
}

impl ChatTemplate {
    pub fn new(source: &str, bos: &str, eos: &str) -> Result<ChatTemplate, Error> {
        let mut env = Environment::new();
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .map_err(|e| Error::Tokenization(format!("chat template: {e}")))?;
        env.set_syntax(syntax);
        // A template comes from the model file, so it is untrusted code.
        env.set_fuel(Some(FUEL));
        env.set_recursion_limit(MAX_RECURSION);
        minijinja_contrib::add_to_environment(&mut env);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", |msg: String| -> Result<Value, minijinja::Error> {
            Err(minijinja::Error::new(ErrorKind::InvalidOperation, msg))
        });
        env.add_function("strftime_now", |fmt: String| strftime_now(&fmt));
        env.add_template_owned("chat", source.to_string())
            .map_err(|e| Error::Tokenization(format!("chat template does not parse: {e}")))?;
        let hash = crate::engine::protocol::receipt::sha256(source.as_bytes());
        Ok(ChatTemplate { env: Arc::new(env), bos: bos.to_string(), eos: eos.to_string(), hash })
    }

    /// Render one user turn (after an optional system turn), ending with the
    /// assistant's opening so the model answers.
    pub fn render(&self, system: &str, user: &str) -> Result<String, Error> {
        self.render_chat(system, &[], user)
    }

    /// Render a conversation: the earlier turns (user, then the model's own
    /// answer), then the new user turn and the assistant's opening.
    pub fn render_chat(&self, system: &str, turns: &[super::Turn], user: &str) -> Result<String, Error> {
        let mut messages = Vec::new();
        if !system.is_empty() {
            messages.push(context! { role => "system", content => system });
        }
        for t in turns {
            messages.push(context! { role => "user", content => t.user.as_str() });
            messages.push(context! { role => "assistant", content => t.assistant.as_str() });
        }
        messages.push(context! { role => "user", content => user });
        let ctx = context! {
            messages => messages,
            add_generation_prompt => true,
            bos_token => self.bos.as_str(),
            eos_token => self.eos.as_str(),
        };
        // On its own thread, so that a deadline holds whatever the template
        // does; the engine thread (and a signal's exit) never waits past it.
        let env = Arc::clone(&self.env);
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("chat-template".into())
            .spawn(move || {
                let _ = tx.send(render_capped(&env, ctx));
            })
            .map_err(|e| Error::Tokenization(format!("chat template: {e}")))?;
        let fail = |why: String| Error::Tokenization(format!("the model's chat template failed: {why}; {BYPASS}"));
        match rx.recv_timeout(DEADLINE) {
            Ok(result) => result.map_err(fail),
            Err(_) => Err(fail(format!("it ran longer than {} s", DEADLINE.as_secs()))),
        }
    }
}

/// Renders into a buffer that refuses to grow past `MAX_OUTPUT`.
fn render_capped(env: &Environment<'static>, ctx: Value) -> Result<String, String> {
    struct Capped(Vec<u8>);
    impl std::io::Write for Capped {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.0.len() + buf.len() > MAX_OUTPUT {
                return Err(std::io::Error::other("too long"));
            }
            self.0.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let tmpl = env.get_template("chat").map_err(|e| e.to_string())?;
    let mut out = Capped(Vec::new());
    tmpl.render_captured_to(ctx, &mut out).map(drop).map_err(|e| match e.kind() {
        ErrorKind::WriteFailure => format!("its output passed {} MiB", MAX_OUTPUT >> 20),
        ErrorKind::OutOfFuel => "it ran too long (out of fuel: a loop without end?)".to_string(),
        _ => e.detail().map(str::to_string).unwrap_or_else(|| e.to_string()),
    })?;
    String::from_utf8(out.0).map_err(|e| e.to_string())
}

/// The current local time through C's strftime, as templates expect.
fn strftime_now(fmt: &str) -> Result<String, minijinja::Error> {
    let bad = || minijinja::Error::new(ErrorKind::InvalidOperation, "strftime_now: bad format");
    let cfmt = std::ffi::CString::new(fmt).map_err(|_| bad())?;
    let mut buf = vec![0u8; 256];
    // SAFETY: time/localtime_r/strftime write only into the buffers given.
    let written = unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&now, &mut tm);
        libc::strftime(buf.as_mut_ptr().cast(), buf.len(), cfmt.as_ptr(), &tm)
    };
    buf.truncate(written);
    String::from_utf8(buf).map_err(|_| bad())
}

/// A model's template as loaded: absent, usable, or broken (with why).
pub type Loaded = Option<Result<ChatTemplate, String>>;

/// The hash of the template an answer went through: "" for a raw prompt
/// or a model without one.
pub fn hash_of(template: &Loaded, raw: bool) -> String {
    match (template, raw) {
        (Some(Ok(t)), false) => t.hash.clone(),
        _ => String::new(),
    }
}

/// The prompt as a model receives it, the same for every engine: through
/// the chat template with the system prompt, unless the run is raw or the
/// model has none; a model without a template gets the system prompt in
/// front of the prompt rather than losing it.
pub fn render(template: &Loaded, turns: &[super::Turn], prompt: &str, params: &crate::params::GenerationParams) -> Result<String, Error> {
    match (template, params.raw) {
        (Some(Ok(t)), false) => t.render_chat(&params.system_prompt, turns, prompt),
        (Some(Err(e)), false) => Err(Error::Tokenization(format!("{e}; {BYPASS}"))),
        (None, false) if !params.system_prompt.is_empty() => Ok(format!("{}\n\n{}", params.system_prompt, continuation(turns, prompt))),
        _ => Ok(continuation(turns, prompt)),
    }
}

/// A conversation as plain text, for raw runs and models without a chat
/// template: each question followed by the model's own continuation of it,
/// a blank line, then the new prompt.
pub fn continuation(turns: &[super::Turn], prompt: &str) -> String {
    let mut text: String = turns.iter().map(|t| format!("{}{}\n\n", t.user, t.assistant)).collect();
    text.push_str(prompt);
    text
}

/// Refuse a prompt that leaves no room to generate in the context.
pub fn check_fits(prompt_tokens: usize, n_ctx: usize) -> Result<(), Error> {
    match prompt_tokens {
        0 => Err(Error::Tokenization("the prompt is empty".into())),
        n if n >= n_ctx => Err(Error::ContextOverflow { tokens: n, n_ctx, turns: 0 }),
        _ => Ok(()),
    }
}

/// Whether text produced by a template already starts with the BOS token,
/// in which case the tokenizer must not add another.
pub fn starts_with_bos(text: &str, bos: &str) -> bool {
    !bos.is_empty() && text.starts_with(bos)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GEMMA: &str = r#"{{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
    {%- if messages[0]['content'] is string -%}
        {%- set first_user_prefix = messages[0]['content'] + '

' -%}
    {%- else -%}
        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '

' -%}
    {%- endif -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set first_user_prefix = "" -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
        {{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}
    {%- endif -%}
    {%- if (message['role'] == 'assistant') -%}
        {%- set role = "model" -%}
    {%- else -%}
        {%- set role = message['role'] -%}
    {%- endif -%}
    {{ '<start_of_turn>' + role + '
' + (first_user_prefix if loop.first else "") }}
    {%- if message['content'] is string -%}
        {{ message['content'] | trim }}
    {%- elif message['content'] is iterable -%}
        {%- for item in message['content'] -%}
            {%- if item['type'] == 'text' -%}
                {{ item['text'] | trim }}
            {%- endif -%}
        {%- endfor -%}
    {%- else -%}
        {{ raise_exception("Invalid content type") }}
    {%- endif -%}
    {{ '<end_of_turn>
' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{'<start_of_turn>model
'}}
{%- endif -%}
"#;

    #[test]
    fn renders_gemma_style_with_system_prompt() {
        let t = ChatTemplate::new(GEMMA, "<bos>", "<eos>").unwrap();
        assert_eq!(t.render("", "Hi").unwrap(), "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n");
        assert_eq!(t.render("Be brief.", "Hi").unwrap(), "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n");
    }

    #[test]
    fn python_methods_and_helpers_work() {
        let src = "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('no system role') }}{% endif %}[{{ m.content.strip().upper() }}]{% endfor %}{{ strftime_now('%Y')|length }}";
        let t = ChatTemplate::new(src, "", "").unwrap();
        assert_eq!(t.render("", "  hi ").unwrap(), "[HI]4");
        let err = t.render("sys", "hi").unwrap_err().to_string();
        assert!(err.contains("no system role"), "{err}");
    }

    #[test]
    fn bad_templates_are_errors() {
        assert!(ChatTemplate::new("{% if %}", "", "").is_err());
    }

    /// Hostile templates end with a message, promptly, on a test thread's
    /// small stack: a loop without end, output without end, deep recursion.
    #[test]
    fn hostile_templates_fail_cleanly() {
        let cases = [
            ("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}", "out of fuel"),
            ("{% for a in range(100000) %}{% for b in range(100000) %}{{ 'x' * 1000 }}{% endfor %}{% endfor %}", "output passed"),
            ("{{ 'x' * 100000000 }}", "output passed"),
            ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "recursion"),
        ];
        for (src, want) in cases {
            let t = ChatTemplate::new(src, "", "").unwrap();
            let err = t.render("", "hi").unwrap_err().to_string();
            assert!(err.contains(want) && err.contains("--raw"), "{src}: {err}");
        }
    }
}
