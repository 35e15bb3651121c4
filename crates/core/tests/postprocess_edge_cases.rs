//! Edge cases of the task layer: empty and malformed model output, out-of-vocabulary location
//! numbers, odd polygon coordinates, Unicode, zero image sizes, the serialised JSON shapes, the
//! task table, and a deterministic fuzz run over every parser.

// Helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used)]

use florence2_core::task::{
    AnswerType, BoundingBox, Point, Polygon, PolygonMask, Quad, Task, TaskError, TaskOutput, post_process,
};
use serde_json::json;

const LOC8: &str = "<loc_1><loc_2><loc_3><loc_4><loc_5><loc_6><loc_7><loc_8>";

fn boxes(output: TaskOutput) -> (Vec<[f64; 4]>, Vec<String>) {
    match output {
        TaskOutput::Boxes { boxes, labels } => {
            (boxes.iter().map(|b| [b.x1, b.y1, b.x2, b.y2]).collect(), labels)
        }
        other => panic!("not boxes: {other:?}"),
    }
}

fn polygons(output: TaskOutput) -> (Vec<Vec<Vec<f64>>>, Vec<String>) {
    let (masks, labels) = match output {
        TaskOutput::Polygons { polygons, labels } => (polygons, labels),
        TaskOutput::Mixed {
            polygons,
            polygon_labels,
            ..
        } => (polygons, polygon_labels),
        other => panic!("not polygons: {other:?}"),
    };
    let flat = masks
        .iter()
        .map(|m| {
            m.polygons
                .iter()
                .map(|p| p.points.iter().flat_map(|q| [q.x, q.y]).collect())
                .collect()
        })
        .collect();
    (flat, labels)
}

fn quads(output: TaskOutput) -> (Vec<[f64; 8]>, Vec<String>) {
    match output {
        TaskOutput::Quads { quads, labels } => (
            quads
                .iter()
                .map(|q| {
                    std::array::from_fn(|i| {
                        if i % 2 == 0 {
                            q.points[i / 2].x
                        } else {
                            q.points[i / 2].y
                        }
                    })
                })
                .collect(),
            labels,
        ),
        other => panic!("not quads: {other:?}"),
    }
}

#[test]
fn empty_text_gives_empty_answers_of_the_right_shape() {
    for text in ["", "</s><s></s>", "</s><s></s><pad><pad>"] {
        for task in Task::ALL {
            let answer = post_process(task, text, 640, 480).to_json(task)[task.token()].clone();
            let expected = match task.answer_type() {
                AnswerType::PureText => json!(if text.contains("<pad>") { "<pad><pad>" } else { "" }),
                AnswerType::Ocr => json!({"quad_boxes": [], "labels": []}),
                AnswerType::Polygons | AnswerType::DescriptionWithPolygons => {
                    json!({"polygons": [], "labels": []})
                }
                AnswerType::DescriptionWithBboxesOrPolygons => json!({
                    "bboxes": [], "bboxes_labels": [], "polygons": [], "polygons_labels": []
                }),
                _ => json!({"bboxes": [], "labels": []}),
            };
            assert_eq!(answer, expected, "{task} {text:?}");
        }
    }
}

#[test]
fn text_without_locations_gives_empty_lists() {
    let text = "</s><s>a car, a <loc> and <loc_x><loc_><loc_-1>< loc_5></s>";
    for task in Task::ALL {
        let output = post_process(task, text, 640, 480);
        match task.answer_type() {
            AnswerType::PureText => {
                assert_eq!(
                    output.as_text(),
                    Some("a car, a <loc> and <loc_x><loc_><loc_-1>< loc_5>")
                )
            }
            _ => {
                let json = serde_json::to_value(&output).unwrap();
                for (key, value) in json.as_object().unwrap() {
                    assert_eq!(value, &json!([]), "{task} {key}");
                }
            }
        }
    }
    // Fewer than 4 locations in a row is no box either.
    let (b, _) = boxes(post_process(
        Task::ObjectDetection,
        "car<loc_1><loc_2><loc_3>",
        10,
        10,
    ));
    assert!(b.is_empty());
    let (q, _) = quads(post_process(
        Task::OcrWithRegion,
        &format!("x{}", &LOC8[7..]),
        10,
        10,
    ));
    assert!(q.is_empty(), "7 locations are no quad");
}

