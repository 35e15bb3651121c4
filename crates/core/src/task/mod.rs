//! The task layer: the 15 Florence-2 tasks, their prompts, `<loc_N>` location tokens, and the
//! post-processing of generated text into typed results. Pure Rust, no ONNX Runtime.
//!
//! ```
//! use florence2_core::task::{post_process, Task, TaskOutput};
//!
//! let task: Task = "<OD>".parse()?;
//! assert_eq!(task.prompt(None)?, "Locate the objects with category name in the image.");
//!
//! // ... generate, decode with special tokens kept ...
//! let text = "</s><s>car<loc_53><loc_333><loc_933><loc_774></s>";
//! let output = post_process(task, text, 640, 480);
//! let TaskOutput::Boxes { boxes, labels } = &output else { unreachable!() };
//! assert_eq!(labels, &["car"]);
//! assert_eq!(boxes[0].x1, 34.24);
//! assert_eq!(
//!     output.to_json(task).to_string(),
//!     r#"{"<OD>":{"bboxes":[[34.24,160.08,597.44,371.76]],"labels":["car"]}}"#
//! );
//! # Ok::<(), florence2_core::task::TaskError>(())
//! ```
//!
//! Files: `table.rs` (tasks, templates, answer types), `prompt.rs` (prompt construction),
//! `loc.rs` (location tokens and bins), `parse/` (post-processing), `result.rs` (result types),
//! `error.rs`.

mod error;
mod loc;
mod parse;
mod prompt;
mod result;
mod table;

pub use error::TaskError;
pub use loc::{
    LOC_BINS, LOC_TOKEN_BASE_ID, PixelBox, dequantize, loc_bin_of_token_id, loc_token, loc_token_id,
    parse_loc_token, quantize,
};
pub use parse::{BANNED_GROUNDING_PHRASES, post_process};
pub use result::{BoundingBox, Point, Polygon, PolygonMask, Quad, TaskOutput};
pub use table::{AnswerType, Task};
