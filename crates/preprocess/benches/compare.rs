//! Our kernels against well-kept crates for the same work, in one criterion run:
//! `cargo bench -p florence2-preprocess --features compare --bench compare`.
//!
//! - NV21 1920x1080 → RGB8: ours (`yuv420_to_rgb8`) vs `yuv` (yuvutils-rs) `yuv_nv21_to_rgb`.
//! - RGB8 1920x1080 → 768x768 RGB8: ours (Pillow-exact bicubic; triangle) vs
//!   `fast_image_resize` (Catmull-Rom = Pillow's bicubic kernel; bilinear) vs the `image` crate's
//!   `imageops::resize`.
//! - NV21 1920x1080 → 768² normalised CHW f32, whole pipelines: ours (`Fast`, `Reference`) vs
//!   `yuv` + `fast_image_resize` + a normalise loop, and vs `yuv` + `image` + the same loop.
//!
//! Everything single-threaded, buffers allocated once outside the timed loop.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use florence2_preprocess::{
    ImageView, PixelFormat, PreprocessConfig, Preprocessor, ResizeMode, Rotation, YuvFormat, YuvView, open,
    yuv420_to_rgb8,
};
use yuv::{YuvBiPlanarImage, YuvConversionMode, YuvRange, YuvStandardMatrix};

const W: u32 = 1920;
const H: u32 = 1080;
const OUT: u32 = 768;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/images")
        .join(name)
}

/// Photo content at 1920x1080: RGB8 and the same as an NV21 frame (BT.601 limited range).
fn frames() -> (Vec<u8>, Vec<u8>) {
    let img = open(fixture("astronaut_512x512.png")).unwrap();
    let mut pre = Preprocessor::new(PreprocessConfig::florence2().with_size(W, H)).unwrap();
    let (w, h) = (W as usize, H as usize);
    let mut rgb = vec![0u8; w * h * 3];
    pre.resize_rgb8(img.view(), &mut rgb).unwrap();
    let px = |x: usize, y: usize| {
        let p = &rgb[(y * w + x) * 3..];
        (f64::from(p[0]), f64::from(p[1]), f64::from(p[2]))
    };
    let mut nv21 = Vec::with_capacity(w * h * 3 / 2);
    for y in 0..h {
        for x in 0..w {
            let (r, g, b) = px(x, y);
            nv21.push((16.0 + 0.257 * r + 0.504 * g + 0.098 * b).round() as u8);
        }
    }
    for y in (0..h).step_by(2) {
        for x in (0..w).step_by(2) {
            let (r, g, b) = px(x, y);
            nv21.push(
                (128.0 + 0.439 * r - 0.368 * g - 0.071 * b)
                    .round()
                    .clamp(0.0, 255.0) as u8,
            );
            nv21.push(
                (128.0 - 0.148 * r - 0.291 * g + 0.439 * b)
                    .round()
                    .clamp(0.0, 255.0) as u8,
            );
        }
    }
    (rgb, nv21)
}

/// CLIP normalisation of interleaved RGB8 into CHW planes, as a crate user would write it.
fn normalise(rgb: &[u8], out: &mut [f32]) {
    const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
    const STD: [f32; 3] = [0.229, 0.224, 0.225];
    let n = rgb.len() / 3;
    let (r, rest) = out.split_at_mut(n);
    let (g, b) = rest.split_at_mut(n);
    for (((px, r), g), b) in rgb.chunks_exact(3).zip(r).zip(g).zip(b) {
        *r = (f32::from(px[0]) / 255.0 - MEAN[0]) / STD[0];
        *g = (f32::from(px[1]) / 255.0 - MEAN[1]) / STD[1];
        *b = (f32::from(px[2]) / 255.0 - MEAN[2]) / STD[2];
    }
}

fn theirs_nv21_to_rgb(nv21: &[u8], rgb: &mut [u8]) {
    let (luma, chroma) = nv21.split_at((W * H) as usize);
    let image = YuvBiPlanarImage {
        y_plane: luma,
        y_stride: W,
        uv_plane: chroma,
        uv_stride: W,
        width: W,
        height: H,
    };
    yuv::yuv_nv21_to_rgb(
        &image,
        rgb,
        W * 3,
        YuvRange::Limited,
        YuvStandardMatrix::Bt601,
        YuvConversionMode::Balanced,
    )
    .unwrap();
}

