//! A blind vote is only blind while the answers keep their names to
//! themselves: "As Gemma, a model by Google, …" tells the voter whose
//! answer it is. LMArena drops such battles; versus flags the votes whose
//! answers name their own model, family or maker, and leaves them out of
//! the leaderboard unless asked (`--include-flagged`).

/// Families by the start of a model's name, and who makes
/// them (lowercase).
const MAKERS: &[(&str, &[&str])] = &[
    ("gemma", &["google", "deepmind"]),
    ("llama", &["meta"]),
    ("qwen", &["alibaba", "qwen team"]),
    ("smollm", &["hugging face", "huggingface"]),
    ("mistral", &["mistral ai"]),
    ("mixtral", &["mistral ai"]),
    ("phi", &["microsoft"]),
    ("deepseek", &["deepseek"]),
    ("granite", &["ibm"]),
    ("olmo", &["allen institute", "ai2"]),
    ("falcon", &["technology innovation institute"]),
    ("gpt", &["openai"]),
    ("claude", &["anthropic"]),
    ("yi", &["01.ai"]),
    ("internlm", &["shanghai ai"]),
    ("exaone", &["lg ai"]),
];

/// The words that would give a model away: its family (the letters its
/// name starts with, e.g. "smollm" of "SmolLM2-135M") and its maker. Not
/// its architecture: SmolLM and Mistral files say `llama` there, and an
/// answer naming Meta would flag them wrongly.
pub fn giveaways(names: &[&str]) -> Vec<String> {
    let mut words = Vec::new();
    for source in names {
        let family: String = source.chars().take_while(|c| c.is_ascii_alphabetic()).collect::<String>().to_lowercase();
        if family.len() >= 3 && !words.contains(&family) {
            words.push(family);
        }
    }
    for (family, makers) in MAKERS {
        if words.iter().any(|w| w.starts_with(family)) {
            words.extend(makers.iter().map(|m| m.to_string()));
        }
    }
    words
}

/// Whether `text` names the family or maker of the model called `names`
/// (its name) as a word of its own (a family may be
/// followed by digits: "Gemma3", "SmolLM2").
pub fn names_itself(text: &str, names: &[&str]) -> bool {
    let lower = text.to_lowercase();
    giveaways(names).iter().any(|w| found(&lower, w))
}

fn found(text: &str, word: &str) -> bool {
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric());
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].trim_start_matches(|c: char| c.is_ascii_digit()).chars().next();
        !alnum(before) && !alnum(after)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(name: &str) -> [&str; 1] {
        [name]
    }

    #[test]
    fn an_answer_that_names_its_family_or_maker_is_caught() {
        let gemma = model("gemma-3-270m-it-Q4_K_M");
        assert!(names_itself("I am Gemma, an open model.", &gemma));
        assert!(names_itself("I'm Gemma3.", &gemma));
        assert!(names_itself("I was trained by Google DeepMind.", &gemma));
        assert!(!names_itself("The capital of France is Paris.", &gemma));
        // A word that merely contains the name is not the name.
        assert!(!names_itself("a dilemma", &model("lemma-7b")));
        let smol = model("SmolLM2-135M-Instruct");
        assert!(names_itself("I am SmolLM, made by Hugging Face.", &smol));
        assert!(!names_itself("I am a helpful assistant.", &smol));
    }
}
