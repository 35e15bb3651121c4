//! Live mode (like MediaPipe's `LIVE_STREAM`): camera frames are submitted at camera rate and
//! a worker runs the task on the newest one.
//!
//! At most two frames are held: the one being processed and the one waiting. A frame submitted
//! while another waits replaces it (the older one is dropped and counted), so a slow model never
//! builds a queue, memory stays bounded, and each result is about the most recent frame. Results
//! come in submission order, each with its frame's timestamp; after [`LiveSession::close`] has
//! returned, nothing more is delivered.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::Instant;

use florence2_preprocess::ImageInput;

use crate::cancel::CancelFlag;
use crate::error::{Error, Result};
use crate::generate::NoObserver;
use crate::pipeline::Florence2;
use crate::request::TaskRequest;
use crate::run::{TaskRun, ms};

/// The result of one live frame.
#[derive(Debug)]
pub struct LiveResult {
    /// The frame's timestamp, as submitted (e.g. `ImageProxy.imageInfo.timestamp`, nanoseconds).
    pub timestamp: i64,
    /// The task's result, or why the frame failed (a bad frame, an inference error).
    pub outcome: Result<TaskRun>,
    /// Milliseconds from the frame's submission to its result.
    pub latency_ms: f64,
}

/// What a live session has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LiveStats {
    /// Frames submitted.
    pub submitted: u64,
    /// Frames whose successful result was delivered.
    pub processed: u64,
    /// Frames whose run failed (their error was delivered).
    pub failed: u64,
    /// Frames never delivered: replaced by a newer one before they were started, waiting or
    /// running when the session was closed, or finished after it was closed.
    pub dropped: u64,
    /// The most frames held at once (processing plus waiting): at most 2.
    pub max_frames_held: u32,
    /// Mean latency of the delivered results, in milliseconds.
    pub mean_latency_ms: f64,
    /// Latency of the last delivered result, in milliseconds.
    pub last_latency_ms: f64,
}

/// A submitted frame.
struct Frame {
    image: ImageInput,
    timestamp: i64,
    submitted: Instant,
}

#[derive(Default)]
struct State {
    waiting: Option<Frame>,
    in_flight: bool,
    closed: bool,
    last_timestamp: Option<i64>,
    stats: LiveStats,
    latency_sum: f64,
    /// The cancel flag of the frame being processed.
    running: Option<CancelFlag>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    /// Gates every delivery: `close` waits for one in progress and stops the rest.
    delivery: CancelFlag,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running live session: see the [module docs](self).
pub struct LiveSession {
    shared: Arc<Shared>,
    worker: Mutex<Option<JoinHandle<()>>>,
    worker_thread: ThreadId,
}

impl std::fmt::Debug for LiveSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveSession")
            .field("stats", &self.stats())
            .finish()
    }
}