fn yuv_to_rgb(c: &mut Criterion) {
    let (_, nv21) = frames();
    let frame = YuvView::from_packed(&nv21, W, H, YuvFormat::Nv21).unwrap();
    let mut rgb = vec![0u8; (W * H * 3) as usize];
    let mut group = c.benchmark_group("nv21_1920x1080_to_rgb8");
    group.bench_function("ours", |b| {
        b.iter(|| yuv420_to_rgb8(black_box(&frame), Rotation::None, &mut rgb).unwrap());
    });
    group.bench_function("yuv_crate", |b| {
        b.iter(|| theirs_nv21_to_rgb(black_box(&nv21), &mut rgb))
    });
    group.finish();
}

fn resize(c: &mut Criterion) {
    let (rgb, _) = frames();
    let view = ImageView::packed(&rgb, W, H, PixelFormat::Rgb8).unwrap();
    let mut out = vec![0u8; (OUT * OUT * 3) as usize];
    let mut group = c.benchmark_group("rgb8_1920x1080_to_768_rgb8");
    group.sample_size(30);
    for (mode, name) in [(ResizeMode::Reference, "bicubic"), (ResizeMode::Fast, "bilinear")] {
        let mut pre = Preprocessor::new(PreprocessConfig::florence2())
            .unwrap()
            .with_resize_mode(mode);
        group.bench_function(format!("{name}/ours"), |b| {
            b.iter(|| pre.resize_rgb8(black_box(view), &mut out).unwrap());
        });
    }
    let src = ImageRef::new(W, H, &rgb, PixelType::U8x3).unwrap();
    let mut resizer = Resizer::new();
    for (filter, name) in [
        (FilterType::CatmullRom, "bicubic"),
        (FilterType::Bilinear, "bilinear"),
    ] {
        let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(filter));
        group.bench_function(format!("{name}/fast_image_resize"), |b| {
            b.iter(|| {
                let mut dst = Image::from_slice_u8(OUT, OUT, &mut out, PixelType::U8x3).unwrap();
                resizer.resize(black_box(&src), &mut dst, &options).unwrap();
            });
        });
    }
    let image = image::RgbImage::from_raw(W, H, rgb.clone()).unwrap();
    for (filter, name) in [
        (image::imageops::FilterType::CatmullRom, "bicubic"),
        (image::imageops::FilterType::Triangle, "bilinear"),
    ] {
        group.bench_function(format!("{name}/image_crate"), |b| {
            b.iter(|| black_box(image::imageops::resize(black_box(&image), OUT, OUT, filter)));
        });
    }
    group.finish();
}

fn pipeline(c: &mut Criterion) {
    let (_, nv21) = frames();
    let frame = YuvView::from_packed(&nv21, W, H, YuvFormat::Nv21).unwrap();
    let mut tensor = vec![0f32; (3 * OUT * OUT) as usize];
    let mut group = c.benchmark_group("nv21_1920x1080_to_768_tensor");
    group.sample_size(30);
    for mode in [ResizeMode::Fast, ResizeMode::Reference] {
        let mut pre = Preprocessor::new(PreprocessConfig::florence2())
            .unwrap()
            .with_resize_mode(mode);
        group.bench_function(format!("ours_{mode:?}"), |b| {
            b.iter(|| {
                pre.process_yuv(black_box(&frame), Rotation::None, &mut tensor)
                    .unwrap()
            });
        });
    }
    let mut rgb = vec![0u8; (W * H * 3) as usize];
    let mut small = vec![0u8; (OUT * OUT * 3) as usize];
    let mut resizer = Resizer::new();
    for (filter, name) in [
        (FilterType::Bilinear, "bilinear"),
        (FilterType::CatmullRom, "bicubic"),
    ] {
        let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(filter));
        group.bench_function(format!("yuv+fast_image_resize_{name}"), |b| {
            b.iter(|| {
                theirs_nv21_to_rgb(black_box(&nv21), &mut rgb);
                let src = ImageRef::new(W, H, &rgb, PixelType::U8x3).unwrap();
                let mut dst = Image::from_slice_u8(OUT, OUT, &mut small, PixelType::U8x3).unwrap();
                resizer.resize(&src, &mut dst, &options).unwrap();
                normalise(&small, &mut tensor);
            });
        });
    }
    group.bench_function("yuv+image_crate_bilinear", |b| {
        b.iter(|| {
            theirs_nv21_to_rgb(black_box(&nv21), &mut rgb);
            let image = image::RgbImage::from_raw(W, H, std::mem::take(&mut rgb)).unwrap();
            let resized = image::imageops::resize(&image, OUT, OUT, image::imageops::FilterType::Triangle);
            normalise(resized.as_raw(), &mut tensor);
            rgb = image.into_raw();
        });
    });
    group.finish();
}

criterion_group!(benches, yuv_to_rgb, resize, pipeline);
criterion_main!(benches);
