//! Logits processors of transformers `generate`, in its order: no-repeat-n-gram, forced BOS,
//! forced EOS. Each works on one row of scores (raw logits for greedy, log-probabilities for beams).

/// The processors enabled for one generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Processors {
    /// Ban any token that would repeat an n-gram of this size (0 = off).
    pub no_repeat_ngram_size: usize,
    /// Forced as the token after the decoder start token.
    pub forced_bos_token_id: Option<u32>,
    /// Forced when the sequence reaches `max_length - 1`.
    pub forced_eos_token_id: Option<u32>,
    /// Total decoder length limit (start token included).
    pub max_length: usize,
}

impl Processors {
    /// Applies the processors in place to `scores` for a row whose tokens so far are `sequence`.
    pub fn apply(&self, sequence: &[u32], scores: &mut [f32]) {
        ban_repeated_ngrams(sequence, self.no_repeat_ngram_size, scores);
        let len = sequence.len();
        if let Some(bos) = self.forced_bos_token_id
            && len == 1
        {
            force(scores, bos);
        }
        if let Some(eos) = self.forced_eos_token_id
            && len + 1 == self.max_length
        {
            force(scores, eos);
        }
    }
}

fn force(scores: &mut [f32], token: u32) {
    scores.fill(f32::NEG_INFINITY);
    if let Some(s) = scores.get_mut(token as usize) {
        *s = 0.0;
    }
}

/// Sets to −∞ every token that would complete an n-gram already present in `sequence`
/// (transformers' `NoRepeatNGramLogitsProcessor`).
pub fn ban_repeated_ngrams(sequence: &[u32], n: usize, scores: &mut [f32]) {
    if n == 0 || sequence.len() < n {
        return;
    }
    let prefix_len = n - 1;
    let prefix = &sequence[sequence.len() - prefix_len..];
    for start in 0..=(sequence.len() - n) {
        if &sequence[start..start + prefix_len] == prefix
            && let Some(s) = scores.get_mut(sequence[start + prefix_len] as usize)
        {
            *s = f32::NEG_INFINITY;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn banned(seq: &[u32], n: usize) -> Vec<usize> {
        let mut s = vec![0.0f32; 10];
        ban_repeated_ngrams(seq, n, &mut s);
        (0..10).filter(|&i| s[i] == f32::NEG_INFINITY).collect()
    }

    #[test]
    fn ngram_bans_match_hand_worked_cases() {
        assert_eq!(banned(&[2, 5, 9, 7, 5, 9], 3), vec![7]);
        assert_eq!(banned(&[1, 1, 1], 2), vec![1]);
        assert_eq!(banned(&[1, 2, 3], 3), Vec::<usize>::new());
        assert_eq!(banned(&[4], 3), Vec::<usize>::new());
        assert_eq!(banned(&[4, 4], 3), Vec::<usize>::new());
        assert_eq!(banned(&[3, 4, 3, 5, 3], 2), vec![4, 5]);
        assert_eq!(banned(&[3, 4, 3], 0), Vec::<usize>::new());
    }

    #[test]
    fn forced_tokens_follow_the_length() {
        let p = Processors {
            no_repeat_ngram_size: 3,
            forced_bos_token_id: Some(0),
            forced_eos_token_id: Some(2),
            max_length: 4,
        };
        let mut s = vec![1.0f32; 5];
        p.apply(&[2], &mut s);
        assert_eq!(
            s,
            vec![
                0.0,
                f32::NEG_INFINITY,
                f32::NEG_INFINITY,
                f32::NEG_INFINITY,
                f32::NEG_INFINITY
            ]
        );
        let mut s = vec![1.0f32; 5];
        p.apply(&[2, 0], &mut s);
        assert!(s.iter().all(|v| *v == 1.0));
        let mut s = vec![1.0f32; 5];
        p.apply(&[2, 0, 4], &mut s);
        assert_eq!(s[2], 0.0);
        assert!(
            s.iter()
                .enumerate()
                .all(|(i, v)| i == 2 || *v == f32::NEG_INFINITY)
        );
    }
}
