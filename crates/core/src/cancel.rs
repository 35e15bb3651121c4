//! Cancellation of one call: a flag, the ONNX Runtime runs to terminate, and a delivery gate.
//!
//! The promise a caller gets: once [`CancelFlag::cancel_and_wait`] has returned, no decoder step
//! starts and no streamed token reaches the caller any more. Steps check the flag before they
//! start; callbacks are delivered through [`CancelFlag::deliver`], which checks the flag on the
//! delivering thread and holds a gate while the callback runs, and `cancel_and_wait` waits at that
//! gate. So the promise holds by construction, whatever the load on the machine. (The SDK cancels
//! this way when a Kotlin coroutine's call is dropped, so nothing reaches Kotlin after
//! `cancelAndJoin` returns.) [`CancelFlag::cancel`] does not wait: it may be called from anywhere,
//! a callback included, and only a callback that was already running may still finish.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, ThreadId};

use ort::session::RunOptions;

/// Cancellation of a running call. Clone it to cancel from another thread.
///
/// Checked between decoder steps; it also terminates the ONNX Runtime run in progress (so a long
/// vision or encoder pass stops too), and it gates every callback delivery (see
/// [`CancelFlag::deliver`]).
#[derive(Clone, Default)]
pub struct CancelFlag {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    cancelled: AtomicBool,
    /// The run options of this call's ONNX Runtime runs, terminated on cancel.
    runs: Mutex<Vec<Arc<RunOptions>>>,
    /// The thread delivering a callback right now, if any.
    delivering: Mutex<Option<ThreadId>>,
    delivered: Condvar,
}

impl std::fmt::Debug for CancelFlag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelFlag")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

/// Locks a mutex, taking the data of a poisoned one: every state behind these locks stays
/// consistent across a panic (a flag, a list, a thread id).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl CancelFlag {
    /// A flag that is not set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests cancellation and returns at once: the running ONNX Runtime graph is terminated,
    /// no further step starts and no further callback starts (one that is running may finish;
    /// see [`CancelFlag::cancel_and_wait`]). Safe to call from any thread, callbacks included.
    pub fn cancel(&self) {
        let shared = &self.shared;
        shared.cancelled.store(true, Ordering::SeqCst);
        for options in lock(&shared.runs).iter() {
            // Terminating a finished run is harmless; a failure only means nothing was running.
            let _ = options.terminate();
        }
    }

    /// Cancels (see [`CancelFlag::cancel`]), then waits until a callback being delivered on
    /// another thread has returned: once this returns, nothing more is delivered.
    ///
    /// Called from inside a callback of this call, it returns at once. Do not call it from a
    /// thread that a running callback waits for (that callback would wait for itself).
    pub fn cancel_and_wait(&self) {
        self.cancel();
        let shared = &self.shared;
        let me = thread::current().id();
        let mut delivering = lock(&shared.delivering);
        while delivering.is_some_and(|thread| thread != me) {
            delivering = shared
                .delivered
                .wait(delivering)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Whether cancellation was requested.
    pub fn is_cancelled(&self) -> bool {
        self.shared.cancelled.load(Ordering::SeqCst)
    }

    /// Whether `other` is a clone of this flag (the same call), not merely in the same state.
    pub fn is_same(&self, other: &CancelFlag) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Runs `callback` unless the call is cancelled, and returns its result (`None` if
    /// cancelled). The flag is checked on the calling thread, and [`CancelFlag::cancel_and_wait`]
    /// waits while the callback runs: nothing is delivered after it has returned.
    pub fn deliver<R>(&self, callback: impl FnOnce() -> R) -> Option<R> {
        let shared = &self.shared;
        let me = thread::current().id();
        {
            let mut delivering = lock(&shared.delivering);
            while delivering.is_some_and(|thread| thread != me) {
                delivering = shared
                    .delivered
                    .wait(delivering)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            // Checked under the gate: a `cancel` that stored the flag before this point waits for
            // nothing; one that stores it after waits for this delivery to end.
            if self.is_cancelled() {
                return None;
            }
            *delivering = Some(me);
        }
        // Cleared even if the callback panics, so `cancel` never waits forever.
        struct Release<'a>(&'a Shared);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                *lock(&self.0.delivering) = None;
                self.0.delivered.notify_all();
            }
        }
        let _release = Release(shared);
        Some(callback())
    }

    /// Registers the run options of an ONNX Runtime run of this call, so that [`CancelFlag::cancel`]
    /// terminates it; they are terminated at once if the call is already cancelled.
    pub(crate) fn track(&self, options: RunOptions) -> Arc<RunOptions> {
        let options = Arc::new(options);
        let mut runs = lock(&self.shared.runs);
        // Checked under the lock: a `cancel` that found the list without these options has set the
        // flag first.
        if self.is_cancelled() {
            let _ = options.terminate();
        }
        runs.push(Arc::clone(&options));
        options
    }
}

