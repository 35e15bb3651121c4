//! The 15 tasks as Kotlin sees them (`Task.CAPTION`, `Task.OBJECT_DETECTION`, …).

use florence2_core as core;

macro_rules! tasks {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// One of the 15 Florence-2 tasks (Kotlin `Task.CAPTION`, `Task.OBJECT_DETECTION`, …).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
        pub enum Task {
            $($(#[$doc])* $name,)*
        }

        impl From<Task> for core::Task {
            fn from(task: Task) -> Self {
                match task {
                    $(Task::$name => core::Task::$name,)*
                }
            }
        }

        impl From<core::Task> for Task {
            fn from(task: core::Task) -> Self {
                match task {
                    $(core::Task::$name => Task::$name,)*
                }
            }
        }
    };
}

tasks! {
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
    /// `<CAPTION_TO_PHRASE_GROUNDING>`: boxes for the phrases of a caption given as text.
    CaptionToPhraseGrounding,
    /// `<REFERRING_EXPRESSION_SEGMENTATION>`: polygon mask of the object an expression refers to.
    ReferringExpressionSegmentation,
    /// `<REGION_TO_SEGMENTATION>`: polygon mask of the object in a region given as text
    /// (`<loc_..>` tokens; the region methods build them from a box).
    RegionToSegmentation,
    /// `<OPEN_VOCABULARY_DETECTION>`: boxes (or polygons) of objects named by the text.
    OpenVocabularyDetection,
    /// `<REGION_TO_CATEGORY>`: category name of a region.
    RegionToCategory,
    /// `<REGION_TO_DESCRIPTION>`: description of a region.
    RegionToDescription,
    /// `<REGION_TO_OCR>`: text inside a region.
    RegionToOcr,
}