#[test]
fn out_of_vocabulary_and_huge_location_numbers() {
    // <loc_1000> is not a token, but the parsers accept any digits: it maps past the image edge.
    let (b, l) = boxes(post_process(
        Task::ObjectDetection,
        "x<loc_1000><loc_0999><loc_000><loc_12345>",
        1000,
        2000,
    ));
    assert_eq!(b, [[1000.5, 1999.0, 0.5, 24691.0]]);
    assert_eq!(l, ["x"]);
    // Absurdly long numbers saturate (u64::MAX) instead of overflowing or panicking.
    let huge = "9".repeat(400);
    let text = format!("x<loc_{huge}><loc_{huge}><loc_1><loc_{huge}>");
    let (b, _) = boxes(post_process(Task::DenseRegionCaption, &text, 4000, 3000));
    assert_eq!(b.len(), 1);
    assert!(b[0].iter().all(|v| v.is_finite() && *v >= 0.0));
    assert_eq!(b[0][0], (u64::MAX as f64 + 0.5) * 4000.0 / 1000.0);
    let (p, _) = polygons(post_process(
        Task::RegionToSegmentation,
        &text,
        u32::MAX,
        u32::MAX,
    ));
    assert!(p[0][0].iter().all(|v| v.is_finite()));
}

#[test]
fn odd_polygon_coordinates_drop_the_last_one() {
    let (p, l) = polygons(post_process(
        Task::ReferringExpressionSegmentation,
        "</s><s><loc_10><loc_20><loc_30><loc_40><loc_50></s>",
        1000,
        1000,
    ));
    assert_eq!(p, vec![vec![vec![10.5, 20.5, 30.5, 40.5]]]);
    assert_eq!(l, [""]);
    // A polygon of one coordinate becomes an empty polygon (kept, as in the reference).
    let (p, l) = polygons(post_process(
        Task::ReferringExpressionSegmentation,
        "<loc_10><loc_20><loc_30><sep><loc_40><sep><loc_50><loc_60>",
        1000,
        1000,
    ));
    // [10, 20, 30] loses 30; [40] loses 40 and stays as an empty polygon.
    assert_eq!(p, vec![vec![vec![10.5, 20.5], vec![], vec![50.5, 60.5]]]);
    assert_eq!(l, [""]);
}

#[test]
fn polygon_masks_separators_and_the_leading_location_quirk() {
    let text = "<poly><loc_1><loc_2><loc_3><loc_4><sep><loc_5><loc_6></poly><poly><loc_7><loc_8><loc_9><loc_10></poly>";
    let (p, l) = polygons(post_process(
        Task::ReferringExpressionSegmentation,
        text,
        1000,
        1000,
    ));
    assert_eq!(
        p,
        vec![
            vec![vec![1.5, 2.5, 3.5, 4.5], vec![5.5, 6.5]],
            vec![vec![7.5, 8.5, 9.5, 10.5]],
        ]
    );
    assert_eq!(l, ["", ""]);
    // A phrase starting with one location then <sep>: transformers removes that first location
    // before reading the label, so the label becomes "<sep>" (the text up to the next <loc_).
    let (p, l) = polygons(post_process(
        Task::ReferringExpressionSegmentation,
        "<loc_1><sep><loc_2><loc_3><loc_4>",
        1000,
        1000,
    ));
    assert_eq!(l, ["<sep>"]);
    assert_eq!(p, vec![vec![vec![], vec![2.5, 3.5]]]);
    // Location runs followed by anything but <sep> or the end are not polygons.
    let (p, _) = polygons(post_process(
        Task::ReferringExpressionSegmentation,
        "<loc_1><loc_2><poly><loc_3><loc_4>",
        1000,
        1000,
    ));
    assert_eq!(p, vec![vec![vec![3.5, 4.5]]]);
    // Only <sep>/<poly> tokens: no label stop, no mask.
    let (p, _) = polygons(post_process(
        Task::RegionToSegmentation,
        "<sep><sep><poly></poly>",
        9,
        9,
    ));
    assert!(p.is_empty());
}

#[test]
fn open_vocabulary_detection_switches_on_raw_poly_token() {
    let (p, l) = polygons(post_process(
        Task::OpenVocabularyDetection,
        "</s><s>cat<poly><loc_1><loc_2><loc_3><loc_4></poly></s>",
        1000,
        1000,
    ));
    assert_eq!(
        (p, l),
        (vec![vec![vec![1.5, 2.5, 3.5, 4.5]]], vec!["cat".to_string()])
    );
    // "<po<s>ly>" only becomes "<poly>" after special tokens are removed; the switch looks at the
    // text as generated, so this is parsed for boxes: "cat" is not followed by locations, so the
    // phrase found starts inside the "<poly>" token.
    let output = post_process(
        Task::OpenVocabularyDetection,
        "cat<po<s>ly><loc_1><loc_2><loc_3><loc_4></poly>",
        1000,
        1000,
    );
    assert_eq!(
        serde_json::to_value(&output).unwrap(),
        json!({
            "bboxes": [[1.5, 2.5, 3.5, 4.5]],
            "bboxes_labels": ["poly>"],
            "polygons": [],
            "polygons_labels": [],
        })
    );
    // Polygon labels keep non-ASCII characters.
    let (_, l) = polygons(post_process(
        Task::OpenVocabularyDetection,
        "chat noir é<poly><loc_1><loc_2><loc_3><loc_4></poly>",
        10,
        10,
    ));
    assert_eq!(l, ["chat noir é"]);
}

