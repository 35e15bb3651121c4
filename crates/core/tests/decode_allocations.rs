//! Heap allocations per decode step, counted by a global allocator per thread (Rust allocations
//! only: ONNX Runtime's own C++ allocations do not pass through it). Prints the figures (run with
//! `--nocapture`).
//!
//! - The stock merged decoder: its self-attention cache grows by one position per step, so ONNX
//!   Runtime hands back new `present.*` tensors each step; pinned by a budget.
//! - The optimised layout (`decoder_step`, `models/optimize.py`), greedy and beam: every tensor
//!   is bound once per request and beam rows are reordered in place, so after the first step the
//!   engine allocates nothing. What remains is the `ort` crate's own bookkeeping inside
//!   `Session::run_binding` (it wraps each bound output in a new `DynValue` and collects them in
//!   a `SessionOutputs`, whether or not the caller reads them), which this test measures on a
//!   bare `run_binding` loop over the same graph and bindings: every step must cost exactly that.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;

use florence2_core::{CancelFlag, Florence2, INITIAL_CACHE_POSITIONS, LoadOptions, RunOptions};
use ort::memory::Allocator;
use ort::session::Session;
use ort::value::Tensor;

struct Counting;

thread_local! {
    /// Allocations made by this thread. Per thread, because the other tests of this binary run
    /// at the same time on their own threads: a process-wide count picked up their allocations
    /// whenever the scheduler overlapped them (a busy machine made it likely). Decoding runs
    /// on the calling thread, and ONNX Runtime's own threads allocate through C++, not here.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: the thread-local may already be gone while a thread shuts down.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

fn allocations_so_far() -> usize {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: forwards every call to the system allocator unchanged; counting touches only a
// const-initialised thread-local (no allocation, no re-entrancy).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarding the caller's layout to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarding the caller's layout to the system allocator.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: forwarding a block that `System` allocated.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations per greedy decode step of the stock merged decoder, per decoder layer.
const STOCK_BUDGET_PER_LAYER: usize = 12;

/// Heap allocations of each decode step after the first, in step order, and the steps run.
fn allocations_of_each_step(
    model: &Florence2,
    beams: usize,
    tokens: usize,
    prompt: &str,
) -> (Vec<usize>, usize) {
    let pixels: Vec<f32> = (0..3 * 160 * 160)
        .map(|i| ((i * 7919) % 251) as f32 / 64.0 - 2.0)
        .collect();
    let image = model
        .encode_pixels(&pixels, (160, 160), (640, 480), &CancelFlag::new())
        .unwrap();
    let ids = model.tokenizer().encode(prompt).unwrap();
    let mut counts = vec![0usize; tokens + 1];
    let mut n = 0usize;
    let mut observer = |_: &[u32]| {
        if n < counts.len() {
            counts[n] = allocations_so_far();
            n += 1;
        }
        true
    };
    let options = RunOptions {
        max_new_tokens: Some(tokens),
        num_beams: Some(beams),
        resize_mode: None,
    };
    let search = model.search_options(&options).unwrap();
    let (generated, _) = model
        .generate(&image, &ids, &search, &CancelFlag::new(), &mut observer)
        .unwrap();
    assert!(
        n >= 12,
        "needs a long sequence to measure, got {} steps",
        generated.steps
    );
    // counts[i] is taken right after step i + 1: each window is one whole later step.
    let per_step: Vec<usize> = counts[..n].windows(2).map(|w| w[1] - w[0]).collect();
    (per_step, generated.steps)
}

/// The same, sorted (min first, max last), for a 64-token answer.
fn allocations_per_step(model: &Florence2, beams: usize) -> (Vec<usize>, usize) {
    let (mut per_step, steps) = allocations_of_each_step(model, beams, 64, "What does the image describe?");
    per_step.sort_unstable();
    (per_step, steps)
}

/// Allocations of one `Session::run_binding` of `decoder_step.onnx` with everything bound as the
/// engine binds it (`rows` rows), in steady state: the `ort` crate's own per-run cost.
fn bare_run_binding_allocations(folder: &Path, rows: usize) -> usize {
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("config.json")).unwrap()).unwrap();
    let text = &config["text_config"];
    let get = |k: &str| text[k].as_u64().unwrap() as usize;
    let (layers, heads, d) = (
        get("decoder_layers"),
        get("decoder_attention_heads"),
        get("d_model"),
    );
    let (hd, vocab, seq, capacity) = (d / heads, get("vocab_size"), 20usize, 16usize);
    let runtime = florence2_core::OnnxRuntime::init(None).unwrap();
    let mut session = Session::builder(runtime.environment())
        .unwrap()
        .with_intra_threads(1)
        .unwrap()
        .commit_from_file(folder.join("onnx/decoder_step.onnx"))
        .unwrap();
    let allocator = Allocator::default();
    let embeds = Tensor::<f32>::new(&allocator, [rows, 1, d]).unwrap();
    let position = Tensor::<i32>::new(&allocator, [1usize]).unwrap();
    let mut logits = Tensor::<f32>::new(&allocator, [rows, vocab]).unwrap();
    let mut binding = session.create_binding().unwrap();
    binding.bind_input("inputs_embeds", &embeds).unwrap();
    binding.bind_input("past_sequence_length", &position).unwrap();
    binding.bind_output("logits", &mut logits).unwrap();
    let mut keep = Vec::new();
    for i in 0..layers {
        for kv in ["key", "value"] {
            let mut cache = Tensor::<f32>::new(&allocator, [rows, heads, capacity, hd]).unwrap();
            binding.bind_input(format!("past.{i}.{kv}"), &cache).unwrap();
            binding
                .bind_output(format!("present.{i}.{kv}"), &mut cache)
                .unwrap();
            keep.push(cache);
        }
        let k = Tensor::<f32>::new(&allocator, [1, heads, seq, hd]).unwrap();
        let vt = Tensor::<f32>::new(&allocator, [1, heads, hd, seq]).unwrap();
        binding.bind_input(format!("cross.{i}.key"), &k).unwrap();
        binding.bind_input(format!("cross.{i}.value_t"), &vt).unwrap();
        keep.push(k);
        keep.push(vt);
    }
    drop(session.run_binding(&binding).unwrap());
    let runs = 5;
    let before = allocations_so_far();
    for _ in 0..runs {
        drop(session.run_binding(&binding).unwrap());
    }
    let total = allocations_so_far() - before;
    assert_eq!(total % runs, 0, "run_binding allocates the same every run");
    total / runs
}

