//! How much memory a loaded model keeps resident ([`MemoryMode`]; docs/memory.md has the
//! measurements, and the measures that were tried and not kept).

use crate::error::{Error, Result};

/// How much memory a loaded model keeps resident, traded against latency per image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MemoryMode {
    /// Every graph stays loaded from [`Florence2::load`](crate::Florence2::load) on: no load
    /// time per image, and one call's image can be encoded while another call decodes.
    #[default]
    Standard,
    /// The vision half (vision encoder) and the text half (embeddings, text encoder, decoder) are
    /// never resident together: a call that needs one half unloads the other first, and loads its
    /// own half if the previous call had unloaded it; the half used last stays loaded. Costs the
    /// load time of both halves on every new image (none for further tasks on an image already
    /// encoded, [`Florence2::run_encoded`](crate::Florence2::run_encoded)); calls run one at a
    /// time and [`Florence2::run_batch`](crate::Florence2::run_batch) encodes its images one
    /// after the other instead of in a pipeline. Every graph is still opened and checked once
    /// by `load`, so a broken model folder fails there, not in the first call.
    Low,
}

impl std::str::FromStr for MemoryMode {
    type Err = Error;

    /// `standard` or `low`.
    fn from_str(name: &str) -> Result<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "standard" | "default" => Ok(Self::Standard),
            "low" => Ok(Self::Low),
            _ => Err(Error::InvalidOption {
                option: "memory_mode",
                detail: format!("unknown memory mode {name:?}; known: standard, low"),
            }),
        }
    }
}

impl MemoryMode {
    /// Whether the two halves are loaded on demand, one at a time.
    pub(crate) fn swaps_halves(self) -> bool {
        self == Self::Low
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_unknown_names_are_typed_errors() {
        assert_eq!("low".parse::<MemoryMode>().unwrap(), MemoryMode::Low);
        assert_eq!(" Standard ".parse::<MemoryMode>().unwrap(), MemoryMode::Standard);
        assert_eq!(MemoryMode::default(), MemoryMode::Standard);
        let err = "tiny".parse::<MemoryMode>().unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidOption {
                    option: "memory_mode",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("standard, low"), "{err}");
    }

    #[test]
    fn only_the_low_mode_swaps_halves() {
        assert!(MemoryMode::Low.swaps_halves());
        assert!(!MemoryMode::Standard.swaps_halves());
    }
}
