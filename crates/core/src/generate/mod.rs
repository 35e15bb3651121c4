//! The decode loop: greedy and beam search with transformers `generate` semantics.
//!
//! The search logic here is independent of ONNX Runtime: it drives a [`StepModel`], which returns
//! the last-position logits of every row. `crate::decoder` implements it over the merged decoder.

mod beam;
mod greedy;
pub mod processors;

pub use beam::beam_search;
pub use greedy::greedy_search;
pub use processors::Processors;

use crate::cancel::CancelFlag;
use crate::error::{Error, Result};

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// The model produced the end-of-sequence token.
    Eos,
    /// `max_new_tokens` was reached (the last token is then the forced `</s>`, if forcing is on).
    MaxTokens,
}

/// Decoding settings of one call.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchOptions {
    /// Tokens to generate at most (the decoder start token not counted).
    pub max_new_tokens: usize,
    /// Beam width; 1 = greedy.
    pub num_beams: usize,
    /// Exponent of the length normalisation of finished beams.
    pub length_penalty: f32,
    /// Stop beam search once `num_beams` hypotheses are finished.
    pub early_stopping: bool,
    /// Token that starts the decoder sequence.
    pub decoder_start_token_id: u32,
    /// End-of-sequence token.
    pub eos_token_id: u32,
    /// Logits processors (their `max_length` must be `1 + max_new_tokens`).
    pub processors: Processors,
}

/// The result of a search.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    /// Generated ids, starting with the decoder start token (as transformers returns them).
    pub ids: Vec<u32>,
    /// Why it stopped.
    pub finish: FinishReason,
    /// Decoder calls made.
    pub steps: usize,
}

/// A model that, given the last token of each row, returns the next-token logits of each row.
pub trait StepModel {
    /// Width of a logits row.
    fn vocab_size(&self) -> usize;

    /// Runs one decoder step for `rows` sequences whose newest tokens are `last_tokens`.
    /// `reorder`, when given, says which previous row each row continues (beam search), so cached
    /// state must be gathered first. Returns `last_tokens.len() * vocab_size` logits.
    fn step(&mut self, last_tokens: &[u32], reorder: Option<&[usize]>) -> Result<&[f32]>;
}

/// A streaming listener's failure (in Kotlin: the exception it threw). Generation stops at that
/// step and the call fails with [`Error::Listener`](crate::Error::Listener) carrying `reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerError {
    /// What failed, in the listener's words.
    pub reason: String,
}

/// What a listener answers after a step: `true` goes on, `false` cancels the call, an error fails
/// it. Implemented for `bool` and `Result<bool, ListenerError>`.
pub trait ListenerReply {
    /// The reply as a result.
    fn into_reply(self) -> Result<bool, ListenerError>;
}

impl ListenerReply for bool {
    fn into_reply(self) -> Result<bool, ListenerError> {
        Ok(self)
    }
}

impl ListenerReply for Result<bool, ListenerError> {
    fn into_reply(self) -> Result<bool, ListenerError> {
        self
    }
}

/// Receives the best sequence so far after every step (streaming). Returning `Ok(false)` stops the
/// generation with [`Error::Cancelled`](crate::Error::Cancelled), an error with
/// [`Error::Listener`](crate::Error::Listener).
pub trait TokenObserver {
    /// Called with the ids generated so far (decoder start token included).
    fn on_step(&mut self, ids: &[u32]) -> Result<bool, ListenerError>;
}

/// An observer that ignores every step.
pub struct NoObserver;

impl TokenObserver for NoObserver {
    fn on_step(&mut self, _ids: &[u32]) -> Result<bool, ListenerError> {
        Ok(true)
    }
}

impl<F, R> TokenObserver for F
where
    F: FnMut(&[u32]) -> R,
    R: ListenerReply,
{
    fn on_step(&mut self, ids: &[u32]) -> Result<bool, ListenerError> {
        self(ids).into_reply()
    }
}

/// Hands the ids after a step to `observer` through the cancellation gate: nothing is delivered
/// once the call is cancelled (see [`CancelFlag::deliver`]).
pub(crate) fn deliver_step(cancel: &CancelFlag, observer: &mut dyn TokenObserver, ids: &[u32]) -> Result<()> {
    match cancel.deliver(|| observer.on_step(ids)) {
        Some(Ok(true)) => Ok(()),
        None | Some(Ok(false)) => Err(Error::Cancelled),
        Some(Err(failure)) => Err(Error::Listener {
            reason: failure.reason,
        }),
    }
}