#[test]
fn stock_decoder_allocations_per_step() {
    let dir = common::fixture_model();
    let model = Florence2::load(&dir, &LoadOptions::default()).unwrap();
    assert!(!model.uses_decoder_step());
    let layers = model.config().decoder_layers;
    let (per_step, _) = allocations_per_step(&model, 1);
    let median = per_step[per_step.len() / 2];
    println!(
        "stock merged decoder: heap allocations per greedy step ({layers} decoder layers): median {median}, min {}, max {}",
        per_step[0],
        per_step[per_step.len() - 1]
    );
    assert!(
        median <= STOCK_BUDGET_PER_LAYER * layers,
        "{median} allocations per step exceed the budget"
    );
}

#[test]
fn optimised_decoder_allocates_nothing_per_step_beyond_ort_run_binding() {
    let dir = common::optimised_fixture("tiny-random");
    let model = Florence2::load(&dir, &LoadOptions::default()).unwrap();
    assert!(model.uses_decoder_step());
    let layers = model.config().decoder_layers;
    for beams in [1usize, 3] {
        let ort_cost = bare_run_binding_allocations(&dir, beams);
        let (per_step, steps) = allocations_per_step(&model, beams);
        println!(
            "decoder_step, {beams} beam(s), {layers} decoder layers, {steps} steps: heap allocations per step after the first: \
             min {}, max {}; of which ort's run_binding (2L + 1 = {} bound outputs): {ort_cost}; the engine's own: {}",
            per_step[0],
            per_step[per_step.len() - 1],
            2 * layers + 1,
            per_step[per_step.len() - 1] - ort_cost.min(per_step[per_step.len() - 1])
        );
        assert_eq!(
            (per_step[0], per_step[per_step.len() - 1]),
            (ort_cost, ort_cost),
            "{beams} beam(s): every step after the first must cost exactly ort's run_binding ({ort_cost}), nothing of the engine's"
        );
    }
}

#[test]
fn the_cache_grows_on_one_step_and_every_other_step_allocates_nothing_of_the_engines() {
    // An answer longer than the initial cache: the step that starts at position
    // INITIAL_CACHE_POSITIONS doubles it (new buffers, bound in place of the old ones); every
    // other step costs exactly ort's run_binding, as in the test above.
    let dir = common::optimised_fixture("tiny-random");
    let model = Florence2::load(&dir, &LoadOptions::default()).unwrap();
    let layers = model.config().decoder_layers;
    for beams in [1usize, 3] {
        let ort_cost = bare_run_binding_allocations(&dir, beams);
        // The `<OD>` prompt: on this fixture its answer runs past the initial cache.
        let prompt = "Locate the objects with category and region.";
        let (per_step, steps) = allocations_of_each_step(&model, beams, INITIAL_CACHE_POSITIONS + 20, prompt);
        assert!(
            steps > INITIAL_CACHE_POSITIONS + 1,
            "{beams} beam(s): only {steps} steps"
        );
        // per_step[k]: the allocations of step k + 1 (0-based), which writes position k + 1.
        let growing = INITIAL_CACHE_POSITIONS - 1;
        for (k, &n) in per_step.iter().enumerate() {
            if k == growing {
                // 2L new buffers and the reorder scratch grown, plus ort's cost and its rebinding.
                assert!(
                    n > ort_cost && n <= ort_cost + 8 * (2 * layers + 1),
                    "{beams} beam(s): the doubling step allocated {n} (ort alone: {ort_cost})"
                );
            } else {
                assert_eq!(n, ort_cost, "{beams} beam(s): step {} allocated {n}", k + 1);
            }
        }
        println!(
            "decoder_step, {beams} beam(s): {steps} steps, the cache doubled at position {INITIAL_CACHE_POSITIONS} \
             with {} allocations; every other step {ort_cost} (ort's run_binding)",
            per_step[growing]
        );
    }
}
