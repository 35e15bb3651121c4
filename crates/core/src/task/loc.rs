//! Location tokens `<loc_0>` … `<loc_999>`: token ids, parsing, and the mapping between pixel
//! coordinates and bins.
//!
//! Florence-2 divides each image axis into [`LOC_BINS`] equal bins. A box or point is written as
//! one `<loc_N>` token per coordinate, x before y; x bins are relative to the image width and
//! y bins to the height (all reference implementations index the size as `(width, height)`,
//! whatever their docstrings say).

use super::error::TaskError;

/// Number of location bins per image axis.
pub const LOC_BINS: u32 = 1000;

/// Token id of `<loc_0>` in the Florence-2 (BART) vocabulary; `<loc_N>` is `LOC_TOKEN_BASE_ID + N`.
///
/// The vocabulary is BART's 50 265 tokens, then `<od>`, `</od>`, `<ocr>`, `</ocr>` (50265–50268),
/// then the 1000 location tokens (50269–51268).
pub const LOC_TOKEN_BASE_ID: u32 = 50269;

/// The token id of `<loc_bin>`: `50269 + bin`, e.g. `<loc_0>` = 50269 and `<loc_999>` = 51268.
///
/// # Errors
/// [`TaskError::LocBinOutOfRange`] if `bin` is 1000 or more (no such token).
pub fn loc_token_id(bin: u32) -> Result<u32, TaskError> {
    if bin < LOC_BINS {
        Ok(LOC_TOKEN_BASE_ID + bin)
    } else {
        Err(TaskError::LocBinOutOfRange { bin })
    }
}

/// The bin of a location token id (`51268` → `Some(999)`), or `None` for any other token.
pub fn loc_bin_of_token_id(token_id: u32) -> Option<u32> {
    token_id
        .checked_sub(LOC_TOKEN_BASE_ID)
        .filter(|bin| *bin < LOC_BINS)
}

/// The text of a location token: `loc_token(52)` is `"<loc_52>"`. No range check (the parsers
/// accept any number, so this is also useful to build test inputs).
pub fn loc_token(bin: u32) -> String {
    format!("<loc_{bin}>")
}

/// Parses one whole location token: `"<loc_52>"` → `Some(52)`.
///
/// Like the reference parsers' `<loc_(\d+)>`, any number of ASCII digits is accepted (leading
/// zeros, values of 1000 and above); values beyond `u64::MAX` saturate instead of overflowing.
/// Anything else (surrounding text, no digits, a sign) gives `None`.
pub fn parse_loc_token(text: &str) -> Option<u64> {
    match loc_token_at(text, 0) {
        Some((bin, len)) if len == text.len() => Some(bin),
        _ => None,
    }
}

/// If a location token starts at byte `pos` of `text`, its bin and its length in bytes.
pub(crate) fn loc_token_at(text: &str, pos: usize) -> Option<(u64, usize)> {
    let rest = text.get(pos..)?.strip_prefix("<loc_")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || rest.as_bytes().get(digits) != Some(&b'>') {
        return None;
    }
    let bin = rest.as_bytes()[..digits].iter().fold(0u64, |acc, d| {
        acc.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });
    Some((bin, "<loc_".len() + digits + 1))
}

/// The pixel coordinate of a bin: the bin centre, `(bin + 0.5) * dimension / 1000`, in `f64`.
///
/// This is Microsoft's and transformers.js' formula (transformers 5 truncates it to an integer).
/// `dimension` is the image width for x and the height for y. A zero dimension gives 0; bins of
/// 1000 and above give coordinates beyond the image (no clamping, as in the references).
pub fn dequantize(bin: u64, dimension: u32) -> f64 {
    // Same operation order as the reference ((bin + 0.5) * size / 1000) so results are bit-equal.
    // Bins beyond 2^53 round to the nearest f64, like the reference's int64 -> float64.
    let bin = bin as f64;
    (bin + 0.5) * f64::from(dimension) / f64::from(LOC_BINS)
}

/// The bin of a pixel coordinate: `floor(coordinate / (dimension / 1000))` in `f64`, clamped to
/// `0..=999`, as Microsoft's quantizer, transformers' `Florence2PostProcessor.quantize` and usls
/// compute it (transformers' test expects 500 px of 800 → bin 625).
///
/// Python's float `v // (dimension / 1000)` is *not* the same: it floors the exact quotient by
/// the rounded bin width, so on exact bin boundaries it gives one bin less (`500 // 0.8` is 624,
/// `256 // 0.512` is 499). The region inputs of the committed reference fixture were made that
/// way; see `tests/postprocess_reference.rs`.
///
/// # Errors
/// [`TaskError::NonFiniteCoordinate`] for NaN or infinite coordinates and
/// [`TaskError::EmptyImage`] for a zero dimension (reported as a `dimension`×`dimension` image).
pub fn quantize(coordinate: f64, dimension: u32) -> Result<u32, TaskError> {
    if dimension == 0 {
        return Err(TaskError::EmptyImage {
            width: dimension,
            height: dimension,
        });
    }
    quantize_checked(coordinate, dimension, "coordinate")
}

