//! The task layer against the committed PyTorch reference (`tests/fixtures/reference/tiny-random.json`,
//! written by `models/reference.py` with transformers 5): prompts, region inputs, and the
//! post-processed result of every greedy and beam output.

// Helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::PathBuf;

use florence2_core::task::{
    AnswerType, LOC_BINS, PixelBox, Task, TaskOutput, loc_token, loc_token_id, parse_loc_token, post_process,
};
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

fn read_json(path: PathBuf) -> Value {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn reference() -> Value {
    read_json(fixtures().join("reference/tiny-random.json"))
}

fn image_sizes(doc: &Value) -> HashMap<String, (u32, u32)> {
    doc["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|img| {
            let dim = |k: &str| u32::try_from(img[k].as_u64().unwrap()).unwrap();
            (
                img["file"].as_str().unwrap().to_string(),
                (dim("width"), dim("height")),
            )
        })
        .collect()
}

/// Compares two JSON values; numbers are equal within `rel` relative tolerance (0 = exact).
/// Differences are appended to `errors` with their path.
fn compare(actual: &Value, expected: &Value, rel: f64, path: &str, errors: &mut Vec<String>) {
    match (actual, expected) {
        (Value::Number(a), Value::Number(e)) => {
            let (a, e) = (a.as_f64().unwrap(), e.as_f64().unwrap());
            if (a - e).abs() > rel * e.abs().max(a.abs()) {
                errors.push(format!("{path}: {a} != {e}"));
            }
        }
        (Value::Array(a), Value::Array(e)) => {
            if a.len() != e.len() {
                errors.push(format!("{path}: length {} != {}", a.len(), e.len()));
                return;
            }
            for (i, (a, e)) in a.iter().zip(e).enumerate() {
                compare(a, e, rel, &format!("{path}[{i}]"), errors);
            }
        }
        (Value::Object(a), Value::Object(e)) => {
            let mut ak: Vec<_> = a.keys().collect();
            let mut ek: Vec<_> = e.keys().collect();
            ak.sort();
            ek.sort();
            if ak != ek {
                errors.push(format!("{path}: keys {ak:?} != {ek:?}"));
                return;
            }
            for (k, a) in a {
                compare(a, &e[k], rel, &format!("{path}.{k}"), errors);
            }
        }
        (a, e) => {
            if a != e {
                errors.push(format!("{path}: {a} != {e}"));
            }
        }
    }
}

/// Every number truncated toward zero, as transformers 5's `.int()` does.
fn truncated(value: &Value) -> Value {
    match value {
        Value::Number(n) => Value::from(n.as_f64().unwrap().trunc() as i64),
        Value::Array(a) => Value::Array(a.iter().map(truncated).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), truncated(v))).collect()),
        other => other.clone(),
    }
}

/// (case label, task, text, width, height, expected float result, expected int result)
type Output = (String, Task, String, u32, u32, Value, Value);

fn outputs(doc: &Value) -> Vec<Output> {
    let sizes = image_sizes(doc);
    let mut out = Vec::new();
    for case in doc["cases"].as_array().unwrap() {
        let task: Task = case["task"].as_str().unwrap().parse().unwrap();
        let image = case["image"].as_str().unwrap();
        let (w, h) = sizes[image];
        for kind in ["greedy", "beam"] {
            let Some(run) = case.get(kind) else { continue };
            out.push((
                format!("{image} {task} {kind}"),
                task,
                run["text"].as_str().unwrap().to_string(),
                w,
                h,
                run["result"].clone(),
                run["result_transformers"].clone(),
            ));
        }
    }
    out
}

fn is_empty(output: &TaskOutput) -> bool {
    match output {
        TaskOutput::Text(text) => text.is_empty(),
        TaskOutput::Boxes { boxes, .. } => boxes.is_empty(),
        TaskOutput::Quads { quads, .. } => quads.is_empty(),
        TaskOutput::Polygons { polygons, .. } => polygons.is_empty(),
        TaskOutput::Mixed { boxes, polygons, .. } => boxes.is_empty() && polygons.is_empty(),
    }
}

#[test]
fn reference_covers_every_task_and_both_searches() {
    let doc = reference();
    let cases = doc["cases"].as_array().unwrap();
    let outputs = outputs(&doc);
    assert_eq!(cases.len(), 105);
    assert_eq!(outputs.len(), 105 + 28);
    for task in Task::ALL {
        assert!(
            outputs.iter().any(|o| o.1 == task),
            "{task} missing from the reference"
        );
    }
    // The quirk cases the parser must reproduce are really in there.
    let all = doc.to_string();
    assert!(all.contains("loc_945> saying Nexus Lis shortcuts Sarahici"));
}

