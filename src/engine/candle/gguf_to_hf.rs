//! Turn a Gemma 3 GGUF into a Hugging Face folder of f32 safetensors: the
//! same weights (dequantized), `config.json`, `tokenizer.json`. Used by the
//! tests and the benchmark to run candle's safetensors path on real weights
//! without downloading anything; the quantized and the f32 path of one model
//! can then be compared token for token.

use std::collections::HashMap;
use std::path::Path;

use candle_core::quantized::gguf_file;
use candle_core::{Device, Tensor};

use super::tokenizer::first_line;
use crate::catalog::gguf::{Arrays, Header};

/// GGUF tensor names → Hugging Face names, for one layer's suffixes.
fn hf_name(gguf: &str) -> Option<String> {
    Some(match gguf {
        "token_embd.weight" => "model.embed_tokens.weight".into(),
        "output_norm.weight" => "model.norm.weight".into(),
        other => {
            let rest = other.strip_prefix("blk.")?;
            let (layer, tail) = rest.split_once('.')?;
            let hf = match tail {
                "attn_q.weight" => "self_attn.q_proj.weight",
                "attn_k.weight" => "self_attn.k_proj.weight",
                "attn_v.weight" => "self_attn.v_proj.weight",
                "attn_output.weight" => "self_attn.o_proj.weight",
                "attn_q_norm.weight" => "self_attn.q_norm.weight",
                "attn_k_norm.weight" => "self_attn.k_norm.weight",
                "attn_norm.weight" => "input_layernorm.weight",
                "post_attention_norm.weight" => "post_attention_layernorm.weight",
                "ffn_norm.weight" => "pre_feedforward_layernorm.weight",
                "post_ffw_norm.weight" => "post_feedforward_layernorm.weight",
                "ffn_gate.weight" => "mlp.gate_proj.weight",
                "ffn_up.weight" => "mlp.up_proj.weight",
                "ffn_down.weight" => "mlp.down_proj.weight",
                _ => return None,
            };
            format!("model.layers.{layer}.{hf}")
        }
    })
}

pub fn gemma3_gguf_to_hf(gguf: &Path, out: &Path) -> Result<(), String> {
    let header = Header::read(gguf, Arrays::Keep)?;
    if header.architecture() != Some("gemma3") {
        return Err("only gemma3 GGUF files are converted".into());
    }
    std::fs::create_dir_all(out).map_err(|e| e.to_string())?;
    let mut file = std::fs::File::open(gguf).map_err(|e| e.to_string())?;
    let ct = gguf_file::Content::read(&mut file).map_err(|e| first_line(&e))?;
    let mut tensors: HashMap<String, Tensor> = HashMap::new();
    for name in ct.tensor_infos.keys() {
        let Some(hf) = hf_name(name) else { continue };
        let t = ct.tensor(&mut file, name, &Device::Cpu).and_then(|q| q.dequantize(&Device::Cpu)).map_err(|e| first_line(&e))?;
        // llama.cpp stores Gemma's norm weights plus one (it computes
        // x·w where Gemma computes x·(1 + w)); Hugging Face keeps w.
        let t = if hf.ends_with("norm.weight") { t.affine(1.0, -1.0).map_err(|e| first_line(&e))? } else { t };
        tensors.insert(hf, t);
    }
    candle_core::safetensors::save(&tensors, out.join("model.safetensors")).map_err(|e| first_line(&e))?;

    let u = |k: &str| header.arch_u64(k);
    let f = |k: &str| header.get(&format!("gemma3.{k}")).and_then(crate::catalog::gguf::Value::as_f64);
    let head_dim = u("attention.key_length").unwrap_or(256);
    let vocab = header.get("tokenizer.ggml.tokens").and_then(crate::catalog::gguf::Value::array_len).unwrap_or(0);
    let config = serde_json::json!({
        "architectures": ["Gemma3ForCausalLM"],
        "model_type": "gemma3_text",
        "hidden_size": u("embedding_length"),
        "intermediate_size": u("feed_forward_length"),
        "num_hidden_layers": u("block_count"),
        "num_attention_heads": u("attention.head_count"),
        "num_key_value_heads": u("attention.head_count_kv"),
        "head_dim": head_dim,
        "rms_norm_eps": f("attention.layer_norm_rms_epsilon").unwrap_or(1e-6),
        "rope_theta": f("rope.freq_base").unwrap_or(1_000_000.0),
        "rope_local_base_freq": 10000.0,
        "sliding_window": u("attention.sliding_window").unwrap_or(512),
        "sliding_window_pattern": 6,
        "max_position_embeddings": u("context_length").unwrap_or(32768),
        "query_pre_attn_scalar": head_dim,
        "vocab_size": vocab,
        "hidden_activation": "gelu_pytorch_tanh",
        "attention_bias": false,
        "final_logit_softcapping": null,
        "attn_logit_softcapping": null,
        "bos_token_id": header.u64("tokenizer.ggml.bos_token_id"),
        "eos_token_id": header.u64("tokenizer.ggml.eos_token_id"),
        "torch_dtype": "float32",
    });
    std::fs::write(out.join("config.json"), serde_json::to_string_pretty(&config).unwrap_or_default()).map_err(|e| e.to_string())?;
    let tok = super::tokenizer::from_gguf(&header)?;
    tok.tokenizer.save(out.join("tokenizer.json"), false).map_err(|e| first_line(&*e))?;
    let mut tcfg = serde_json::json!({ "bos_token": tok.bos_text, "eos_token": tok.eos_text, "add_bos_token": true });
    if let Some(t) = header.str("tokenizer.chat_template") {
        tcfg["chat_template"] = t.into();
    }
    std::fs::write(out.join("tokenizer_config.json"), tcfg.to_string()).map_err(|e| e.to_string())?;
    Ok(())
}
