//! Beam search with the semantics of transformers' vectorised `_beam_search` (batch of one).
//!
//! Per step: log-softmax of each running beam's logits, the processors on the log-probabilities, plus
//! the beam's running score; the best `2 * num_beams` continuations over all beams; those that end
//! (EOS or length limit) and rank among the first `num_beams` become finished hypotheses, scored
//! `sum_logprobs / generated_len ^ length_penalty`; the best `num_beams` unfinished ones run on.
//! With `early_stopping` the search ends once `num_beams` hypotheses are finished.

use super::{FinishReason, Generated, SearchOptions, StepModel, TokenObserver, deliver_step};
use crate::cancel::CancelFlag;
use crate::error::{Error, Result};

const NEG: f32 = -1.0e9;

#[derive(Clone)]
struct Hypothesis {
    ids: Vec<u32>,
    score: f32,
    finished: bool,
}

/// Beam search for one input; returns the best finished hypothesis.
pub fn beam_search(
    model: &mut dyn StepModel,
    options: &SearchOptions,
    cancel: &CancelFlag,
    observer: &mut dyn TokenObserver,
) -> Result<Generated> {
    let k = options.num_beams.max(1);
    let keep = 2 * k;
    let max_length = options.max_new_tokens + 1;
    let vocab = model.vocab_size();
    let prompt_len = 1usize;

    let start = vec![options.decoder_start_token_id];
    let mut running: Vec<Vec<u32>> = vec![start.clone(); k];
    let mut running_scores: Vec<f32> = (0..k).map(|i| if i == 0 { 0.0 } else { NEG }).collect();
    let mut finished: Vec<Hypothesis> = vec![
        Hypothesis {
            ids: start,
            score: NEG,
            finished: false
        };
        k
    ];
    let mut improvable = true;
    let mut cur_len = 1usize;
    let mut reorder: Option<Vec<usize>> = None;
    let mut row = vec![0.0f32; vocab];
    let mut candidates: Vec<(f32, usize, u32)> = Vec::with_capacity(keep);
    let mut steps = 0usize;

    loop {
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let last: Vec<u32> = running.iter().map(|s| s[s.len() - 1]).collect();
        let logits = model.step(&last, reorder.as_deref())?;
        steps += 1;

        // Best `keep` continuations over all beams.
        candidates.clear();
        for (b, seq) in running.iter().enumerate() {
            row.copy_from_slice(&logits[b * vocab..(b + 1) * vocab]);
            log_softmax(&mut row);
            options.processors.apply(seq, &mut row);
            let base = running_scores[b];
            for (tok, &lp) in row.iter().enumerate() {
                push_top(
                    &mut candidates,
                    keep,
                    (lp + base, b, u32::try_from(tok).unwrap_or(u32::MAX)),
                );
            }
        }
        let hits: Vec<bool> = candidates
            .iter()
            .map(|&(_, _, tok)| tok == options.eos_token_id || cur_len + 1 >= max_length)
            .collect();

        // Running beams for the next step: the best unfinished continuations.
        let mut order: Vec<usize> = (0..candidates.len()).collect();
        let masked = |j: usize| candidates[j].0 + if hits[j] { NEG } else { 0.0 };
        order.sort_by(|&a, &b| masked(b).total_cmp(&masked(a)).then(a.cmp(&b)));
        let next: Vec<usize> = order.into_iter().take(k).collect();

        // Finished hypotheses: merge the new ones (top-k ranked, just ended) with the old.
        let all_finished = finished.iter().all(|h| h.finished);
        let penalty = ((cur_len + 1 - prompt_len) as f32).powf(options.length_penalty);
        let mut merged = finished.clone();
        for (j, &(score, b, tok)) in candidates.iter().enumerate() {
            let just_finished = hits[j] && j < k;
            let mut s = score / penalty;
            if all_finished && options.early_stopping {
                s += NEG;
            }
            if !improvable {
                s += NEG;
            }
            if !just_finished {
                s += NEG;
            }
            let mut ids = running[b].clone();
            ids.push(tok);
            merged.push(Hypothesis {
                ids,
                score: s,
                finished: just_finished,
            });
        }
        let mut idx: Vec<usize> = (0..merged.len()).collect();
        idx.sort_by(|&a, &b| merged[b].score.total_cmp(&merged[a].score).then(a.cmp(&b)));
        finished = idx.into_iter().take(k).map(|i| merged[i].clone()).collect();

        let sources: Vec<usize> = next.iter().map(|&j| candidates[j].1).collect();
        running = next
            .iter()
            .map(|&j| {
                let (_, b, tok) = candidates[j];
                let mut s = running[b].clone();
                s.push(tok);
                s
            })
            .collect();
        running_scores = next.iter().map(|&j| masked(j)).collect();
        reorder = Some(sources);
        cur_len += 1;

        deliver_step(cancel, observer, &running[0])?;

        // Early-stop heuristic (transformers' `_check_early_stop_heuristic`).
        let best_possible = running_scores[0] / ((cur_len - prompt_len) as f32).powf(options.length_penalty);
        let worst_finished = finished.iter().map(|h| h.score).fold(f32::INFINITY, f32::min);
        let any_better = finished
            .iter()
            .any(|h| best_possible > if h.finished { worst_finished } else { NEG });
        improvable = improvable && any_better;
        let open_beam = !(finished.iter().all(|h| h.finished) && options.early_stopping);
        let can_continue = !hits.iter().all(|&h| h);
        if !(improvable && open_beam && can_continue) {
            break;
        }
    }

    let best = finished.into_iter().next().unwrap_or(Hypothesis {
        ids: vec![],
        score: NEG,
        finished: false,
    });
    let ids = best.ids;
    let finish = if ids.len() < max_length && ids.last() == Some(&options.eos_token_id) {
        FinishReason::Eos
    } else {
        FinishReason::MaxTokens
    };
    Ok(Generated { ids, finish, steps })
}

