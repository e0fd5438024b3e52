//! Reading a model's next-token scores: the greedy choice, and how far it
//! leads the runner-up (for comparing engines at near-ties).

/// Index of the largest logit, the first one on ties (as llama.cpp's greedy).
///
/// Runs once per token over the whole vocabulary (262,144 logits for
/// Gemma), which on a GPU is a visible part of each token's time: the
/// maximum is found sixteen lanes at a time (the compiler vectorises the
/// fixed-size lane array), then its first position.
pub fn argmax(logits: &[f32]) -> u32 {
    const LANES: usize = 16;
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let chunks = logits.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (m, &v) in lanes.iter_mut().zip(chunk) {
            *m = if v > *m { v } else { *m };
        }
    }
    let mut max = lanes.iter().copied().fold(f32::NEG_INFINITY, |a, b| if b > a { b } else { a });
    for &v in tail {
        max = if v > max { v } else { max };
    }
    // NaN logits never compare greater: an all-NaN slice gives 0, as before.
    logits.iter().position(|&v| v == max).unwrap_or(0) as u32
}

/// The greedy token of `logits` and its lead over the runner-up, for
/// comparing engines: a lead near 0 is a tie any kernel may break either way.
pub fn lead(logits: &[f32]) -> (u32, f32) {
    let best = argmax(logits) as usize;
    let second = logits.iter().enumerate().filter(|(j, _)| *j != best).map(|(_, v)| *v).fold(f32::NEG_INFINITY, f32::max);
    (best as u32, logits.get(best).copied().unwrap_or(f32::NAN) - second)
}

#[cfg(test)]
mod tests {
    #[test]
    fn argmax_takes_the_first_of_equal_maxima() {
        let mut v = vec![0.0f32; 1000];
        v[17] = 3.0;
        v[500] = 3.0;
        assert_eq!(super::argmax(&v), 17);
        v[999] = 4.0;
        assert_eq!(super::argmax(&v), 999);
        assert_eq!(super::argmax(&[f32::NEG_INFINITY, -1.0, -2.0]), 1);
        assert_eq!(super::argmax(&[]), 0);
        assert_eq!(super::argmax(&[f32::NAN, f32::NAN]), 0);
    }
}
