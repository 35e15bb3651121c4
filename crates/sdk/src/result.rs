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

/// A box with its label (an object, a region caption, a grounded phrase; empty for region
/// proposals).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct LabeledBox {
    /// The label.
    pub label: String,
    /// Where it is.
    pub bounds: BoundingBox,
}

/// One line of text with the quadrilateral around it (`<OCR_WITH_REGION>`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TextLine {
    /// The text.
    pub text: String,
    /// Its quadrilateral.
    pub quad: Quad,
}

/// One object's mask with its label (often empty).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct LabeledMask {
    /// The label.
    pub label: String,
    /// Its polygons.
    pub mask: PolygonMask,
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
    /// detection: one labelled box per object.
    Boxes {
        /// The objects, in the model's order.
        objects: Vec<LabeledBox>,
    },
    /// OCR with regions: one text line per quadrilateral.
    Quads {
        /// The lines, in the model's order.
        lines: Vec<TextLine>,
    },
    /// Segmentation: one labelled mask per object.
    Polygons {
        /// The masks.
        masks: Vec<LabeledMask>,
    },
    /// Open-vocabulary detection of a fine-tune that answers with boxes and polygons.
    Mixed {
        /// The boxed objects.
        objects: Vec<LabeledBox>,
        /// The masked objects.
        masks: Vec<LabeledMask>,
    },
}

fn point(p: &core::task::Point) -> Point {
    Point { x: p.x, y: p.y }
}

fn labeled_boxes(boxes: &[core::task::BoundingBox], labels: Vec<String>) -> Vec<LabeledBox> {
    boxes
        .iter()
        .zip(labels)
        .map(|(b, label)| LabeledBox {
            label,
            bounds: BoundingBox {
                x1: b.x1,
                y1: b.y1,
                x2: b.x2,
                y2: b.y2,
            },
        })
        .collect()
}

fn labeled_masks(masks: &[core::task::PolygonMask], labels: Vec<String>) -> Vec<LabeledMask> {
    masks
        .iter()
        .zip(labels)
        .map(|(m, label)| LabeledMask {
            label,
            mask: PolygonMask {
                polygons: m
                    .polygons
                    .iter()
                    .map(|p| Polygon {
                        points: p.points.iter().map(point).collect(),
                    })
                    .collect(),
            },
        })
        .collect()
}

impl From<core::TaskOutput> for TaskOutput {
    fn from(output: core::TaskOutput) -> Self {
        match output {
            core::TaskOutput::Text(text) => TaskOutput::Text { text },
            core::TaskOutput::Boxes { boxes, labels } => TaskOutput::Boxes {
                objects: labeled_boxes(&boxes, labels),
            },
            core::TaskOutput::Quads { quads, labels } => TaskOutput::Quads {
                lines: quads
                    .iter()
                    .zip(labels)
                    .map(|(q, text)| TextLine {
                        text,
                        quad: Quad {
                            points: q.points.iter().map(point).collect(),
                        },
                    })
                    .collect(),
            },
            core::TaskOutput::Polygons { polygons, labels } => TaskOutput::Polygons {
                masks: labeled_masks(&polygons, labels),
            },
            core::TaskOutput::Mixed {
                boxes,
                box_labels,
                polygons,
                polygon_labels,
            } => TaskOutput::Mixed {
                objects: labeled_boxes(&boxes, box_labels),
                masks: labeled_masks(&polygons, polygon_labels),
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
    pub generated_ids: Vec<i32>,
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
            generated_ids: run
                .generated
                .ids
                .iter()
                .map(|&id| i32::try_from(id).unwrap_or(i32::MAX))
                .collect(),
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
