//! The error type of the task layer.

use super::table::Task;

/// What can go wrong when naming a task or building its prompt.
///
/// Post-processing never fails (malformed model output gives empty lists), so every variant here
/// is about the caller's input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TaskError {
    /// The string is not one of the 15 Florence-2 task tokens (such as `<OD>`).
    #[error("unknown Florence-2 task {name:?}; known tasks: {}", .known.join(", "))]
    UnknownTask {
        /// The string that was given.
        name: String,
        /// Every known task token.
        known: Vec<String>,
    },

    /// The string is not a known post-processing type (such as `description_with_bboxes`).
    #[error("unknown post-processing type {name:?}; known types: {}", .known.join(", "))]
    UnknownAnswerType {
        /// The string that was given.
        name: String,
        /// Every known post-processing type.
        known: Vec<String>,
    },

    /// The task has a fixed prompt, but a text input was given.
    #[error("task {task} takes no text input, but {input:?} was given")]
    UnexpectedInput {
        /// The task.
        task: Task,
        /// The text that was given.
        input: String,
    },

    /// The task needs a text input (a caption, an expression or a region), but none was given.
    #[error("task {task} needs a text input")]
    MissingInput {
        /// The task.
        task: Task,
    },

    /// The task needs a text input, but the empty string was given.
    #[error("task {task} needs a non-empty text input")]
    EmptyInput {
        /// The task.
        task: Task,
    },

    /// A region was given for a task whose input is not a region.
    #[error("task {task} does not take a region input")]
    NotARegionTask {
        /// The task.
        task: Task,
    },

    /// A coordinate of a region is NaN or infinite.
    #[error("coordinate {name} of the region is {value}; coordinates must be finite")]
    NonFiniteCoordinate {
        /// Which coordinate (`x1`, `y1`, `x2`, `y2`, or `coordinate` for a single value).
        name: &'static str,
        /// Its value.
        value: f64,
    },

    /// The image size has a zero side, so pixel coordinates cannot be mapped to bins.
    #[error("image size {width}x{height} has a zero side")]
    EmptyImage {
        /// Image width in pixels.
        width: u32,
        /// Image height in pixels.
        height: u32,
    },

    /// A location bin is outside `0..=999`, so it has no `<loc_N>` token.
    #[error("location bin {bin} is outside 0..=999")]
    LocBinOutOfRange {
        /// The bin that was given.
        bin: u32,
    },

    /// A region task's text input is not a region: four `<loc_N>` tokens, each `N` in `0..=999`
    /// (`x1`, `y1`, `x2`, `y2` in thousandths of the image).
    #[error(
        "task {task} takes a region as four <loc_N> tokens with N in 0..=999 \
         (e.g. <loc_52><loc_333><loc_932><loc_774>), but {input:?} was given"
    )]
    InvalidRegion {
        /// The task.
        task: Task,
        /// The text that was given.
        input: String,
    },
}
