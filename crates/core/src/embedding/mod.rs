//! Token embeddings (`embed_tokens`): a table lookup served straight from the model file, or an
//! ONNX Runtime session for graphs that are more than a lookup.
//!
//! The embedding table is the same `[vocab, d_model]` matrix the decoder holds again as its
//! output projection (lm_head). Loaded as a session it costs its full size in resident memory
//! (158 MB for Florence-2-base in float32, 210 MB for large) for a lookup of one row per token.
//! Read from the file instead, it costs one `d_model`-wide positioned read per token, served from
//! the OS page cache, and nothing resident. [`EmbeddingLookup`] chooses; the default reads from
//! the file whenever the graph is one of the plain lookups (float32, float16, per-row or Q/DQ
//! int8) and falls back to a session otherwise.

mod onnx_scan;
mod table;
#[cfg(test)]
mod tests;

use std::fs::File;
use std::path::Path;

use ort::session::Session;
use ort::value::Tensor;

pub use onnx_scan::{GraphSummary, InitializerSummary, NodeSummary, TensorData, scan};

use crate::error::{Error, Result};
use crate::graph::ModelGraph;
use table::EmbeddingTable;

/// How token embeddings are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmbeddingLookup {
    /// Read rows straight from `embed_tokens*.onnx` when the graph is a plain lookup (float32,
    /// float16, per-row int8 or Q/DQ int8 table); otherwise an ONNX Runtime session. The default:
    /// the table then takes no resident memory.
    #[default]
    FromFile,
    /// Always an ONNX Runtime session (the whole table resident, as other runtimes do).
    Session,
}

/// Why a session was used although [`EmbeddingLookup::FromFile`] was asked.
pub type LookupFallbackReason = String;

/// Where a loaded model's token embeddings come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmbeddingSource {
    /// Rows read on demand from this file (nothing resident).
    File {
        /// The file holding the table (the graph file or its external-data file).
        path: std::path::PathBuf,
    },
    /// An ONNX Runtime session over the `embed_tokens` graph.
    Session {
        /// Why the file was not read directly (`None` when a session was asked for).
        reason: Option<LookupFallbackReason>,
    },
}

/// The token-embedding graph, whichever way it runs.
#[derive(Debug)]
pub(crate) enum TokenEmbeddings {
    /// Rows read from the file.
    Table(EmbeddingTable),
    /// An ONNX Runtime session over the graph.
    Session(Session),
}

impl TokenEmbeddings {
    /// The plan for `path` under `lookup`: `Ok(table)` to read rows from the file, `Err(reason)`
    /// to load a session (`reason` is `None` when a session was asked for).
    pub fn plan_table(
        path: &Path,
        lookup: EmbeddingLookup,
    ) -> std::result::Result<EmbeddingTable, Option<LookupFallbackReason>> {
        if lookup == EmbeddingLookup::Session {
            return Err(None);
        }
        let file = File::open(path).map_err(|e| Some(format!("{}: {e}", path.display())))?;
        let graph = scan(file).map_err(Some)?;
        let plan = table::plan(&graph, path).map_err(Some)?;
        EmbeddingTable::open(plan).map_err(Some)
    }

    /// Checks a file-backed table against the model's width and vocabulary.
    pub fn check_table(table: &EmbeddingTable, path: &Path, d_model: usize, vocab: usize) -> Result<()> {
        let contract = |detail: String| Error::Contract {
            graph: ModelGraph::EmbedTokens,
            path: path.to_path_buf(),
            detail,
        };
        if table.dim() != d_model {
            return Err(contract(format!(
                "the embedding table is {} wide, config.json's d_model is {d_model}",
                table.dim()
            )));
        }
        if table.rows() < vocab {
            return Err(contract(format!(
                "the embedding table has {} rows, config.json's vocab_size is {vocab}",
                table.rows()
            )));
        }
        Ok(())
    }

    /// Embeds `ids` into `out` (`ids.len() × d_model` values).
    pub fn embed_into(
        &mut self,
        ids: &[i64],
        out: &mut [f32],
        run_options: &ort::session::RunOptions,
    ) -> Result<()> {
        match self {
            Self::Table(table) => table.lookup(ids, out).map_err(|detail| Error::ModelRead {
                graph: ModelGraph::EmbedTokens,
                path: table.path().to_path_buf(),
                detail,
            }),
            Self::Session(session) => {
                let embed_err = |source| Error::Inference {
                    graph: ModelGraph::EmbedTokens,
                    source,
                };
                let input = Tensor::from_array(([1usize, ids.len()], ids.to_vec())).map_err(embed_err)?;
                let outputs = session
                    .run_with_options(ort::inputs!["input_ids" => input], run_options)
                    .map_err(embed_err)?;
                let (_, values) = outputs
                    .get("inputs_embeds")
                    .ok_or_else(|| Error::ModelOutput {
                        graph: ModelGraph::EmbedTokens,
                        detail: "no inputs_embeds output".into(),
                    })?
                    .try_extract_tensor::<f32>()
                    .map_err(embed_err)?;
                if values.len() != out.len() {
                    return Err(Error::ModelOutput {
                        graph: ModelGraph::EmbedTokens,
                        detail: format!(
                            "{} values for {} ids, expected {}",
                            values.len(),
                            ids.len(),
                            out.len()
                        ),
                    });
                }
                out.copy_from_slice(values);
                Ok(())
            }
        }
    }
}

/// A file-backed embedding table opened on its own, outside a model (for tools, tests and
/// fuzzing): the same recognition and reads as a loaded model uses.
#[derive(Debug)]
pub struct FileEmbeddings(EmbeddingTable);

impl FileEmbeddings {
    /// Opens `path` if its graph is one of the plain lookups.
    ///
    /// # Errors
    ///
    /// Why it is not (unreadable, not ONNX, another graph, a table cut short).
    pub fn open(path: &Path) -> std::result::Result<Self, String> {
        match TokenEmbeddings::plan_table(path, EmbeddingLookup::FromFile) {
            Ok(table) => Ok(Self(table)),
            Err(reason) => Err(reason.unwrap_or_default()),
        }
    }

    /// Rows (vocabulary size).
    pub fn rows(&self) -> usize {
        self.0.rows()
    }

    /// Width of a row (`d_model`).
    pub fn dim(&self) -> usize {
        self.0.dim()
    }

    /// Writes the embedding of each id into consecutive `dim`-wide rows of `out`.
    ///
    /// # Errors
    ///
    /// An id outside the table, `out` of the wrong length, or a failed read.
    pub fn lookup(&mut self, ids: &[i64], out: &mut [f32]) -> std::result::Result<(), String> {
        self.0.lookup(ids, out)
    }
}
