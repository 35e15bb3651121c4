//! After the first call for an input size, `Preprocessor::process` allocates nothing; an image
//! over the pixel limit is refused before any pixel buffer is allocated.
//!
//! Its own test binary: the counting allocator is global. Counting is per thread, so the test
//! harness's own threads do not disturb the numbers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use florence2_preprocess::{
    CropRect, ImageView, PixelFormat, PreprocessConfig, Preprocessor, ResizeMode, Rotation, YuvFormat,
    YuvPlane, YuvView,
};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn count(bytes: usize) {
    // `try_with`: the thread-local may already be gone while a thread shuts down.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(bytes)));
}

// SAFETY: forwards every call to the system allocator unchanged; counting touches only a
// const-initialised thread-local (no allocation, no re-entrancy).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

/// The largest single allocation `f` made on this thread, in bytes.
fn largest_allocation_during(f: impl FnOnce()) -> usize {
    LARGEST.with(|largest| largest.set(0));
    f();
    LARGEST.with(Cell::get)
}

#[test]
fn images_over_the_pixel_limit_are_refused_before_any_pixel_buffer_exists() {
    use florence2_preprocess::{DecodeLimits, PreprocessError, decode};
    // 20000 x 20000 RGB would need 1.2 GB; the header alone says so.
    for bytes in [
        common::png_header_only(20_000, 20_000),
        common::jpeg_with_size(20_000, 20_000),
    ] {
        let mut result = None;
        let largest = largest_allocation_during(|| result = Some(decode(&bytes)));
        assert!(
            matches!(
                result,
                Some(Err(PreprocessError::TooManyPixels {
                    max_pixels: DecodeLimits::DEFAULT_MAX_PIXELS,
                    ..
                }))
            ),
            "{result:?}"
        );
        assert!(
            largest < 1 << 20,
            "a {largest}-byte allocation before the refusal"
        );
    }
    // The witness works: decoding an image within the limit allocates at least its pixels.
    let jpeg = std::fs::read(common::data().join("decode/jpeg_420_q90.jpg")).unwrap();
    let largest = largest_allocation_during(|| {
        decode(&jpeg).unwrap();
    });
    assert!(largest >= 64 * 48 * 3, "{largest}");
}

fn noise(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

#[test]
fn process_allocates_nothing_after_warm_up() {
    let mut pre = Preprocessor::new(PreprocessConfig::florence2().with_size(160, 160)).unwrap();
    let mut out = vec![0f32; pre.output_len()];
    let mut rgb_out = vec![0u8; pre.output_len()];

    // (width, height, stride padding, format): horizontal-first, vertical-first, one pass, copy, gray.
    let inputs: Vec<(u32, u32, usize, PixelFormat)> = vec![
        (640, 480, 0, PixelFormat::Rgb8),
        (480, 640, 16, PixelFormat::Rgba8),
        (31, 517, 0, PixelFormat::Bgra8),
        (160, 300, 0, PixelFormat::Rgb8),
        (160, 160, 4, PixelFormat::Rgb8),
        (300, 220, 0, PixelFormat::Gray8),
    ];
    let buffers: Vec<(Vec<u8>, usize)> = inputs
        .iter()
        .map(|&(w, h, pad, f)| {
            let stride = w as usize * f.bytes_per_pixel() + pad;
            (noise(stride * h as usize), stride)
        })
        .collect();
    let view = |i: usize| {
        let (w, h, _, f) = inputs[i];
        ImageView::new(&buffers[i].0, w, h, buffers[i].1, f).unwrap()
    };

    // The counter sees allocations (so a zero below means something).
    assert_eq!(
        allocations_during(|| drop(std::hint::black_box(vec![1u8; 64]))),
        1
    );

    let mut report = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let first = allocations_during(|| pre.process(view(i), &mut out).unwrap());
        let steady = allocations_during(|| {
            for _ in 0..3 {
                pre.process(view(i), &mut out).unwrap();
                pre.resize_rgb8(view(i), &mut rgb_out).unwrap();
            }
        });
        report.push(format!(
            "{input:?}: first call {first} allocations, then {steady}"
        ));
        assert_eq!(steady, 0, "{input:?}: {steady} allocations after warm-up");
    }
    // Once every size has been seen, the scratch buffers are large enough for all of them:
    // switching between sizes recomputes the coefficient tables in place, still allocation-free.
    let switching = allocations_during(|| {
        for _ in 0..2 {
            for i in 0..inputs.len() {
                pre.process(view(i), &mut out).unwrap();
            }
        }
    });
    report.push(format!("alternating between all sizes: {switching} allocations"));
    assert_eq!(switching, 0);
    println!("{}", report.join("\n"));
}

