//! The `ocr` parser (`<OCR_WITH_REGION>`).

use super::scan;
use crate::task::loc::{dequantize, loc_token_at};
use crate::task::result::{Point, Quad};

/// If 8 `<loc_N>` tokens follow each other from `pos`, their bins and the offset after them.
fn eight_locs_at(text: &str, pos: usize) -> Option<([u64; 8], usize)> {
    let mut bins = [0; 8];
    let mut end = pos;
    for bin in &mut bins {
        let (value, len) = loc_token_at(text, end)?;
        *bin = value;
        end += len;
    }
    Some((bins, end))
}

/// Text lines with their quadrilaterals: every non-overlapping match of
/// `(.+?)<loc_N>{8}` (lazy text of at least one character, no line break, then exactly 8
/// location tokens), labels trimmed. Extra location tokens become part of the next line's text,
/// as in the reference.
///
/// `area_threshold > 0` drops quads whose area is below that fraction of the image, computed like
/// the reference (a shoelace sum of three terms, not four); post-processing uses 0 (no filter).
pub(super) fn parse(
    text: &str,
    image_width: u32,
    image_height: u32,
    area_threshold: f64,
) -> (Vec<Quad>, Vec<String>) {
    let text = scan::remove_special_tokens(text, true);
    let mut quads = Vec::new();
    let mut labels = Vec::new();
    let mut pos = 0;
    while let Some(first) = text.get(pos..).and_then(|rest| rest.chars().next()) {
        let line_end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
        // `.+?` takes at least one character and never a line break; the smallest end at which 8
        // locations follow wins.
        let found = text[pos..line_end]
            .match_indices('<')
            .map(|(i, _)| pos + i)
            .filter(|&i| i >= pos + first.len_utf8())
            .find_map(|i| eight_locs_at(&text, i).map(|(bins, end)| (i, bins, end)));
        let Some((content_end, bins, end)) = found else {
            // No match can start anywhere on this line.
            pos = line_end + 1;
            continue;
        };
        let points: [Point; 4] = std::array::from_fn(|k| Point {
            x: dequantize(bins[2 * k], image_width),
            y: dequantize(bins[2 * k + 1], image_height),
        });
        if area_threshold <= 0.0 || !is_small(&points, image_width, image_height, area_threshold) {
            quads.push(Quad { points });
            labels.push(scan::python_strip(&text[pos..content_end]).to_string());
        }
        pos = end;
    }
    (quads, labels)
}

fn is_small(points: &[Point; 4], image_width: u32, image_height: u32, threshold: f64) -> bool {
    // The reference sums only the terms of edges 0-1, 1-2 and 2-3 (the closing edge 3-0 is
    // missing); kept for fidelity.
    let sum: f64 = points.windows(2).map(|w| w[0].x * w[1].y - w[1].x * w[0].y).sum();
    let area = 0.5 * sum.abs();
    area < f64::from(image_width) * f64::from(image_height) * threshold
}

#[cfg(test)]
mod tests {
    use super::*;

    // transformers tests/models/florence2/test_processing_florence2.py,
    // test_post_process_parse_ocr_from_text_and_spans: with area_threshold 0.01 on a 1000x1000
    // image, the tiny "Small" quad is dropped.
    #[test]
    fn transformers_area_threshold_case() {
        let small = "Small<loc_1><loc_1><loc_2><loc_2><loc_2><loc_2><loc_1><loc_1>";
        assert_eq!(parse(small, 1000, 1000, 0.01), (vec![], vec![]));
        let (quads, labels) = parse(small, 1000, 1000, 0.0);
        assert_eq!((quads.len(), labels), (1, vec!["Small".to_string()]));
    }

    #[test]
    fn three_term_shoelace() {
        // A 10x10 square at (10, 10): the full shoelace gives 100, the reference's three terms 150.
        let p = |x: f64, y: f64| Point { x, y };
        let points = [p(10.0, 10.0), p(20.0, 10.0), p(20.0, 20.0), p(10.0, 20.0)];
        assert!(is_small(&points, 100, 100, 0.0151)); // 150 < 151
        assert!(!is_small(&points, 100, 100, 0.0149)); // 150 >= 149
    }
}
