//! The optimised decoder layout of `models/optimize.py` (docs/decoder-layout.md): a cross K/V graph
//! run once per request and a step graph over a self-attention cache that is allocated once and
//! updated in place by ONNX Runtime.
//!
//! Per request ([`StepDecoder::start`]): `decoder_cross_kv` runs at batch 1 (even for beam search)
//! with its outputs bound to buffers this module allocates; those buffers, the token rows
//! (`inputs_embeds`), the position, the logits and the cache are bound once to the step graph, the
//! cache as both `past.{i}.*` and `present.{i}.*`. The cache holds the request's `max_new_tokens`
//! positions, at most [`INITIAL_CACHE_POSITIONS`] at first: a request that runs past them doubles
//! it (the filled prefix copied, the new buffers bound), up to its `max_new_tokens`, so a default
//! call (1024 positions, 3 beams: 113 MB at base size) holds what its answer uses. Per step
//! ([`BoundStep`]): beam rows are reordered in place (only the filled prefix of rows that change),
//! the rows and the position are written, the step runs. The engine allocates nothing per step
//! except on the few steps where the cache doubles; see `tests/decode_allocations.rs` for what the
//! `ort` crate does.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ort::memory::Allocator;
use ort::session::{IoBinding, RunOptions, Session};
use ort::value::Tensor;

use crate::config::ModelConfig;
use crate::embedding::TokenEmbeddings;
use crate::error::{Error, Result};
use crate::generate::StepModel;
use crate::graph::ModelGraph;

/// `florence2.layout` of the graphs this module drives: the major version it understands.
pub(crate) const LAYOUT_MAJOR: u32 = 1;
const LAYOUT_PREFIX: &str = "decoder-step/";

/// Positions the self-attention cache holds when a request starts (or its `max_new_tokens`, if
/// fewer). 256 covers captions, detection and grounding answers without regrowing; a longer
/// answer (dense OCR) doubles it up to `max_new_tokens`. The cache is zero-filled when allocated
/// (`ort` zeroes every tensor it creates), so all of it is resident: at base size
/// `rows × 6 layers × 2 × 12 heads × positions × 64 × 4` bytes, 28 MB for 3 beams at 256.
pub const INITIAL_CACHE_POSITIONS: usize = 256;

/// The two graphs of the layout, loaded and checked.
pub(crate) struct StepDecoder {
    step: Session,
    cross: Session,
    step_path: PathBuf,
    layers: usize,
    heads: usize,
    head_dim: usize,
    d_model: usize,
    vocab: usize,
    max_positions: usize,
    /// Per layer: `past.{i}.key`, `past.{i}.value`.
    past: Vec<[String; 2]>,
    /// Per layer: `present.{i}.key`, `present.{i}.value`.
    present: Vec<[String; 2]>,
    /// Per layer: `cross.{i}.key`, `cross.{i}.value_t`.
    cross_names: Vec<[String; 2]>,
}

impl std::fmt::Debug for StepDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepDecoder")
            .field("step", &self.step_path)
            .field("layers", &self.layers)
            .finish()
    }
}

fn contract(path: &Path, detail: String) -> Error {
    Error::Contract {
        graph: ModelGraph::Decoder,
        path: path.to_path_buf(),
        detail,
    }
}