#[test]
fn post_process_matches_reference_float_results() {
    let doc = reference();
    let mut failures = Vec::new();
    let mut non_empty = 0;
    for (label, task, text, w, h, expected, _) in outputs(&doc) {
        let output = post_process(task, &text, w, h);
        if !is_empty(&output) {
            non_empty += 1;
        }
        let mut errors = Vec::new();
        compare(&output.to_json(task), &expected, 1e-9, "", &mut errors);
        if !errors.is_empty() {
            failures.push(format!("{label}: {}", errors[..errors.len().min(3)].join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 133 differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        non_empty > 100,
        "the reference should mostly have non-empty results"
    );
}

#[test]
fn truncated_coordinates_match_reference_transformers_results() {
    // transformers 5 computes (bin + 0.5) * size / 1000 in float32 and truncates; truncating our
    // float64 value gives the same integer for every fixture output.
    let doc = reference();
    let mut failures = Vec::new();
    for (label, task, text, w, h, _, expected) in outputs(&doc) {
        let actual = truncated(&post_process(task, &text, w, h).to_json(task));
        let mut errors = Vec::new();
        compare(&actual, &expected, 0.0, "", &mut errors);
        if !errors.is_empty() {
            failures.push(format!("{label}: {}", errors[..errors.len().min(3)].join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 133 differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn prompts_match_reference() {
    let doc = reference();
    for case in doc["cases"].as_array().unwrap() {
        let task: Task = case["task"].as_str().unwrap().parse().unwrap();
        let input = case["text_input"].as_str();
        assert_eq!(
            task.prompt(input).unwrap(),
            case["prompt"].as_str().unwrap(),
            "{} {task}",
            case["image"]
        );
    }
}

/// Python's float floor division `a // b` (b > 0), as CPython computes it (from `fmod`).
fn python_floor_div(a: f64, b: f64) -> f64 {
    let rem = a % b;
    let mut div = (a - rem) / b;
    if rem < 0.0 {
        div -= 1.0;
    }
    if div == 0.0 {
        return 0.0_f64.copysign(a / b);
    }
    let floor = div.floor();
    if div - floor > 0.5 { floor + 1.0 } else { floor }
}

#[test]
fn region_inputs_match_reference() {
    // models/reference.py DEFAULT_TASKS: region boxes as fractions of the image size, turned into
    // tokens by models/florence2_tools/tasks.py `loc_tokens` with floor(v / (dim / 1000)) (the
    // division rounded first, as Microsoft's and transformers' quantizers do). Python's float `//`
    // would give one bin less on exact bin boundaries (256 px of 512 -> 499), so this also checks
    // that the fixture was not made that way.
    let boxes = [
        (Task::RegionToSegmentation, [0.1, 0.2, 0.6, 0.9]),
        (Task::RegionToCategory, [0.25, 0.25, 0.75, 0.75]),
        (Task::RegionToDescription, [0.0, 0.0, 0.5, 0.5]),
        (Task::RegionToOcr, [0.3, 0.1, 0.9, 0.4]),
    ];
    let doc = reference();
    let sizes = image_sizes(&doc);
    let (mut checked, mut on_boundary) = (0, 0);
    for case in doc["cases"].as_array().unwrap() {
        let task: Task = case["task"].as_str().unwrap().parse().unwrap();
        let Some((_, f)) = boxes.iter().find(|(t, _)| *t == task) else {
            assert!(!task.takes_region(), "{task}");
            continue;
        };
        let label = format!("{} {task}", case["image"]);
        let (w, h) = sizes[case["image"].as_str().unwrap()];
        let (wf, hf) = (f64::from(w), f64::from(h));
        let region = PixelBox::new(f[0] * wf, f[1] * hf, f[2] * wf, f[3] * hf);
        let recorded: Vec<u32> = case["text_input"]
            .as_str()
            .unwrap()
            .split_inclusive('>')
            .map(|t| parse_loc_token(t).unwrap() as u32)
            .collect();
        let ours = region.to_bins(w, h).unwrap();
        let coords = [region.x1, region.y1, region.x2, region.y2];
        for k in 0..4 {
            assert_eq!(ours[k], recorded[k], "{label} [{k}]");
            let per_bin = if k % 2 == 0 { wf } else { hf } / 1000.0;
            let python = python_floor_div(coords[k], per_bin).clamp(0.0, 999.0) as u32;
            if python != recorded[k] {
                on_boundary += 1;
            }
        }
        let expected_prompt = task
            .prompt_template()
            .replace("{input}", &ours.map(loc_token).concat());
        assert_eq!(
            task.region_prompt(region, w, h).unwrap(),
            expected_prompt,
            "{label}"
        );
        assert_eq!(
            case["text_input"].as_str().unwrap(),
            ours.map(loc_token).concat(),
            "{label}"
        );
        checked += 1;
    }
    assert_eq!(checked, 4 * 7);
    assert_eq!(
        on_boundary, 34,
        "boundary coordinates where Python's // would be one bin lower"
    );
}

#[test]
fn task_table_matches_fixture_preprocessor_config() {
    let config = read_json(fixtures().join("tiny-random/preprocessor_config.json"));
    let types = config["tasks_answer_post_processing_type"].as_object().unwrap();
    let without = config["task_prompts_without_inputs"].as_object().unwrap();
    let with = config["task_prompts_with_input"].as_object().unwrap();
    assert_eq!(types.len(), 15);
    assert_eq!(without.len() + with.len(), 15);
    for task in Task::ALL {
        let token = task.token();
        let answer: AnswerType = types[token].as_str().unwrap().parse().unwrap();
        assert_eq!(task.answer_type(), answer, "{token}");
        let table = if task.needs_text_input() { with } else { without };
        assert_eq!(table[token].as_str().unwrap(), task.prompt_template(), "{token}");
    }
}

#[test]
fn loc_token_ids_match_fixture_tokenizer() {
    let tokenizer = read_json(fixtures().join("tiny-random/tokenizer.json"));
    let ids: HashMap<&str, u64> = tokenizer["added_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["content"].as_str().unwrap(), t["id"].as_u64().unwrap()))
        .collect();
    for bin in 0..LOC_BINS {
        assert_eq!(
            u64::from(loc_token_id(bin).unwrap()),
            ids[loc_token(bin).as_str()],
            "{bin}"
        );
    }
    assert!(!ids.contains_key("<loc_1000>"));
}
