//! The bad-input matrix (issue 9): every case drives the SDK's public Rust API (the same methods
//! Kotlin calls) with one broken input and asserts
//!
//! 1. the specific `Florence2Error` variant (the Kotlin `Florence2Exception` subclass),
//! 2. a readable message that names the problem (the file, the size, the option…),
//! 3. that the SDK stays usable: a good call on the same model object (or, for load failures, a
//!    fresh `create`) succeeds afterwards.
//!
//! Core's typed errors behind these are tested in crates/core/tests/model_errors.rs and
//! crates/preprocess/tests/errors.rs; this file checks what reaches the app. The pixel-limit
//! allocation proof is in pixel_limit.rs (it needs a counting allocator of its own).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Tasks;

use std::path::Path;

use common::{
    block, core_common, fixture_dir, fresh_model, good_call, good_image, image_bytes, quick_options, rgba,
    shared_model, undecodable_image, variant,
};
use florence2_sdk::{
    BoundingBox, Florence2Engine, Florence2Error, Florence2Options, ImageInput, Precision, PrecisionPlan,
    Task, task_from_token,
};

/// Asserts `result` failed with the variant named `expected` and a message containing every
/// needle (case-insensitive).
#[track_caller]
fn assert_error<T: std::fmt::Debug>(result: Result<T, Florence2Error>, expected: &str, needles: &[&str]) {
    let error = match result {
        Ok(value) => panic!("expected {expected}, got Ok({value:?})"),
        Err(error) => error,
    };
    assert_eq!(variant(&error), expected, "wrong variant: {error:?}");
    let message = error.to_string();
    let lower = message.to_lowercase();
    for needle in needles {
        assert!(
            lower.contains(&needle.to_lowercase()),
            "message {message:?} does not name {needle:?}"
        );
    }
}

/// A bad image on the shared model: the variant, the message, then a good call.
#[track_caller]
fn bad_image(image: ImageInput, needles: &[&str]) {
    let model = shared_model();
    assert_error(
        block(model.run_task(image, Task::Caption, None)),
        "InvalidInput",
        needles,
    );
    good_call(&model);
}

/// A bad prompt on the shared model: the variant, the message, then a good call. The request is
/// refused before its image is looked at: with an undecodable image the error is still the
/// prompt's.
#[track_caller]
fn bad_prompt(task: Task, text: Option<&str>, needles: &[&str]) {
    let model = shared_model();
    for image in [good_image(), undecodable_image()] {
        assert_error(
            block(model.run_task(image, task, text.map(str::to_owned))),
            "InvalidInput",
            needles,
        );
    }
    good_call(&model);
}

/// Loading `dir` fails with `ModelLoad` naming `needles`; then the intact fixture still loads and
/// runs (nothing process-wide was left broken).
#[track_caller]
fn bad_folder(dir: &Path, needles: &[&str]) {
    assert_error(
        block(Florence2Engine::create(
            dir.display().to_string(),
            quick_options(),
        )),
        "ModelLoad",
        needles,
    );
    let model = block(Florence2Engine::create(fixture_dir(), quick_options())).unwrap();
    good_call(&model);
}

/// Bad options: `create` fails with `InvalidInput` naming `needles`; the same folder then loads.
#[track_caller]
fn bad_options(options: Florence2Options, needles: &[&str]) {
    assert_error(
        block(Florence2Engine::create(fixture_dir(), options)),
        "InvalidInput",
        needles,
    );
    good_call(&block(Florence2Engine::create(fixture_dir(), quick_options())).unwrap());
}

/// A copy of the fixture folder with `edit` applied (graphs symlinked unless replaced).
fn broken_folder(edit: impl FnOnce(&Path)) -> tempfile::TempDir {
    let dir = core_common::fixture_copy(true);
    edit(dir.path());
    dir
}

