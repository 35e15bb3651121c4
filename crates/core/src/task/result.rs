//! Typed task results.
//!
//! Coordinates are pixels of the original image, as `f64` bin centres (see
//! [`dequantize`](super::dequantize)). With `serde`, every result serialises to exactly the JSON
//! answer of the Python processor's `post_process_generation` (with float coordinates); see
//! [`TaskOutput`].

use serde::ser::{Serialize, SerializeSeq, Serializer};

use super::table::Task;

/// A point in image pixels.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Point {
    /// Horizontal position (0 = left edge).
    pub x: f64,
    /// Vertical position (0 = top edge).
    pub y: f64,
}

/// An axis-aligned box in image pixels as the model wrote it: `(x1, y1)` is the first corner,
/// `(x2, y2)` the second. The model normally writes top-left then bottom-right, but nothing
/// enforces it (nor are values clamped to the image).
///
/// Serialises as `[x1, y1, x2, y2]`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BoundingBox {
    /// First x (normally the left edge).
    pub x1: f64,
    /// First y (normally the top edge).
    pub y1: f64,
    /// Second x (normally the right edge).
    pub x2: f64,
    /// Second y (normally the bottom edge).
    pub y2: f64,
}

/// A quadrilateral around a text line, four corners in the order the model wrote them
/// (clockwise from the top-left in practice).
///
/// Serialises as `[x1, y1, x2, y2, x3, y3, x4, y4]`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Quad {
    /// The four corners.
    pub points: [Point; 4],
}

/// A closed polygon, as a list of vertices (the last connects back to the first).
///
/// Serialises as the flat list `[x1, y1, x2, y2, …]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Polygon {
    /// The vertices, in order. Can be empty when the model wrote a single coordinate.
    pub points: Vec<Point>,
}

/// The segmentation of one object: one or more polygons (an object split by occlusion gets
/// several).
///
/// Serialises as a list of polygons.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PolygonMask {
    /// The polygons of this object.
    pub polygons: Vec<Polygon>,
}

/// The result of one task, typed by its [`AnswerType`](super::AnswerType).
///
/// `labels[i]` belongs to the `i`-th box, quad or mask. Serialises (serde) to exactly the answer
/// that Python's `Florence2Processor.post_process_generation` puts under the task key:
///
/// | variant | JSON |
/// |---|---|
/// | `Text` | `"the caption"` |
/// | `Boxes` | `{"bboxes": [[x1,y1,x2,y2], …], "labels": […]}` |
/// | `Quads` | `{"quad_boxes": [[x1,y1,…,x4,y4], …], "labels": […]}` |
/// | `Polygons` | `{"polygons": [[[x,y,x,y,…], …], …], "labels": […]}` |
/// | `Mixed` | `{"bboxes": …, "bboxes_labels": …, "polygons": …, "polygons_labels": …}` |
///
/// [`TaskOutput::to_json`] wraps it as `{"<TASK>": answer}`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum TaskOutput {
    /// Plain text (captions, `<OCR>`, the region-to-text tasks). Region tasks keep any
    /// `<loc_N>` tokens the model wrote, e.g. `"car<loc_52><loc_332><loc_932><loc_774>"`.
    Text(String),
    /// Boxes with one label each (`<OD>`, dense captions, region proposals with empty labels,
    /// phrase grounding).
    Boxes {
        /// The boxes.
        #[serde(rename = "bboxes")]
        boxes: Vec<BoundingBox>,
        /// One label per box.
        labels: Vec<String>,
    },
    /// Text lines with a quadrilateral each (`<OCR_WITH_REGION>`).
    Quads {
        /// The quadrilaterals.
        #[serde(rename = "quad_boxes")]
        quads: Vec<Quad>,
        /// The text of each line.
        labels: Vec<String>,
    },
    /// Polygon masks with one label each (segmentation tasks; labels are usually empty).
    Polygons {
        /// One mask per object.
        polygons: Vec<PolygonMask>,
        /// One label per mask.
        labels: Vec<String>,
    },
    /// Boxes or polygon masks (`<OPEN_VOCABULARY_DETECTION>`); in practice one of the two is
    /// empty.
    Mixed {
        /// The boxes.
        #[serde(rename = "bboxes")]
        boxes: Vec<BoundingBox>,
        /// One label per box.
        #[serde(rename = "bboxes_labels")]
        box_labels: Vec<String>,
        /// The polygon masks.
        polygons: Vec<PolygonMask>,
        /// One label per mask.
        #[serde(rename = "polygons_labels")]
        polygon_labels: Vec<String>,
    },
}

impl TaskOutput {
    /// The result as the Python processor returns it: `{"<TASK>": answer}`.
    pub fn to_json(&self, task: Task) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        // Serialising these types cannot fail: every map key is a string.
        let answer = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        map.insert(task.token().to_string(), answer);
        serde_json::Value::Object(map)
    }

    /// The text of a [`TaskOutput::Text`] result, `None` for the other variants.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            TaskOutput::Text(text) => Some(text),
            _ => None,
        }
    }
}

fn serialize_flat<S: Serializer>(points: &[Point], serializer: S) -> Result<S::Ok, S::Error> {
    let mut seq = serializer.serialize_seq(Some(points.len() * 2))?;
    for p in points {
        seq.serialize_element(&p.x)?;
        seq.serialize_element(&p.y)?;
    }
    seq.end()
}

impl Serialize for Point {
    /// `[x, y]`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        [self.x, self.y].serialize(serializer)
    }
}

impl Serialize for BoundingBox {
    /// `[x1, y1, x2, y2]`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        [self.x1, self.y1, self.x2, self.y2].serialize(serializer)
    }
}

impl Serialize for Quad {
    /// `[x1, y1, x2, y2, x3, y3, x4, y4]`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_flat(&self.points, serializer)
    }
}

impl Serialize for Polygon {
    /// `[x1, y1, x2, y2, …]`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_flat(&self.points, serializer)
    }
}

impl Serialize for PolygonMask {
    /// A list of polygons.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.polygons.serialize(serializer)
    }
}
