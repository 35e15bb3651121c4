//! [`Preprocessor`]: image → `pixel_values`, reusing its scratch memory between calls.

use crate::backend::Backend;
use crate::config::PreprocessConfig;
use crate::convert::{gray8_to_rgb8, working_channels};
use crate::error::{PreprocessError, Result};
use crate::fast::FastYuv;
use crate::normalize::NormalizeTable;
use crate::pixels::ImageView;
use crate::resize::Resizer;
use crate::resize::pillow::Filter;
use crate::rotate::rotate_into;
use crate::source::ImageSource;
use crate::yuv::{Rotation, YuvView, convert};

/// How the image is brought to the model's size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResizeMode {
    /// Pillow 13's antialiased `BICUBIC` on 8-bit RGB, bit-exact with the PyTorch reference
    /// (camera frames are converted to RGB8 first, at full resolution).
    #[default]
    Reference,
    /// For live frames: Pillow's antialiased `BILINEAR` (triangle) kernel, about half the taps.
    /// Camera frames are resized in YUV space and converted and normalised in the same pass over
    /// the output rows (no full-resolution RGB image). Not bit-exact with the reference: see the
    /// crate docs for the measured deviation.
    Fast,
}

/// Turns images into the vision encoder's `pixel_values`, exactly as the PyTorch reference
/// (transformers' PIL-backend `CLIPImageProcessor`) computes them ([`ResizeMode::Reference`], the
/// default), or faster and close to it ([`ResizeMode::Fast`]).
///
/// Steps: RGB conversion (see [`PixelFormat`](crate::PixelFormat)), Pillow-exact bicubic resize
/// to `width x height`, rescale and normalise, channels first. The preprocessor owns every scratch
/// buffer (coefficient tables, intermediate rows, the resized image); after the first call for a
/// given input size, a call allocates nothing. One preprocessor serves one thread at a time
/// (methods take `&mut self`); it is `Send`, so it can move between threads.
pub struct Preprocessor {
    config: PreprocessConfig,
    table: NormalizeTable,
    resizer: Resizer,
    /// The resized image in the resizer's working layout (gray or RGB).
    resized: Vec<u8>,
    /// SIMD kernels in use.
    backend: Backend,
    /// A camera frame converted to RGB8 (and rotated), or a rotated image in the working
    /// layout, before resizing.
    frame_rgb: Vec<u8>,
    /// One converted row (rotations).
    frame_row: Vec<u8>,
    mode: ResizeMode,
    fast: FastYuv,
}

impl Preprocessor {
    /// Validates `config` and allocates the output-size buffers.
    ///
    /// # Errors
    /// [`PreprocessError::InvalidConfig`] (see [`PreprocessConfig::validate`]).
    pub fn new(config: PreprocessConfig) -> Result<Self> {
        config.validate()?;
        let table = NormalizeTable::new(config.rescale_factor, config.image_mean, config.image_std);
        let resized = vec![0; config.width as usize * config.height as usize * 3];
        Ok(Self {
            config,
            table,
            resizer: Resizer::default(),
            resized,
            backend: Backend::detect(),
            frame_rgb: Vec::new(),
            frame_row: Vec::new(),
            mode: ResizeMode::Reference,
            fast: FastYuv::default(),
        })
    }

    /// The same preprocessor with another [`ResizeMode`].
    #[must_use]
    pub fn with_resize_mode(mut self, mode: ResizeMode) -> Self {
        self.mode = mode;
        self
    }

    /// Switches the [`ResizeMode`] (scratch memory is kept).
    pub fn set_resize_mode(&mut self, mode: ResizeMode) {
        self.mode = mode;
    }

    /// The [`ResizeMode`] in use ([`ResizeMode::Reference`] unless set).
    #[must_use]
    pub fn resize_mode(&self) -> ResizeMode {
        self.mode
    }

    /// The SIMD backend in use ([`Backend::detect`] unless set).
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Uses `backend`'s kernels (e.g. [`Backend::Scalar`] to compare). All backends give the same
    /// bytes.
    ///
    /// # Errors
    /// [`PreprocessError::BackendUnavailable`] if this CPU cannot run it.
    pub fn set_backend(&mut self, backend: Backend) -> Result<()> {
        self.backend = backend.checked()?;
        Ok(())
    }

    /// Writes the normalised CHW tensor of a camera frame, turned clockwise by `rotation` (crop
    /// first with [`YuvView::crop`]): BT.601 limited-range conversion to RGB8 (see [`YuvView`]),
    /// then the same resize and normalisation as [`process`](Self::process). After the first call
    /// for a frame size, allocation-free.
    ///
    /// # Errors
    /// As [`process`](Self::process).
    pub fn process_yuv(&mut self, frame: &YuvView<'_>, rotation: Rotation, out: &mut [f32]) -> Result<()> {
        check_len(self.output_len(), out.len())?;
        if self.mode == ResizeMode::Fast {
            let size = (self.config.width as usize, self.config.height as usize);
            return self
                .fast
                .process(self.backend, &self.table, frame, rotation, size, out);
        }
        let (w, h) = rotation.rotated_size(frame.width(), frame.height());
        let len = (w as usize)
            .checked_mul(h as usize)
            .and_then(|n| n.checked_mul(3))
            .ok_or(PreprocessError::SizeOverflow { width: w, height: h })?;
        let mut rgb = std::mem::take(&mut self.frame_rgb);
        rgb.resize(len, 0);
        convert(self.backend, frame, rotation, &mut rgb, &mut self.frame_row);
        let result =
            ImageView::packed(&rgb, w, h, crate::PixelFormat::Rgb8).and_then(|view| self.process(view, out));
        self.frame_rgb = rgb;
        result
    }