/// Checks the layout metadata of a graph of the layout: `florence2.layout` = `decoder-step/1`
/// (another major version is refused, not guessed at) and `florence2.role` = `role`.
pub(crate) fn check_metadata(session: &Session, path: &Path, role: &str) -> Result<()> {
    let metadata = session
        .metadata()
        .map_err(|e| contract(path, format!("its metadata cannot be read: {e}")))?;
    let layout = metadata.custom("florence2.layout").ok_or_else(|| {
        contract(
            path,
            "no `florence2.layout` metadata: not a graph of the optimised decoder layout".into(),
        )
    })?;
    let major = layout
        .strip_prefix(LAYOUT_PREFIX)
        .and_then(|v| v.split('.').next())
        .and_then(|v| v.parse::<u32>().ok())
        .ok_or_else(|| {
            contract(
                path,
                format!("`florence2.layout` is {layout:?}, expected {LAYOUT_PREFIX}{LAYOUT_MAJOR}"),
            )
        })?;
    if major != LAYOUT_MAJOR {
        return Err(contract(
            path,
            format!(
                "layout {layout:?} has major version {major}; this engine drives {LAYOUT_PREFIX}{LAYOUT_MAJOR} \
                 (update the engine, or re-run models/optimize.py)"
            ),
        ));
    }
    match metadata.custom("florence2.role") {
        Some(r) if r == role => Ok(()),
        other => Err(contract(
            path,
            format!("`florence2.role` is {other:?}, expected {role:?}"),
        )),
    }
}

/// `florence2.max_positions` of the step graph, which must equal `max_position_embeddings`.
pub(crate) fn check_max_positions(session: &Session, path: &Path, config: &ModelConfig) -> Result<()> {
    let metadata = session
        .metadata()
        .map_err(|e| contract(path, format!("its metadata cannot be read: {e}")))?;
    let value = metadata.custom("florence2.max_positions");
    let parsed = value.as_deref().and_then(|v| v.trim().parse::<usize>().ok());
    if parsed != Some(config.max_position_embeddings) {
        return Err(contract(
            path,
            format!(
                "`florence2.max_positions` is {value:?}, but config.json's max_position_embeddings is {}",
                config.max_position_embeddings
            ),
        ));
    }
    Ok(())
}

impl StepDecoder {
    /// Wraps the two loaded sessions (metadata and tensor contract already checked at load).
    pub fn new(step: Session, cross: Session, step_path: PathBuf, config: &ModelConfig) -> Self {
        let layers = config.decoder_layers;
        let names = |a: &str, b: &str, c: &str| -> Vec<[String; 2]> {
            (0..layers)
                .map(|i| [format!("{a}.{i}.{b}"), format!("{a}.{i}.{c}")])
                .collect()
        };
        Self {
            step,
            cross,
            step_path,
            layers,
            heads: config.decoder_attention_heads,
            head_dim: config.decoder_head_dim(),
            d_model: config.d_model,
            vocab: config.vocab_size,
            max_positions: config.max_position_embeddings,
            past: names("past", "key", "value"),
            present: names("present", "key", "value"),
            cross_names: names("cross", "key", "value_t"),
        }
    }

