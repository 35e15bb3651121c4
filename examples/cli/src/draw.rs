//! `--draw`: the image with boxes, quads, polygons and their labels (8×8 bitmap font).

use std::path::Path;

use anyhow::{Context, Result};
use florence2_core::TaskOutput;
use florence2_core::task::{BoundingBox, Point, PolygonMask, Quad};
use florence2_preprocess::RgbImage;
use font8x8::UnicodeFonts;
use image::{Rgb, RgbImage as Canvas};

const PALETTE: [[u8; 3]; 6] = [
    [230, 25, 75],
    [60, 180, 75],
    [0, 130, 200],
    [245, 130, 48],
    [145, 30, 180],
    [240, 50, 230],
];

/// Writes `image` with `output` drawn on it to `out` (format from the extension).
pub fn draw_result(image: &RgbImage, output: &TaskOutput, out: &Path) -> Result<()> {
    let mut canvas = Canvas::from_raw(image.width(), image.height(), image.as_bytes().to_vec())
        .context("image buffer does not match its size")?;
    let thickness = (image.width().max(image.height()) / 400).max(1) as i64;
    let mut n = 0usize;
    let mut color = || {
        let c = PALETTE[n % PALETTE.len()];
        n += 1;
        Rgb(c)
    };
    match output {
        TaskOutput::Text(text) => label(&mut canvas, 2, 2, text, Rgb([255, 255, 255])),
        TaskOutput::Boxes { boxes, labels } => {
            for (b, l) in boxes.iter().zip(labels) {
                draw_box(&mut canvas, b, l, color(), thickness);
            }
        }
        TaskOutput::Quads { quads, labels } => {
            for (q, l) in quads.iter().zip(labels) {
                draw_quad(&mut canvas, q, l, color(), thickness);
            }
        }
        TaskOutput::Polygons { polygons, labels } => {
            for (p, l) in polygons.iter().zip(labels) {
                draw_mask(&mut canvas, p, l, color(), thickness);
            }
        }
        TaskOutput::Mixed {
            boxes,
            box_labels,
            polygons,
            polygon_labels,
        } => {
            for (b, l) in boxes.iter().zip(box_labels) {
                draw_box(&mut canvas, b, l, color(), thickness);
            }
            for (p, l) in polygons.iter().zip(polygon_labels) {
                draw_mask(&mut canvas, p, l, color(), thickness);
            }
        }
    }
    canvas
        .save(out)
        .with_context(|| format!("writing {}", out.display()))
}

fn draw_box(canvas: &mut Canvas, b: &BoundingBox, text: &str, c: Rgb<u8>, t: i64) {
    let corners = [
        Point { x: b.x1, y: b.y1 },
        Point { x: b.x2, y: b.y1 },
        Point { x: b.x2, y: b.y2 },
        Point { x: b.x1, y: b.y2 },
    ];
    outline(canvas, &corners, c, t);
    label(canvas, b.x1.min(b.x2) as i64, b.y1.min(b.y2) as i64 - 10, text, c);
}

fn draw_quad(canvas: &mut Canvas, q: &Quad, text: &str, c: Rgb<u8>, t: i64) {
    outline(canvas, &q.points, c, t);
    label(canvas, q.points[0].x as i64, q.points[0].y as i64 - 10, text, c);
}

fn draw_mask(canvas: &mut Canvas, mask: &PolygonMask, text: &str, c: Rgb<u8>, t: i64) {
    for polygon in &mask.polygons {
        outline(canvas, &polygon.points, c, t);
    }
    if let Some(p) = mask.polygons.iter().flat_map(|p| p.points.first()).next() {
        label(canvas, p.x as i64, p.y as i64 - 10, text, c);
    }
}

/// A closed outline through `points`.
fn outline(canvas: &mut Canvas, points: &[Point], c: Rgb<u8>, t: i64) {
    for (i, a) in points.iter().enumerate() {
        let b = &points[(i + 1) % points.len()];
        line(canvas, (a.x as i64, a.y as i64), (b.x as i64, b.y as i64), c, t);
    }
}

/// Bresenham's line, `t` pixels thick; pixels outside the canvas are skipped.
fn line(canvas: &mut Canvas, (mut x0, mut y0): (i64, i64), (x1, y1): (i64, i64), c: Rgb<u8>, t: i64) {
    let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
    let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
    let mut err = dx + dy;
    // Long lines from garbage coordinates are clipped by the pixel check; cap the walk anyway.
    for _ in 0..=(dx.max(-dy).min(1 << 16)) {
        for ox in 0..t {
            for oy in 0..t {
                put(canvas, x0 + ox, y0 + oy, c);
            }
        }
        if x0 == x1 && y0 == y1 {
            break;
        }
        let e2 = 2 * err;
        if e2 >= dy {
            err += dy;
            x0 += sx;
        }
        if e2 <= dx {
            err += dx;
            y0 += sy;
        }
    }
}

fn put(canvas: &mut Canvas, x: i64, y: i64, c: Rgb<u8>) {
    if x >= 0 && y >= 0 && (x as u64) < u64::from(canvas.width()) && (y as u64) < u64::from(canvas.height()) {
        canvas.put_pixel(x as u32, y as u32, c);
    }
}

/// Text in the 8×8 font on a dark background strip (characters outside the font become `?`).
fn label(canvas: &mut Canvas, x: i64, y: i64, text: &str, c: Rgb<u8>) {
    let y = y.max(0);
    for (i, ch) in text.chars().take(60).enumerate() {
        let glyph = font8x8::BASIC_FONTS
            .get(ch)
            .or_else(|| font8x8::BASIC_FONTS.get('?'))
            .unwrap_or([0; 8]);
        let gx = x + 8 * i as i64;
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8 {
                let on = bits & (1 << col) != 0;
                put(
                    canvas,
                    gx + col,
                    y + row as i64,
                    if on { c } else { Rgb([0, 0, 0]) },
                );
            }
        }
    }
}
