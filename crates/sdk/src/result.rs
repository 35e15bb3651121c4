//! What a task call returns to Kotlin: [`TaskResult`] with its typed [`TaskOutput`] and geometry.

use florence2_core as core;

use crate::task::Task;

/// An axis-aligned box in image pixels: `(x1, y1)` top-left, `(x2, y2)` bottom-right.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct BoundingBox {
    /// Left edge.
    pub x1: f64,
    /// Top edge.
    pub y1: f64,
    /// Right edge.
    pub x2: f64,
    /// Bottom edge.
    pub y2: f64,
}

/// A point in image pixels.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct Point {
    /// Horizontal coordinate.
    pub x: f64,
    /// Vertical coordinate.
    pub y: f64,
}

/// A quadrilateral (OCR text line), four corners in the model's order.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Quad {
    /// The four corners.
    pub points: Vec<Point>,
}

/// One closed polygon.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Polygon {
    /// Its vertices.
    pub points: Vec<Point>,
}

/// The mask of one object: one or more polygons.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PolygonMask {
    /// Its polygons.
    pub polygons: Vec<Polygon>,
}

/// The typed result of a task; coordinates are in pixels of the original image.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum TaskOutput {
    /// Captions, OCR, region category/description/OCR.
    Text {
        /// The text, without special tokens.
        text: String,
    },
    /// Object detection, dense region captions, region proposals, phrase grounding, open-vocabulary
    /// detection: one label per box (empty labels for region proposals).
    Boxes {
        /// The boxes.
        boxes: Vec<BoundingBox>,
        /// One label per box.
        labels: Vec<String>,
    },
    /// OCR with regions: one text line per quadrilateral.
    Quads {
        /// The quadrilaterals.
        quads: Vec<Quad>,
        /// One text line per quadrilateral.
        labels: Vec<String>,
    },
    /// Segmentation: one mask per object.
    Polygons {
        /// The masks.
        polygons: Vec<PolygonMask>,
        /// One label per mask (often empty).
        labels: Vec<String>,
    },
    /// Open-vocabulary detection of a fine-tune that answers with boxes and polygons.
    Mixed {
        /// The boxes.
        boxes: Vec<BoundingBox>,
        /// One label per box.
        box_labels: Vec<String>,
        /// The masks.
        polygons: Vec<PolygonMask>,
        /// One label per mask.
        polygon_labels: Vec<String>,
    },
}

fn point(p: &core::task::Point) -> Point {
    Point { x: p.x, y: p.y }
}

fn bbox(b: &core::task::BoundingBox) -> BoundingBox {
    BoundingBox {
        x1: b.x1,
        y1: b.y1,
        x2: b.x2,
        y2: b.y2,
    }
}

fn mask(m: &core::task::PolygonMask) -> PolygonMask {
    PolygonMask {
        polygons: m
            .polygons
            .iter()
            .map(|p| Polygon {
                points: p.points.iter().map(point).collect(),
            })
            .collect(),
    }
}

impl From<core::TaskOutput> for TaskOutput {
    fn from(output: core::TaskOutput) -> Self {
        match output {
            core::TaskOutput::Text(text) => TaskOutput::Text { text },
            core::TaskOutput::Boxes { boxes, labels } => TaskOutput::Boxes {
                boxes: boxes.iter().map(bbox).collect(),
                labels,
            },
            core::TaskOutput::Quads { quads, labels } => TaskOutput::Quads {
                quads: quads
                    .iter()
                    .map(|q| Quad {
                        points: q.points.iter().map(point).collect(),
                    })
                    .collect(),
                labels,
            },
            core::TaskOutput::Polygons { polygons, labels } => TaskOutput::Polygons {
                polygons: polygons.iter().map(mask).collect(),
                labels,
            },
            core::TaskOutput::Mixed {
                boxes,
                box_labels,
                polygons,
                polygon_labels,
            } => TaskOutput::Mixed {
                boxes: boxes.iter().map(bbox).collect(),
                box_labels,
                polygons: polygons.iter().map(mask).collect(),
                polygon_labels,
            },
        }
    }
}

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum FinishReason {
    /// The model ended its answer.
    Eos,
    /// The token limit was reached (the answer may be cut short).
    MaxTokens,
}

/// Time spent in each stage of a call, in milliseconds (waiting for a model half that another
/// call holds is not counted).
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct Timings {
    /// Image decoding, resize and normalisation (0 for an already encoded image).
    pub preprocess_ms: f64,
    /// Vision encoder (0 for an already encoded image).
    pub vision_ms: f64,
    /// Prompt embedding and text encoder.
    pub encoder_ms: f64,
    /// Decode loop.
    pub decoder_ms: f64,
    /// The sum of the stages.
    pub total_ms: f64,
}

/// Everything one task call produced.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TaskResult {
    /// The task that ran.
    pub task: Task,
    /// The typed result (coordinates in pixels of the original image).
    pub output: TaskOutput,
    /// The generated text with special tokens kept (`"</s><s>…</s>"`).
    pub text: String,
    /// The generated token ids, starting with the decoder start token.
    pub generated_ids: Vec<u32>,
    /// Why generation stopped.
    pub finish_reason: FinishReason,
    /// Stage timings.
    pub timings: Timings,
}

impl From<core::TaskRun> for TaskResult {
    fn from(run: core::TaskRun) -> Self {
        let t = run.timings;
        TaskResult {
            task: run.task.into(),
            output: run.output.into(),
            text: run.text,
            generated_ids: run.generated.ids,
            finish_reason: match run.generated.finish {
                core::FinishReason::Eos => FinishReason::Eos,
                core::FinishReason::MaxTokens => FinishReason::MaxTokens,
            },
            timings: Timings {
                preprocess_ms: t.preprocess,
                vision_ms: t.vision,
                encoder_ms: t.encoder,
                decoder_ms: t.decoder,
                total_ms: t.total,
            },
        }
    }
}
