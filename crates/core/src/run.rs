//! What one call produces ([`TaskRun`], its stage [`Timings`]) and how its progress is observed
//! as text ([`TextStream`]): the types the halves and the façade share.

use std::sync::Arc;
use std::time::Duration;

use crate::cancel::CancelFlag;
use crate::error::Error;
use crate::generate::{Generated, ListenerError, ListenerReply, TokenObserver};
use crate::task::{Task, TaskOutput};
use crate::tokenizer::PromptTokenizer;

/// Time spent in each stage of a call, in milliseconds (waiting for a half of the model that
/// another call holds is not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Timings {
    /// Image decoding, resize and normalisation (0 for an image encoded earlier).
    pub preprocess: f64,
    /// Vision encoder (0 for an image encoded earlier).
    pub vision: f64,
    /// Prompt embedding and text encoder.
    pub encoder: f64,
    /// Decode loop.
    pub decoder: f64,
    /// The sum of the stages.
    pub total: f64,
}

impl Timings {
    /// Timings of the stages given, `total` their sum.
    pub fn of_stages(preprocess: f64, vision: f64, encoder: f64, decoder: f64) -> Self {
        Self {
            preprocess,
            vision,
            encoder,
            decoder,
            total: preprocess + vision + encoder + decoder,
        }
    }
}

/// Everything one task call produced.
#[derive(Debug, Clone)]
pub struct TaskRun {
    /// The task.
    pub task: Task,
    /// The prompt that was tokenised.
    pub prompt: String,
    /// Its token ids (`<s>` … `</s>`).
    pub input_ids: Vec<i64>,
    /// Generated ids (starting with the decoder start token), finish reason, steps.
    pub generated: Generated,
    /// The generated text, special tokens kept (`"</s><s>…</s>"`).
    pub text: String,
    /// The post-processed, typed result (coordinates in the original image's pixels).
    pub output: TaskOutput,
    /// Stage timings.
    pub timings: Timings,
}

impl TaskRun {
    /// New tokens per second of the decode loop.
    pub fn tokens_per_second(&self) -> f64 {
        let tokens = self.generated.ids.len().saturating_sub(1) as f64;
        if self.timings.decoder > 0.0 {
            tokens * 1e3 / self.timings.decoder
        } else {
            0.0
        }
    }
}

/// Streams the decoded text so far to a callback after every step: `callback(text, newest_id)`,
/// special tokens kept; the callback returns `true` to go on, `false` to cancel, or (as a
/// `Result`) a [`ListenerError`] to fail the call. For beam search the text is the best running
/// beam's, which may change more than its last token from one step to the next.
pub struct TextStream<F> {
    tokenizer: Arc<PromptTokenizer>,
    callback: F,
}

impl<F, R> TextStream<F>
where
    F: FnMut(&str, u32) -> R,
    R: ListenerReply,
{
    /// Wraps `callback`, decoding with `tokenizer` (see
    /// [`Florence2::tokenizer`](crate::Florence2::tokenizer)).
    pub fn new(tokenizer: Arc<PromptTokenizer>, callback: F) -> Self {
        Self { tokenizer, callback }
    }
}

impl<F, R> TokenObserver for TextStream<F>
where
    F: FnMut(&str, u32) -> R,
    R: ListenerReply,
{
    fn on_step(&mut self, ids: &[u32]) -> Result<bool, ListenerError> {
        let Some(&last) = ids.last() else {
            return Ok(true);
        };
        match self.tokenizer.decode(ids) {
            Ok(text) => (self.callback)(&text, last).into_reply(),
            Err(_) => Ok(true),
        }
    }
}

/// An ONNX Runtime failure caused by a terminated run is reported as what it is: a cancellation.
pub(crate) fn cancelled_or(error: Error, cancel: &CancelFlag) -> Error {
    if cancel.is_cancelled() {
        Error::Cancelled
    } else {
        error
    }
}

/// Milliseconds of a duration.
pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