#[test]
fn process_yuv_allocates_nothing_after_warm_up() {
    let mut pre = Preprocessor::new(PreprocessConfig::florence2().with_size(96, 96)).unwrap();
    let mut out = vec![0f32; pre.output_len()];
    // 640x480 NV21 (packed), and a 3-plane YUV_420_888 with padded strides and odd size.
    let nv21 = noise(YuvFormat::Nv21.frame_len(640, 480) as usize);
    let (w, h, ys, cs) = (321u32, 239u32, 384usize, 384usize);
    let luma = noise(ys * (h as usize - 1) + w as usize);
    let chroma = noise(cs * (h.div_ceil(2) as usize - 1) + 2 * w.div_ceil(2) as usize);
    let planar = || {
        YuvView::new(
            w,
            h,
            YuvPlane::new(&luma, ys, 1),
            YuvPlane::new(&chroma[1..], cs, 2),
            YuvPlane::new(&chroma, cs, 2),
        )
        .unwrap()
    };
    let packed = || YuvView::from_packed(&nv21, 640, 480, YuvFormat::Nv21).unwrap();
    let crop = CropRect::new(10, 20, 300, 200);
    let mut report = Vec::new();
    let rotations = [
        Rotation::None,
        Rotation::Clockwise90,
        Rotation::Rotate180,
        Rotation::Clockwise270,
    ];
    for (mode, rotation) in [ResizeMode::Reference, ResizeMode::Fast]
        .into_iter()
        .flat_map(|m| rotations.map(|r| (m, r)))
    {
        pre.set_resize_mode(mode);
        for (name, view) in [
            ("nv21", packed()),
            ("yuv_420_888", planar()),
            ("cropped", planar().crop(crop).unwrap()),
        ] {
            let first = allocations_during(|| pre.process_yuv(&view, rotation, &mut out).unwrap());
            let steady = allocations_during(|| {
                for _ in 0..2 {
                    pre.process_yuv(&view, rotation, &mut out).unwrap();
                }
            });
            report.push(format!(
                "{mode:?} {name} {rotation:?}: first call {first}, then {steady}"
            ));
            assert_eq!(steady, 0, "{mode:?} {name} {rotation:?}");
        }
    }
    println!("{}", report.join("\n"));
}

#[test]
fn fast_mode_on_images_allocates_nothing_after_warm_up() {
    let mut pre = Preprocessor::new(PreprocessConfig::florence2().with_size(96, 96))
        .unwrap()
        .with_resize_mode(ResizeMode::Fast);
    let mut out = vec![0f32; pre.output_len()];
    let data = noise(640 * 480 * 4);
    let view = ImageView::packed(&data, 640, 480, PixelFormat::Rgba8).unwrap();
    pre.process(view, &mut out).unwrap();
    let steady = allocations_during(|| pre.process(view, &mut out).unwrap());
    assert_eq!(steady, 0);
}

#[test]
fn rotated_and_cropped_images_allocate_nothing_after_warm_up() {
    for mode in [ResizeMode::Reference, ResizeMode::Fast] {
        let mut pre = Preprocessor::new(PreprocessConfig::florence2().with_size(96, 96))
            .unwrap()
            .with_resize_mode(mode);
        let mut out = vec![0f32; pre.output_len()];
        let data = noise(640 * 480 * 4);
        for format in [
            PixelFormat::Rgba8,
            PixelFormat::Bgra8,
            PixelFormat::Gray8,
            PixelFormat::Rgb8,
        ] {
            let view = ImageView::new(&data, 320, 240, 640 * 4, format).unwrap();
            let view = view.crop(CropRect::new(3, 5, 301, 211)).unwrap();
            for rotation in [Rotation::Clockwise90, Rotation::Rotate180, Rotation::Clockwise270] {
                pre.process_rotated(view, rotation, &mut out).unwrap();
                let steady = allocations_during(|| pre.process_rotated(view, rotation, &mut out).unwrap());
                assert_eq!(steady, 0, "{mode:?} {format:?} {rotation:?}");
            }
        }
    }
}
