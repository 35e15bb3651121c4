//! The decode loop: greedy and beam search with transformers `generate` semantics.
//!
//! The search logic here is independent of ONNX Runtime: it drives a [`StepModel`], which returns
//! the last-position logits of every row. `crate::decoder` implements it over the merged decoder.

mod beam;
mod greedy;
pub mod processors;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use ort::session::RunOptions;

pub use beam::beam_search;
pub use greedy::greedy_search;
pub use processors::Processors;

use crate::error::Result;

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

/// Cancellation of a running call: a flag checked between decoder steps, plus ONNX Runtime's run
/// termination for the graph that is running when [`CancelFlag::cancel`] is called (so a long vision
/// or encoder pass stops too). Clone it to cancel from another thread.
#[derive(Clone, Default)]
pub struct CancelFlag {
    flag: Arc<AtomicBool>,
    run_options: Arc<Mutex<Option<Arc<RunOptions>>>>,
    /// Run options that also hand the session's arena memory back after the run (vision).
    releasing_run_options: Arc<Mutex<Option<Arc<RunOptions>>>>,
}

impl std::fmt::Debug for CancelFlag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelFlag")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl CancelFlag {
    /// A flag that is not set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests cancellation: the current ONNX Runtime run is terminated and no further step starts.
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::SeqCst);
        for slot in [&self.run_options, &self.releasing_run_options] {
            if let Ok(guard) = slot.lock()
                && let Some(options) = guard.as_ref()
            {
                // Terminating a finished run is harmless; a failure only means nothing was running.
                let _ = options.terminate();
            }
        }
    }

    /// Whether cancellation was requested.
    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// The run options every ONNX Runtime call of this request uses (created on first use, after
    /// ONNX Runtime is loaded); terminated if the flag is already set.
    pub(crate) fn run_options(&self) -> crate::Result<Arc<RunOptions>> {
        Self::lazy_run_options(&self.run_options, &self.flag, false)
    }

    /// Like [`CancelFlag::run_options`], but ONNX Runtime also shrinks the session's CPU arena at
    /// the end of each run, so the activation memory of a large graph (the vision encoder) goes
    /// back to the system instead of staying reserved while the text half runs.
    pub(crate) fn run_options_releasing_arena(&self) -> crate::Result<Arc<RunOptions>> {
        Self::lazy_run_options(&self.releasing_run_options, &self.flag, true)
    }

    fn lazy_run_options(
        slot: &Mutex<Option<Arc<RunOptions>>>,
        flag: &AtomicBool,
        shrink_arena: bool,
    ) -> crate::Result<Arc<RunOptions>> {
        let mut guard = slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(options) = guard.as_ref() {
            return Ok(Arc::clone(options));
        }
        let wrap = |source| crate::Error::Inference {
            stage: crate::Component::Decoder,
            source,
        };
        let mut options = RunOptions::new().map_err(wrap)?;
        if shrink_arena {
            options
                .set("memory.enable_memory_arena_shrinkage", "cpu:0")
                .map_err(wrap)?;
        }
        let options = Arc::new(options);
        // Read under the lock: a `cancel` that found the slot empty has set the flag first.
        if flag.load(Ordering::SeqCst) {
            let _ = options.terminate();
        }
        *guard = Some(Arc::clone(&options));
        Ok(options)
    }
}

/// Receives the best sequence so far after every step (streaming). Returning `false` stops the
/// generation with [`Error::Cancelled`](crate::Error::Cancelled).
pub trait TokenObserver {
    /// Called with the ids generated so far (decoder start token included).
    fn on_step(&mut self, ids: &[u32]) -> bool;
}

/// An observer that ignores every step.
pub struct NoObserver;

impl TokenObserver for NoObserver {
    fn on_step(&mut self, _ids: &[u32]) -> bool {
        true
    }
}

impl<F: FnMut(&[u32]) -> bool> TokenObserver for F {
    fn on_step(&mut self, ids: &[u32]) -> bool {
        self(ids)
    }
}
