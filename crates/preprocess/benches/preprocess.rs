//! `cargo bench -p florence2-preprocess`: camera frames and photos to the 768² tensor, per
//! resize mode and backend. Pillow for the same work: `benches/pillow_bench.py`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use florence2_preprocess::{
    Backend, PreprocessConfig, Preprocessor, ResizeMode, Rotation, YuvFormat, YuvView, decode, open,
    yuv420_to_rgb8,
};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/images")
        .join(name)
}

/// A 1920x1080 NV21 frame with photo content: the astronaut fixture stretched (Reference resize),
/// converted with BT.601 limited range.
fn nv21_1080p() -> Vec<u8> {
    let img = open(fixture("astronaut_512x512.png")).unwrap();
    let mut pre = Preprocessor::new(PreprocessConfig::florence2().with_size(1920, 1080)).unwrap();
    let mut rgb = vec![0u8; 1920 * 1080 * 3];
    pre.resize_rgb8(img.view(), &mut rgb).unwrap();
    let (w, h) = (1920usize, 1080usize);
    let px = |x: usize, y: usize| {
        let p = &rgb[(y * w + x) * 3..];
        (f64::from(p[0]), f64::from(p[1]), f64::from(p[2]))
    };
    let mut out = Vec::with_capacity(w * h * 3 / 2);
    for y in 0..h {
        for x in 0..w {
            let (r, g, b) = px(x, y);
            out.push((16.0 + 0.257 * r + 0.504 * g + 0.098 * b).round() as u8);
        }
    }
    for y in (0..h).step_by(2) {
        for x in (0..w).step_by(2) {
            let (r, g, b) = px(x, y);
            out.push(
                (128.0 + 0.439 * r - 0.368 * g - 0.071 * b)
                    .round()
                    .clamp(0.0, 255.0) as u8,
            );
            out.push(
                (128.0 - 0.148 * r - 0.291 * g + 0.439 * b)
                    .round()
                    .clamp(0.0, 255.0) as u8,
            );
        }
    }
    out
}

/// A 4032x3024 JPEG (quality 90) of the coffee fixture, stretched.
fn jpeg_12mp() -> Vec<u8> {
    let img = open(fixture("coffee_600x400.png")).unwrap();
    let mut pre = Preprocessor::new(PreprocessConfig::florence2().with_size(4032, 3024)).unwrap();
    let mut rgb = vec![0u8; 4032 * 3024 * 3];
    pre.resize_rgb8(img.view(), &mut rgb).unwrap();
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90)
        .encode(&rgb, 4032, 3024, image::ExtendedColorType::Rgb8)
        .unwrap();
    bytes
}

fn backends() -> Vec<Backend> {
    let mut b = vec![Backend::Scalar];
    b.extend(Backend::simd_available());
    b
}

fn camera(c: &mut Criterion) {
    let nv21 = nv21_1080p();
    let frame = YuvView::from_packed(&nv21, 1920, 1080, YuvFormat::Nv21).unwrap();
    let mut group = c.benchmark_group("nv21_1920x1080_to_768");
    group.sample_size(30);
    for mode in [ResizeMode::Fast, ResizeMode::Reference] {
        for backend in backends() {
            let mut pre = Preprocessor::new(PreprocessConfig::florence2())
                .unwrap()
                .with_resize_mode(mode);
            pre.set_backend(backend).unwrap();
            let mut out = vec![0f32; pre.output_len()];
            group.bench_function(format!("{mode:?}/{}", backend.name()), |b| {
                b.iter(|| {
                    pre.process_yuv(black_box(&frame), Rotation::None, &mut out)
                        .unwrap()
                });
            });
        }
    }
    let mut rgb = vec![0u8; 1920 * 1080 * 3];
    group.bench_function("yuv420_to_rgb8_only", |b| {
        b.iter(|| yuv420_to_rgb8(black_box(&frame), Rotation::None, &mut rgb).unwrap());
    });
    group.finish();
}

fn photo(c: &mut Criterion) {
    let jpeg = jpeg_12mp();
    let mut group = c.benchmark_group("jpeg_4032x3024_to_768");
    group.sample_size(10);
    let image = decode(&jpeg).unwrap();
    group.bench_function("decode_only", |b| b.iter(|| decode(black_box(&jpeg)).unwrap()));
    for mode in [ResizeMode::Reference, ResizeMode::Fast] {
        let mut pre = Preprocessor::new(PreprocessConfig::florence2())
            .unwrap()
            .with_resize_mode(mode);
        let mut out = vec![0f32; pre.output_len()];
        group.bench_function(format!("{mode:?}/decode_and_process"), |b| {
            b.iter(|| {
                let img = decode(black_box(&jpeg)).unwrap();
                pre.process(img.view(), &mut out).unwrap();
            });
        });
        group.bench_function(format!("{mode:?}/process_only"), |b| {
            b.iter(|| pre.process(black_box(image.view()), &mut out).unwrap());
        });
    }
    group.finish();

    let png = open(fixture("astronaut_512x512.png")).unwrap();
    let mut group = c.benchmark_group("png_512_to_768");
    let mut pre = Preprocessor::new(PreprocessConfig::florence2()).unwrap();
    let mut out = vec![0f32; pre.output_len()];
    group.bench_function("Reference/process_only", |b| {
        b.iter(|| pre.process(black_box(png.view()), &mut out).unwrap());
    });
    group.finish();
}

criterion_group!(benches, camera, photo);
criterion_main!(benches);
