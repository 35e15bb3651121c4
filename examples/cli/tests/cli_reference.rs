//! `florence2 run --json` on the fixture reproduces every reference id sequence (greedy and beam),
//! the decoded text and the post-processed result; `florence2 parse` matches the reference results.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

fn reference() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("reference/tiny-random.json")).unwrap())
        .unwrap()
}

fn close(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0)
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| close(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| close(v, w)))
        }
        _ => a == b,
    }
}

#[test]
fn run_json_reproduces_every_reference_sequence() {
    let reference = reference();
    let cases = reference["cases"].as_array().unwrap();
    // One invocation per (task, text input, beams): all images that share them go together.
    let mut groups: BTreeMap<(String, String, usize, u64), Vec<&Value>> = BTreeMap::new();
    for case in cases {
        for (kind, beams) in [("greedy", 1usize), ("beam", 3)] {
            if case.get(kind).is_some() {
                let key = (
                    case["task"].as_str().unwrap().to_string(),
                    case["text_input"].as_str().unwrap_or("").to_string(),
                    beams,
                    case["max_new_tokens"].as_u64().unwrap(),
                );
                groups.entry(key).or_default().push(case);
            }
        }
    }
    let mut checked = 0;
    for ((task, text, beams, max_new), group) in &groups {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_florence2"));
        cmd.args([
            "run",
            "--json",
            "--task",
            task,
            "--num-beams",
            &beams.to_string(),
            "--max-new-tokens",
            &max_new.to_string(),
        ]);
        cmd.arg("--model").arg(fixtures().join("tiny-random"));
        if !text.is_empty() {
            cmd.args(["--text", text]);
        }
        for case in group {
            cmd.arg(fixtures().join("images").join(case["image"].as_str().unwrap()));
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{task}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let lines: Vec<Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), group.len());
        for (line, case) in lines.iter().zip(group) {
            let expected = if *beams == 1 {
                &case["greedy"]
            } else {
                &case["beam"]
            };
            let what = format!("{} {task} beams={beams}", case["image"]);
            assert_eq!(line["generated_ids"], expected["ids"], "{what}: ids");
            assert_eq!(line["text"], expected["text"], "{what}: text");
            assert_eq!(line["prompt"], case["prompt"], "{what}: prompt");
            assert!(
                close(&line["result"], &expected["result"]),
                "{what}: result {} vs {}",
                line["result"],
                expected["result"]
            );
            for key in ["preprocess", "vision", "encoder", "decoder", "total"] {
                assert!(
                    line["timings_ms"][key].as_f64().unwrap() >= 0.0,
                    "{what}: timing {key}"
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 133, "105 greedy + 28 beam sequences");
}

#[test]
fn parse_matches_the_reference_results() {
    let reference = reference();
    let sizes: BTreeMap<&str, (u64, u64)> = reference["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["file"].as_str().unwrap(),
                (i["width"].as_u64().unwrap(), i["height"].as_u64().unwrap()),
            )
        })
        .collect();
    for case in reference["cases"].as_array().unwrap().iter().step_by(7) {
        let (w, h) = sizes[case["image"].as_str().unwrap()];
        let out = Command::new(env!("CARGO_BIN_EXE_florence2"))
            .args([
                "parse",
                "--task",
                case["task"].as_str().unwrap(),
                "--image-size",
                &format!("{w},{h}"),
            ])
            .arg(case["greedy"]["text"].as_str().unwrap())
            .output()
            .unwrap();
        assert!(out.status.success());
        let got: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            close(&got, &case["greedy"]["result"]),
            "{} {}: {got}",
            case["image"],
            case["task"]
        );
    }
}

#[test]
fn errors_are_one_line_and_exit_non_zero() {
    let out = Command::new(env!("CARGO_BIN_EXE_florence2"))
        .args(["run", "--model", "/nonexistent/model", "--task", "<OD>", "x.png"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("error: model folder /nonexistent/model"),
        "{stderr}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_florence2"))
        .args(["run", "--model"])
        .arg(fixtures().join("tiny-random"))
        .args(["--task", "<OD>", "/nonexistent.png"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("/nonexistent.png")
    );
}

#[test]
fn the_readme_command_works_with_no_optional_argument() {
    // The README's main job on a model shaped like the real ones: 1024 decoder positions, no
    // max_length in generation_config.json, so every default applies (1024 tokens, 3 beams).
    let out = Command::new(env!("CARGO_BIN_EXE_florence2"))
        .args(["run", "--model"])
        .arg(fixtures().join("tiny-random"))
        .args(["--task", "<OD>"])
        .arg(fixtures().join("images/chelsea_451x300.png"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("chelsea_451x300.png  <OD>"), "{stdout}");
}

#[test]
fn the_request_is_checked_before_any_image_is_read() {
    // The image does not exist: an error about the task's text (or the options) proves that the
    // request was refused before the image was opened, let alone encoded.
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_florence2"))
            .args(["run", "--model"])
            .arg(fixtures().join("tiny-random"))
            .args(args)
            .arg("/nonexistent/image.png")
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8(out.stderr).unwrap()
    };
    let stderr = run(&["--task", "<CAPTION_TO_PHRASE_GROUNDING>"]);
    assert!(stderr.contains("needs a text input"), "{stderr}");
    let stderr = run(&["--task", "<OD>", "--max-new-tokens", "1025"]);
    assert!(
        stderr.contains("1025 exceeds the decoder's 1024 positions"),
        "{stderr}"
    );
    let stderr = run(&["--task", "<OD>", "--num-beams", "0"]);
    assert!(stderr.contains("num_beams"), "{stderr}");
    let stderr = run(&["--task", "<REGION_TO_OCR>", "--text", "the sign"]);
    assert!(stderr.contains("four <loc_N> tokens"), "{stderr}");
}

#[test]
fn draw_writes_the_image_with_the_result() {
    let dir = std::env::temp_dir().join(format!("florence2-draw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out_png = dir.join("drawn.png");
    let image = fixtures().join("images/astronaut_512x512.png");
    let out = Command::new(env!("CARGO_BIN_EXE_florence2"))
        .args([
            "run",
            "--json",
            "--task",
            "<OD>",
            "--num-beams",
            "1",
            "--max-new-tokens",
            "128",
            "--model",
        ])
        .arg(fixtures().join("tiny-random"))
        .arg("--draw")
        .arg(&out_png)
        .arg(&image)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        !line["result"]["<OD>"]["bboxes"].as_array().unwrap().is_empty(),
        "needs boxes to draw"
    );
    let original = image::open(&image).unwrap().to_rgb8();
    let drawn = image::open(&out_png).unwrap().to_rgb8();
    assert_eq!(drawn.dimensions(), original.dimensions());
    let changed = drawn
        .pixels()
        .zip(original.pixels())
        .filter(|(a, b)| a != b)
        .count();
    assert!(changed > 50, "only {changed} pixels changed");
    std::fs::remove_dir_all(&dir).ok();
}
