//! Prompt construction: task (+ user text) → the text that is tokenised.

use super::error::TaskError;
use super::loc::PixelBox;
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
    ///   Region tasks expect four `<loc_N>` tokens; [`Task::region_prompt`] builds them from a box.
    ///
    /// # Errors
    /// [`TaskError::UnexpectedInput`] if a task without input gets a non-empty text;
    /// [`TaskError::MissingInput`] / [`TaskError::EmptyInput`] if a task with input gets `None` /
    /// the empty string.
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
}
