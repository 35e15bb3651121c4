//! Live mode for Kotlin: `LiveSession` over core's, results to a `LiveListener` (the Kotlin
//! façade's `Florence2.live` turns them into a `Flow<LiveResult>`).

use std::sync::Arc;

use florence2_core as core;

use crate::error::Florence2Error;
use crate::image::ImageInput;
use crate::result::TaskResult;

/// Receives live results (see `Florence2.live`).
#[uniffi::export(foreign)]
pub trait LiveListener: Send + Sync {
    /// Called on the session's worker thread with each frame's result, in submission order. Never
    /// called once `LiveSession.close()` has returned.
    fn on_result(&self, result: LiveResult);
}

/// What became of one live frame.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum LiveOutcome {
    /// The task's result.
    Done {
        /// The result (coordinates in the frame's cropped, rotated pixels).
        result: TaskResult,
    },
    /// The frame could not be processed (e.g. its planes do not match their geometry).
    Failed {
        /// Why.
        detail: String,
    },
}

/// The result of one live frame.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct LiveResult {
    /// The frame's timestamp as submitted (e.g. `ImageProxy.imageInfo.timestamp`, nanoseconds).
    pub timestamp_nanos: i64,
    /// Milliseconds from the frame's submission to this result.
    pub latency_ms: f64,
    /// The result or the failure.
    pub outcome: LiveOutcome,
}

/// What a live session has done so far.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct LiveStats {
    /// Frames submitted.
    pub submitted: i64,
    /// Frames whose successful result was delivered.
    pub processed: i64,
    /// Frames whose failure was delivered.
    pub failed: i64,
    /// Frames never delivered: replaced by a newer one before they started, or waiting, running
    /// or finishing when the session was closed. `processed + failed + dropped == submitted`
    /// once the session is closed.
    pub dropped: i64,
    /// The most frames held at once (processing plus waiting): at most 2.
    pub max_frames_held: i32,
    /// Mean latency of the results so far, in milliseconds.
    pub mean_latency_ms: f64,
    /// Latency of the last result, in milliseconds.
    pub last_latency_ms: f64,
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl From<core::LiveStats> for LiveStats {
    fn from(s: core::LiveStats) -> Self {
        Self {
            submitted: count(s.submitted),
            processed: count(s.processed),
            failed: count(s.failed),
            dropped: count(s.dropped),
            max_frames_held: i32::try_from(s.max_frames_held).unwrap_or(i32::MAX),
            mean_latency_ms: s.mean_latency_ms,
            last_latency_ms: s.last_latency_ms,
        }
    }
}

/// A running live session (like MediaPipe's `LIVE_STREAM`): `submit` frames at camera rate; at
/// most one frame is processed and one waits (the newest), older ones are dropped and counted.
/// Close it when done (it is `AutoCloseable`).
#[derive(Debug, uniffi::Object)]
pub struct LiveSession {
    inner: core::LiveSession,
}

impl LiveSession {
    /// Starts a session on `engine` (see `Florence2Engine.live`).
    pub(crate) fn start(
        engine: &Arc<core::Florence2>,
        request: core::TaskRequest,
        listener: Arc<dyn LiveListener>,
    ) -> Result<Arc<Self>, Florence2Error> {
        let inner = core::LiveSession::start(Arc::clone(engine), request, move |result| {
            let outcome = match result.outcome {
                Ok(run) => LiveOutcome::Done { result: run.into() },
                Err(error) => LiveOutcome::Failed {
                    detail: error.to_string(),
                },
            };
            listener.on_result(LiveResult {
                timestamp_nanos: result.timestamp,
                latency_ms: result.latency_ms,
                outcome,
            });
        })?;
        Ok(Arc::new(Self { inner }))
    }
}

#[uniffi::export]
impl LiveSession {
    /// Hands a frame over and returns at once; a frame still waiting is replaced (dropped).
    /// Timestamps must increase from frame to frame.
    ///
    /// # Errors
    /// `InvalidInput` for a bad frame description or a timestamp not after the previous one;
    /// `Closed` after `close()`.
    pub fn submit(&self, frame: ImageInput, timestamp_nanos: i64) -> Result<(), Florence2Error> {
        let frame = florence2_core::ImageInput::try_from(frame)?;
        Ok(self.inner.submit(frame, timestamp_nanos)?)
    }

    /// What the session has done so far.
    pub fn stats(&self) -> LiveStats {
        self.inner.stats().into()
    }

    /// Stops the session: the waiting frame is dropped, the running one cancelled, and no result
    /// is delivered once this returns. Idempotent.
    pub fn stop(&self) {
        self.inner.close();
    }
}