    /// Runs the cross K/V graph on `hidden` (`[1, seq, d_model]`, consumed) and binds every
    /// buffer of a request of `rows` rows and at most `capacity` steps to the step graph.
    pub fn start<'a>(
        &'a mut self,
        embed: &'a mut TokenEmbeddings,
        hidden: Vec<f32>,
        seq: usize,
        rows: usize,
        capacity: usize,
        run_options: Arc<RunOptions>,
    ) -> Result<BoundStep<'a>> {
        if capacity == 0 || capacity > self.max_positions {
            return Err(Error::InvalidInput {
                detail: format!(
                    "a decoder cache of {capacity} positions; this decoder has 1..={} positions",
                    self.max_positions
                ),
            });
        }
        if rows == 0 || hidden.len() != seq * self.d_model {
            return Err(Error::InvalidInput {
                detail: format!(
                    "{} encoder values for {seq} positions of width {} and {rows} rows",
                    hidden.len(),
                    self.d_model
                ),
            });
        }
        let (h, hd) = (self.heads, self.head_dim);
        let allocator = Allocator::default();
        let new = |shape: [usize; 4]| Tensor::<f32>::new(&allocator, shape).map_err(inference);

        // Cross K/V: batch 1 whatever the beams, straight into the buffers the step reads.
        let mut cross = Vec::with_capacity(2 * self.layers);
        {
            let hidden = Tensor::from_array(([1usize, seq, self.d_model], hidden)).map_err(inference)?;
            let mut binding = self.cross.create_binding().map_err(inference)?;
            binding
                .bind_input("encoder_hidden_states", &hidden)
                .map_err(inference)?;
            for [key, value] in &self.cross_names {
                let mut k = new([1, h, seq, hd])?;
                let mut vt = new([1, h, hd, seq])?;
                binding.bind_output(key.as_str(), &mut k).map_err(inference)?;
                binding.bind_output(value.as_str(), &mut vt).map_err(inference)?;
                cross.push(k);
                cross.push(vt);
            }
            drop(
                self.cross
                    .run_binding_with_options(&binding, &run_options)
                    .map_err(inference)?,
            );
            // `hidden` (the encoder output) is dropped here: nothing else keeps it.
        }

        let mut embeds = Tensor::<f32>::new(&allocator, [rows, 1, self.d_model]).map_err(inference)?;
        let position = Tensor::<i32>::new(&allocator, [1usize]).map_err(inference)?;
        let mut logits = Tensor::<f32>::new(&allocator, [rows, self.vocab]).map_err(inference)?;
        let max_capacity = capacity;
        let capacity = capacity.min(INITIAL_CACHE_POSITIONS);
        let mut cache = Vec::with_capacity(2 * self.layers);
        let mut binding = self.step.create_binding().map_err(inference)?;
        binding.bind_input("inputs_embeds", &embeds).map_err(inference)?;
        binding
            .bind_input("past_sequence_length", &position)
            .map_err(inference)?;
        binding.bind_output("logits", &mut logits).map_err(inference)?;
        for (i, (past, present)) in self.past.iter().zip(&self.present).enumerate() {
            for j in 0..2 {
                let mut buffer = new([rows, h, capacity, hd])?;
                binding.bind_input(past[j].as_str(), &buffer).map_err(inference)?;
                binding
                    .bind_output(present[j].as_str(), &mut buffer)
                    .map_err(inference)?;
                cache.push(buffer);
                binding
                    .bind_input(self.cross_names[i][j].as_str(), &cross[2 * i + j])
                    .map_err(inference)?;
            }
        }

        let ids = Tensor::<i64>::new(&allocator, [rows, 1usize]).map_err(embed_err)?;
        let embed_binding = match embed {
            TokenEmbeddings::Session(session) => {
                let mut b = session.create_binding().map_err(embed_err)?;
                b.bind_input("input_ids", &ids).map_err(embed_err)?;
                b.bind_output("inputs_embeds", &mut embeds).map_err(embed_err)?;
                Some(b)
            }
            TokenEmbeddings::Table(_) => None,
        };
        Ok(BoundStep {
            session: &mut self.step,
            past: &self.past,
            present: &self.present,
            embed,
            binding,
            embed_binding,
            ids,
            embeds,
            position,
            logits,
            cache,
            _cross: cross,
            plan: ReorderPlan::new(rows),
            scratch: vec![0.0; h * capacity * hd],
            rows,
            heads: h,
            head_dim: hd,
            capacity,
            max_capacity,
            vocab: self.vocab,
            filled: 0,
            run_options,
        })
    }
}

fn inference(source: ort::Error) -> Error {
    Error::Inference {
        graph: ModelGraph::Decoder,
        source,
    }
}

fn embed_err(source: ort::Error) -> Error {
    Error::Inference {
        graph: ModelGraph::EmbedTokens,
        source,
    }
}

