//! Heap allocations per decode step in steady state, counted by a global allocator.
//!
//! Prints the figure (run with `--nocapture`) and fails if it regresses past the budget below.
//! It is not zero: the self-attention cache grows by one position per step, so ONNX Runtime must
//! hand back new `present.*` tensors each step and the ort crate allocates a name `String` and an
//! output list per binding/run. Logits, embeddings, token ids, encoder states and cross-attention
//! K/V are bound once per sequence and cost nothing per step.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use florence2_core::{CancelFlag, Florence2, LoadOptions, RunOptions};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarding the caller's layout to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarding a block that `System` allocated.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations per greedy decode step after warm-up, for a decoder with `layers` layers.
const BUDGET_PER_LAYER: usize = 12;

#[test]
fn heap_allocations_per_decode_step() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tiny-random");
    let model = Florence2::load(&dir, &LoadOptions::default()).unwrap();
    let layers = model.config().decoder_layers;
    let pixels: Vec<f32> = (0..3 * 160 * 160)
        .map(|i| ((i * 7919) % 251) as f32 / 64.0 - 2.0)
        .collect();
    let image = model
        .encode_pixels(&pixels, (160, 160), (640, 480), &CancelFlag::new())
        .unwrap();
    let ids = model.tokenizer().encode("What does the image describe?").unwrap();
    let mut counts = [0usize; 200];
    let mut n = 0usize;
    let mut observer = |_: &[u32]| {
        if n < counts.len() {
            counts[n] = ALLOCATIONS.load(Ordering::Relaxed);
            n += 1;
        }
        true
    };
    let options = RunOptions {
        max_new_tokens: Some(64),
        num_beams: Some(1),
        resize_mode: None,
    };
    let search = model.search_options(&options).unwrap();
    let (generated, _) = model
        .generate(&image, &ids, &search, &CancelFlag::new(), &mut observer)
        .unwrap();
    assert!(
        n >= 20,
        "needs a long sequence to measure, got {} steps",
        generated.steps
    );
    let mut per_step: Vec<usize> = counts[..n].windows(2).skip(4).map(|w| w[1] - w[0]).collect();
    per_step.sort_unstable();
    let median = per_step[per_step.len() / 2];
    println!(
        "heap allocations per decode step (steady state, {layers} decoder layers): median {median}, min {}, max {}",
        per_step[0],
        per_step[per_step.len() - 1]
    );
    assert!(
        median <= BUDGET_PER_LAYER * layers,
        "{median} allocations per step exceed the budget"
    );
}
