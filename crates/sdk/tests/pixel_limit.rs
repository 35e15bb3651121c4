//! A 20000 x 20000 image is refused by the pixel limit before anything of its size is allocated:
//! a counting global allocator records the largest single allocation and the peak of live heap
//! bytes while each huge input is refused, and both must stay far below the image's size
//! (20000² RGB = 1.2 GB; the input buffers themselves are tiny here, as a header or a short
//! buffer is all it takes to declare such an image).
//!
//! One test function on purpose: the allocator's counters are process-wide.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Tasks;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{block, good_call, shared_model};
use florence2_sdk::{Florence2Error, ImageInput, Task};

/// Counts live heap bytes, their peak, and the largest single request.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static LARGEST: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_alloc(layout.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_alloc(layout.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        note_alloc(new_size);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn note_alloc(size: usize) {
    let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(live, Ordering::Relaxed);
    LARGEST.fetch_max(size, Ordering::Relaxed);
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `image` through a caption call and returns the error, the largest single allocation and
/// the growth of the live-heap peak during the call.
fn refused(image: ImageInput) -> (Florence2Error, usize, usize) {
    let model = shared_model();
    let live_before = LIVE.load(Ordering::Relaxed);
    PEAK.store(live_before, Ordering::Relaxed);
    LARGEST.store(0, Ordering::Relaxed);
    let error =
        block(model.run_task(image, Task::Caption, None)).expect_err("a 20000x20000 image must be refused");
    let largest = LARGEST.load(Ordering::Relaxed);
    let growth = PEAK.load(Ordering::Relaxed).saturating_sub(live_before);
    (error, largest, growth)
}

#[test]
fn huge_images_are_refused_without_a_large_allocation() {
    // Load and warm up the model first: its allocations are not the call's.
    good_call(&shared_model());
    let png = {
        // A real PNG header for 20000 x 20000 RGB, no pixel data.
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend_from_slice(&20_000u32.to_be_bytes());
        ihdr.extend_from_slice(&20_000u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        png.extend_from_slice(&13u32.to_be_bytes());
        png.extend_from_slice(&ihdr);
        png.extend_from_slice(&crc32(&ihdr).to_be_bytes());
        png.extend_from_slice(&[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82]);
        png
    };
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &png).unwrap();
    let cases = [
        ("PNG bytes", ImageInput::EncodedBytes { bytes: png }),
        (
            "PNG file",
            ImageInput::FilePath {
                path: file.path().display().to_string(),
            },
        ),
        (
            "RGBA",
            ImageInput::Rgba {
                bytes: vec![0; 4096],
                width: 20_000,
                height: 20_000,
                row_stride: 80_000,
            },
        ),
        (
            "BGRA",
            ImageInput::Bgra {
                bytes: vec![0; 4096],
                width: 20_000,
                height: 20_000,
                row_stride: 80_000,
            },
        ),
        (
            "YUV",
            ImageInput::Yuv420 {
                y: vec![0; 4096],
                u: vec![0; 1024],
                v: vec![0; 1024],
                width: 20_000,
                height: 20_000,
                y_row_stride: 20_000,
                uv_row_stride: 10_000,
                uv_pixel_stride: 1,
                rotation_degrees: 90,
                crop: None,
            },
        ),
    ];
    // Generous: the error text, a task, tokio bookkeeping. The image would need 1.2 GB.
    const BUDGET: usize = 1 << 20;
    for (name, image) in cases {
        let (error, largest, growth) = refused(image);
        println!("{name}: largest allocation {largest} B, live-heap peak growth {growth} B: {error}");
        match &error {
            Florence2Error::InvalidInput { detail } => {
                assert!(
                    detail.contains("20000x20000") && detail.contains("limit"),
                    "{name}: {detail}"
                )
            }
            other => panic!("{name}: expected InvalidInput, got {other:?}"),
        }
        assert!(largest < BUDGET, "{name}: an allocation of {largest} bytes");
        assert!(growth < BUDGET, "{name}: the heap grew by {growth} bytes");
        good_call(&shared_model());
    }
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
