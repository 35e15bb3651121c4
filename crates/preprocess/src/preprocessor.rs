//! [`Preprocessor`]: image → `pixel_values`, reusing its scratch memory between calls.

use crate::config::PreprocessConfig;
use crate::convert::{gray8_to_rgb8, working_channels};
use crate::error::{PreprocessError, Result};
use crate::normalize::NormalizeTable;
use crate::pixels::ImageView;
use crate::resize::Resizer;

/// Turns images into the vision encoder's `pixel_values`, exactly as the PyTorch reference
/// (transformers' PIL-backend `CLIPImageProcessor`) computes them.
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
        })
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
        self.resizer.resize(image, w, h, dst)?;
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
