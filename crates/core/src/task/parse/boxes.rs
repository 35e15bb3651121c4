//! Box parsers: `description_with_bboxes`, `bboxes` and `phrase_grounding`.

use super::scan::{self, BOX_LABEL_STOPS, RunTokens};
use crate::task::loc::dequantize;
use crate::task::result::BoundingBox;

/// Phrases that `phrase_grounding` drops: pronouns and other words that name no object.
///
/// This is the list of the florence-community (transformers) processor configuration, the one the
/// committed references were made with; Microsoft's remote code has the same words. A phrase is
/// dropped when, after trimming, it equals an entry exactly (case-sensitive: `"The"` is kept).
pub const BANNED_GROUNDING_PHRASES: &[&str] = &[
    "it",
    "I",
    "me",
    "mine",
    "you",
    "your",
    "yours",
    "he",
    "him",
    "his",
    "she",
    "her",
    "hers",
    "they",
    "them",
    "their",
    "theirs",
    "one",
    "oneself",
    "we",
    "us",
    "our",
    "ours",
    "its",
    "myself",
    "yourself",
    "himself",
    "herself",
    "itself",
    "ourselves",
    "yourselves",
    "themselves",
    "this",
    "that",
    "these",
    "those",
    "who",
    "whom",
    "whose",
    "which",
    "what",
    "all",
    "another",
    "any",
    "anybody",
    "anyone",
    "anything",
    "each",
    "everybody",
    "everyone",
    "everything",
    "few",
    "many",
    "nobody",
    "none",
    "several",
    "some",
    "somebody",
    "someone",
    "something",
    "image",
    "images",
    "the",
    "a",
    "an",
    "lots",
    "each other",
    "one another",
    "the image",
    "a group",
    "other objects",
    "a set",
];

/// Which box parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BoxLabels {
    /// `description_with_bboxes`: a label, then boxes.
    Described,
    /// `bboxes`: boxes only; labels are empty.
    None,
    /// `phrase_grounding`: like `Described`, minus [`BANNED_GROUNDING_PHRASES`].
    Grounding,
}

/// Boxes and their labels.
///
/// A phrase is a label followed by a run of at least 4 `<loc_N>` tokens; every complete group of
/// 4 tokens in the run is one box with that label (`"wheel"` + 8 tokens gives two "wheel" boxes),
/// and 1–3 leftover tokens are ignored. Labels are trimmed and then lose every non-ASCII character
/// (so `"é cat"` becomes `" cat"`); a phrase whose label has a line break after its first
/// non-space character is skipped (the reference's `.` does not match `\n`).
pub(super) fn parse(
    text: &str,
    image_width: u32,
    image_height: u32,
    mode: BoxLabels,
) -> (Vec<BoundingBox>, Vec<String>) {
    let text = scan::remove_special_tokens(text, true);
    let mut boxes = Vec::new();
    let mut labels = Vec::new();
    for phrase in scan::find_phrases(&text, RunTokens::Loc, mode != BoxLabels::None) {
        let Some(label) = scan::label_before_stop(phrase.text, BOX_LABEL_STOPS) else {
            continue;
        };
        let label = scan::python_strip(label);
        if mode == BoxLabels::Grounding && BANNED_GROUNDING_PHRASES.contains(&label) {
            continue;
        }
        let label: String = label.chars().filter(char::is_ascii).collect();
        for bins in scan::loc_bins(&phrase.tokens).chunks_exact(4) {
            boxes.push(BoundingBox {
                x1: dequantize(bins[0], image_width),
                y1: dequantize(bins[1], image_height),
                x2: dequantize(bins[2], image_width),
                y2: dequantize(bins[3], image_height),
            });
            labels.push(label.clone());
        }
    }
    (boxes, labels)
}
