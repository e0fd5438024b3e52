//! Building `App`s in known states for the UI tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use versus::app::{App, Effect, Event};
use versus::catalog::{Format, ModelInfo, Shape, Source};
use versus::config::Config;
use versus::engine::{EngineEvent, EventKind, Stats, StopReason};
use versus::error::Error;
use versus::keymap::Keymap;

pub fn model(name: &str, arch: &str, quant: &str, params: u64) -> ModelInfo {
    ModelInfo {
        name: name.into(),
        format: Format::Gguf,
        path: PathBuf::from(format!("/models/{name}.gguf")),
        files: vec![PathBuf::from(format!("/models/{name}.gguf"))],
        source: Source::DataDir,
        size_bytes: params / 2,
        architecture: Some(arch.into()),
        quantization: Some(quant.into()),
        parameters: Some(params),
        context_length: Some(32768),
        chat_template: true,
        shape: Some(Shape::default()),
        error: None,
    }
}

pub fn models() -> Vec<ModelInfo> {
    let mut broken = model("broken-model", "llama", "Q8_0", 1_000_000);
    broken.architecture = None;
    broken.error = Some("truncated GGUF: tensor data is not within the file bounds".into());
    vec![
        model("gemma-3-270m-q4_k_m", "gemma3", "Q4_K_M", 268_098_176),
        model("qwen2.5-0.5b-instruct-q8_0", "qwen2", "Q8_0", 494_032_768),
        model("llama-3.2-1b-instruct-q4_k_m", "llama", "Q4_K_M", 1_235_814_432),
        broken,
    ]
}

pub fn app(models: Vec<ModelInfo>, w: u16, h: u16) -> App {
    let config = Config::defaults();
    let mut app = App::new(models, |m| config.settings_for(&m.name), Keymap::defaults(), "");
    app.ram = Some((3 << 30, 16 << 30));
    app.handle(Event::Resize(w, h));
    app
}

pub fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.handle(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

pub fn ctrl(app: &mut App, c: char) -> Vec<Effect> {
    app.handle(Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)))
}

pub fn typ(app: &mut App, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

/// An engine event, then a frame (as the event loop renders before drawing).
pub fn engine(app: &mut App, run: u64, slot: usize, kind: EventKind) {
    app.handle(Event::Engine(EngineEvent { run, slot, prompt: 0, sample: 0, kind }));
    app.handle(Event::Frame);
}

pub fn stats(tokens: u64, tps: f64) -> Stats {
    Stats {
        load_ms: 412.0,
        prompt_tokens: 7,
        prompt_ms: 35.0,
        prompt_tps: 200.0,
        ttft_ms: Some(38.0),
        generated_tokens: tokens,
        decode_ms: tokens as f64 / tps * 1e3,
        decode_tps: tps,
        total_ms: 2000.0,
        peak_rss_bytes: 398 << 20,
        model_bytes: 386 << 20,
        rss_before_bytes: 12 << 20,
        rss_after_bytes: 12 << 20,
        stop_reason: Some(StopReason::MaxTokens),
        seed: Some(42),
        rendered_prompt: "The capital of France is".into(),
        ..Default::default()
    }
}

/// Three selected models, a prompt typed and run: returns the run id.
pub fn start_three(app: &mut App) -> u64 {
    key(app, KeyCode::Char(' '));
    key(app, KeyCode::Down);
    key(app, KeyCode::Char(' '));
    key(app, KeyCode::Down);
    key(app, KeyCode::Char(' '));
    key(app, KeyCode::Tab);
    typ(app, "Explain in one paragraph why the sky is blue.");
    let effects = key(app, KeyCode::F(5));
    match effects.first() {
        Some(Effect::Run { id, .. }) => *id,
        other => panic!("no run: {other:?}"),
    }
}

pub const ANSWER: &str = "The sky looks blue because of Rayleigh scattering: air molecules scatter short wavelengths of sunlight much more strongly than long ones, so blue light reaches our eyes from every direction of the sky while red and yellow pass mostly straight through.";

/// A run in progress: first model done, second generating, third queued.
pub fn in_progress(app: &mut App) -> u64 {
    let id = start_three(app);
    let t0 = app.now;
    for slot in 0..3 {
        engine(app, id, slot, EventKind::Queued);
    }
    engine(app, id, 0, EventKind::Loading);
    engine(app, id, 0, EventKind::Loaded { load_ms: 412.0, rss_bytes: 300 << 20 });
    for word in ANSWER.split_inclusive(' ') {
        engine(app, id, 0, EventKind::answer(word));
    }
    engine(app, id, 0, EventKind::Finished { stats: stats(52, 27.4) });
    engine(app, id, 1, EventKind::Loading);
    engine(app, id, 1, EventKind::Loaded { load_ms: 803.0, rss_bytes: 500 << 20 });
    for word in ANSWER.split_inclusive(' ').take(14) {
        engine(app, id, 1, EventKind::answer(word));
    }
    app.handle(Event::Tick { now: t0 + Duration::from_millis(2300), ram: None, gpu: None });
    id
}

pub fn finish(app: &mut App, id: u64, fail_last: bool) {
    for word in ANSWER.split_inclusive(' ').skip(14) {
        engine(app, id, 1, EventKind::answer(word));
    }
    engine(app, id, 1, EventKind::Finished { stats: stats(52, 18.9) });
    engine(app, id, 2, EventKind::Loading);
    if fail_last {
        let error = Error::InsufficientMemory {
            model: "llama-3.2-1b-instruct-q4_k_m".into(),
            what: "RAM".into(),
            needed: 9 << 30,
            available: 4 << 30,
            fix: "lower backend.context_size (now 4096), or raise n_gpu_layers to move layers to the GPU".into(),
        };
        engine(app, id, 2, EventKind::Failed { error, stats: None });
    } else {
        engine(app, id, 2, EventKind::Loaded { load_ms: 1203.0, rss_bytes: 900 << 20 });
        for word in ANSWER.split_inclusive(' ') {
            engine(app, id, 2, EventKind::answer(word));
        }
        engine(app, id, 2, EventKind::Finished { stats: stats(52, 11.2) });
    }
    engine(app, id, 3, EventKind::RunDone);
    let t = app.now + Duration::from_millis(6100);
    app.handle(Event::Tick { now: t, ram: None, gpu: None });
}
