//! `florence2 preprocess`: images give the reference `pixel_values` exactly; raw NV21 / NV12 /
//! I420 frames give what the library's `process_yuv` gives; bad arguments fail with a message.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use florence2_preprocess::{PreprocessConfig, Preprocessor, ResizeMode, Rotation, YuvFormat, YuvView};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

fn read_npy(path: &Path) -> (String, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
    let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    assert_eq!((10 + len) % 64, 0);
    let header = String::from_utf8(bytes[10..10 + len].to_vec()).unwrap();
    let values = bytes[10 + len..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    (header, values)
}

fn florence2(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_florence2"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn image_gives_the_reference_pixel_values() {
    let dir = std::env::temp_dir().join(format!("florence2-cli-pre-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("pv.npy");
    let model = fixtures().join("tiny-random");
    for name in ["astronaut_512x512", "camera_gray_300x220"] {
        let image = fixtures().join("images").join(format!("{name}.png"));
        let o = florence2(&[
            "preprocess",
            "--model",
            model.to_str().unwrap(),
            image.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let (header, got) = read_npy(&out);
        assert!(header.contains("'shape': (1, 3, 160, 160,)"), "{header}");
        let expected = fixtures()
            .join("reference/pixel_values")
            .join(format!("{name}.npy"));
        let bytes = std::fs::read(expected).unwrap();
        let tail = &bytes[bytes.len() - got.len() * 4..];
        let want: Vec<f32> = tail
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert!(
            got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()),
            "{name}"
        );
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn raw_frames_match_the_library() {
    let dir = std::env::temp_dir().join(format!("florence2-cli-yuv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = fixtures().join("tiny-random");
    let config = PreprocessConfig::from_model_dir(&model).unwrap();
    let (w, h) = (101u32, 75u32);
    for (name, format) in [
        ("nv21", YuvFormat::Nv21),
        ("nv12", YuvFormat::Nv12),
        ("i420", YuvFormat::I420),
    ] {
        let data: Vec<u8> = (0..format.frame_len(w, h)).map(|i| (i * 7 % 251) as u8).collect();
        let raw = dir.join(format!("frame.{name}"));
        std::fs::write(&raw, &data).unwrap();
        for (fast, rotate) in [(false, "0"), (true, "90"), (false, "-90")] {
            let out = dir.join("pv.npy");
            let mut args = vec![
                "preprocess",
                "--model",
                model.to_str().unwrap(),
                "--yuv",
                name,
                "--size",
                "101x75",
                "--rotate",
                rotate,
                raw.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ];
            if fast {
                args.push("--fast");
            }
            let o = florence2(&args);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let mode = if fast {
                ResizeMode::Fast
            } else {
                ResizeMode::Reference
            };
            let mut pre = Preprocessor::new(config.clone()).unwrap().with_resize_mode(mode);
            let mut want = vec![0f32; pre.output_len()];
            let frame = YuvView::from_packed(&data, w, h, format).unwrap();
            let rotation = Rotation::from_degrees(rotate.parse().unwrap()).unwrap();
            pre.process_yuv(&frame, rotation, &mut want).unwrap();
            assert_eq!(read_npy(&out).1, want, "{name} fast={fast} rotate={rotate}");
        }
    }
    // A frame shorter than its size says: a typed error, reported with the sizes.
    let raw = dir.join("frame.nv21");
    let o = florence2(&[
        "preprocess",
        "--model",
        model.to_str().unwrap(),
        "--yuv",
        "nv21",
        "--size",
        "640x480",
        raw.to_str().unwrap(),
        "--out",
        dir.join("x.npy").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("NV21") && stderr.contains("460800"), "{stderr}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn images_can_be_cropped_rotated_and_kept_as_stored() {
    use florence2_preprocess::{CropRect, DecodeLimits, decode_with_limits};
    let dir = std::env::temp_dir().join(format!("florence2-cli-crop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("pv.npy");
    let model = fixtures().join("tiny-random");
    let config = PreprocessConfig::from_model_dir(&model).unwrap();
    let mut pre = Preprocessor::new(config).unwrap();
    let mut want = vec![0f32; pre.output_len()];
    let run = |image: &Path, extra: &[&str]| {
        let mut args = vec![
            "preprocess",
            "--model",
            model.to_str().unwrap(),
            image.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--out", out.to_str().unwrap()]);
        let o = florence2(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        read_npy(&out).1
    };
    // Crop then rotate a PNG: the library's process_rotated on the cropped view.
    let png = fixtures().join("images/chelsea_451x300.png");
    let got = run(&png, &["--crop", "31,7,200,150", "--rotate", "270"]);
    let image = florence2_preprocess::open(&png).unwrap();
    let view = image.view().crop(CropRect::new(31, 7, 200, 150)).unwrap();
    pre.process_rotated(view, Rotation::Clockwise270, &mut want)
        .unwrap();
    assert_eq!(got, want);
    // An EXIF-rotated JPEG: upright by default, as stored with --no-exif.
    let jpeg =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crates/preprocess/tests/data/exif/orient_6.jpg");
    let bytes = std::fs::read(&jpeg).unwrap();
    for (extra, apply) in [(&[][..], true), (&["--no-exif"][..], false)] {
        let got = run(&jpeg, extra);
        let limits = DecodeLimits::default().with_exif_orientation(apply);
        let image = decode_with_limits(&bytes, &limits).unwrap();
        assert_eq!(image.width(), if apply { 24 } else { 16 });
        pre.process(image.view(), &mut want).unwrap();
        assert_eq!(got, want, "exif applied: {apply}");
    }
    std::fs::remove_dir_all(dir).ok();
}
