//! The scalar reference of the BT.601 limited-range conversion (see the module docs for the
//! fixed-point formula every backend reproduces).

/// `74.5 (Y - 16) + 32` as `74 (Y - 16) + ((Y - 16) >> 1) + 32`: luma term with the rounding
/// constant.
#[inline]
pub(crate) fn luma(y: u8) -> i32 {
    let t = i32::from(y) - 16;
    t * 74 + (t >> 1) + 32
}

/// One pixel from its luma term and chroma bytes.
#[inline]
pub(crate) fn pixel(yl: i32, u: u8, v: u8) -> [u8; 3] {
    let d = i32::from(u) - 128;
    let e = i32::from(v) - 128;
    let c = |x: i32| (x >> 6).clamp(0, 255) as u8;
    [c(yl + 102 * e), c(yl - 25 * d - 52 * e), c(yl + 129 * d)]
}

/// Converts pixels `start..y.len()` of a row (`start` even), see `yuv_row_to_rgb8`.
pub(crate) fn row(y: &[u8], u: &[u8], v: &[u8], pixel_stride: usize, dst: &mut [u8], start: usize) {
    debug_assert!(start.is_multiple_of(2));
    for (x, (&yv, out)) in y.iter().zip(dst.chunks_exact_mut(3)).enumerate().skip(start) {
        let c = x / 2 * pixel_stride;
        out.copy_from_slice(&pixel(luma(yv), u[c], v[c]));
    }
}