#[test]
fn unicode_everywhere_never_splits_characters() {
    let (q, l) = quads(post_process(
        Task::OcrWithRegion,
        &format!("</s><s>日本語 テキスト{LOC8}é{LOC8}🙂\u{85}{LOC8}</s>"),
        1000,
        1000,
    ));
    assert_eq!(q.len(), 3);
    assert_eq!(l, ["日本語 テキスト", "é", "🙂"]); // U+0085 is whitespace to Python's strip
    let (b, l) = boxes(post_process(
        Task::ObjectDetection,
        "</s><s>日本 car<loc_1><loc_2><loc_3><loc_4>🙂<loc_5><loc_6><loc_7><loc_8></s>",
        1000,
        1000,
    ));
    assert_eq!(b.len(), 2);
    assert_eq!(l, [" car", ""]); // trimmed first, then non-ASCII dropped
    assert_eq!(
        post_process(Task::Caption, "</s><s>\u{3000}猫\u{1f}</s>", 1, 1),
        TaskOutput::Text("猫".into())
    );
}

#[test]
fn line_breaks_in_labels() {
    // A line break before the label text is fine (it is leading whitespace) ...
    let (b, l) = boxes(post_process(
        Task::ObjectDetection,
        "\n car<loc_1><loc_2><loc_3><loc_4>",
        10,
        10,
    ));
    assert_eq!((b.len(), l), (1, vec!["car".to_string()]));
    // ... one inside it makes the reference's `.*?` fail: the phrase is skipped.
    let (b, _) = boxes(post_process(
        Task::ObjectDetection,
        "red\ncar<loc_1><loc_2><loc_3><loc_4>",
        10,
        10,
    ));
    assert!(b.is_empty());
    // OCR text cannot span lines: the match starts after the line break.
    let (_, l) = quads(post_process(
        Task::OcrWithRegion,
        &format!("first\nsecond{LOC8}"),
        10,
        10,
    ));
    assert_eq!(l, ["second"]);
}

#[test]
fn ocr_extra_locations_become_text() {
    // 9 locations and no text: the lazy `(.+?)` takes the first location as the line's text.
    let text = format!("<loc_0>{LOC8}");
    let (q, l) = quads(post_process(Task::OcrWithRegion, &text, 1000, 1000));
    assert_eq!(l, ["<loc_0>"]);
    assert_eq!(q[0], [1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5]);
    // Exactly 8 and no text: no line.
    let (q, _) = quads(post_process(Task::OcrWithRegion, LOC8, 1000, 1000));
    assert!(q.is_empty());
}

#[test]
fn zero_image_size_gives_zero_coordinates() {
    let text = format!("car<loc_500><loc_500><loc_999><loc_999>{LOC8}");
    for task in Task::ALL {
        let json = post_process(task, &text, 0, 0).to_json(task).to_string();
        for c in json.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == '-')) {
            if let Ok(v) = c.parse::<f64>() {
                // Only label/text digits ("500" in "<loc_500>") or zero coordinates.
                assert!(v == 0.0 || text.contains(c), "{task}: {v}");
            }
        }
    }
    let (b, _) = boxes(post_process(Task::ObjectDetection, &text, 0, 0));
    assert_eq!(b[0], [0.0; 4]);
}

#[test]
fn special_tokens_are_removed_like_the_reference() {
    // pure_text removes <s> then </s>: "<<s>/s>" -> "</s>" -> "".
    assert_eq!(
        post_process(Task::Caption, "<<s>/s>cat", 1, 1),
        TaskOutput::Text("cat".into())
    );
    // Box parsers also remove <pad>, so a label can be split by one.
    let (_, l) = boxes(post_process(
        Task::ObjectDetection,
        "ca<pad>r<loc_1><loc_2><loc_3><loc_4>",
        1,
        1,
    ));
    assert_eq!(l, ["car"]);
}

