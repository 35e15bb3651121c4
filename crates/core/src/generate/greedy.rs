//! Greedy search (transformers `_sample` with `do_sample=False`).

use super::{FinishReason, Generated, SearchOptions, StepModel, TokenObserver, deliver_step};
use crate::cancel::CancelFlag;
use crate::error::{Error, Result};

/// Greedy decoding of one sequence: argmax (first maximum) of the processed logits until EOS or the
/// length limit.
pub fn greedy_search(
    model: &mut dyn StepModel,
    options: &SearchOptions,
    cancel: &CancelFlag,
    observer: &mut dyn TokenObserver,
) -> Result<Generated> {
    let max_length = options.max_new_tokens + 1;
    let mut ids: Vec<u32> = Vec::with_capacity(max_length);
    ids.push(options.decoder_start_token_id);
    let vocab = model.vocab_size();
    let mut scores = vec![0.0f32; vocab];
    let mut steps = 0;
    let mut finish = FinishReason::MaxTokens;
    while ids.len() < max_length {
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let last = [ids[ids.len() - 1]];
        let logits = model.step(&last, None)?;
        steps += 1;
        scores.copy_from_slice(&logits[..vocab]);
        options.processors.apply(&ids, &mut scores);
        let next = argmax(&scores);
        ids.push(next);
        deliver_step(cancel, observer, &ids)?;
        if next == options.eos_token_id {
            // At the limit the forced EOS is a length stop, as in the Python reference.
            if ids.len() < max_length {
                finish = FinishReason::Eos;
            }
            break;
        }
    }
    Ok(Generated { ids, finish, steps })
}

/// Index of the first maximum (torch.argmax semantics); NaN never wins.
pub(crate) fn argmax(scores: &[f32]) -> u32 {
    let mut best = 0usize;
    let mut best_value = f32::NEG_INFINITY;
    for (i, &v) in scores.iter().enumerate() {
        if v > best_value {
            best = i;
            best_value = v;
        }
    }
    u32::try_from(best).unwrap_or(u32::MAX)
}