fn replace_graph(dir: &Path, name: &str, bytes: &[u8]) {
    let path = dir.join("onnx").join(name);
    std::fs::remove_file(&path).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn fixture_graph(name: &str) -> Vec<u8> {
    std::fs::read(core_common::fixture_model().join("onnx").join(name)).unwrap()
}

fn edit_json(dir: &Path, name: &str, from: &str, to: &str) {
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{name} has no {from:?}");
    std::fs::write(path, text.replace(from, to)).unwrap();
}

fn broken_graph(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/broken")
            .join(name),
    )
    .unwrap()
}

/// A PNG of the given size whose pixel data is missing (only the header chunk and the end).
fn png_header_only(width: u32, height: u32) -> Vec<u8> {
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
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IEND", &[]);
    png
}

/// A mid-grey YUV_420_888 frame (planar chroma unless `pixel_stride` is 2).
#[allow(clippy::too_many_arguments)]
fn yuv(
    width: i32,
    height: i32,
    y_stride: i32,
    uv_stride: i32,
    pixel_stride: i32,
    rotation: i32,
) -> ImageInput {
    let (cw, ch) = ((width + 1) / 2, (height + 1) / 2);
    let y_len = (y_stride * (height - 1) + width) as usize;
    let uv_len = (uv_stride * (ch - 1) + (cw - 1) * pixel_stride + 1) as usize;
    ImageInput::Yuv420 {
        y: vec![128; y_len],
        u: vec![128; uv_len],
        v: vec![128; uv_len],
        width,
        height,
        y_row_stride: y_stride,
        uv_row_stride: uv_stride,
        uv_pixel_stride: pixel_stride,
        rotation_degrees: rotation,
        crop: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Model folder (create → ModelLoad)
// ---------------------------------------------------------------------------------------------

#[test]
fn m01_model_folder_missing() {
    bad_folder(
        Path::new("/nonexistent/florence2-model"),
        &["/nonexistent/florence2-model"],
    );
}

#[test]
fn m02_model_folder_empty() {
    let dir = tempfile::tempdir().unwrap();
    bad_folder(dir.path(), &[&dir.path().display().to_string()]);
}

#[test]
fn m03_model_folder_is_a_file() {
    let file = core_common::fixture_model().join("config.json");
    bad_folder(&file, &["config.json"]);
}

#[test]
fn m04_one_onnx_file_missing() {
    let dir = broken_folder(|d| std::fs::remove_file(d.join("onnx/decoder_model_merged.onnx")).unwrap());
    // Names the missing file and lists what the folder has.
    bad_folder(
        dir.path(),
        &["decoder_model_merged.onnx", "not found", "embed_tokens.onnx"],
    );
}

#[test]
fn m05_onnx_file_truncated() {
    let bytes = fixture_graph("encoder_model.onnx");
    let dir = broken_folder(|d| replace_graph(d, "encoder_model.onnx", &bytes[..bytes.len() / 2]));
    bad_folder(dir.path(), &["encoder_model.onnx", "text encoder"]);
}

#[test]
fn m06_onnx_file_empty() {
    let dir = broken_folder(|d| replace_graph(d, "vision_encoder.onnx", b""));
    bad_folder(dir.path(), &["vision_encoder.onnx"]);
}

#[test]
fn m07_onnx_file_not_onnx() {
    let dir = broken_folder(|d| replace_graph(d, "vision_encoder.onnx", b"<html>rate limited</html>"));
    bad_folder(dir.path(), &["vision_encoder.onnx", "vision encoder"]);
}

#[test]
fn m08_components_swapped() {
    let embed = fixture_graph("embed_tokens.onnx");
    let dir = broken_folder(|d| replace_graph(d, "encoder_model.onnx", &embed));
    bad_folder(dir.path(), &["encoder_model.onnx", "contract", "attention_mask"]);
}

#[test]
fn m09_wrong_tensor_name() {
    let dir = broken_folder(|d| {
        replace_graph(
            d,
            "embed_tokens.onnx",
            &broken_graph("embed_tokens_wrong_name.onnx"),
        )
    });
    bad_folder(dir.path(), &["embed_tokens.onnx", "input_ids", "missing", "ids"]);
}

#[test]
fn m10_wrong_tensor_dtype() {
    let dir = broken_folder(|d| {
        replace_graph(
            d,
            "embed_tokens.onnx",
            &broken_graph("embed_tokens_wrong_dtype.onnx"),
        )
    });
    bad_folder(dir.path(), &["embed_tokens.onnx", "input_ids", "element type"]);
}

#[test]
fn m11_config_json_invalid() {
    let dir = broken_folder(|d| std::fs::write(d.join("config.json"), "{\"text_config\": ").unwrap());
    bad_folder(dir.path(), &["config.json", "invalid json"]);
}

#[test]
fn m12_config_json_missing() {
    let dir = broken_folder(|d| std::fs::remove_file(d.join("config.json")).unwrap());
    bad_folder(dir.path(), &["config.json"]);
}

#[test]
fn m13_config_inconsistent_with_graphs() {
    let dir = broken_folder(|d| edit_json(d, "config.json", "\"d_model\": 32", "\"d_model\": 48"));
    bad_folder(dir.path(), &["48", "config.json implies"]);
}

#[test]
fn m14_config_internally_inconsistent() {
    // 4 decoder heads cannot split a width of 30.
    let dir = broken_folder(|d| edit_json(d, "config.json", "\"d_model\": 32", "\"d_model\": 30"));
    bad_folder(dir.path(), &["config.json", "not divisible"]);
}

#[test]
fn m15_config_missing_field() {
    // Removed from both places (top level and text_config).
    let dir = broken_folder(|d| edit_json(d, "config.json", "\"vocab_size\": 51289,", ""));
    bad_folder(dir.path(), &["config.json", "vocab_size"]);
}

#[test]
fn m16_generation_config_invalid() {
    let dir = broken_folder(|d| std::fs::write(d.join("generation_config.json"), "[1, 2").unwrap());
    bad_folder(dir.path(), &["generation_config.json", "invalid json"]);
}

#[test]
fn m17_preprocessor_config_invalid() {
    let dir = broken_folder(|d| edit_json(d, "preprocessor_config.json", "\"height\": 160", "\"height\": 0"));
    bad_folder(dir.path(), &["preprocessor_config.json", "size.height"]);
}

#[test]
fn m17b_preprocessor_config_missing() {
    let dir = broken_folder(|d| std::fs::remove_file(d.join("preprocessor_config.json")).unwrap());
    bad_folder(dir.path(), &["preprocessor_config.json"]);
}

#[test]
fn m18_tokenizer_missing() {
    let dir = broken_folder(|d| std::fs::remove_file(d.join("tokenizer.json")).unwrap());
    bad_folder(dir.path(), &["tokenizer.json", "not found"]);
}

#[test]
fn m19_tokenizer_corrupt() {
    let dir = broken_folder(|d| std::fs::write(d.join("tokenizer.json"), "{\"model\": 3}").unwrap());
    bad_folder(dir.path(), &["tokenizer.json", "cannot parse"]);
}

#[test]
fn m20_tokenizer_larger_than_the_embedding_table() {
    let dir = broken_folder(|d| {
        edit_json(d, "config.json", "\"vocab_size\": 51289", "\"vocab_size\": 1000");
    });
    bad_folder(dir.path(), &["tokenizer.json", "1000"]);
}

#[test]
fn m21_precision_not_in_the_folder() {
    // The SDK's Precision is a closed enum (an unknown name cannot be passed from Kotlin); a
    // precision whose files are absent is the error an app meets.
    let options = Florence2Options {
        precision: PrecisionPlan {
            decoder: Some(Precision::Int8),
            ..PrecisionPlan::default()
        },
        ..quick_options()
    };
    assert_error(
        block(Florence2Engine::create(fixture_dir(), options)),
        "ModelLoad",
        &["decoder_model_merged_int8.onnx", "int8"],
    );
    good_call(&shared_model());
}

#[test]
fn m22_onnx_runtime_library_missing() {
    let options = Florence2Options {
        onnx_runtime_path: Some("/nonexistent/libonnxruntime.so.1.31.1".into()),
        ..quick_options()
    };
    assert_error(
        block(Florence2Engine::create(fixture_dir(), options)),
        "RuntimeUnavailable",
        &["/nonexistent/libonnxruntime.so.1.31.1"],
    );
    good_call(&shared_model());
}

// ---------------------------------------------------------------------------------------------
// Images (run → InvalidInput)
// ---------------------------------------------------------------------------------------------

#[test]
fn i01_empty_bytes() {
    bad_image(ImageInput::EncodedBytes { bytes: Vec::new() }, &["format"]);
}

#[test]
fn i02_zero_size_png() {
    bad_image(
        ImageInput::EncodedBytes {
            bytes: png_header_only(0, 17),
        },
        &["0x17"],
    );
}

#[test]
fn i03_one_by_one_image_is_accepted() {
    // Not an error: a 1x1 image is upscaled like any other.
    let model = shared_model();
    let result = block(model.run_task(rgba(1, 1), Task::Caption, None)).unwrap();
    assert!(!result.generated_ids.is_empty(), "{result:?}");
    good_call(&model);
}

#[test]
fn i04_huge_png_refused_by_the_pixel_limit() {
    bad_image(
        ImageInput::EncodedBytes {
            bytes: png_header_only(20_000, 20_000),
        },
        &["20000x20000", "limit"],
    );
}

#[test]
fn i05_huge_rgba_refused_by_the_pixel_limit() {
    // The buffer is far too short as well; the size limit is reported first.
    bad_image(
        ImageInput::Rgba {
            bytes: vec![0; 64],
            width: 20_000,
            height: 20_000,
            row_stride: 80_000,
        },
        &["20000x20000", "limit"],
    );
}

#[test]
fn i06_pixel_limit_is_configurable() {
    let options = Florence2Options {
        max_image_pixels: Some(20 * 20),
        ..quick_options()
    };
    let model = block(Florence2Engine::create(fixture_dir(), options)).unwrap();
    // 23x17 = 391 pixels fit; 21x20 does not (RGBA, file bytes and YUV alike).
    good_call(&model);
    assert_error(
        block(model.run_task(rgba(21, 20), Task::Caption, None)),
        "InvalidInput",
        &["21x20", "400"],
    );
    let png = ImageInput::EncodedBytes {
        bytes: image_bytes("chelsea_451x300.png"),
    };
    assert_error(
        block(model.run_task(png, Task::Caption, None)),
        "InvalidInput",
        &["451x300", "400"],
    );
    assert_error(
        block(model.run_task(yuv(22, 20, 22, 11, 1, 0), Task::Caption, None)),
        "InvalidInput",
        &["22x20"],
    );
    good_call(&model);
    // 0 would refuse everything: a typed error at create.
    bad_options(
        Florence2Options {
            max_image_pixels: Some(0),
            ..quick_options()
        },
        &["max_image_pixels"],
    );
}

#[test]
fn i07_truncated_png() {
    let bytes = image_bytes("chelsea_451x300.png");
    bad_image(
        ImageInput::EncodedBytes {
            bytes: bytes[..bytes.len() / 2].to_vec(),
        },
        &["png"],
    );
}

#[test]
fn i08_truncated_jpeg() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../preprocess/tests/data/decode/jpeg_420_q90.jpg");
    let bytes = std::fs::read(path).unwrap();
    bad_image(
        ImageInput::EncodedBytes {
            bytes: bytes[..bytes.len() / 3].to_vec(),
        },
        &["jpeg"],
    );
}

#[test]
fn i09_unsupported_format() {
    let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
    bad_image(ImageInput::EncodedBytes { bytes: gif.to_vec() }, &["format"]);
}

#[test]
fn i10_file_missing() {
    bad_image(
        ImageInput::FilePath {
            path: "/nonexistent/photo.jpg".into(),
        },
        &["/nonexistent/photo.jpg"],
    );
}

#[test]
fn i11_rgba_buffer_too_short() {
    bad_image(
        ImageInput::Rgba {
            bytes: vec![0; 10 * 10 * 4 - 1],
            width: 10,
            height: 10,
            row_stride: 40,
        },
        &["399", "400"],
    );
}

#[test]
fn i12_rgba_stride_below_the_row() {
    bad_image(
        ImageInput::Rgba {
            bytes: vec![0; 10 * 10 * 4],
            width: 10,
            height: 10,
            row_stride: 39,
        },
        &["stride 39", "40"],
    );
}

#[test]
fn i13_rgba_zero_width() {
    bad_image(
        ImageInput::Rgba {
            bytes: vec![0; 64],
            width: 0,
            height: 4,
            row_stride: 0,
        },
        &["zero size", "0x4"],
    );
}

#[test]
fn i14_bgra_buffer_too_short() {
    bad_image(
        ImageInput::Bgra {
            bytes: vec![0; 100],
            width: 8,
            height: 8,
            row_stride: 32,
        },
        &["100", "256"],
    );
}

// ---------------------------------------------------------------------------------------------
// YUV camera frames (run → InvalidInput)
// ---------------------------------------------------------------------------------------------

#[test]
fn y01_odd_dimensions_are_accepted() {
    // Not an error: YUV_420_888 allows odd sizes (the last chroma sample covers one column/row).
    let model = shared_model();
    block(model.run_task(yuv(15, 9, 15, 8, 1, 0), Task::Caption, None)).unwrap();
    good_call(&model);
}

#[test]
fn y02_luma_stride_below_width() {
    let mut frame = yuv(16, 8, 16, 8, 1, 0);
    if let ImageInput::Yuv420 { y_row_stride, .. } = &mut frame {
        *y_row_stride = 15;
    }
    bad_image(frame, &["Y plane", "stride 15", "16"]);
}

#[test]
fn y03_chroma_stride_below_width() {
    let mut frame = yuv(16, 8, 16, 8, 2, 0);
    if let ImageInput::Yuv420 { uv_row_stride, .. } = &mut frame {
        *uv_row_stride = 8;
    }
    bad_image(frame, &["U plane", "stride 8"]);
}

#[test]
fn y04_pixel_stride_three() {
    bad_image(yuv(16, 8, 16, 24, 3, 0), &["pixel stride 3", "1 or 2"]);
}

#[test]
fn y05_planes_too_short() {
    let mut frame = yuv(16, 8, 16, 8, 1, 0);
    if let ImageInput::Yuv420 { v, .. } = &mut frame {
        v.truncate(10);
    }
    bad_image(frame, &["V plane", "10 bytes", "32"]);
}

#[test]
fn y06_rotation_not_a_multiple_of_90() {
    bad_image(yuv(16, 8, 16, 8, 1, 45), &["45 degrees", "multiple of 90"]);
}

#[test]
fn y07_negative_sizes_are_named() {
    let ImageInput::Yuv420 { y, u, v, .. } = yuv(16, 8, 16, 8, 1, 0) else {
        unreachable!()
    };
    let frame = |width, y_row_stride, uv_pixel_stride| ImageInput::Yuv420 {
        y: y.clone(),
        u: u.clone(),
        v: v.clone(),
        width,
        height: 8,
        y_row_stride,
        uv_row_stride: 8,
        uv_pixel_stride,
        rotation_degrees: 0,
        crop: None,
    };
    bad_image(frame(-16, 16, 1), &["Yuv420.width", "-16", "negative"]);
    bad_image(frame(16, -16, 1), &["Yuv420.yRowStride", "-16", "negative"]);
    bad_image(frame(16, 16, -1), &["Yuv420.uvPixelStride", "-1", "negative"]);
}

#[test]
fn y08_zero_size_frame() {
    bad_image(
        ImageInput::Yuv420 {
            y: vec![],
            u: vec![],
            v: vec![],
            width: 0,
            height: 0,
            y_row_stride: 0,
            uv_row_stride: 0,
            uv_pixel_stride: 1,
            rotation_degrees: 0,
            crop: None,
        },
        &["zero size"],
    );
}

// ---------------------------------------------------------------------------------------------
// Prompts (run → InvalidInput)
// ---------------------------------------------------------------------------------------------

#[test]
fn p01_unknown_task_token() {
    assert_error(
        task_from_token("<DETECT>".into()),
        "InvalidInput",
        &["<DETECT>", "<OD>"],
    );
    good_call(&shared_model());
}

#[test]
fn p02_missing_required_text() {
    bad_prompt(
        Task::CaptionToPhraseGrounding,
        None,
        &["<CAPTION_TO_PHRASE_GROUNDING>", "needs a text input"],
    );
}

#[test]
fn p03_empty_required_text() {
    bad_prompt(Task::ReferringExpressionSegmentation, Some(""), &["non-empty"]);
}

#[test]
fn p04_text_for_a_task_without_input() {
    bad_prompt(
        Task::Caption,
        Some("a red car"),
        &["<CAPTION>", "takes no text input", "a red car"],
    );
}

#[test]
fn p05_text_over_the_encoder_length_limit() {
    let long = "cat ".repeat(1500);
    bad_prompt(
        Task::CaptionToPhraseGrounding,
        Some(&long),
        &["prompt too long", "1024 positions"],
    );
}

#[test]
fn p06_region_text_with_an_invalid_loc_token() {
    bad_prompt(
        Task::RegionToCategory,
        Some("<loc_1><loc_2><loc_3><loc_1000>"),
        &["<REGION_TO_CATEGORY>", "<loc_1000>", "0..=999"],
    );
}

#[test]
fn p07_region_text_that_is_not_a_region() {
    bad_prompt(
        Task::RegionToOcr,
        Some("the sign"),
        &["four <loc_N> tokens", "the sign"],
    );
}

#[test]
fn p08_region_box_not_finite() {
    let model = shared_model();
    let region = BoundingBox {
        x1: 0.0,
        y1: f64::NAN,
        x2: 10.0,
        y2: 10.0,
    };
    assert_error(
        block(model.run_region(good_image(), Task::RegionToCategory, region)),
        "InvalidInput",
        &["y1", "finite"],
    );
    good_call(&model);
}

#[test]
fn p09_region_for_a_task_without_region() {
    let model = shared_model();
    let region = BoundingBox {
        x1: 1.0,
        y1: 1.0,
        x2: 10.0,
        y2: 10.0,
    };
    assert_error(
        block(model.run_region(good_image(), Task::Caption, region)),
        "InvalidInput",
        &["does not take a region"],
    );
    good_call(&model);
}

// ---------------------------------------------------------------------------------------------
// Order: a bad request costs no model run (vision-encoder runs counted, not timed)
// ---------------------------------------------------------------------------------------------

#[test]
fn v01_bad_requests_never_reach_the_vision_encoder() {
    let model = fresh_model();
    let nan = BoundingBox {
        x1: 0.0,
        y1: f64::NAN,
        x2: 10.0,
        y2: 10.0,
    };
    let ok_box = BoundingBox {
        x1: 1.0,
        y1: 1.0,
        x2: 10.0,
        y2: 10.0,
    };
    let long = "cat ".repeat(1500);
    let failures = [
        block(model.run_task(good_image(), Task::CaptionToPhraseGrounding, None)),
        block(model.run_task(good_image(), Task::Caption, Some("extra".into()))),
        block(model.run_task(good_image(), Task::CaptionToPhraseGrounding, Some(long))),
        block(model.run_task(good_image(), Task::RegionToOcr, Some("the sign".into()))),
        block(model.run_region(good_image(), Task::RegionToCategory, nan)),
        block(model.run_region(good_image(), Task::Caption, ok_box)),
    ];
    for failure in failures {
        assert_error(failure, "InvalidInput", &[]);
    }
    assert_eq!(model.vision_runs(), Some(0));
    // The counter does count: one good call, one run.
    good_call(&model);
    assert_eq!(model.vision_runs(), Some(1));
}

#[test]
fn v02_a_batch_checks_its_request_before_the_first_image() {
    let model = fresh_model();
    let images = vec![good_image(), good_image(), good_image()];
    assert_error(
        block(model.run_batch_task(images.clone(), Task::ReferringExpressionSegmentation, None)),
        "InvalidInput",
        &["needs a text input"],
    );
    assert_error(
        block(model.run_batch_task(images, Task::Ocr, Some("text".into()))),
        "InvalidInput",
        &["takes no text input"],
    );
    assert_eq!(model.vision_runs(), Some(0));
}

#[test]
fn v03_options_the_model_cannot_honour_fail_at_create() {
    // No model run at all: create itself refuses (o03..o06 below), so every later call is valid.
    for options in [
        Florence2Options {
            max_new_tokens: Some(1025),
            ..quick_options()
        },
        Florence2Options {
            num_beams: Some(65),
            ..quick_options()
        },
    ] {
        assert_error(
            block(Florence2Engine::create(fixture_dir(), options)),
            "InvalidInput",
            &[],
        );
    }
    // Exactly the decoder's positions is accepted.
    let model = block(Florence2Engine::create(
        fixture_dir(),
        Florence2Options {
            max_new_tokens: Some(1024),
            ..quick_options()
        },
    ));
    assert!(model.is_ok(), "{model:?}");
}

// ---------------------------------------------------------------------------------------------
// Options (create → InvalidInput, or a documented meaning)
// ---------------------------------------------------------------------------------------------

#[test]
fn o01_zero_threads_means_automatic() {
    // Documented: 0 lets ONNX Runtime pick one thread per core.
    let model = block(Florence2Engine::create(
        fixture_dir(),
        Florence2Options {
            threads: 0,
            ..quick_options()
        },
    ))
    .unwrap();
    good_call(&model);
}

#[test]
fn o02_huge_thread_count() {
    bad_options(
        Florence2Options {
            threads: 1_000_000,
            ..quick_options()
        },
        &["threads", "1000000", "256"],
    );
}

#[test]
fn o03_max_new_tokens_zero() {
    bad_options(
        Florence2Options {
            max_new_tokens: Some(0),
            ..quick_options()
        },
        &["max_new_tokens", "at least 1"],
    );
}

#[test]
fn o04_max_new_tokens_over_the_position_limit() {
    bad_options(
        Florence2Options {
            max_new_tokens: Some(5000),
            ..quick_options()
        },
        &["5000", "1024 positions"],
    );
}

#[test]
fn o05_num_beams_zero() {
    bad_options(
        Florence2Options {
            num_beams: Some(0),
            ..quick_options()
        },
        &["num_beams", "got 0"],
    );
}

#[test]
fn o06_num_beams_huge() {
    bad_options(
        Florence2Options {
            num_beams: Some(1000),
            ..quick_options()
        },
        &["num_beams", "1000"],
    );
}

// ---------------------------------------------------------------------------------------------
// Lifecycle (→ Closed)
// ---------------------------------------------------------------------------------------------

#[test]
fn l01_call_after_unload() {
    let model = block(Florence2Engine::create(fixture_dir(), quick_options())).unwrap();
    let encoded = block(model.encode(good_image(), None)).unwrap();
    model.unload();
    model.unload(); // idempotent
    assert_error(
        block(model.run_task(good_image(), Task::Caption, None)),
        "Closed",
        &["unload"],
    );
    assert_error(
        block(model.run_encoded_task(encoded, Task::Caption, None)),
        "Closed",
        &["unload"],
    );
    assert_error(block(model.encode(good_image(), None)), "Closed", &["unload"]);
    // Other model objects are unaffected.
    good_call(&shared_model());
}

#[test]
fn l02_error_inside_a_batch_names_the_image() {
    let model = shared_model();
    let images = vec![
        good_image(),
        ImageInput::EncodedBytes {
            bytes: b"nope".to_vec(),
        },
        good_image(),
    ];
    assert_error(
        block(model.run_batch_task(images, Task::Caption, None)),
        "InvalidInput",
        &["image 1 of the batch"],
    );
    good_call(&model);
}