/// Calls [`CancelFlag::cancel_and_wait`] when dropped: hold one for as long as the caller waits
/// for the call, so a caller that stops waiting (a dropped future, an unwinding thread) cancels it
/// and gets nothing delivered afterwards.
#[derive(Debug)]
pub struct CancelOnDrop(pub CancelFlag);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel_and_wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn nothing_is_delivered_after_cancel_returns() {
        let flag = CancelFlag::new();
        assert_eq!(flag.deliver(|| 1), Some(1));
        flag.cancel();
        assert!(flag.is_cancelled());
        assert_eq!(flag.deliver(|| 2), None);
    }

    #[test]
    fn cancel_waits_for_the_delivery_in_progress() {
        let flag = CancelFlag::new();
        let (entered_tx, entered_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let events = Arc::new(Mutex::new(Vec::new()));
        let deliverer = {
            let flag = flag.clone();
            let events = Arc::clone(&events);
            thread::spawn(move || {
                flag.deliver(|| {
                    entered_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                    events.lock().unwrap().push("callback returned");
                })
            })
        };
        entered_rx.recv().unwrap();
        let canceller = {
            let flag = flag.clone();
            let events = Arc::clone(&events);
            thread::spawn(move || {
                flag.cancel_and_wait();
                events.lock().unwrap().push("cancel returned");
            })
        };
        // Once the flag is stored, the canceller is at the gate, blocked until the callback
        // returns. (A broken gate would let it finish here; a working one never can, so this
        // cannot fail spuriously on a busy machine.)
        while !flag.is_cancelled() {
            thread::yield_now();
        }
        for _ in 0..1000 {
            assert!(!canceller.is_finished(), "cancel returned during a delivery");
            thread::yield_now();
        }
        release_tx.send(()).unwrap();
        canceller.join().unwrap();
        assert_eq!(deliverer.join().unwrap(), Some(()));
        assert_eq!(*events.lock().unwrap(), ["callback returned", "cancel returned"]);
    }

    #[test]
    fn cancel_from_inside_a_callback_does_not_deadlock() {
        let flag = CancelFlag::new();
        let inner = flag.clone();
        assert_eq!(flag.deliver(|| inner.cancel_and_wait()), Some(()));
        assert_eq!(flag.deliver(|| ()), None);
        // `cancel` never waits, so a callback may even wait for another thread that cancels.
        let flag = CancelFlag::new();
        let remote = flag.clone();
        let joined = flag.deliver(|| thread::spawn(move || remote.cancel()).join().is_ok());
        assert_eq!(joined, Some(true));
        assert!(flag.is_cancelled());
    }

    #[test]
    fn a_panicking_callback_releases_the_gate() {
        let flag = CancelFlag::new();
        let inner = flag.clone();
        let panicked = thread::spawn(move || inner.deliver(|| panic!("listener bug"))).join();
        assert!(panicked.is_err());
        flag.cancel_and_wait(); // returns: the gate was released
        assert_eq!(flag.deliver(|| ()), None);
    }

    #[test]
    fn cancel_on_drop_cancels() {
        let flag = CancelFlag::new();
        drop(CancelOnDrop(flag.clone()));
        assert!(flag.is_cancelled());
    }
}