/// One request's step model: every tensor bound once, nothing allocated per step.
pub(crate) struct BoundStep<'a> {
    session: &'a mut Session,
    /// Per layer: the step graph's `past.{i}.key` / `.value` input names.
    past: &'a [[String; 2]],
    /// Per layer: the step graph's `present.{i}.key` / `.value` output names.
    present: &'a [[String; 2]],
    embed: &'a mut TokenEmbeddings,
    binding: IoBinding,
    /// Bound to `ids` and `embeds` when the embeddings run as a session.
    embed_binding: Option<IoBinding>,
    ids: Tensor<i64>,
    embeds: Tensor<f32>,
    position: Tensor<i32>,
    logits: Tensor<f32>,
    /// Per layer: key, value (`[rows, H, capacity, hd]`), bound as past and present.
    cache: Vec<Tensor<f32>>,
    /// Per layer: cross key, cross value transposed (kept alive with the binding).
    _cross: Vec<Tensor<f32>>,
    plan: ReorderPlan,
    /// One row of the cache (`[H, capacity, hd]`), for a reorder cycle.
    scratch: Vec<f32>,
    rows: usize,
    heads: usize,
    head_dim: usize,
    /// Positions the cache buffers hold now.
    capacity: usize,
    /// Positions the request may use (its `max_new_tokens`): the cache doubles up to it.
    max_capacity: usize,
    vocab: usize,
    /// Positions written so far (= the next token's position).
    filled: usize,
    run_options: Arc<RunOptions>,
}

impl BoundStep<'_> {
    /// Doubles the cache (up to `max_capacity`): new buffers, the filled prefix of every row's
    /// head blocks copied, bound in place of the old ones, which are freed.
    fn grow(&mut self) -> Result<()> {
        let capacity = self.capacity.saturating_mul(2).min(self.max_capacity);
        let (h, hd, filled) = (self.heads, self.head_dim, self.filled * self.head_dim);
        let allocator = Allocator::default();
        let names = self.past.iter().zip(self.present.iter());
        for (buffers, (past, present)) in self.cache.chunks_mut(2).zip(names) {
            for (j, old) in buffers.iter_mut().enumerate() {
                let mut grown =
                    Tensor::<f32>::new(&allocator, [self.rows, h, capacity, hd]).map_err(inference)?;
                {
                    let from = old.extract_tensor().1;
                    let to = grown.extract_tensor_mut().1;
                    for block in 0..self.rows * h {
                        let (src, dst) = (block * self.capacity * hd, block * capacity * hd);
                        to[dst..dst + filled].copy_from_slice(&from[src..src + filled]);
                    }
                }
                self.binding
                    .bind_input(past[j].as_str(), &grown)
                    .map_err(inference)?;
                self.binding
                    .bind_output(present[j].as_str(), &mut grown)
                    .map_err(inference)?;
                *old = grown;
            }
        }
        self.scratch.resize(h * capacity * hd, 0.0);
        self.capacity = capacity;
        Ok(())
    }

    /// Reorders the filled prefix of every cache buffer's rows in place (`new[b] = old[order[b]]`).
    fn reorder(&mut self, order: &[usize]) -> Result<()> {
        if order.len() != self.rows || order.iter().any(|&s| s >= self.rows) {
            return Err(Error::InvalidInput {
                detail: format!("beam order {order:?} for {} rows", self.rows),
            });
        }
        if !self.plan.prepare(order) {
            return Ok(());
        }
        let geometry = RowGeometry {
            heads: self.heads,
            stride: self.capacity * self.head_dim,
            prefix: self.filled * self.head_dim,
        };
        for buffer in &mut self.cache {
            let data = buffer.extract_tensor_mut().1;
            self.plan.apply(data, &mut self.scratch, geometry);
        }
        Ok(())
    }
}

