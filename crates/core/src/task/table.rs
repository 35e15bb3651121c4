//! The Florence-2 task table: task tokens, prompt templates and post-processing types.
//!
//! The table is the one in Microsoft's remote code, transformers' native port and the
//! onnx-community `preprocessor_config.json` (they agree).

use std::fmt;
use std::str::FromStr;

use super::error::TaskError;

/// One of the 15 tasks a Florence-2 checkpoint was trained on.
///
/// A task is named by its token (`<OD>`, `<CAPTION>`, …; see [`Task::token`]), turns into the
/// prompt the model sees with [`Task::prompt`], and its generated text is turned into a typed
/// result by [`post_process`](super::post_process) according to its [`AnswerType`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Task {
    /// `<CAPTION>`: a one-sentence caption.
    Caption,
    /// `<DETAILED_CAPTION>`: a caption of a few sentences.
    DetailedCaption,
    /// `<MORE_DETAILED_CAPTION>`: a paragraph describing the image.
    MoreDetailedCaption,
    /// `<OCR>`: all text in the image, as one string.
    Ocr,
    /// `<OCR_WITH_REGION>`: text lines with a quadrilateral each.
    OcrWithRegion,
    /// `<OD>`: object detection (boxes with category names).
    ObjectDetection,
    /// `<DENSE_REGION_CAPTION>`: boxes with short descriptions.
    DenseRegionCaption,
    /// `<REGION_PROPOSAL>`: boxes without labels.
    RegionProposal,
    /// `<CAPTION_TO_PHRASE_GROUNDING>`: boxes for the phrases of a caption given as input.
    CaptionToPhraseGrounding,
    /// `<REFERRING_EXPRESSION_SEGMENTATION>`: polygon mask of the object an expression refers to.
    ReferringExpressionSegmentation,
    /// `<REGION_TO_SEGMENTATION>`: polygon mask of the object in a region given as input.
    RegionToSegmentation,
    /// `<OPEN_VOCABULARY_DETECTION>`: boxes (or polygons) of objects named by the input.
    OpenVocabularyDetection,
    /// `<REGION_TO_CATEGORY>`: category name of a region given as input.
    RegionToCategory,
    /// `<REGION_TO_DESCRIPTION>`: description of a region given as input.
    RegionToDescription,
    /// `<REGION_TO_OCR>`: text inside a region given as input.
    RegionToOcr,
}

/// How the generated text of a task is turned into a result (the `tasks_answer_post_processing_type`
/// values of the Florence-2 processor configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AnswerType {
    /// `pure_text`: the text itself, without `<s>`/`</s>` and surrounding whitespace.
    PureText,
    /// `ocr`: text lines, each followed by 8 location tokens (a quadrilateral).
    Ocr,
    /// `description_with_bboxes`: labels, each followed by one or more boxes.
    DescriptionWithBboxes,
    /// `bboxes`: boxes without labels.
    Bboxes,
    /// `phrase_grounding`: like `description_with_bboxes`, minus pronouns and other phrases that
    /// name nothing (see [`BANNED_GROUNDING_PHRASES`](super::BANNED_GROUNDING_PHRASES)).
    PhraseGrounding,
    /// `polygons`: polygon masks, labels usually empty.
    Polygons,
    /// `description_with_polygons`: labels, each followed by a polygon mask. No built-in task
    /// uses it; fine-tunes can name it in their configuration.
    DescriptionWithPolygons,
    /// `description_with_bboxes_or_polygons`: polygons if the text has a `<poly>` token,
    /// boxes otherwise.
    DescriptionWithBboxesOrPolygons,
}

impl Task {
    /// All tasks, in the order of the task table.
    pub const ALL: [Task; 15] = [
        Task::Caption,
        Task::DetailedCaption,
        Task::MoreDetailedCaption,
        Task::Ocr,
        Task::OcrWithRegion,
        Task::ObjectDetection,
        Task::DenseRegionCaption,
        Task::RegionProposal,
        Task::CaptionToPhraseGrounding,
        Task::ReferringExpressionSegmentation,
        Task::RegionToSegmentation,
        Task::OpenVocabularyDetection,
        Task::RegionToCategory,
        Task::RegionToDescription,
        Task::RegionToOcr,
    ];

