//! Token parity on JPEG files: `florence2 run --json` on the JPEG fixtures
//! (tests/fixtures/images-jpeg: 4:2:0, 4:2:2 + EXIF orientation 6, 4:4:0 progressive, 4:1:1 with
//! restart markers, CMYK, grayscale) generates exactly the ids transformers generated from
//! Pillow's decode of the same files (`tests/fixtures/reference/tiny-random-jpeg.json`, recorded
//! by models/reference.py with `load_image`'s EXIF transpose), greedy and beam.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

#[test]
fn run_json_reproduces_the_reference_ids_for_every_jpeg() {
    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("reference/tiny-random-jpeg.json")).unwrap(),
    )
    .unwrap();
    let mut groups: BTreeMap<(String, usize, u64), Vec<&Value>> = BTreeMap::new();
    for case in reference["cases"].as_array().unwrap() {
        assert!(case["text_input"].is_null(), "tasks without text input only");
        for (kind, beams) in [("greedy", 1usize), ("beam", 3)] {
            if case.get(kind).is_some() {
                let key = (
                    case["task"].as_str().unwrap().to_string(),
                    beams,
                    case["max_new_tokens"].as_u64().unwrap(),
                );
                groups.entry(key).or_default().push(case);
            }
        }
    }
    let mut checked = 0;
    for ((task, beams, max_new), group) in &groups {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_florence2"));
        cmd.args(["run", "--json", "--task", task, "--num-beams", &beams.to_string()])
            .args(["--max-new-tokens", &max_new.to_string()])
            .arg("--model")
            .arg(fixtures().join("tiny-random"));
        for case in group {
            cmd.arg(
                fixtures()
                    .join("images-jpeg")
                    .join(case["image"].as_str().unwrap()),
            );
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
            checked += 1;
        }
    }
    // 6 images x 3 tasks greedy + 6 images x <CAPTION> beam.
    assert_eq!(checked, 24);
}
