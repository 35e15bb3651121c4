//! Florence-2 image preprocessing.
//!
//! This crate will own the path from pixels to the `pixel_values` tensor of the vision encoder
//! (`float32 [batch, 3, H, W]`): RGB8 → resize → rescale/normalise → CHW `f32`, and camera frames
//! (NV21 / YUV_420_888) → RGB with SIMD kernels (NEON on aarch64, AVX2/SSE4.1 on x86_64), each
//! checked against a scalar reference.
//!
//! It is empty for now: nothing here is implemented yet. Unlike `florence2-core` and
//! `florence2-sdk`, this crate may use `unsafe` for SIMD intrinsics; the workspace lints deny
//! `unsafe_op_in_unsafe_fn`, so every unsafe operation needs its own `unsafe` block.