impl StepModel for BoundStep<'_> {
    fn vocab_size(&self) -> usize {
        self.vocab
    }

    fn step(&mut self, last_tokens: &[u32], reorder: Option<&[usize]>) -> Result<&[f32]> {
        if last_tokens.len() != self.rows {
            return Err(Error::InvalidInput {
                detail: format!(
                    "{} tokens for a decoder set up for {} rows",
                    last_tokens.len(),
                    self.rows
                ),
            });
        }
        if self.filled >= self.capacity {
            if self.capacity >= self.max_capacity {
                return Err(Error::InvalidInput {
                    detail: format!(
                        "the decoder cache holds {} positions; position {} does not exist",
                        self.max_capacity, self.filled
                    ),
                });
            }
            self.grow()?;
        }
        if let Some(order) = reorder
            && self.filled > 0
        {
            self.reorder(order)?;
        }
        for (slot, &t) in self.ids.extract_tensor_mut().1.iter_mut().zip(last_tokens) {
            *slot = i64::from(t);
        }
        match (&mut *self.embed, &self.embed_binding) {
            (TokenEmbeddings::Session(session), Some(binding)) => drop(
                session
                    .run_binding_with_options(binding, &self.run_options)
                    .map_err(embed_err)?,
            ),
            (embed, _) => {
                let ids = self.ids.extract_tensor().1;
                embed.embed_into(ids, self.embeds.extract_tensor_mut().1, &self.run_options)?;
            }
        }
        // `filled` < capacity ≤ max_positions ≤ i32::MAX in any real model; saturate otherwise.
        self.position.extract_tensor_mut().1[0] = i32::try_from(self.filled).unwrap_or(i32::MAX);
        drop(
            self.session
                .run_binding_with_options(&self.binding, &self.run_options)
                .map_err(inference)?,
        );
        self.filled += 1;
        Ok(self.logits.extract_tensor().1)
    }
}

/// Where a row's per-head blocks are in a `[rows, H, capacity, hd]` buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowGeometry {
    /// Heads per row.
    pub heads: usize,
    /// Floats per head block (`capacity × hd`).
    pub stride: usize,
    /// Filled floats at the start of each head block (`filled × hd`).
    pub prefix: usize,
}

/// One copy of a reorder plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Move {
    /// Keep this row's old prefix in the scratch row.
    Save(usize),
    /// `dst` takes `src`'s prefix (from the scratch row when `src` was saved).
    Copy { dst: usize, src: usize, saved: bool },
}

/// The copies that gather rows in place (docs/decoder-layout.md, "Beam reordering in place"),
/// planned once per step and applied to every cache buffer; its buffers are allocated once.
#[derive(Debug)]
pub(crate) struct ReorderPlan {
    moves: Vec<Move>,
    readers: Vec<usize>,
    pending: Vec<bool>,
}

impl ReorderPlan {
    /// A plan for `rows` rows.
    pub fn new(rows: usize) -> Self {
        Self {
            moves: Vec::with_capacity(2 * rows),
            readers: vec![0; rows],
            pending: vec![false; rows],
        }
    }

    /// Plans `new[b] = old[order[b]]`; `false` when nothing moves. `order` must hold `rows`
    /// indices below `rows`.
    pub fn prepare(&mut self, order: &[usize]) -> bool {
        self.moves.clear();
        self.readers.fill(0);
        self.pending.fill(false);
        let mut left = 0usize;
        for (d, &s) in order.iter().enumerate() {
            if s != d {
                self.pending[d] = true;
                self.readers[s] += 1;
                left += 1;
            }
        }
        if left == 0 {
            return false;
        }
        let mut saved = None;
        while left > 0 {
            let ready = (0..order.len()).find(|&d| self.pending[d] && self.readers[d] == 0);
            match ready {
                Some(d) => {
                    let src = order[d];
                    self.moves.push(Move::Copy {
                        dst: d,
                        src,
                        saved: saved == Some(src),
                    });
                    self.readers[src] = self.readers[src].saturating_sub(1);
                    self.pending[d] = false;
                    left -= 1;
                }
                None => {
                    // Every pending row is still read: a cycle. Keep one row's old prefix aside.
                    let Some(d) = (0..order.len()).find(|&d| self.pending[d]) else {
                        break;
                    };
                    self.moves.push(Move::Save(d));
                    saved = Some(d);
                    self.readers[d] = 0;
                }
            }
        }
        true
    }