#[test]
fn serialised_shapes() {
    let b = BoundingBox {
        x1: 1.0,
        y1: 2.0,
        x2: 3.0,
        y2: 4.5,
    };
    let p = |x, y| Point { x, y };
    let q = Quad {
        points: [p(1.0, 2.0), p(3.0, 4.0), p(5.0, 6.0), p(7.0, 8.0)],
    };
    let mask = PolygonMask {
        polygons: vec![
            Polygon {
                points: vec![p(1.0, 2.0), p(3.0, 4.0)],
            },
            Polygon::default(),
        ],
    };
    let cases = [
        (TaskOutput::Text("a".into()), json!("a")),
        (
            TaskOutput::Boxes {
                boxes: vec![b],
                labels: vec!["x".into()],
            },
            json!({"bboxes": [[1.0, 2.0, 3.0, 4.5]], "labels": ["x"]}),
        ),
        (
            TaskOutput::Quads {
                quads: vec![q],
                labels: vec!["t".into()],
            },
            json!({"quad_boxes": [[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]], "labels": ["t"]}),
        ),
        (
            TaskOutput::Polygons {
                polygons: vec![mask.clone()],
                labels: vec![String::new()],
            },
            json!({"polygons": [[[1.0, 2.0, 3.0, 4.0], []]], "labels": [""]}),
        ),
        (
            TaskOutput::Mixed {
                boxes: vec![b],
                box_labels: vec!["b".into()],
                polygons: vec![mask],
                polygon_labels: vec!["m".into()],
            },
            json!({
                "bboxes": [[1.0, 2.0, 3.0, 4.5]],
                "bboxes_labels": ["b"],
                "polygons": [[[1.0, 2.0, 3.0, 4.0], []]],
                "polygons_labels": ["m"],
            }),
        ),
    ];
    for (output, expected) in cases {
        assert_eq!(serde_json::to_value(&output).unwrap(), expected);
        assert_eq!(output.to_json(Task::ObjectDetection), json!({ "<OD>": expected }));
    }
    assert_eq!(serde_json::to_value(p(1.0, 2.0)).unwrap(), json!([1.0, 2.0]));
}

#[test]
fn task_table_is_consistent() {
    let mut tokens: Vec<_> = Task::ALL.iter().map(|t| t.token()).collect();
    tokens.sort_unstable();
    tokens.dedup();
    assert_eq!(tokens.len(), 15);
    for task in Task::ALL {
        assert_eq!(task.token().parse::<Task>(), Ok(task));
        assert_eq!(task.to_string(), task.token());
        assert_eq!(
            task.needs_text_input(),
            task.prompt_template().contains("{input}"),
            "{task}"
        );
        assert!(!task.takes_region() || task.needs_text_input());
        assert_eq!(
            task.answer_type().name().parse::<AnswerType>(),
            Ok(task.answer_type())
        );
    }
    let err = "<od>".parse::<Task>().unwrap_err();
    let TaskError::UnknownTask { ref name, ref known } = err else {
        panic!("{err:?}")
    };
    assert_eq!(name, "<od>");
    assert_eq!(known.len(), 15);
    let message = err.to_string();
    assert!(
        message.contains("\"<od>\"") && message.contains("<OD>") && message.contains("<REGION_TO_OCR>"),
        "{message}"
    );
    assert!(" <OD>".parse::<Task>().is_err());
    assert!(matches!(
        "quads".parse::<AnswerType>(),
        Err(TaskError::UnknownAnswerType { .. })
    ));
    assert_eq!(
        Task::ALL.iter().filter(|t| t.takes_region()).count(),
        4,
        "REGION_TO_SEGMENTATION/CATEGORY/DESCRIPTION/OCR"
    );
}

/// Deterministic pseudo-random texts built from the pieces the parsers care about: no parser may
/// panic, and every result has one label per item.
#[test]
fn fuzz_all_parsers() {
    const PIECES: &[&str] = &[
        "<loc_",
        "1",
        "99",
        "1000",
        "0",
        ">",
        "<",
        "<loc_5>",
        "<loc_999>",
        "<sep>",
        "<poly>",
        "</poly>",
        "<s>",
        "</s>",
        "<pad>",
        "<od>",
        "a",
        " ",
        "\n",
        "é",
        "日",
        "🙂",
        "\u{85}",
        "<loc_12><loc_34><loc_56><loc_78>",
        "car",
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
    for _ in 0..3000 {
        let len = next() % 40;
        let text: String = (0..len).map(|_| PIECES[next() % PIECES.len()]).collect();
        let (w, h) = ((next() % 3000) as u32, (next() % 3000) as u32);
        for answer_type in AnswerType::ALL {
            let output = answer_type.post_process(&text, w, h);
            match &output {
                TaskOutput::Text(_) => {}
                TaskOutput::Boxes { boxes, labels } => assert_eq!(boxes.len(), labels.len()),
                TaskOutput::Quads { quads, labels } => assert_eq!(quads.len(), labels.len()),
                TaskOutput::Polygons { polygons, labels } => assert_eq!(polygons.len(), labels.len()),
                TaskOutput::Mixed {
                    boxes,
                    box_labels,
                    polygons,
                    polygon_labels,
                } => {
                    assert_eq!(boxes.len(), box_labels.len());
                    assert_eq!(polygons.len(), polygon_labels.len());
                    assert!(boxes.is_empty() || polygons.is_empty());
                }
            }
            serde_json::to_string(&output).unwrap();
        }
    }
}
