//! The model folder's `tokenizer.json` (BART byte-level BPE plus Florence's 1024 added tokens).

use std::path::{Path, PathBuf};

use tokenizers::Tokenizer;

use crate::error::{Error, Result};
use crate::graph::ModelGraph;

/// Encodes prompts and decodes generated ids exactly as the Python reference does.
#[derive(Debug, Clone)]
pub struct PromptTokenizer {
    inner: Tokenizer,
    path: PathBuf,
}

impl PromptTokenizer {
    /// Loads `tokenizer.json` and checks it agrees with the model's vocabulary size.
    pub fn load(path: &Path, vocab_size: usize) -> Result<Self> {
        if !path.is_file() {
            return Err(Error::Tokenizer {
                path: path.to_path_buf(),
                detail: "file not found".into(),
            });
        }
        let inner = Tokenizer::from_file(path).map_err(|e| Error::Tokenizer {
            path: path.to_path_buf(),
            detail: format!("cannot parse: {e}"),
        })?;
        let size = inner.get_vocab_size(true);
        if size > vocab_size {
            return Err(Error::Tokenizer {
                path: path.to_path_buf(),
                detail: format!(
                    "it has {size} ids but the model's embedding table has only {vocab_size} rows"
                ),
            });
        }
        Ok(Self {
            inner,
            path: path.to_path_buf(),
        })
    }

    /// `<s>` + the prompt's tokens + `</s>`, as `add_special_tokens=True` gives.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if the tokenizer refuses the prompt.
    pub fn encode(&self, prompt: &str) -> Result<Vec<i64>> {
        let encoding = self.inner.encode(prompt, true).map_err(|e| Error::InvalidInput {
            detail: format!("the tokenizer cannot encode the prompt {prompt:?}: {e}"),
        })?;
        Ok(encoding.get_ids().iter().map(|&id| i64::from(id)).collect())
    }

    /// Decodes ids with special tokens kept (`"</s><s>a cat</s>"`), the input of post-processing.
    ///
    /// # Errors
    /// [`Error::ModelOutput`] (of the decoder, which produced the ids) if they cannot be decoded.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner.decode(ids, false).map_err(|e| Error::ModelOutput {
            graph: ModelGraph::Decoder,
            detail: format!("the tokenizer cannot decode the generated ids: {e}"),
        })
    }

    /// The `tokenizer.json` it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The id of a token, if the vocabulary has it.
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }
}
