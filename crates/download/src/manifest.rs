//! Model manifests: the files of a model folder (URL, size, SHA-256) and named presets that pick
//! one ONNX file per graph.
//!
//! ```json
//! {
//!   "schema": 1,
//!   "id": "onnx-community/Florence-2-base-ft",
//!   "base_url": "https://huggingface.co/onnx-community/Florence-2-base-ft/resolve/main/",
//!   "files": [
//!     {"path": "config.json"},
//!     {"path": "onnx/decoder_model_merged_int8.onnx", "size": 100353235, "sha256": "…"}
//!   ],
//!   "presets": [
//!     {"name": "mobile-int8", "description": "…", "files": ["config.json", "onnx/decoder_model_merged_int8.onnx", …]}
//!   ]
//! }
//! ```
//!
//! A file's URL is its `url`, or `base_url` + `path`. `size` and `sha256` are optional: a file
//! without them is *unpinned*, and the downloader pins what the first complete download received
//! (trust on first use, recorded in the model folder). `models/manifest.py` writes a fully pinned
//! manifest for any local folder.

use std::collections::HashSet;
use std::path::{Component as PathComponent, Path};

use serde::{Deserialize, Serialize};

use crate::error::{DownloadError, DownloadResult};
use florence2_core::{ModelGraph, Precision, PrecisionPlan};

/// The manifest format version this code reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

/// A downloadable model: its files and presets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version ([`SCHEMA_VERSION`]).
    pub schema: u32,
    /// A name for the model, e.g. `onnx-community/Florence-2-base-ft`.
    pub id: String,
    /// Prefix of every file URL that has no `url` of its own (ends with `/`).
    pub base_url: String,
    /// Free text shown to developers (e.g. where the numbers come from).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Every file any preset uses.
    pub files: Vec<ManifestFile>,
    /// Named selections of files.
    pub presets: Vec<Preset>,
}

/// One file of a model folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// Path inside the model folder, `/`-separated (e.g. `onnx/encoder_model_int8.onnx`).
    pub path: String,
    /// Full URL when it is not `base_url` + `path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Size in bytes; absent when not pinned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// SHA-256, lowercase hex; absent when not pinned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// A named choice of files: the configuration files plus one ONNX file per graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preset {
    /// Name, e.g. `mobile-int8`, `fp16`, `fp32`.
    pub name: String,
    /// What the preset is for.
    #[serde(default)]
    pub description: String,
    /// Paths of the files it needs (each listed in [`Manifest::files`]).
    pub files: Vec<String>,
}

const BUILTIN: [(&str, &str); 4] = [
    (
        "onnx-community/Florence-2-base",
        include_str!("../manifests/florence-2-base.json"),
    ),
    (
        "onnx-community/Florence-2-base-ft",
        include_str!("../manifests/florence-2-base-ft.json"),
    ),
    (
        "onnx-community/Florence-2-large",
        include_str!("../manifests/florence-2-large.json"),
    ),
    (
        "onnx-community/Florence-2-large-ft",
        include_str!("../manifests/florence-2-large-ft.json"),
    ),
];

impl Manifest {
    /// Parses and validates a manifest.
    ///
    /// # Errors
    /// [`DownloadError::InvalidManifest`] naming the first problem.
    pub fn from_json(json: &str) -> DownloadResult<Self> {
        let manifest: Manifest = serde_json::from_str(json).map_err(|e| DownloadError::InvalidManifest {
            detail: e.to_string(),
        })?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// The manifest as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The ids of the built-in manifests (the public `onnx-community/Florence-2-*` repositories).
    pub fn builtin_ids() -> Vec<&'static str> {
        BUILTIN.iter().map(|(id, _)| *id).collect()
    }

    /// A built-in manifest by id (`onnx-community/Florence-2-base`, `…-base-ft`, `…-large`,
    /// `…-large-ft`; the `onnx-community/` prefix may be left out, case-insensitive).
    ///
    /// # Errors
    /// [`DownloadError::InvalidManifest`] for an unknown id (the message lists the known ones).
    pub fn builtin(id: &str) -> DownloadResult<Self> {
        let wanted = id.trim().to_ascii_lowercase();
        let found = BUILTIN.iter().find(|(name, _)| {
            let name = name.to_ascii_lowercase();
            name == wanted || name.strip_prefix("onnx-community/") == Some(wanted.as_str())
        });
        match found {
            Some((_, json)) => Self::from_json(json),
            None => Err(DownloadError::InvalidManifest {
                detail: format!(
                    "no built-in manifest {id:?}; built in: {}",
                    Self::builtin_ids().join(", ")
                ),
            }),
        }
    }