fn quantize_checked(coordinate: f64, dimension: u32, name: &'static str) -> Result<u32, TaskError> {
    if !coordinate.is_finite() {
        return Err(TaskError::NonFiniteCoordinate {
            name,
            value: coordinate,
        });
    }
    let per_bin = f64::from(dimension) / f64::from(LOC_BINS);
    let bin = (coordinate / per_bin).floor().clamp(0.0, f64::from(LOC_BINS - 1));
    // Integral and in 0..=999 after the clamp, so the cast is exact.
    Ok(bin as u32)
}

/// An axis-aligned box in image pixels, `(x1, y1)` top-left and `(x2, y2)` bottom-right: the
/// region input of the region tasks (see [`Task::region_prompt`](super::Task::region_prompt)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PixelBox {
    /// Left edge in pixels.
    pub x1: f64,
    /// Top edge in pixels.
    pub y1: f64,
    /// Right edge in pixels.
    pub x2: f64,
    /// Bottom edge in pixels.
    pub y2: f64,
}

impl PixelBox {
    /// A box from its corners in pixels.
    pub const fn new(x1: f64, y1: f64, x2: f64, y2: f64) -> Self {
        Self { x1, y1, x2, y2 }
    }

    /// The four bins `[x1, y1, x2, y2]` of this box in an image of the given size (see
    /// [`quantize`]; coordinates outside the image are clamped to the first or last bin, and the
    /// corners are not reordered).
    ///
    /// # Errors
    /// [`TaskError::EmptyImage`] if a side of the image is 0, [`TaskError::NonFiniteCoordinate`]
    /// if a coordinate is NaN or infinite.
    pub fn to_bins(&self, image_width: u32, image_height: u32) -> Result<[u32; 4], TaskError> {
        if image_width == 0 || image_height == 0 {
            return Err(TaskError::EmptyImage {
                width: image_width,
                height: image_height,
            });
        }
        Ok([
            quantize_checked(self.x1, image_width, "x1")?,
            quantize_checked(self.y1, image_height, "y1")?,
            quantize_checked(self.x2, image_width, "x2")?,
            quantize_checked(self.y2, image_height, "y2")?,
        ])
    }

    /// The box as region text, `"<loc_x1><loc_y1><loc_x2><loc_y2>"`, for the `{input}` of the
    /// region tasks.
    ///
    /// # Errors
    /// As [`PixelBox::to_bins`].
    pub fn to_loc_tokens(&self, image_width: u32, image_height: u32) -> Result<String, TaskError> {
        let bins = self.to_bins(image_width, image_height)?;
        Ok(bins.into_iter().map(loc_token).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_ids_round_trip() {
        assert_eq!(loc_token_id(0), Ok(50269));
        assert_eq!(loc_token_id(999), Ok(51268));
        assert_eq!(loc_token_id(1000), Err(TaskError::LocBinOutOfRange { bin: 1000 }));
        assert_eq!(loc_bin_of_token_id(50269), Some(0));
        assert_eq!(loc_bin_of_token_id(51268), Some(999));
        assert_eq!(loc_bin_of_token_id(50268), None);
        assert_eq!(loc_bin_of_token_id(51269), None);
        assert_eq!(loc_bin_of_token_id(0), None);
    }

    #[test]
    fn parse_tokens() {
        assert_eq!(parse_loc_token("<loc_52>"), Some(52));
        assert_eq!(parse_loc_token("<loc_007>"), Some(7));
        assert_eq!(parse_loc_token("<loc_1000>"), Some(1000));
        assert_eq!(
            parse_loc_token("<loc_99999999999999999999999999999>"),
            Some(u64::MAX)
        );
        for bad in [
            "", "<loc_>", "<loc_5", "loc_5>", "<loc_5> ", " <loc_5>", "<loc_-5>", "<loc_+5>", "<LOC_5>",
            "<loc_٣>",
        ] {
            assert_eq!(parse_loc_token(bad), None, "{bad:?}");
        }
        assert_eq!(loc_token(52), "<loc_52>");
    }

    #[test]
    fn quantize_floors_the_rounded_quotient() {
        // transformers test_processing_florence2.py: 500 px of 800 is bin 625 (Python's
        // `500 // 0.8` would say 624).
        assert_eq!(quantize(500.0, 800), Ok(625));
        assert_eq!(quantize(256.0, 512), Ok(500));
        assert_eq!(quantize(1.0, 100), Ok(10));
    }

    #[test]
    fn quantize_clamps_and_rejects() {
        assert_eq!(quantize(-3.0, 640), Ok(0));
        assert_eq!(quantize(640.0, 640), Ok(999));
        assert_eq!(quantize(1e300, 640), Ok(999));
        assert_eq!(quantize(0.639, 640), Ok(0));
        assert_eq!(quantize(0.64, 640), Ok(1));
        assert!(matches!(
            quantize(f64::NAN, 640),
            Err(TaskError::NonFiniteCoordinate {
                name: "coordinate",
                ..
            })
        ));
        assert_eq!(
            quantize(1.0, 0),
            Err(TaskError::EmptyImage { width: 0, height: 0 })
        );
    }

    #[test]
    fn dequantize_is_the_bin_centre() {
        assert_eq!(dequantize(53, 640), 34.24);
        assert_eq!(dequantize(0, 1000), 0.5);
        assert_eq!(dequantize(999, 0), 0.0);
        assert!(dequantize(u64::MAX, u32::MAX).is_finite());
    }
}
