//! Prompt construction: task (+ user text) → the text that is tokenised.

use super::error::TaskError;
use super::loc::{LOC_BINS, PixelBox, loc_token_at};
use super::table::Task;

impl Task {
    /// The prompt the model sees for this task.
    ///
    /// - Tasks without input ([`Task::needs_text_input`] is false) give their fixed sentence,
    ///   e.g. `<OD>` → `"Locate the objects with category name in the image."`. `None` and
    ///   `Some("")` both mean "no input".
    /// - Tasks with input replace `{input}` in their template with `text` **verbatim**: no
    ///   trimming, no escaping (Microsoft's processor and transformers.js do the same; transformers
    ///   5 trims). `<OPEN_VOCABULARY_DETECTION>` with `"cat"` → `"Locate cat in the image."`.
    ///   Region tasks take exactly four `<loc_N>` tokens (`N` in `0..=999`);
    ///   [`Task::region_prompt`] builds them from a box.
    ///
    /// # Errors
    /// [`TaskError::UnexpectedInput`] if a task without input gets a non-empty text;
    /// [`TaskError::MissingInput`] / [`TaskError::EmptyInput`] if a task with input gets `None` /
    /// the empty string; [`TaskError::InvalidRegion`] if a region task's text is not four
    /// `<loc_N>` tokens with `N` in `0..=999` (anything else would be tokenised as plain text and
    /// silently give a meaningless answer).
    pub fn prompt(self, text: Option<&str>) -> Result<String, TaskError> {
        let template = self.prompt_template();
        match (self.needs_text_input(), text) {
            (false, None | Some("")) => Ok(template.to_string()),
            (false, Some(input)) => Err(TaskError::UnexpectedInput {
                task: self,
                input: input.to_string(),
            }),
            (true, None) => Err(TaskError::MissingInput { task: self }),
            (true, Some("")) => Err(TaskError::EmptyInput { task: self }),
            (true, Some(input)) if self.takes_region() && !is_region(input) => {
                Err(TaskError::InvalidRegion {
                    task: self,
                    input: input.to_string(),
                })
            }
            (true, Some(input)) => Ok(template.replace("{input}", input)),
        }
    }

    /// The prompt of a region task for a box given in pixels of an image of the given size:
    /// the box becomes `<loc_x1><loc_y1><loc_x2><loc_y2>` (see [`PixelBox::to_loc_tokens`]) and is
    /// inserted into the template.
    ///
    /// # Errors
    /// [`TaskError::NotARegionTask`] if [`Task::takes_region`] is false, and the errors of
    /// [`PixelBox::to_loc_tokens`].
    pub fn region_prompt(
        self,
        region: PixelBox,
        image_width: u32,
        image_height: u32,
    ) -> Result<String, TaskError> {
        if !self.takes_region() {
            return Err(TaskError::NotARegionTask { task: self });
        }
        let input = region.to_loc_tokens(image_width, image_height)?;
        self.prompt(Some(&input))
    }
}

/// Whether `text` is exactly four location tokens `<loc_N>` with `N` in `0..=999`.
fn is_region(text: &str) -> bool {
    let mut pos = 0;
    let mut count = 0;
    while pos < text.len() {
        match loc_token_at(text, pos) {
            Some((bin, len)) if bin < u64::from(LOC_BINS) => {
                pos += len;
                count += 1;
            }
            _ => return false,
        }
    }
    count == 4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_prompts() {
        assert_eq!(
            Task::ObjectDetection.prompt(None).as_deref(),
            Ok("Locate the objects with category name in the image.")
        );
        assert_eq!(
            Task::Caption.prompt(Some("")).as_deref(),
            Ok("What does the image describe?")
        );
        assert_eq!(
            Task::Ocr.prompt(Some(" extra text")),
            Err(TaskError::UnexpectedInput {
                task: Task::Ocr,
                input: " extra text".into()
            })
        );
    }

    #[test]
    fn input_is_inserted_verbatim() {
        assert_eq!(
            Task::CaptionToPhraseGrounding
                .prompt(Some(" a red car"))
                .as_deref(),
            Ok("Locate the phrases in the caption:  a red car")
        );
        assert_eq!(
            Task::OpenVocabularyDetection
                .prompt(Some("{input} {0} <OD>"))
                .as_deref(),
            Ok("Locate {input} {0} <OD> in the image.")
        );
        assert_eq!(
            Task::ReferringExpressionSegmentation.prompt(None),
            Err(TaskError::MissingInput {
                task: Task::ReferringExpressionSegmentation
            })
        );
        assert_eq!(
            Task::RegionToOcr.prompt(Some("")),
            Err(TaskError::EmptyInput {
                task: Task::RegionToOcr
            })
        );
    }

    #[test]
    fn region_prompts() {
        let b = PixelBox::new(33.6, 160.08, 596.8, 371.76);
        assert_eq!(
            Task::RegionToCategory.region_prompt(b, 640, 480).as_deref(),
            Ok("What is the region <loc_52><loc_333><loc_932><loc_774>?")
        );
        assert_eq!(
            Task::Caption.region_prompt(b, 640, 480),
            Err(TaskError::NotARegionTask { task: Task::Caption })
        );
        assert_eq!(
            Task::RegionToOcr.region_prompt(b, 640, 0),
            Err(TaskError::EmptyImage {
                width: 640,
                height: 0
            })
        );
        let nan = PixelBox::new(0.0, 0.0, f64::INFINITY, 1.0);
        assert!(matches!(
            Task::RegionToOcr.region_prompt(nan, 640, 480),
            Err(TaskError::NonFiniteCoordinate { name: "x2", .. })
        ));
    }

    #[test]
    fn region_text_must_be_four_location_tokens() {
        assert_eq!(
            Task::RegionToCategory
                .prompt(Some("<loc_0><loc_1><loc_998><loc_999>"))
                .as_deref(),
            Ok("What is the region <loc_0><loc_1><loc_998><loc_999>?")
        );
        for bad in [
            "<loc_1><loc_2><loc_3><loc_1000>",
            "<loc_1><loc_2><loc_3>",
            "<loc_1><loc_2><loc_3><loc_4><loc_5>",
            "<loc_1> <loc_2><loc_3><loc_4>",
            "<loc_1><loc_2><loc_3><loc_-4>",
            "<loc_1><loc_2><loc_3><loc_4",
            "a cat",
        ] {
            assert_eq!(
                Task::RegionToSegmentation.prompt(Some(bad)),
                Err(TaskError::InvalidRegion {
                    task: Task::RegionToSegmentation,
                    input: bad.into()
                }),
                "{bad}"
            );
        }
        // Other tasks with text input take any text, location tokens included.
        assert!(Task::OpenVocabularyDetection.prompt(Some("<loc_5000>")).is_ok());
    }
}
