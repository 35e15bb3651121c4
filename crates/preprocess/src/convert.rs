//! Pixel-format conversions of single rows to the resizer's working layout.
//!
//! The reference path converts like Pillow's `Image.convert("RGB")`: alpha is dropped without
//! compositing, BGRA is reordered, and grayscale stays one channel through the resize (each
//! channel is resampled independently, so resizing gray once and replicating it afterwards gives
//! exactly the bytes of resizing the replicated RGB image).

use crate::pixels::PixelFormat;

/// Interleaved channels the resizer works with for `format`: 1 for gray, 3 otherwise.
pub(crate) fn working_channels(format: PixelFormat) -> usize {
    match format {
        PixelFormat::Gray8 => 1,
        PixelFormat::Rgb8 | PixelFormat::Rgba8 | PixelFormat::Bgra8 => 3,
    }
}

/// RGBA → RGB, alpha dropped.
pub(crate) fn rgba8_to_rgb8(src: &[u8], dst: &mut [u8]) {
    for (d, s) in dst.chunks_exact_mut(3).zip(src.chunks_exact(4)) {
        d.copy_from_slice(&s[..3]);
    }
}

/// BGRA → RGB, alpha dropped.
pub(crate) fn bgra8_to_rgb8(src: &[u8], dst: &mut [u8]) {
    for (d, s) in dst.chunks_exact_mut(3).zip(src.chunks_exact(4)) {
        d[0] = s[2];
        d[1] = s[1];
        d[2] = s[0];
    }
}

/// Gray → RGB, the value replicated.
pub(crate) fn gray8_to_rgb8(src: &[u8], dst: &mut [u8]) {
    for (d, &s) in dst.chunks_exact_mut(3).zip(src) {
        d.fill(s);
    }
}

/// Row `y` of `format` in the working layout: borrowed when it already is (RGB, gray), else
/// converted into `scratch` (which must hold `width * working_channels` bytes).
pub(crate) fn working_row<'a>(format: PixelFormat, row: &'a [u8], scratch: &'a mut [u8]) -> &'a [u8] {
    match format {
        PixelFormat::Rgb8 | PixelFormat::Gray8 => row,
        PixelFormat::Rgba8 => {
            rgba8_to_rgb8(row, scratch);
            scratch
        }
        PixelFormat::Bgra8 => {
            bgra8_to_rgb8(row, scratch);
            scratch
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        let mut out = [0u8; 6];
        rgba8_to_rgb8(&[1, 2, 3, 4, 5, 6, 7, 8], &mut out);
        assert_eq!(out, [1, 2, 3, 5, 6, 7]);
        bgra8_to_rgb8(&[1, 2, 3, 4, 5, 6, 7, 8], &mut out);
        assert_eq!(out, [3, 2, 1, 7, 6, 5]);
        gray8_to_rgb8(&[9, 10], &mut out);
        assert_eq!(out, [9, 9, 9, 10, 10, 10]);
    }
}
