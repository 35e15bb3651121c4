//! Turning decoded images and caller pixels by [`Rotation`] (clockwise, as camera sensors and
//! `ImageInfo.rotationDegrees` mean it), converted to the resizer's working layout on the way.
//!
//! One pass over the source rows: each row is converted (RGBA/BGRA to RGB, gray kept as one
//! channel) into a scratch row, then stored at its rotated position. The destination is
//! caller-owned scratch, so a [`Preprocessor`](crate::Preprocessor) reuses it between frames.

use crate::convert::{working_channels, working_row};
use crate::pixels::ImageView;
use crate::yuv::Rotation;

/// Writes `src`, in the working layout of its format (`C` = 1 for gray, else 3) and turned by
/// `rotation`, into `dst` (`w * h * C` bytes of the rotated size, packed). `row` is scratch,
/// grown as needed.
pub(crate) fn rotate_into(src: &ImageView<'_>, rotation: Rotation, dst: &mut [u8], row: &mut Vec<u8>) {
    let (w, h) = src.dims();
    let c = working_channels(src.format());
    debug_assert_eq!(dst.len(), w * h * c);
    row.resize(w * c, 0);
    for y in 0..h {
        let px = working_row(src.format(), src.row(y), row);
        match rotation {
            Rotation::None => dst[y * w * c..][..w * c].copy_from_slice(px),
            Rotation::Rotate180 => {
                let out = &mut dst[(h - 1 - y) * w * c..][..w * c];
                for (o, p) in out.chunks_exact_mut(c).zip(px.chunks_exact(c).rev()) {
                    o.copy_from_slice(p);
                }
            }
            // The rotated image is `h` wide. 90° cw: (x, y) -> (h - 1 - y, x);
            // 270° cw: (x, y) -> (y, w - 1 - x).
            Rotation::Clockwise90 => {
                let col = (h - 1 - y) * c;
                for (x, p) in px.chunks_exact(c).enumerate() {
                    dst[x * h * c + col..][..c].copy_from_slice(p);
                }
            }
            Rotation::Clockwise270 => {
                let col = y * c;
                for (x, p) in px.chunks_exact(c).enumerate() {
                    dst[(w - 1 - x) * h * c + col..][..c].copy_from_slice(p);
                }
            }
        }
    }
}