impl LiveSession {
    /// Starts a session running `request` on every frame it takes, delivering each result to
    /// `on_result` on the session's worker thread.
    ///
    /// # Errors
    /// The planning errors of [`Florence2::plan`]: the request is checked once, here;
    /// [`Error::InvalidInput`] if the worker thread cannot be started.
    pub fn start(
        model: Arc<Florence2>,
        request: TaskRequest,
        on_result: impl FnMut(LiveResult) + Send + 'static,
    ) -> Result<Self> {
        model.plan(&request, None)?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            delivery: CancelFlag::new(),
        });
        let worker_shared = Arc::clone(&shared);
        let worker = thread::Builder::new()
            .name("florence2-live".into())
            .spawn(move || work(&worker_shared, &model, &request, on_result))
            .map_err(|e| Error::InvalidInput {
                detail: format!("cannot start the live worker thread: {e}"),
            })?;
        let worker_thread = worker.thread().id();
        Ok(Self {
            shared,
            worker: Mutex::new(Some(worker)),
            worker_thread,
        })
    }

    /// Hands a frame over, replacing (and counting as dropped) a frame still waiting. Returns at
    /// once. Timestamps must increase from frame to frame.
    ///
    /// # Errors
    /// [`Error::Closed`] after [`LiveSession::close`]; [`Error::InvalidInput`] for a timestamp
    /// not after the previous frame's.
    pub fn submit(&self, image: ImageInput, timestamp: i64) -> Result<()> {
        let mut state = lock(&self.shared.state);
        if state.closed {
            return Err(Error::Closed);
        }
        if let Some(last) = state.last_timestamp
            && timestamp <= last
        {
            return Err(Error::InvalidInput {
                detail: format!("live frame timestamp {timestamp} is not after the previous frame's {last}"),
            });
        }
        state.last_timestamp = Some(timestamp);
        state.stats.submitted += 1;
        if state.waiting.is_some() {
            state.stats.dropped += 1;
        }
        state.waiting = Some(Frame {
            image,
            timestamp,
            submitted: Instant::now(),
        });
        let held = u32::from(state.in_flight) + 1;
        state.stats.max_frames_held = state.stats.max_frames_held.max(held);
        drop(state);
        self.shared.wake.notify_all();
        Ok(())
    }

    /// What the session has done so far.
    pub fn stats(&self) -> LiveStats {
        lock(&self.shared.state).stats
    }

    /// Stops the session: the waiting frame is dropped, the running one is cancelled, and once
    /// this returns nothing more is delivered. Idempotent; safe from inside `on_result`.
    pub fn close(&self) {
        {
            let mut state = lock(&self.shared.state);
            if !state.closed {
                state.closed = true;
                if state.waiting.take().is_some() {
                    state.stats.dropped += 1;
                }
            }
            if let Some(running) = &state.running {
                running.cancel();
            }
        }
        self.shared.wake.notify_all();
        self.shared.delivery.cancel_and_wait();
        if thread::current().id() != self.worker_thread {
            let worker = lock(&self.worker).take();
            if let Some(worker) = worker {
                let _ = worker.join();
            }
        }
    }
}

impl Drop for LiveSession {
    fn drop(&mut self) {
        self.close();
    }
}

/// The worker: takes the newest frame, runs the task, delivers the result; until closed.
fn work(shared: &Shared, model: &Florence2, request: &TaskRequest, mut on_result: impl FnMut(LiveResult)) {
    loop {
        let (frame, cancel) = {
            let mut state = lock(&shared.state);
            while state.waiting.is_none() && !state.closed {
                state = shared.wake.wait(state).unwrap_or_else(PoisonError::into_inner);
            }
            let Some(frame) = state.waiting.take().filter(|_| !state.closed) else {
                return;
            };
            let cancel = CancelFlag::new();
            state.in_flight = true;
            state.running = Some(cancel.clone());
            (frame, cancel)
        };
        let outcome = model.run(&frame.image, request, &cancel, &mut NoObserver);
        let latency_ms = ms(frame.submitted.elapsed());
        let result = LiveResult {
            timestamp: frame.timestamp,
            outcome,
            latency_ms,
        };
        // Counted under the delivery gate, so a frame is "processed" or "failed" only if its result
        // is delivered, and every other frame (cancelled by `close`, or finished after it) is
        // "dropped": every submitted frame is counted exactly once.
        let delivered = shared.delivery.deliver(|| {
            if !settle(shared, Some(&result)) {
                return false;
            }
            on_result(result);
            true
        });
        match delivered {
            Some(true) => {}
            Some(false) => return,
            None => {
                settle(shared, None);
                return;
            }
        }
    }
}

/// Ends the frame in flight: counts it as processed or failed when its `result` is to be
/// delivered (and the session is open), else as dropped. Returns whether to deliver it.
fn settle(shared: &Shared, result: Option<&LiveResult>) -> bool {
    let mut state = lock(&shared.state);
    state.in_flight = false;
    state.running = None;
    let Some(result) = result.filter(|_| !state.closed) else {
        state.stats.dropped += 1;
        return false;
    };
    match &result.outcome {
        Ok(_) => state.stats.processed += 1,
        Err(_) => state.stats.failed += 1,
    }
    let delivered = state.stats.processed + state.stats.failed;
    state.latency_sum += result.latency_ms;
    state.stats.last_latency_ms = result.latency_ms;
    state.stats.mean_latency_ms = state.latency_sum / delivered as f64;
    true
}
