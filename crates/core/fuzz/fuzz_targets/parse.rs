//! The generated-text parser: any string, any image size (0 and `u32::MAX` included), every
//! post-processing type. It must return a result, never panic, and every coordinate it returns
//! must be finite.
//!
//! `cargo +nightly fuzz run parse` (from crates/core/fuzz).
#![no_main]

use florence2_core::task::{AnswerType, BoundingBox, PolygonMask, Task, TaskOutput, post_process};
use libfuzzer_sys::fuzz_target;

fn dimension(bytes: &[u8]) -> u32 {
    // Small sizes are the interesting ones, but the extremes must work too.
    match bytes.first().copied().unwrap_or(0) % 4 {
        0 => 0,
        1 => u32::MAX,
        _ => u32::from_le_bytes([
            bytes.get(1).copied().unwrap_or(0),
            bytes.get(2).copied().unwrap_or(0),
            0,
            0,
        ]),
    }
}

fn check_finite(output: &TaskOutput) {
    let boxes = |boxes: &[BoundingBox]| {
        boxes
            .iter()
            .flat_map(|b| [b.x1, b.y1, b.x2, b.y2])
            .collect::<Vec<_>>()
    };
    let masks = |masks: &[PolygonMask]| {
        masks
            .iter()
            .flat_map(|m| {
                m.polygons
                    .iter()
                    .flat_map(|p| p.points.iter().flat_map(|q| [q.x, q.y]))
            })
            .collect::<Vec<_>>()
    };
    let values = match output {
        TaskOutput::Text(_) => Vec::new(),
        TaskOutput::Boxes { boxes: b, labels } => {
            assert_eq!(b.len(), labels.len(), "one label per box");
            boxes(b)
        }
        TaskOutput::Quads { quads, labels } => {
            assert_eq!(quads.len(), labels.len(), "one label per quad");
            quads
                .iter()
                .flat_map(|q| q.points.iter().flat_map(|p| [p.x, p.y]))
                .collect()
        }
        TaskOutput::Polygons { polygons, labels } => {
            assert_eq!(polygons.len(), labels.len(), "one label per mask");
            masks(polygons)
        }
        TaskOutput::Mixed {
            boxes: b, polygons, ..
        } => {
            let mut v = boxes(b);
            v.extend(masks(polygons));
            v
        }
    };
    assert!(
        values.iter().all(|v| v.is_finite()),
        "non-finite coordinate in {output:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 7 {
        return;
    }
    let (head, text) = data.split_at(7);
    let width = dimension(&head[1..4]);
    let height = dimension(&head[4..7]);
    // Invalid UTF-8 is replaced, as the tokenizer's decode would never produce it.
    let text = String::from_utf8_lossy(text);
    let task = Task::ALL[usize::from(head[0]) % Task::ALL.len()];
    let output = post_process(task, &text, width, height);
    check_finite(&output);
    let _ = output.to_json(task);
    let answer = AnswerType::ALL[usize::from(head[0] >> 4) % AnswerType::ALL.len()];
    check_finite(&answer.post_process(&text, width, height));
});
