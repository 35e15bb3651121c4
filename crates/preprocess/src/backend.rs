//! Which SIMD kernels run: detected once per process, overridable per [`Preprocessor`](crate::Preprocessor).

use std::sync::OnceLock;

use crate::error::{PreprocessError, Result};

/// A family of kernels. Every backend computes exactly the same bytes as [`Backend::Scalar`]
/// (integer arithmetic throughout; tested over all row tails, strides and chroma layouts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// Portable Rust, always available: the reference every other backend is tested against.
    Scalar,
    /// x86_64 AVX2 (runtime-detected).
    Avx2,
    /// x86_64 SSE4.1 (runtime-detected): 128-bit twins of the AVX2 kernels, for x86_64 CPUs
    /// without AVX2 (older Atoms, many emulator hosts).
    Sse41,
    /// aarch64 NEON (baseline on every aarch64 CPU, so on every 64-bit Android device).
    Neon,
}

impl Backend {
    /// The fastest backend this CPU supports, detected on first use and then cached.
    #[must_use]
    pub fn detect() -> Self {
        static DETECTED: OnceLock<Backend> = OnceLock::new();
        *DETECTED.get_or_init(|| {
            [Self::Neon, Self::Avx2, Self::Sse41]
                .into_iter()
                .find(|b| b.is_available())
                .unwrap_or(Self::Scalar)
        })
    }

    /// Whether this backend can run here.
    #[must_use]
    pub fn is_available(self) -> bool {
        match self {
            Self::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Self::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            Self::Sse41 => std::arch::is_x86_feature_detected!("sse4.1"),
            #[cfg(target_arch = "aarch64")]
            Self::Neon => true,
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// The backend's name, as in error messages.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Scalar => "scalar",
            Self::Avx2 => "avx2",
            Self::Sse41 => "sse4.1",
            Self::Neon => "neon",
        }
    }

    /// Every SIMD backend this CPU can run (not [`Backend::Scalar`]), for comparing them.
    #[must_use]
    pub fn simd_available() -> Vec<Self> {
        [Self::Neon, Self::Avx2, Self::Sse41]
            .into_iter()
            .filter(|b| b.is_available())
            .collect()
    }

    /// `self` if it can run here.
    ///
    /// # Errors
    /// [`PreprocessError::BackendUnavailable`].
    pub(crate) fn checked(self) -> Result<Self> {
        if self.is_available() {
            Ok(self)
        } else {
            Err(PreprocessError::BackendUnavailable { backend: self.name() })
        }
    }
}
