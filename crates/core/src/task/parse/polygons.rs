//! The polygon parser (`polygons`, `description_with_polygons`, and the polygon branch of
//! `description_with_bboxes_or_polygons`).

use super::scan::{self, POLYGON_LABEL_STOPS, RunTokens};
use crate::task::loc::{dequantize, loc_token_at};
use crate::task::result::{Point, Polygon, PolygonMask};

const POLY_START: &str = "<poly>";
const POLY_END: &str = "</poly>";
const SEP: &str = "<sep>";

/// Polygon masks and their labels.
///
/// A phrase is an optional label (`with_text`: required) followed by a run of at least 4 tokens
/// among `<loc_N>`, `<sep>`, `<poly>`, `</poly>`. The label is the text before the first `<loc_` or
/// `<poly>` once one leading `<loc_N>` is removed, trimmed (non-ASCII kept, unlike boxes). If the
/// phrase has both `<poly>` and `</poly>`, each `<poly>…</poly>` pair is one mask; otherwise the
/// whole phrase is one. Inside a mask, each run of `<loc_N>` tokens followed by `<sep>` or the end
/// is one polygon (runs followed by anything else are ignored); an odd last coordinate is dropped.
/// A mask without polygons is skipped.
pub(super) fn parse(
    text: &str,
    image_width: u32,
    image_height: u32,
    with_text: bool,
) -> (Vec<PolygonMask>, Vec<String>) {
    let text = scan::remove_special_tokens(text, true);
    let mut masks = Vec::new();
    let mut labels = Vec::new();
    for phrase in scan::find_phrases(&text, RunTokens::LocAndPolygon, with_text) {
        // (A phrase with text starts with text, so this strips only in the label-less case.)
        let stripped = match loc_token_at(phrase.text, 0) {
            Some((_, len)) => &phrase.text[len..],
            None => phrase.text,
        };
        let Some(label) = scan::label_before_stop(stripped, POLYGON_LABEL_STOPS) else {
            continue;
        };
        let label = scan::python_strip(label);
        let instances = if phrase.text.contains(POLY_START) && phrase.text.contains(POLY_END) {
            poly_instances(phrase.text)
        } else {
            vec![phrase.text]
        };
        for instance in instances {
            let polygons = polygon_runs(instance);
            if polygons.is_empty() {
                continue;
            }
            let polygons = polygons
                .into_iter()
                .map(|bins| Polygon {
                    points: bins
                        .chunks_exact(2)
                        .map(|xy| Point {
                            x: dequantize(xy[0], image_width),
                            y: dequantize(xy[1], image_height),
                        })
                        .collect(),
                })
                .collect();
            masks.push(PolygonMask { polygons });
            labels.push(label.to_string());
        }
    }
    (masks, labels)
}

/// The contents of the non-overlapping `<poly>…</poly>` pairs (`<poly>(.*?)</poly>`; the contents
/// are tokens only, so the pattern's no-line-break rule never applies).
fn poly_instances(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(i) = text[pos..].find(POLY_START) {
        let start = pos + i + POLY_START.len();
        let Some(len) = text[start..].find(POLY_END) else {
            break;
        };
        out.push(&text[start..start + len]);
        pos = start + len + POLY_END.len();
    }
    out
}

/// The bins of each `((?:<loc_N>)+)(?:<sep>|$)` match: runs of location tokens that end at a
/// `<sep>` or at the end of `text`.
fn polygon_runs(text: &str) -> Vec<Vec<u64>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(i) = text[pos..].find('<') {
        let start = pos + i;
        let (bins, end) = scan::loc_run(text, start);
        if bins.is_empty() {
            pos = start + 1;
        } else if end == text.len() {
            out.push(bins);
            break;
        } else if text[end..].starts_with(SEP) {
            out.push(bins);
            pos = end + SEP.len();
        } else {
            // Starting later inside the run reaches the same end and fails the same way.
            pos = end;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_need_sep_or_end() {
        let t = "<loc_1><loc_2><sep><loc_3><poly><loc_4><loc_5>";
        assert_eq!(polygon_runs(t), vec![vec![1, 2], vec![4, 5]]);
        assert_eq!(polygon_runs(""), Vec::<Vec<u64>>::new());
    }

    #[test]
    fn instances_pair_up_lazily() {
        let t = "<poly><loc_1></poly><poly><poly><loc_2></poly></poly><poly>";
        assert_eq!(poly_instances(t), vec!["<loc_1>", "<poly><loc_2>"]);
        assert!(poly_instances("</poly><poly>").is_empty());
    }
}
