//! Live mode through the SDK (issue 20), asserted by causality, never by time: a listener that
//! holds the worker inside the first delivery makes every frame submitted meanwhile wait, and each
//! newer one replaces the one waiting. So the drops, the order, the bound on frames held and the
//! silence after `stop()` follow from the order of events alone, on a busy machine too.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use common::{fresh_model, request, rgba};
use florence2_sdk::{Florence2Error, ImageInput, LiveListener, LiveOutcome, LiveResult, Task};

/// Forwards results to the test; holds the first delivery until the test releases it; records a
/// delivery that happens after `stop()` returned.
struct Gate {
    results: Mutex<Sender<LiveResult>>,
    entered: Mutex<Sender<()>>,
    release: Mutex<Receiver<()>>,
    first: AtomicBool,
    stopped: Arc<AtomicBool>,
    late: Arc<AtomicBool>,
}

impl LiveListener for Gate {
    fn on_result(&self, result: LiveResult) {
        if self.stopped.load(Ordering::SeqCst) {
            self.late.store(true, Ordering::SeqCst);
        }
        self.results.lock().unwrap().send(result).unwrap();
        if !self.first.swap(true, Ordering::SeqCst) {
            self.entered.lock().unwrap().send(()).unwrap();
            self.release.lock().unwrap().recv().unwrap();
        }
    }
}

/// A frame whose grey level is its number, so results can be matched to frames by timestamp.
fn frame(n: i64) -> ImageInput {
    let ImageInput::Rgba {
        mut bytes,
        width,
        height,
        row_stride,
    } = rgba(16, 12)
    else {
        unreachable!()
    };
    bytes.fill((n * 20 % 256) as u8);
    ImageInput::Rgba {
        bytes,
        width,
        height,
        row_stride,
    }
}

#[test]
fn stale_frames_are_dropped_results_come_in_order_and_nothing_after_stop() {
    let model = fresh_model();
    let (results_tx, results) = channel();
    let (entered_tx, entered) = channel();
    let (release, release_rx) = channel();
    let stopped = Arc::new(AtomicBool::new(false));
    let late = Arc::new(AtomicBool::new(false));
    let gate = Arc::new(Gate {
        results: Mutex::new(results_tx),
        entered: Mutex::new(entered_tx),
        release: Mutex::new(release_rx),
        first: AtomicBool::new(false),
        stopped: Arc::clone(&stopped),
        late: Arc::clone(&late),
    });
    let session = model.live(request(Task::Caption, None), gate).unwrap();

    // Frame 1 runs; its delivery holds the worker.
    session.submit(frame(1), 1_000).unwrap();
    entered.recv().unwrap();
    // Frames 2..=30 arrive while the worker is held: each replaces the one waiting.
    for n in 2..=30 {
        session.submit(frame(n), n * 1_000).unwrap();
    }
    let held = session.stats();
    assert_eq!(held.submitted, 30);
    assert_eq!(
        held.dropped, 28,
        "frames 2..=29 replaced by a newer one: {held:?}"
    );
    assert_eq!(held.processed, 1);
    release.send(()).unwrap();

    // The next result is frame 30's: the newest frame, never a stale one.
    let first = results.recv().unwrap();
    let second = results.recv().unwrap();
    assert_eq!([first.timestamp_nanos, second.timestamp_nanos], [1_000, 30_000]);
    for result in [&first, &second] {
        assert!(matches!(result.outcome, LiveOutcome::Done { .. }), "{result:?}");
        assert!(result.latency_ms >= 0.0);
    }

    // Timestamps must increase; a frame at or before the last one is refused, not queued.
    let refused = session.submit(frame(31), 30_000).unwrap_err();
    assert!(
        matches!(&refused, Florence2Error::InvalidInput { detail } if detail.contains("30000")),
        "{refused:?}"
    );

    // A frame in flight (or waiting) when stop() is called is never delivered afterwards.
    session.submit(frame(32), 32_000).unwrap();
    session.stop();
    stopped.store(true, Ordering::SeqCst);
    let stats = session.stats();
    assert!(stats.max_frames_held <= 2, "{stats:?}");
    assert_eq!(stats.failed, 0, "{stats:?}");
    assert_eq!(
        stats.processed + stats.dropped + stats.failed,
        stats.submitted,
        "every submitted frame is processed, failed or dropped: {stats:?}"
    );
    assert!(matches!(
        session.submit(frame(33), 33_000),
        Err(Florence2Error::Closed)
    ));
    session.stop();
    // stop() joined the worker, so any delivery it did not prevent has already happened.
    assert!(
        !late.load(Ordering::SeqCst),
        "a result was delivered after stop() returned"
    );
    let delivered_after_second: Vec<i64> = results.try_iter().map(|r| r.timestamp_nanos).collect();
    assert!(
        delivered_after_second.iter().all(|&t| t == 32_000),
        "only frame 32 may have finished before stop(): {delivered_after_second:?}"
    );
    assert_eq!(
        stats.processed,
        2 + delivered_after_second.len() as i64,
        "{stats:?}"
    );
}

#[test]
fn a_bad_live_request_is_refused_at_start_and_a_bad_frame_fails_alone() {
    struct Collect(Mutex<Sender<LiveResult>>);
    impl LiveListener for Collect {
        fn on_result(&self, result: LiveResult) {
            self.0.lock().unwrap().send(result).unwrap();
        }
    }
    let model = fresh_model();
    let (tx, rx) = channel();
    let listener = Arc::new(Collect(Mutex::new(tx)));
    // A grounding task without its phrase: refused before any frame.
    let error = model
        .live(request(Task::CaptionToPhraseGrounding, None), listener.clone())
        .unwrap_err();
    assert!(matches!(error, Florence2Error::InvalidInput { .. }), "{error:?}");
    assert_eq!(model.vision_runs(), Some(0));

    let session = model.live(request(Task::Caption, None), listener).unwrap();
    // A negative width is refused at submit, typed, and counted nowhere.
    let negative = ImageInput::Rgba {
        bytes: vec![0; 64],
        width: -4,
        height: 4,
        row_stride: 16,
    };
    let error = session.submit(negative, 1).unwrap_err();
    assert!(
        matches!(&error, Florence2Error::InvalidInput { detail } if detail.contains("negative")),
        "{error:?}"
    );
    // Planes too short for their geometry fail that frame only; the next one works.
    let short = ImageInput::Rgba {
        bytes: vec![0; 10],
        width: 16,
        height: 12,
        row_stride: 64,
    };
    session.submit(short, 2).unwrap();
    let failed = rx.recv().unwrap();
    assert_eq!(failed.timestamp_nanos, 2);
    assert!(matches!(failed.outcome, LiveOutcome::Failed { .. }), "{failed:?}");
    session.submit(frame(3), 3).unwrap();
    let done = rx.recv().unwrap();
    assert_eq!(done.timestamp_nanos, 3);
    assert!(matches!(done.outcome, LiveOutcome::Done { .. }), "{done:?}");
    session.stop();
    let stats = session.stats();
    assert_eq!(
        (stats.submitted, stats.failed, stats.processed),
        (2, 1, 1),
        "{stats:?}"
    );
}