/// Keeps `top` sorted by score descending (ties: first come first), at most `n` entries.
fn push_top(top: &mut Vec<(f32, usize, u32)>, n: usize, item: (f32, usize, u32)) {
    if top.len() == n && top.last().is_some_and(|last| item.0 <= last.0) {
        return;
    }
    let pos = top.partition_point(|t| t.0 >= item.0);
    top.insert(pos, item);
    if top.len() > n {
        top.pop();
    }
}

/// In-place log-softmax (max-subtracted, as torch computes it).
pub(crate) fn log_softmax(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if !max.is_finite() {
        return;
    }
    let sum: f32 = row.iter().map(|&v| (v - max).exp()).sum();
    let log_sum = sum.ln();
    for v in row.iter_mut() {
        *v = *v - max - log_sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{NoObserver, Processors};

    /// A model whose next-token distribution depends only on the last token.
    struct Table {
        vocab: usize,
        logits: Vec<f32>,
        table: Vec<Vec<f32>>,
    }

    impl StepModel for Table {
        fn vocab_size(&self) -> usize {
            self.vocab
        }
        fn step(&mut self, last: &[u32], _reorder: Option<&[usize]>) -> Result<&[f32]> {
            self.logits.clear();
            for &t in last {
                self.logits.extend_from_slice(&self.table[t as usize]);
            }
            Ok(&self.logits)
        }
    }

    fn options(num_beams: usize, max_new_tokens: usize) -> SearchOptions {
        SearchOptions {
            max_new_tokens,
            num_beams,
            length_penalty: 1.0,
            early_stopping: true,
            decoder_start_token_id: 2,
            eos_token_id: 2,
            processors: Processors {
                no_repeat_ngram_size: 0,
                forced_bos_token_id: None,
                forced_eos_token_id: None,
                max_length: max_new_tokens + 1,
            },
        }
    }

    #[test]
    fn beam_finds_the_sequence_greedy_misses() {
        // From start (2): token 3 looks best (ln 0.6) but leads to a flat distribution; token 4
        // (ln 0.4) leads to EOS with certainty. Beam search must prefer 2,4,2.
        let ln = |p: f32| p.ln();
        let mut table = vec![vec![f32::NEG_INFINITY; 5]; 5];
        table[2] = vec![
            f32::NEG_INFINITY,
            f32::NEG_INFINITY,
            f32::NEG_INFINITY,
            ln(0.6),
            ln(0.4),
        ];
        table[3] = vec![ln(0.2); 5];
        table[4] = vec![
            f32::NEG_INFINITY,
            f32::NEG_INFINITY,
            0.0,
            f32::NEG_INFINITY,
            f32::NEG_INFINITY,
        ];
        table[0] = table[3].clone();
        table[1] = table[3].clone();
        let mut model = Table {
            vocab: 5,
            logits: vec![],
            table,
        };
        let greedy =
            crate::generate::greedy_search(&mut model, &options(1, 2), &CancelFlag::new(), &mut NoObserver)
                .unwrap();
        assert_eq!(greedy.ids, vec![2, 3, 0]);
        let beam = beam_search(&mut model, &options(2, 5), &CancelFlag::new(), &mut NoObserver).unwrap();
        assert_eq!(beam.ids, vec![2, 4, 2]);
        assert_eq!(beam.finish, FinishReason::Eos);
    }

    #[test]
    fn cancellation_is_checked_between_steps() {
        let table = vec![vec![0.0f32; 3]; 3];
        let mut model = Table {
            vocab: 3,
            logits: vec![],
            table,
        };
        let cancel = CancelFlag::new();
        cancel.cancel();
        let err = beam_search(&mut model, &options(2, 5), &cancel, &mut NoObserver).unwrap_err();
        assert!(matches!(err, Error::Cancelled));
    }

    #[test]
    fn log_softmax_matches_direct_formula() {
        let mut row = vec![1.0f32, 2.0, 3.0];
        log_softmax(&mut row);
        let z: f32 = (1.0f32.exp() + 2.0f32.exp() + 3.0f32.exp()).ln();
        for (v, x) in row.iter().zip([1.0f32, 2.0, 3.0]) {
            assert!((v - (x - z)).abs() < 1e-6);
        }
    }
}