    /// Applies the planned copies to one buffer (rows of `heads × stride` floats).
    pub fn apply(&self, data: &mut [f32], scratch: &mut [f32], g: RowGeometry) {
        let row = g.heads * g.stride;
        for m in &self.moves {
            for h in 0..g.heads {
                let block = h * g.stride;
                match *m {
                    Move::Save(r) => {
                        let at = r * row + block;
                        scratch[block..block + g.prefix].copy_from_slice(&data[at..at + g.prefix]);
                    }
                    Move::Copy { dst, src, saved } => {
                        let to = dst * row + block;
                        if saved {
                            data[to..to + g.prefix].copy_from_slice(&scratch[block..block + g.prefix]);
                        } else {
                            let from = src * row + block;
                            data.copy_within(from..from + g.prefix, to);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows of `heads` blocks of `stride` floats with `prefix` filled; each value names its
    /// row, head and slot, the unfilled tail is a sentinel.
    fn buffer(rows: usize, g: RowGeometry) -> Vec<f32> {
        let mut data = vec![-1.0f32; rows * g.heads * g.stride];
        for r in 0..rows {
            for h in 0..g.heads {
                for i in 0..g.prefix {
                    data[(r * g.heads + h) * g.stride + i] = (r * 10_000 + h * 100 + i) as f32;
                }
            }
        }
        data
    }

    fn check(order: &[usize], g: RowGeometry) {
        let rows = order.len();
        let old = buffer(rows, g);
        let mut data = old.clone();
        let mut scratch = vec![0.0f32; g.heads * g.stride];
        let mut plan = ReorderPlan::new(rows);
        let moved = plan.prepare(order);
        assert_eq!(moved, order.iter().enumerate().any(|(d, &s)| d != s));
        plan.apply(&mut data, &mut scratch, g);
        let row = g.heads * g.stride;
        for (b, &s) in order.iter().enumerate() {
            for h in 0..g.heads {
                let at = b * row + h * g.stride;
                let from = s * row + h * g.stride;
                assert_eq!(
                    data[at..at + g.prefix],
                    old[from..from + g.prefix],
                    "order {order:?} row {b}"
                );
                // Beyond the filled prefix nothing is touched.
                assert_eq!(
                    data[at + g.prefix..at + g.stride],
                    old[at + g.prefix..at + g.stride]
                );
            }
        }
        // Each row is written at most once, plus at most one save per cycle.
        let copies = plan
            .moves
            .iter()
            .filter(|m| matches!(m, Move::Copy { .. }))
            .count();
        assert_eq!(copies, order.iter().enumerate().filter(|(d, s)| d != *s).count());
    }

    #[test]
    fn every_mapping_of_three_beams_equals_a_gather() {
        let g = RowGeometry {
            heads: 2,
            stride: 12,
            prefix: 8,
        };
        for a in 0..3 {
            for b in 0..3 {
                for c in 0..3 {
                    check(&[a, b, c], g);
                }
            }
        }
    }

    #[test]
    fn cycles_and_trees_of_more_beams() {
        let g = RowGeometry {
            heads: 3,
            stride: 10,
            prefix: 4,
        };
        check(&[1, 2, 3, 0], g);
        check(&[1, 0, 3, 2], g);
        check(&[4, 0, 1, 2, 3], g);
        check(&[2, 2, 0, 1, 1], g);
        check(&[0, 0, 0, 0, 0], g);
        check(&[3, 4, 0, 1, 2, 5], g);
        // A small deterministic sweep of 5-row maps.
        let mut x = 12345u32;
        for _ in 0..500 {
            let order: Vec<usize> = (0..5)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (x >> 16) as usize % 5
                })
                .collect();
            check(&order, g);
        }
    }

    #[test]
    fn identity_moves_nothing() {
        let mut plan = ReorderPlan::new(4);
        assert!(!plan.prepare(&[0, 1, 2, 3]));
        assert!(plan.moves.is_empty());
    }
}