    /// The preset named `name`.
    ///
    /// # Errors
    /// [`DownloadError::UnknownPreset`] listing the presets there are.
    pub fn preset(&self, name: &str) -> DownloadResult<&Preset> {
        self.presets
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| DownloadError::UnknownPreset {
                preset: name.to_string(),
                available: self.presets.iter().map(|p| p.name.clone()).collect(),
            })
    }

    /// The manifest entry of `path`.
    pub fn file(&self, path: &str) -> Option<&ManifestFile> {
        self.files.iter().find(|f| f.path == path)
    }

    /// The files of preset `name`, in the preset's order.
    ///
    /// # Errors
    /// [`DownloadError::UnknownPreset`].
    pub fn preset_files(&self, name: &str) -> DownloadResult<Vec<&ManifestFile>> {
        let preset = self.preset(name)?;
        preset
            .files
            .iter()
            .map(|path| {
                self.file(path).ok_or_else(|| DownloadError::InvalidManifest {
                    detail: format!("preset {:?} names {path:?}, which is not in files", preset.name),
                })
            })
            .collect()
    }

    /// The URL of `file`.
    pub fn url_of(&self, file: &ManifestFile) -> String {
        match &file.url {
            Some(url) => url.clone(),
            None => format!("{}{}", self.base_url, file.path),
        }
    }

    /// Checks the rules every manifest follows.
    ///
    /// # Errors
    /// [`DownloadError::InvalidManifest`] naming the first broken rule.
    pub fn validate(&self) -> DownloadResult<()> {
        let bad = |detail: String| Err(DownloadError::InvalidManifest { detail });
        if self.schema != SCHEMA_VERSION {
            return bad(format!(
                "schema {} is not supported (this build reads schema {SCHEMA_VERSION})",
                self.schema
            ));
        }
        let mut seen = HashSet::new();
        for file in &self.files {
            check_relative_path(&file.path)?;
            if !seen.insert(file.path.as_str()) {
                return bad(format!("{:?} is listed twice", file.path));
            }
            if let Some(hash) = &file.sha256
                && (hash.len() != 64
                    || !hash
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
            {
                return bad(format!(
                    "sha256 of {:?} is not 64 lowercase hex digits: {hash:?}",
                    file.path
                ));
            }
            if file.url.is_none()
                && !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://"))
            {
                return bad(format!(
                    "{:?} has no url and base_url {:?} is not an http(s) URL",
                    file.path, self.base_url
                ));
            }
        }
        if self.presets.is_empty() {
            return bad("the manifest has no presets".to_string());
        }
        let mut names = HashSet::new();
        for preset in &self.presets {
            if !names.insert(preset.name.as_str()) {
                return bad(format!("preset {:?} is defined twice", preset.name));
            }
            for path in &preset.files {
                if !seen.contains(path.as_str()) {
                    return bad(format!(
                        "preset {:?} names {path:?}, which is not in files",
                        preset.name
                    ));
                }
            }
            precision_plan_of(preset)?;
        }
        Ok(())
    }
}

impl Preset {
    /// The precision of each graph, read from the preset's ONNX file names (the suffixes
    /// `model_files` loads); pass it to `LoadOptions` to load exactly the downloaded files.
    ///
    /// # Errors
    /// [`DownloadError::InvalidManifest`] unless there is exactly one graph per graph.
    pub fn precision_plan(&self) -> DownloadResult<PrecisionPlan> {
        precision_plan_of(self)
    }
}

fn precision_plan_of(preset: &Preset) -> DownloadResult<PrecisionPlan> {
    let mut plan = PrecisionPlan::default();
    for graph in ModelGraph::ALL {
        let mut found: Vec<Precision> = Vec::new();
        for path in &preset.files {
            let Some(name) = path.strip_prefix("onnx/").and_then(|n| n.strip_suffix(".onnx")) else {
                continue;
            };
            for precision in Precision::ALL {
                if name == format!("{}{}", graph.stem(), precision.suffix()) {
                    found.push(precision);
                }
            }
        }
        match found.as_slice() {
            [one] => match graph {
                ModelGraph::VisionEncoder => plan.vision_encoder = *one,
                ModelGraph::EmbedTokens => plan.embed_tokens = *one,
                ModelGraph::TextEncoder => plan.text_encoder = *one,
                ModelGraph::Decoder => plan.decoder = *one,
            },
            _ => {
                return Err(DownloadError::InvalidManifest {
                    detail: format!(
                        "preset {:?} must name exactly one onnx/{}*.onnx file, it names {}",
                        preset.name,
                        graph.stem(),
                        found.len()
                    ),
                });
            }
        }
    }
    Ok(plan)
}

