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

struct Hypothesis {
    ids: Vec<u32>,
    score: f32,
    finished: bool,
}

/// A continuation: its running score, the beam it extends, its token.
type Candidate = (f32, usize, u32);

/// The state of one beam search between steps. Every buffer is allocated when the search starts
/// (sequences with room for `max_length` tokens, double-buffered where a step rebuilds them), so
/// a step allocates nothing.
struct Beams<'o> {
    options: &'o SearchOptions,
    /// Beam width.
    k: usize,
    /// `1 + max_new_tokens`.
    max_length: usize,
    /// The running sequences (decoder start token included) and their scores; `next_*` are
    /// rebuilt by each step and swapped in.
    running: Vec<Vec<u32>>,
    next_running: Vec<Vec<u32>>,
    running_scores: Vec<f32>,
    next_scores: Vec<f32>,
    /// The best `k` hypotheses so far (placeholders with score `NEG` until filled).
    finished: Vec<Hypothesis>,
    next_finished: Vec<Hypothesis>,
    /// Whether a running beam can still beat a finished one.
    improvable: bool,
    /// Length of the running sequences.
    cur_len: usize,
    /// Scratch: one row of log-probabilities, the best continuations of a step, whether each
    /// ends its sequence, merge and sort orders.
    row: Vec<f32>,
    candidates: Vec<Candidate>,
    hits: Vec<bool>,
    merged: Vec<(f32, usize)>,
    order: Vec<usize>,
    /// The newest token of each running beam, and which previous beam each continues.
    last: Vec<u32>,
    sources: Vec<usize>,
}

/// Tokens before the generated ones (the decoder start token).
const PROMPT_LEN: usize = 1;

/// Descending score, ties to the lower index (the order of a stable sort, without allocating).
fn by_score(a: &(f32, usize), b: &(f32, usize)) -> std::cmp::Ordering {
    b.0.total_cmp(&a.0).then(a.1.cmp(&b.1))
}

impl<'o> Beams<'o> {
    fn new(options: &'o SearchOptions, vocab: usize) -> Self {
        let k = options.num_beams.max(1);
        let max_length = options.max_new_tokens + 1;
        let sequence = |with_start: bool| {
            let mut ids = Vec::with_capacity(max_length + 1);
            if with_start {
                ids.push(options.decoder_start_token_id);
            }
            ids
        };
        let hypotheses = || {
            (0..k)
                .map(|_| Hypothesis {
                    ids: sequence(true),
                    score: NEG,
                    finished: false,
                })
                .collect()
        };
        Self {
            options,
            k,
            max_length,
            running: (0..k).map(|_| sequence(true)).collect(),
            next_running: (0..k).map(|_| sequence(false)).collect(),
            // Only the first beam is live at first: the others would duplicate it.
            running_scores: (0..k).map(|i| if i == 0 { 0.0 } else { NEG }).collect(),
            next_scores: vec![0.0; k],
            finished: hypotheses(),
            next_finished: hypotheses(),
            improvable: true,
            cur_len: 1,
            row: vec![0.0; vocab],
            candidates: Vec::with_capacity(2 * k + 1),
            hits: Vec::with_capacity(2 * k),
            merged: Vec::with_capacity(3 * k),
            order: Vec::with_capacity(2 * k),
            last: vec![options.decoder_start_token_id; k],
            sources: (0..k).collect(),
        }
    }

    /// The newest token of each running beam, into `last`.
    fn update_last_tokens(&mut self) {
        for (slot, s) in self.last.iter_mut().zip(&self.running) {
            *slot = s[s.len() - 1];
        }
    }

    /// The best `2k` continuations over all beams: log-softmax of each beam's logits, the
    /// processors on the log-probabilities, plus the beam's running score.
    fn rank_continuations(&mut self, logits: &[f32]) {
        let vocab = self.row.len();
        self.candidates.clear();
        for (b, seq) in self.running.iter().enumerate() {
            self.row.copy_from_slice(&logits[b * vocab..(b + 1) * vocab]);
            log_softmax(&mut self.row);
            self.options.processors.apply(seq, &mut self.row);
            let base = self.running_scores[b];
            for (tok, &lp) in self.row.iter().enumerate() {
                let token = u32::try_from(tok).unwrap_or(u32::MAX);
                push_top(&mut self.candidates, 2 * self.k, (lp + base, b, token));
            }
        }
        // Whether each candidate ends its sequence (EOS, or the length limit).
        self.hits.clear();
        for &(_, _, tok) in &self.candidates {
            self.hits
                .push(tok == self.options.eos_token_id || self.cur_len + 1 >= self.max_length);
        }
    }