    /// The task token, e.g. `"<OD>"` for [`Task::ObjectDetection`].
    pub const fn token(self) -> &'static str {
        match self {
            Task::Caption => "<CAPTION>",
            Task::DetailedCaption => "<DETAILED_CAPTION>",
            Task::MoreDetailedCaption => "<MORE_DETAILED_CAPTION>",
            Task::Ocr => "<OCR>",
            Task::OcrWithRegion => "<OCR_WITH_REGION>",
            Task::ObjectDetection => "<OD>",
            Task::DenseRegionCaption => "<DENSE_REGION_CAPTION>",
            Task::RegionProposal => "<REGION_PROPOSAL>",
            Task::CaptionToPhraseGrounding => "<CAPTION_TO_PHRASE_GROUNDING>",
            Task::ReferringExpressionSegmentation => "<REFERRING_EXPRESSION_SEGMENTATION>",
            Task::RegionToSegmentation => "<REGION_TO_SEGMENTATION>",
            Task::OpenVocabularyDetection => "<OPEN_VOCABULARY_DETECTION>",
            Task::RegionToCategory => "<REGION_TO_CATEGORY>",
            Task::RegionToDescription => "<REGION_TO_DESCRIPTION>",
            Task::RegionToOcr => "<REGION_TO_OCR>",
        }
    }

    /// How this task's generated text is post-processed.
    pub const fn answer_type(self) -> AnswerType {
        match self {
            Task::Caption
            | Task::DetailedCaption
            | Task::MoreDetailedCaption
            | Task::Ocr
            | Task::RegionToCategory
            | Task::RegionToDescription
            | Task::RegionToOcr => AnswerType::PureText,
            Task::OcrWithRegion => AnswerType::Ocr,
            Task::ObjectDetection | Task::DenseRegionCaption => AnswerType::DescriptionWithBboxes,
            Task::RegionProposal => AnswerType::Bboxes,
            Task::CaptionToPhraseGrounding => AnswerType::PhraseGrounding,
            Task::ReferringExpressionSegmentation | Task::RegionToSegmentation => AnswerType::Polygons,
            Task::OpenVocabularyDetection => AnswerType::DescriptionWithBboxesOrPolygons,
        }
    }

    /// Whether the task needs a text input (a caption, an expression, an object name or a
    /// region). The other tasks have a fixed prompt.
    pub const fn needs_text_input(self) -> bool {
        matches!(
            self,
            Task::CaptionToPhraseGrounding
                | Task::ReferringExpressionSegmentation
                | Task::RegionToSegmentation
                | Task::OpenVocabularyDetection
                | Task::RegionToCategory
                | Task::RegionToDescription
                | Task::RegionToOcr
        )
    }

    /// Whether the task's input is a region, written as four `<loc_N>` tokens (see
    /// [`Task::region_prompt`]).
    pub const fn takes_region(self) -> bool {
        matches!(
            self,
            Task::RegionToSegmentation
                | Task::RegionToCategory
                | Task::RegionToDescription
                | Task::RegionToOcr
        )
    }

    /// The prompt template: the fixed sentence of a task without input, or the sentence with an
    /// `{input}` placeholder for a task with input.
    pub const fn prompt_template(self) -> &'static str {
        match self {
            Task::Caption => "What does the image describe?",
            Task::DetailedCaption => "Describe in detail what is shown in the image.",
            Task::MoreDetailedCaption => "Describe with a paragraph what is shown in the image.",
            Task::Ocr => "What is the text in the image?",
            Task::OcrWithRegion => "What is the text in the image, with regions?",
            Task::ObjectDetection => "Locate the objects with category name in the image.",
            Task::DenseRegionCaption => "Locate the objects in the image, with their descriptions.",
            Task::RegionProposal => "Locate the region proposals in the image.",
            Task::CaptionToPhraseGrounding => "Locate the phrases in the caption: {input}",
            Task::ReferringExpressionSegmentation => "Locate {input} in the image with mask",
            Task::RegionToSegmentation => "What is the polygon mask of region {input}",
            Task::OpenVocabularyDetection => "Locate {input} in the image.",
            Task::RegionToCategory => "What is the region {input}?",
            Task::RegionToDescription => "What does the region {input} describe?",
            Task::RegionToOcr => "What text is in the region {input}?",
        }
    }

    /// Every task token, in table order (for error messages and documentation).
    pub fn tokens() -> Vec<String> {
        Task::ALL.iter().map(|t| t.token().to_string()).collect()
    }
}

impl fmt::Display for Task {
    /// Writes the task token, e.g. `<OD>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.token())
    }
}

impl FromStr for Task {
    type Err = TaskError;

    /// Parses a task token exactly as written in the task table (`"<OD>"`, case-sensitive, no
    /// surrounding whitespace).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Task::ALL
            .into_iter()
            .find(|t| t.token() == s)
            .ok_or_else(|| TaskError::UnknownTask {
                name: s.to_string(),
                known: Task::tokens(),
            })
    }
}

impl AnswerType {
    /// All post-processing types.
    pub const ALL: [AnswerType; 8] = [
        AnswerType::PureText,
        AnswerType::Ocr,
        AnswerType::DescriptionWithBboxes,
        AnswerType::Bboxes,
        AnswerType::PhraseGrounding,
        AnswerType::Polygons,
        AnswerType::DescriptionWithPolygons,
        AnswerType::DescriptionWithBboxesOrPolygons,
    ];

    /// The name used in processor configurations, e.g. `"description_with_bboxes"`.
    pub const fn name(self) -> &'static str {
        match self {
            AnswerType::PureText => "pure_text",
            AnswerType::Ocr => "ocr",
            AnswerType::DescriptionWithBboxes => "description_with_bboxes",
            AnswerType::Bboxes => "bboxes",
            AnswerType::PhraseGrounding => "phrase_grounding",
            AnswerType::Polygons => "polygons",
            AnswerType::DescriptionWithPolygons => "description_with_polygons",
            AnswerType::DescriptionWithBboxesOrPolygons => "description_with_bboxes_or_polygons",
        }
    }
}

impl fmt::Display for AnswerType {
    /// Writes the configuration name, e.g. `description_with_bboxes`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for AnswerType {
    type Err = TaskError;

    /// Parses a configuration name such as `"polygons"` (exact, case-sensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AnswerType::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| TaskError::UnknownAnswerType {
                name: s.to_string(),
                known: AnswerType::ALL.iter().map(|t| t.name().to_string()).collect(),
            })
    }
}