/// A relative `/`-separated path without `..`, absolute parts or empty segments.
fn check_relative_path(path: &str) -> DownloadResult<()> {
    let ok = !path.is_empty()
        && !path.contains('\\')
        && !path.split('/').any(|s| s.is_empty() || s == "." || s == "..")
        && Path::new(path)
            .components()
            .all(|c| matches!(c, PathComponent::Normal(_)));
    if ok {
        Ok(())
    } else {
        Err(DownloadError::InvalidManifest {
            detail: format!("{path:?} is not a plain relative path inside the model folder"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(files: &[&str], preset: &[&str]) -> String {
        let files: Vec<String> = files.iter().map(|p| format!("{{\"path\": \"{p}\"}}")).collect();
        let preset: Vec<String> = preset.iter().map(|p| format!("\"{p}\"")).collect();
        format!(
            "{{\"schema\": 1, \"id\": \"t\", \"base_url\": \"http://h/\", \"files\": [{}], \
             \"presets\": [{{\"name\": \"p\", \"files\": [{}]}}]}}",
            files.join(","),
            preset.join(",")
        )
    }

    const GRAPHS: [&str; 4] = [
        "onnx/vision_encoder_fp16.onnx",
        "onnx/embed_tokens.onnx",
        "onnx/encoder_model_int8.onnx",
        "onnx/decoder_model_merged_q4.onnx",
    ];

    #[test]
    fn preset_precision_plan_comes_from_file_names() {
        let m = Manifest::from_json(&manifest(&GRAPHS, &GRAPHS)).unwrap();
        let plan = m.preset("p").unwrap().precision_plan().unwrap();
        assert_eq!(plan.vision_encoder, Precision::Fp16);
        assert_eq!(plan.embed_tokens, Precision::Fp32);
        assert_eq!(plan.text_encoder, Precision::Int8);
        assert_eq!(plan.decoder, Precision::Q4);
        assert_eq!(m.url_of(&m.files[0]), "http://h/onnx/vision_encoder_fp16.onnx");
    }

    #[test]
    fn rejects_broken_manifests() {
        // A graph missing from the preset.
        let err = Manifest::from_json(&manifest(&GRAPHS, &GRAPHS[..3])).unwrap_err();
        assert!(err.to_string().contains("decoder_model_merged"), "{err}");
        // Two decoders.
        let mut files = GRAPHS.to_vec();
        files.push("onnx/decoder_model_merged.onnx");
        assert!(Manifest::from_json(&manifest(&files, &files)).is_err());
        // A path escaping the folder.
        let mut files = GRAPHS.to_vec();
        files.push("../etc/passwd");
        let err = Manifest::from_json(&manifest(&files, &GRAPHS)).unwrap_err();
        assert!(err.to_string().contains("plain relative path"), "{err}");
        // A preset naming an unlisted file.
        let err = Manifest::from_json(&manifest(&GRAPHS[..3], &GRAPHS)).unwrap_err();
        assert!(err.to_string().contains("not in files"), "{err}");
        assert!(matches!(
            Manifest::from_json("{"),
            Err(DownloadError::InvalidManifest { .. })
        ));
    }

    #[test]
    fn unknown_preset_lists_the_known_ones() {
        let m = Manifest::from_json(&manifest(&GRAPHS, &GRAPHS)).unwrap();
        match m.preset("fp64") {
            Err(DownloadError::UnknownPreset { available, .. }) => {
                assert_eq!(available, vec!["p".to_string()])
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn builtin_manifests_parse_with_standard_presets() {
        assert_eq!(Manifest::builtin_ids().len(), 4);
        for id in Manifest::builtin_ids() {
            let m = Manifest::builtin(id).unwrap();
            assert_eq!(m.id, id);
            assert!(
                m.base_url
                    .starts_with("https://huggingface.co/onnx-community/Florence-2-")
            );
            assert!(m.base_url.ends_with("/resolve/main/"));
            for name in ["mobile-int8", "fp16", "fp32"] {
                let files = m.preset_files(name).unwrap();
                for needed in [
                    "config.json",
                    "generation_config.json",
                    "preprocessor_config.json",
                    "tokenizer.json",
                ] {
                    assert!(
                        files.iter().any(|f| f.path == needed),
                        "{id} {name} lacks {needed}"
                    );
                }
            }
            let fp16 = m.preset("fp16").unwrap().precision_plan().unwrap();
            assert_eq!(fp16, PrecisionPlan::uniform(Precision::Fp16));
        }
        assert!(Manifest::builtin("Florence-2-LARGE-ft").is_ok());
        assert!(Manifest::builtin("florence-3").is_err());
    }
}
