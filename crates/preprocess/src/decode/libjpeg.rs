//! JPEG decompression by libjpeg-turbo's code (as built by `mozjpeg-sys`), through its TurboJPEG
//! API: the decoder Pillow uses, with Pillow's settings (accurate integer IDCT, smooth "fancy"
//! chroma upsampling), so the pixels are Pillow's bit for bit.
//!
//! The TurboJPEG API is used rather than the libjpeg one because it handles libjpeg's fatal
//! errors itself (`setjmp`/`longjmp` inside C): nothing unwinds across the FFI boundary, and
//! every failure is a return code with a message.
//!
//! Only this module has `unsafe` code outside the SIMD kernels: the five C calls below.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_uchar, c_ulong, c_void};

// Links mozjpeg-sys's static library (which holds the TurboJPEG functions declared below).
use mozjpeg_sys as _;

// TurboJPEG 2.1 API (turbojpeg.h in mozjpeg-sys's vendored sources).
const TJPF_RGB: c_int = 0;
const TJPF_CMYK: c_int = 11;
/// Refuse progressive files of more than 500 scans (a CPU-exhaustion pattern; no encoder writes
/// that many: libjpeg's progressive scripts have 10).
const TJFLAG_LIMITSCANS: c_int = 32768;
const TJERR_WARNING: c_int = 0;

unsafe extern "C" {
    fn tjInitDecompress() -> *mut c_void;
    fn tjDecompress2(
        handle: *mut c_void,
        jpeg_buf: *const c_uchar,
        jpeg_size: c_ulong,
        dst_buf: *mut c_uchar,
        width: c_int,
        pitch: c_int,
        height: c_int,
        pixel_format: c_int,
        flags: c_int,
    ) -> c_int;
    fn tjGetErrorStr2(handle: *mut c_void) -> *mut c_char;
    fn tjGetErrorCode(handle: *mut c_void) -> c_int;
    fn tjDestroy(handle: *mut c_void) -> c_int;
}

/// The output pixel layout asked of the decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Output {
    /// 3 bytes per pixel; libjpeg converts YCbCr and replicates grayscale, as for Pillow's
    /// `L` and `RGB` modes.
    Rgb,
    /// 4 bytes per pixel, C M Y K as stored (YCCK converted to CMYK), not inverted.
    Cmyk,
}

impl Output {
    /// Bytes per pixel.
    pub(crate) fn channels(self) -> usize {
        match self {
            Self::Rgb => 3,
            Self::Cmyk => 4,
        }
    }
}

/// A TurboJPEG decompressor handle, destroyed on drop.
struct Handle(*mut c_void);

impl Handle {
    fn new() -> Result<Self, String> {
        // SAFETY: no arguments; returns NULL on failure (checked).
        let ptr = unsafe { tjInitDecompress() };
        if ptr.is_null() {
            return Err("cannot create a JPEG decompressor (out of memory?)".to_owned());
        }
        Ok(Self(ptr))
    }

    fn error(&self) -> String {
        // SAFETY: `self.0` is a live handle; the string is owned by it and NUL-terminated, and is
        // copied before the handle can change it.
        let message = unsafe { CStr::from_ptr(tjGetErrorStr2(self.0)) };
        message.to_string_lossy().into_owned()
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: `self.0` came from `tjInitDecompress` and is destroyed exactly once.
        unsafe {
            tjDestroy(self.0);
        }
    }
}

/// Decodes a whole JPEG of `width` x `height` (from its frame header) into `output` pixels.
///
/// libjpeg *warnings* (for example "Corrupt JPEG data: premature end of data segment", where
/// libjpeg fills the rest of the scan and carries on) do not fail the decode: Pillow ignores them
/// too and yields the same pixels. Errors give the decoder's message.
pub(crate) fn decompress(jpeg: &[u8], width: u32, height: u32, output: Output) -> Result<Vec<u8>, String> {
    let too_large = || format!("{width}x{height} is too large for the JPEG decoder");
    let jpeg_size = c_ulong::try_from(jpeg.len()).map_err(|_| "file too large".to_owned())?;
    let w = c_int::try_from(width).map_err(|_| too_large())?;
    let h = c_int::try_from(height).map_err(|_| too_large())?;
    let pitch = usize::try_from(width)
        .ok()
        .and_then(|w| w.checked_mul(output.channels()))
        .ok_or_else(too_large)?;
    let len = usize::try_from(height)
        .ok()
        .and_then(|h| h.checked_mul(pitch))
        .ok_or_else(too_large)?;
    let pitch = c_int::try_from(pitch).map_err(|_| too_large())?;
    let mut pixels = vec![0u8; len];
    let format = match output {
        Output::Rgb => TJPF_RGB,
        Output::Cmyk => TJPF_CMYK,
    };
    let handle = Handle::new()?;
    // SAFETY: `jpeg` is valid for `jpeg_size` bytes and only read. `pixels` holds
    // `height * pitch` bytes with `pitch = width * channels(format)`, and the decoder writes at
    // most `height` rows of `width` pixels: it scales the image down to fit `width` x `height` if
    // the frame were larger (it is not: both come from the same frame header), never up.
    let status = unsafe {
        tjDecompress2(
            handle.0,
            jpeg.as_ptr(),
            jpeg_size,
            pixels.as_mut_ptr(),
            w,
            pitch,
            h,
            format,
            TJFLAG_LIMITSCANS,
        )
    };
    if status != 0 {
        // SAFETY: live handle.
        let code = unsafe { tjGetErrorCode(handle.0) };
        if code != TJERR_WARNING {
            return Err(handle.error());
        }
    }
    Ok(pixels)
}