    /// Writes the normalised CHW tensor of `image` turned clockwise by `rotation` (crop first
    /// with [`ImageView::crop`], in the unrotated image's coordinates): the same result as
    /// [`process`](Self::process) on the rotated pixels. Every [`PixelFormat`](crate::PixelFormat)
    /// is accepted; the rotated image is kept in scratch memory owned by the preprocessor, so
    /// after the first call for an image size this allocates nothing.
    ///
    /// # Errors
    /// As [`process`](Self::process).
    pub fn process_rotated(
        &mut self,
        image: ImageView<'_>,
        rotation: Rotation,
        out: &mut [f32],
    ) -> Result<()> {
        check_len(self.output_len(), out.len())?;
        if rotation == Rotation::None {
            return self.process(image, out);
        }
        let channels = working_channels(image.format());
        let (w, h) = rotation.rotated_size(image.width(), image.height());
        let len = (w as usize)
            .checked_mul(h as usize)
            .and_then(|n| n.checked_mul(channels))
            .ok_or(PreprocessError::SizeOverflow { width: w, height: h })?;
        let mut rotated = std::mem::take(&mut self.frame_rgb);
        rotated.resize(len, 0);
        rotate_into(&image, rotation, &mut rotated, &mut self.frame_row);
        let format = if channels == 1 {
            crate::PixelFormat::Gray8
        } else {
            crate::PixelFormat::Rgb8
        };
        let result = ImageView::packed(&rotated, w, h, format).and_then(|view| self.process(view, out));
        self.frame_rgb = rotated;
        result
    }

    /// Writes the normalised CHW tensor of any [`ImageSource`]: [`process_rotated`](Self::process_rotated)
    /// for pixels, [`process_yuv`](Self::process_yuv) for camera frames.
    ///
    /// # Errors
    /// As [`process`](Self::process).
    pub fn process_source(&mut self, source: &ImageSource<'_>, out: &mut [f32]) -> Result<()> {
        match source {
            ImageSource::Pixels { view, rotation } => self.process_rotated(*view, *rotation, out),
            ImageSource::Yuv { frame, rotation } => self.process_yuv(frame, *rotation, out),
        }
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &PreprocessConfig {
        &self.config
    }

    /// Shape of one image's output, `[3, height, width]` (prepend the batch dimension).
    #[must_use]
    pub fn output_shape(&self) -> [usize; 3] {
        [3, self.config.height as usize, self.config.width as usize]
    }

    /// Number of `f32` values [`process`](Self::process) writes: `3 * height * width`.
    #[must_use]
    pub fn output_len(&self) -> usize {
        self.config.output_len()
    }

    /// Writes the normalised CHW `f32` tensor of `image` (`[3, height, width]`, row-major) to
    /// `out`, which must hold exactly [`output_len`](Self::output_len) values.
    ///
    /// # Errors
    /// [`PreprocessError::OutputLength`] if `out` has the wrong length (checked first);
    /// [`PreprocessError::SizeOverflow`] for inputs too large to index.
    pub fn process(&mut self, image: ImageView<'_>, out: &mut [f32]) -> Result<()> {
        check_len(self.output_len(), out.len())?;
        let channels = self.resize(&image)?;
        let resized = &self.resized[..out.len() / 3 * channels];
        if channels == 1 {
            self.table.gray8_to_chw_f32(resized, out);
        } else {
            self.table.rgb8_to_chw_f32(resized, out);
        }
        Ok(())
    }

    /// Writes the resized 8-bit RGB image (`height * width * 3` bytes, interleaved) to `out`: the
    /// `uint8` stage of [`process`](Self::process), equal byte for byte to Pillow's
    /// `image.convert("RGB").resize((width, height), Image.BICUBIC)`.
    ///
    /// # Errors
    /// As [`process`](Self::process).
    pub fn resize_rgb8(&mut self, image: ImageView<'_>, out: &mut [u8]) -> Result<()> {
        check_len(self.output_len(), out.len())?;
        let channels = self.resize(&image)?;
        if channels == 1 {
            gray8_to_rgb8(&self.resized[..out.len() / 3], out);
        } else {
            out.copy_from_slice(&self.resized[..out.len()]);
        }
        Ok(())
    }

    /// Resizes into `self.resized`; returns the number of interleaved channels written.
    fn resize(&mut self, image: &ImageView<'_>) -> Result<usize> {
        let channels = working_channels(image.format());
        let (w, h) = (self.config.width as usize, self.config.height as usize);
        let dst = &mut self.resized[..w * h * channels];
        let filter = match self.mode {
            ResizeMode::Reference => Filter::Bicubic,
            ResizeMode::Fast => Filter::Bilinear,
        };
        self.resizer.resize(image, w, h, dst, filter, self.backend)?;
        Ok(channels)
    }
}

fn check_len(expected: usize, received: usize) -> Result<()> {
    if expected == received {
        Ok(())
    } else {
        Err(PreprocessError::OutputLength { expected, received })
    }
}

impl std::fmt::Debug for Preprocessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Preprocessor")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