    /// Merges the candidates that just ended (ranked among the first `k`) into the finished
    /// hypotheses, scored `sum_logprobs / generated_len ^ length_penalty`.
    fn collect_finished(&mut self) {
        let options = self.options;
        let all_finished = self.finished.iter().all(|h| h.finished);
        let penalty = ((self.cur_len + 1 - PROMPT_LEN) as f32).powf(options.length_penalty);
        let just_finished = |hits: &[bool], j: usize| hits[j] && j < self.k;
        // Entries 0..k are the finished hypotheses, k + j the candidate j.
        self.merged.clear();
        for (i, h) in self.finished.iter().enumerate() {
            self.merged.push((h.score, i));
        }
        for (j, &(score, _, _)) in self.candidates.iter().enumerate() {
            let mut s = score / penalty;
            if all_finished && options.early_stopping {
                s += NEG;
            }
            if !self.improvable {
                s += NEG;
            }
            if !just_finished(&self.hits, j) {
                s += NEG;
            }
            self.merged.push((s, self.k + j));
        }
        self.merged.sort_unstable_by(by_score);
        for (slot, &(score, index)) in self.next_finished.iter_mut().zip(&self.merged) {
            slot.ids.clear();
            slot.score = score;
            if let Some(old) = self.finished.get(index) {
                slot.ids.extend_from_slice(&old.ids);
                slot.finished = old.finished;
            } else {
                let j = index - self.k;
                let (_, b, tok) = self.candidates[j];
                slot.ids.extend_from_slice(&self.running[b]);
                slot.ids.push(tok);
                slot.finished = just_finished(&self.hits, j);
            }
        }
        std::mem::swap(&mut self.finished, &mut self.next_finished);
    }

    /// The best `k` unfinished continuations run on; `sources` says which previous beam each
    /// extends.
    fn advance(&mut self) {
        let masked = |candidates: &[Candidate], hits: &[bool], j: usize| {
            candidates[j].0 + if hits[j] { NEG } else { 0.0 }
        };
        self.merged.clear();
        for j in 0..self.candidates.len() {
            self.merged.push((masked(&self.candidates, &self.hits, j), j));
        }
        self.merged.sort_unstable_by(by_score);
        self.order.clear();
        self.order
            .extend(self.merged.iter().take(self.k).map(|&(_, j)| j));
        for (i, &j) in self.order.iter().enumerate() {
            let (_, b, tok) = self.candidates[j];
            let next = &mut self.next_running[i];
            next.clear();
            next.extend_from_slice(&self.running[b]);
            next.push(tok);
            self.next_scores[i] = masked(&self.candidates, &self.hits, j);
            self.sources[i] = b;
        }
        std::mem::swap(&mut self.running, &mut self.next_running);
        std::mem::swap(&mut self.running_scores, &mut self.next_scores);
        self.cur_len += 1;
    }

    /// Whether the search goes on (transformers' `_check_early_stop_heuristic` and the early
    /// stopping rule).
    fn goes_on(&mut self) -> bool {
        let options = self.options;
        let best_possible =
            self.running_scores[0] / ((self.cur_len - PROMPT_LEN) as f32).powf(options.length_penalty);
        let worst_finished = self
            .finished
            .iter()
            .map(|h| h.score)
            .fold(f32::INFINITY, f32::min);
        let any_better = self
            .finished
            .iter()
            .any(|h| best_possible > if h.finished { worst_finished } else { NEG });
        self.improvable = self.improvable && any_better;
        let open_beam = !(self.finished.iter().all(|h| h.finished) && options.early_stopping);
        let can_continue = !self.hits.iter().all(|&h| h);
        self.improvable && open_beam && can_continue
    }

    /// The best finished hypothesis and why it ended.
    fn into_best(self) -> (Vec<u32>, FinishReason) {
        let ids = self
            .finished
            .into_iter()
            .next()
            .map(|best| best.ids)
            .unwrap_or_default();
        let finish = if ids.len() < self.max_length && ids.last() == Some(&self.options.eos_token_id) {
            FinishReason::Eos
        } else {
            FinishReason::MaxTokens
        };
        (ids, finish)
    }
}

/// Beam search for one input; returns the best finished hypothesis. After the first step it
/// allocates nothing (every buffer is sized when the search starts).
pub fn beam_search(
    model: &mut dyn StepModel,
    options: &SearchOptions,
    cancel: &CancelFlag,
    observer: &mut dyn TokenObserver,
) -> Result<Generated> {
    let mut beams = Beams::new(options, model.vocab_size());
    let mut steps = 0usize;
    loop {
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        beams.update_last_tokens();
        let reorder = (steps > 0).then_some(beams.sources.as_slice());
        let logits = model.step(&beams.last, reorder)?;
        steps += 1;
        beams.rank_continuations(logits);
        beams.collect_finished();
        beams.advance();
        deliver_step(cancel, observer, &beams.running[0])?;
        if !beams.goes_on() {
            break;
        }
    }
    let (ids, finish) = beams.into_best();
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
