//! [`ImageSource`]: every kind of input [`Preprocessor::process_source`](crate::Preprocessor::process_source)
//! takes, so callers (the core pipeline, the SDK) hand camera frames over without converting them
//! to RGB first.

use crate::pixels::ImageView;
use crate::yuv::{Rotation, YuvView};

/// An image to preprocess, with the clockwise rotation that turns it upright. Crop first
/// ([`ImageView::crop`], [`YuvView::crop`]) if only part of it is wanted.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum ImageSource<'a> {
    /// Packed pixels (RGB8, RGBA8, BGRA8, gray), e.g. a decoded file or an Android `Bitmap`.
    Pixels {
        /// The pixels.
        view: ImageView<'a>,
        /// Applied before resizing.
        rotation: Rotation,
    },
    /// A 4:2:0 camera frame, converted (BT.601 limited range) and resized without an
    /// intermediate RGB buffer in [`ResizeMode::Fast`](crate::ResizeMode::Fast).
    Yuv {
        /// The frame.
        frame: YuvView<'a>,
        /// Applied as the pixels are written.
        rotation: Rotation,
    },
}

impl<'a> ImageSource<'a> {
    /// Packed pixels turned by `rotation`.
    #[must_use]
    pub fn pixels(view: ImageView<'a>, rotation: Rotation) -> Self {
        Self::Pixels { view, rotation }
    }

    /// A camera frame turned by `rotation`.
    #[must_use]
    pub fn yuv(frame: YuvView<'a>, rotation: Rotation) -> Self {
        Self::Yuv { frame, rotation }
    }

    /// Width and height after the rotation: the image the model sees (result coordinates refer
    /// to it).
    #[must_use]
    pub fn size(&self) -> (u32, u32) {
        match self {
            Self::Pixels { view, rotation } => rotation.rotated_size(view.width(), view.height()),
            Self::Yuv { frame, rotation } => rotation.rotated_size(frame.width(), frame.height()),
        }
    }
}

impl<'a> From<ImageView<'a>> for ImageSource<'a> {
    fn from(view: ImageView<'a>) -> Self {
        Self::pixels(view, Rotation::None)
    }
}

impl<'a> From<YuvView<'a>> for ImageSource<'a> {
    fn from(frame: YuvView<'a>) -> Self {
        Self::yuv(frame, Rotation::None)
    }
}
