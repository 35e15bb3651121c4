//! Post-processing: generated text → [`TaskOutput`].
//!
//! The semantics are those of transformers 5's `Florence2PostProcessor` and
//! `Florence2Processor.post_process_generation` (the Python reference the committed test outputs
//! come from), with one deliberate change: coordinates are `f64` bin centres
//! `(bin + 0.5) * size / 1000`, as in Microsoft's remote code and transformers.js, instead of
//! transformers' truncation to integers.

mod boxes;
mod ocr;
mod polygons;
mod scan;

pub use boxes::BANNED_GROUNDING_PHRASES;

use super::result::TaskOutput;
use super::table::{AnswerType, Task};
use boxes::BoxLabels;

/// Turns the text generated for `task` into its typed result.
///
/// `text` is the decoded output with special tokens kept, e.g.
/// `"</s><s>car<loc_52><loc_333><loc_932><loc_774></s>"`; `image_width` and `image_height` are the
/// size of the original image in pixels (coordinates are mapped back to it). Never fails: text
/// that does not follow the task's format gives empty lists, and any size (0 included) is
/// accepted. See [`AnswerType::post_process`] for what each type does.
pub fn post_process(task: Task, text: &str, image_width: u32, image_height: u32) -> TaskOutput {
    task.answer_type().post_process(text, image_width, image_height)
}

impl AnswerType {
    /// Turns generated text into the result of this post-processing type (for tasks of
    /// fine-tunes that name a type in their configuration; [`post_process`] picks the type of a
    /// built-in task).
    ///
    /// - `PureText`: every `<s>` and `</s>` removed, then surrounding whitespace trimmed;
    ///   `<loc_N>` and other tokens stay.
    /// - `Ocr`: each text line followed by 8 `<loc_N>` becomes a [`Quad`](super::Quad) labelled
    ///   with the trimmed line.
    /// - `DescriptionWithBboxes`, `PhraseGrounding`: a label followed by groups of 4 `<loc_N>`
    ///   becomes one box per group; labels are trimmed and keep only ASCII characters; grounding
    ///   also drops [`BANNED_GROUNDING_PHRASES`].
    /// - `Bboxes`: runs of 4 or more `<loc_N>` become boxes with empty labels.
    /// - `Polygons` (label optional), `DescriptionWithPolygons` (label required): polygon masks.
    /// - `DescriptionWithBboxesOrPolygons`: polygon masks if the text contains `<poly>`, boxes
    ///   otherwise, as [`TaskOutput::Mixed`].
    ///
    /// All parsers but `PureText` first remove `<s>`, `</s>` and `<pad>`. They accept any number
    /// in `<loc_N>` (`<loc_1000>` and beyond map past the image edge; absurdly long numbers
    /// saturate instead of overflowing). Known differences from the Python reference: only ASCII
    /// digits count in `<loc_N>` (Python's `\d` also takes other Unicode digits), and Python
    /// raises on numbers beyond 2^63 where this saturates.
    pub fn post_process(self, text: &str, image_width: u32, image_height: u32) -> TaskOutput {
        let (w, h) = (image_width, image_height);
        match self {
            AnswerType::PureText => {
                let text = scan::remove_special_tokens(text, false);
                TaskOutput::Text(scan::python_strip(&text).to_string())
            }
            AnswerType::Ocr => {
                let (quads, labels) = ocr::parse(text, w, h, 0.0);
                TaskOutput::Quads { quads, labels }
            }
            AnswerType::DescriptionWithBboxes => {
                let (boxes, labels) = boxes::parse(text, w, h, BoxLabels::Described);
                TaskOutput::Boxes { boxes, labels }
            }
            AnswerType::Bboxes => {
                let (boxes, labels) = boxes::parse(text, w, h, BoxLabels::None);
                TaskOutput::Boxes { boxes, labels }
            }
            AnswerType::PhraseGrounding => {
                let (boxes, labels) = boxes::parse(text, w, h, BoxLabels::Grounding);
                TaskOutput::Boxes { boxes, labels }
            }
            AnswerType::Polygons => {
                let (polygons, labels) = polygons::parse(text, w, h, false);
                TaskOutput::Polygons { polygons, labels }
            }
            AnswerType::DescriptionWithPolygons => {
                let (polygons, labels) = polygons::parse(text, w, h, true);
                TaskOutput::Polygons { polygons, labels }
            }
            AnswerType::DescriptionWithBboxesOrPolygons => {
                // The reference checks the text as generated, before removing special tokens.
                if text.contains("<poly>") {
                    let (polygons, polygon_labels) = polygons::parse(text, w, h, true);
                    TaskOutput::Mixed {
                        boxes: Vec::new(),
                        box_labels: Vec::new(),
                        polygons,
                        polygon_labels,
                    }
                } else {
                    let (boxes, box_labels) = boxes::parse(text, w, h, BoxLabels::Described);
                    TaskOutput::Mixed {
                        boxes,
                        box_labels,
                        polygons: Vec::new(),
                        polygon_labels: Vec::new(),
                    }
                }
            }
        }
    }
}
