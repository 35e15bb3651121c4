//! Which kernels a run takes. The SIMD-vs-scalar tests of this crate compare every backend of
//! `Backend::simd_available()` with the scalar code: if that list were empty on a CPU, they would
//! pass without running a single SIMD kernel. This test pins the list per architecture, so the
//! emulated aarch64 run of `scripts/test-arm64.sh` fails unless the NEON kernels are the ones used.

#![allow(clippy::unwrap_used)]

use florence2_preprocess::{Backend, PreprocessConfig, Preprocessor};

#[test]
#[cfg(target_arch = "aarch64")]
fn aarch64_selects_and_compares_the_neon_kernels() {
    // NEON is part of the aarch64 baseline (every 64-bit Android device), so no detection.
    assert_eq!(Backend::simd_available(), vec![Backend::Neon]);
    assert_eq!(Backend::detect(), Backend::Neon);
    let pre = Preprocessor::new(PreprocessConfig::florence2().with_size(64, 64)).unwrap();
    assert_eq!(
        pre.backend(),
        Backend::Neon,
        "a new preprocessor runs the NEON kernels"
    );
    // The x86 kernels do not exist here, and say so.
    let mut pre = pre;
    for b in [Backend::Avx2, Backend::Sse41] {
        assert!(!b.is_available(), "{b:?}");
        assert!(pre.set_backend(b).is_err(), "{b:?}");
    }
    pre.set_backend(Backend::Scalar).unwrap();
    assert_eq!(pre.backend(), Backend::Scalar);
}

#[test]
#[cfg(target_arch = "x86_64")]
fn x86_64_selects_what_the_cpu_reports() {
    let avx2 = std::arch::is_x86_feature_detected!("avx2");
    let sse41 = std::arch::is_x86_feature_detected!("sse4.1");
    let mut want = Vec::new();
    if avx2 {
        want.push(Backend::Avx2);
    }
    if sse41 {
        want.push(Backend::Sse41);
    }
    assert_eq!(Backend::simd_available(), want);
    let best = want.first().copied().unwrap_or(Backend::Scalar);
    assert_eq!(Backend::detect(), best);
    let pre = Preprocessor::new(PreprocessConfig::florence2().with_size(64, 64)).unwrap();
    assert_eq!(pre.backend(), best);
    assert!(!Backend::Neon.is_available());
}
