//! Token embeddings read row by row from the `embed_tokens` file, for the graphs that are only a
//! table lookup.
//!
//! Recognised graphs (every Florence-2 variant this project exports or onnx-community publishes
//! as a plain lookup; anything else keeps its ONNX Runtime session):
//!
//! | graph | table | per element |
//! |---|---|---|
//! | `Gather(weight, input_ids)` | float32 `[V, D]` | copy |
//! | `Gather` → `Cast(to=float)` | float16 | widen (exact) |
//! | `Gather(q)` → `Cast` → `Mul(·, Gather(scale, input_ids))` | int8/uint8 `[V, D]`, float32 scale `[V, 1]` | `q · scale[row]` |
//! | `DequantizeLinear(q, s, z)` → `Gather` → `QuantizeLinear(s, z)` → `DequantizeLinear(s, z)` | int8/uint8 `[V, D]`, scalar `s`, `z` | `(q − z) · s`, requantised as ONNX Runtime does |
//!
//! Each lookup reads `D` elements per token with one positioned read, so the table stays in the
//! file (the OS page cache) instead of the process's resident memory.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::onnx_scan::{GraphSummary, InitializerSummary, NodeSummary, TensorData};

/// ONNX `TensorProto.DataType` codes used here.
const FLOAT: i32 = 1;
const UINT8: i32 = 2;
const INT8: i32 = 3;
const INT64: i32 = 7;
const FLOAT16: i32 = 10;

/// How a stored element becomes a float32 embedding value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Decode {
    /// float32 as stored.
    F32,
    /// float16, widened.
    F16,
    /// int8/uint8 times the row's own scale (`scales[row]`).
    PerRow { signed: bool, scales: Vec<f32> },
    /// int8/uint8 through `DequantizeLinear` → `QuantizeLinear` → `DequantizeLinear` with one
    /// scale and zero point.
    PerTensorQdq {
        signed: bool,
        scale: f32,
        zero_point: i32,
    },
}

impl Decode {
    fn element_bytes(&self) -> usize {
        match self {
            Self::F32 => 4,
            Self::F16 => 2,
            Self::PerRow { .. } | Self::PerTensorQdq { .. } => 1,
        }
    }
}

/// A recognised lookup graph: where the `[rows, dim]` table is and how to decode it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TablePlan {
    /// File holding the table (the graph file itself, or its external-data file).
    pub path: PathBuf,
    /// Byte offset of row 0.
    pub offset: u64,
    /// Rows (vocabulary size).
    pub rows: usize,
    /// Columns (model width).
    pub dim: usize,
    /// Element decoding.
    pub decode: Decode,
}

/// Recognises one of the lookup graphs in `graph` (scanned from `path`). `Err` says why the graph
/// is not a plain lookup; the caller then keeps an ONNX Runtime session for it.
pub(crate) fn plan(graph: &GraphSummary, path: &Path) -> Result<TablePlan, String> {
    let (ids, output) = lookup_io(graph)?;
    let init = |name: &str| graph.initializers.iter().find(|i| i.name == name);
    let ops: Vec<&str> = graph.nodes.iter().map(|n| n.op_type.as_str()).collect();
    let (table, decode) = match (ops.as_slice(), &graph.nodes[..]) {
        (["Gather"], [gather]) => {
            let table = gathered_table(gather, ids, output, &init)?;
            (table, element_decode(table, &[FLOAT])?)
        }
        (["Gather", "Cast"], [gather, cast]) => {
            let table = gathered(gather, ids, &init)?;
            check_cast(cast, first(&gather.outputs)?, output)?;
            (table, element_decode(table, &[FLOAT16])?)
        }
        (["Gather", "Cast", "Gather", "Mul"], [rows, cast, scales, mul]) => {
            per_row_lookup([rows, cast, scales, mul], ids, output, &init, path)?
        }
        (["DequantizeLinear", "Gather", "QuantizeLinear", "DequantizeLinear"], [dq, gather, q, dq_out]) => {
            qdq_lookup([dq, gather, q, dq_out], ids, output, &init, path)?
        }
        (other, _) => return Err(format!("nodes {other:?} are not one of the lookup graphs")),
    };
    table_plan(table, decode, path)
}

/// The graph's one input (`input_ids`, int64) and one output (`inputs_embeds`), and only
/// standard operators.
fn lookup_io(graph: &GraphSummary) -> Result<(&String, &String), String> {
    let [(ids_name, ids_type)] = graph.inputs.as_slice() else {
        return Err(format!("{} graph inputs, expected 1", graph.inputs.len()));
    };
    let [output] = graph.outputs.as_slice() else {
        return Err(format!("{} graph outputs, expected 1", graph.outputs.len()));
    };
    if ids_name != "input_ids" || output != "inputs_embeds" {
        return Err(format!(
            "graph maps {ids_name} to {output}, expected input_ids to inputs_embeds"
        ));
    }
    if *ids_type != INT64 {
        return Err(format!(
            "input {ids_name} has element type {ids_type}, expected int64"
        ));
    }
    if let Some(node) = graph
        .nodes
        .iter()
        .find(|node| !node.domain.is_empty() && node.domain != "ai.onnx")
    {
        return Err(format!(
            "operator {}:{} is not a plain lookup",
            node.domain, node.op_type
        ));
    }
    Ok((ids_name, output))
}

/// `Gather(q)` → `Cast` → `Mul(·, Gather(scale, input_ids))`: int8/uint8 rows with a float32
/// scale per row (our `quantize.py` format).
fn per_row_lookup<'g>(
    [rows_gather, cast, scale_gather, mul]: [&NodeSummary; 4],
    ids: &str,
    output: &str,
    init: &impl Fn(&str) -> Option<&'g InitializerSummary>,
    path: &Path,
) -> Result<(&'g InitializerSummary, Decode), String> {
    let table = gathered(rows_gather, ids, init)?;
    check_cast(cast, first(&rows_gather.outputs)?, first(&cast.outputs)?)?;
    let scale = gathered(scale_gather, ids, init)?;
    if first(&mul.outputs)? != output
        || !same_set(
            &mul.inputs,
            &[first(&cast.outputs)?, first(&scale_gather.outputs)?],
        )
    {
        return Err("Mul does not combine the cast rows with their scales".into());
    }
    let signed = quantized_signedness(table)?;
    let rows = usize_dim(table.dims.first())?;
    if scale.data_type != FLOAT || scale.dims != [rows as i64, 1] {
        return Err(format!(
            "row scales {:?} of type {}, expected float [{rows}, 1]",
            scale.dims, scale.data_type
        ));
    }
    let scales = read_f32s(scale, path, rows)?;
    Ok((table, Decode::PerRow { signed, scales }))
}

/// `DequantizeLinear(q, s, z)` → `Gather` → `QuantizeLinear(s, z)` → `DequantizeLinear(s, z)`:
/// int8/uint8 with one scale and zero point (ONNX Runtime's static quantiser).
fn qdq_lookup<'g>(
    [dq, gather, q, dq_out]: [&NodeSummary; 4],
    ids: &str,
    output: &str,
    init: &impl Fn(&str) -> Option<&'g InitializerSummary>,
    path: &Path,
) -> Result<(&'g InitializerSummary, Decode), String> {
    let (Some(table_name), Some(scale_name)) = (dq.inputs.first(), dq.inputs.get(1)) else {
        return Err("DequantizeLinear without table and scale".into());
    };
    let zero_name = dq.inputs.get(2).filter(|n| !n.is_empty());
    let same_params = |node: &NodeSummary| {
        node.inputs.get(1) == Some(scale_name) && node.inputs.get(2).filter(|n| !n.is_empty()) == zero_name
    };
    for node in [dq, q, dq_out] {
        match node.int_attribute("axis")? {
            None | Some(1) => {}
            Some(a) => return Err(format!("{} with axis {a}", node.op_type)),
        }
    }
    if gather.inputs.first() != dq.outputs.first()
        || gather.inputs.get(1).map(String::as_str) != Some(ids)
        || q.inputs.first() != gather.outputs.first()
        || dq_out.inputs.first() != q.outputs.first()
        || dq_out.outputs.first().map(String::as_str) != Some(output)
        || !same_params(q)
        || !same_params(dq_out)
    {
        return Err("the Q/DQ lookup is not wired as expected".into());
    }
    check_gather_axis(gather)?;
    let table = init(table_name).ok_or_else(|| format!("{table_name} is not an initializer"))?;
    let signed = quantized_signedness(table)?;
    let scale_init = init(scale_name).ok_or_else(|| format!("{scale_name} is not an initializer"))?;
    if scale_init.data_type != FLOAT || scale_init.dims.iter().product::<i64>() != 1 {
        return Err("the Q/DQ scale is not one float".into());
    }
    let scale = read_f32s(scale_init, path, 1)?[0];
    let zero_point = match zero_name {
        None => 0,
        Some(name) => {
            let z = init(name).ok_or_else(|| format!("{name} is not an initializer"))?;
            if z.data_type != table.data_type || z.dims.iter().product::<i64>() != 1 {
                return Err("the Q/DQ zero point is not one value of the table's type".into());
            }
            read_zero_point(z, path, signed)?
        }
    };
    if !(scale.is_finite() && scale > 0.0) {
        return Err(format!("Q/DQ scale {scale} is not a positive number"));
    }
    Ok((
        table,
        Decode::PerTensorQdq {
            signed,
            scale,
            zero_point,
        },
    ))
}

/// Where the `[rows, dim]` table's bytes are, once its shape is checked.
fn table_plan(table: &InitializerSummary, decode: Decode, graph_path: &Path) -> Result<TablePlan, String> {
    let rows = usize_dim(table.dims.first())?;
    let dim = usize_dim(table.dims.get(1))?;
    if table.dims.len() != 2 || rows == 0 || dim == 0 {
        return Err(format!(
            "table {} has shape {:?}, expected [rows, dim]",
            table.name, table.dims
        ));
    }
    let bytes = (rows as u64)
        .checked_mul(dim as u64)
        .and_then(|n| n.checked_mul(decode.element_bytes() as u64))
        .ok_or("table size overflows")?;
    let (path, offset) = locate(table, graph_path, bytes)?;
    Ok(TablePlan {
        path,
        offset,
        rows,
        dim,
        decode,
    })
}

fn first(names: &[String]) -> Result<&String, String> {
    names
        .first()
        .ok_or_else(|| "a node without inputs or outputs".to_string())
}

fn same_set(a: &[String], b: &[&String]) -> bool {
    a.len() == b.len() && b.iter().all(|x| a.contains(x))
}

fn usize_dim(d: Option<&i64>) -> Result<usize, String> {
    d.and_then(|&d| usize::try_from(d).ok())
        .ok_or_else(|| "a table dimension is missing or negative".to_string())
}

fn check_gather_axis(gather: &NodeSummary) -> Result<(), String> {
    match gather.int_attribute("axis")? {
        None | Some(0) => Ok(()),
        Some(a) => Err(format!("Gather on axis {a}")),
    }
}

/// A `Gather(initializer, ids)` node's table.
fn gathered<'g>(
    gather: &NodeSummary,
    ids: &str,
    init: &impl Fn(&str) -> Option<&'g InitializerSummary>,
) -> Result<&'g InitializerSummary, String> {
    check_gather_axis(gather)?;
    match gather.inputs.as_slice() {
        [table, index] if index == ids => init(table).ok_or_else(|| format!("{table} is not an initializer")),
        _ => Err("Gather does not index an initializer with the graph's input".into()),
    }
}

fn gathered_table<'g>(
    gather: &NodeSummary,
    ids: &str,
    out: &str,
    init: &impl Fn(&str) -> Option<&'g InitializerSummary>,
) -> Result<&'g InitializerSummary, String> {
    if gather.outputs.first().map(String::as_str) != Some(out) {
        return Err("Gather's output is not the graph's output".into());
    }
    gathered(gather, ids, init)
}

fn check_cast(cast: &NodeSummary, input: &str, output: &str) -> Result<(), String> {
    if cast.int_attribute("to")? != Some(i64::from(FLOAT))
        || cast.inputs.first().map(String::as_str) != Some(input)
        || cast.outputs.first().map(String::as_str) != Some(output)
    {
        return Err("Cast is not a widening to float of the gathered rows".into());
    }
    Ok(())
}

fn element_decode(table: &InitializerSummary, allowed: &[i32]) -> Result<Decode, String> {
    match table.data_type {
        t if !allowed.contains(&t) => Err(format!("table {} has element type {t}", table.name)),
        FLOAT => Ok(Decode::F32),
        FLOAT16 => Ok(Decode::F16),
        t => Err(format!("table {} has element type {t}", table.name)),
    }
}

fn quantized_signedness(table: &InitializerSummary) -> Result<bool, String> {
    match table.data_type {
        INT8 => Ok(true),
        UINT8 => Ok(false),
        t => Err(format!("quantised table {} has element type {t}", table.name)),
    }
}

/// The file and offset of a table of `bytes` bytes, checked against the file's length.
fn locate(table: &InitializerSummary, graph_path: &Path, bytes: u64) -> Result<(PathBuf, u64), String> {
    let (path, offset, len) = match &table.data {
        TensorData::Raw { offset, len } => (graph_path.to_path_buf(), *offset, Some(*len)),
        TensorData::External {
            location,
            offset,
            len,
        } => {
            let relative = Path::new(location);
            if relative.is_absolute()
                || relative
                    .components()
                    .any(|c| matches!(c, std::path::Component::ParentDir))
            {
                return Err(format!(
                    "external data location {location:?} leaves the model folder"
                ));
            }
            let dir = graph_path.parent().unwrap_or(Path::new("."));
            (dir.join(relative), *offset, *len)
        }
        _ => return Err(format!("table {} has no raw or external data", table.name)),
    };
    if len.is_some_and(|len| len != bytes) {
        return Err(format!(
            "table {} holds {len:?} bytes, its shape needs {bytes}",
            table.name
        ));
    }
    let file_len = std::fs::metadata(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .len();
    if offset.checked_add(bytes).is_none_or(|end| end > file_len) {
        return Err(format!(
            "table {} runs past the end of {}",
            table.name,
            path.display()
        ));
    }
    Ok((path, offset))
}

/// Reads `n` float32 values of a small initializer (inline raw bytes or typed `float_data`).
fn read_f32s(init: &InitializerSummary, graph_path: &Path, n: usize) -> Result<Vec<f32>, String> {
    if let TensorData::Floats(values) = &init.data {
        return if values.len() == n {
            Ok(values.clone())
        } else {
            Err(format!(
                "{} holds {} floats, expected {n}",
                init.name,
                values.len()
            ))
        };
    }
    let bytes = read_small(init, graph_path, n * 4)?;
    Ok(bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

fn read_zero_point(init: &InitializerSummary, graph_path: &Path, signed: bool) -> Result<i32, String> {
    if let TensorData::Ints(values) = &init.data {
        return match values.as_slice() {
            [v] => Ok(if signed {
                i32::from(*v as i8)
            } else {
                i32::from(*v as u8)
            }),
            _ => Err(format!("{} holds {} values, expected 1", init.name, values.len())),
        };
    }
    if init.data == TensorData::None {
        return Ok(0);
    }
    let b = read_small(init, graph_path, 1)?[0];
    Ok(if signed { i32::from(b as i8) } else { i32::from(b) })
}

fn read_small(init: &InitializerSummary, graph_path: &Path, bytes: usize) -> Result<Vec<u8>, String> {
    let (path, offset) = locate(init, graph_path, bytes as u64)?;
    let mut file = File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    file.seek(SeekFrom::Start(offset)).map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; bytes];
    file.read_exact(&mut buf).map_err(|e| e.to_string())?;
    Ok(buf)
}

/// An open table: reads rows on demand.
#[derive(Debug)]
pub(crate) struct EmbeddingTable {
    plan: TablePlan,
    file: File,
    row: Vec<u8>,
}

impl EmbeddingTable {
    /// Opens the table's file.
    pub fn open(plan: TablePlan) -> Result<Self, String> {
        let file = File::open(&plan.path).map_err(|e| format!("{}: {e}", plan.path.display()))?;
        let row = vec![0u8; plan.dim * plan.decode.element_bytes()];
        Ok(Self { plan, file, row })
    }

    /// Rows in the table.
    pub fn rows(&self) -> usize {
        self.plan.rows
    }

    /// Width of a row.
    pub fn dim(&self) -> usize {
        self.plan.dim
    }

    /// The file the rows are read from.
    pub fn path(&self) -> &Path {
        &self.plan.path
    }

    /// Writes the embedding of each id into consecutive `dim`-wide rows of `out`.
    pub fn lookup(&mut self, ids: &[i64], out: &mut [f32]) -> Result<(), String> {
        let dim = self.plan.dim;
        if out.len() != ids.len() * dim {
            return Err(format!(
                "{} output values for {} ids of width {dim}",
                out.len(),
                ids.len()
            ));
        }
        for (&id, dst) in ids.iter().zip(out.chunks_exact_mut(dim)) {
            let row = usize::try_from(id)
                .ok()
                .filter(|&r| r < self.plan.rows)
                .ok_or_else(|| {
                    format!(
                        "token id {id} is outside the embedding table's {} rows",
                        self.plan.rows
                    )
                })?;
            let at = self.plan.offset + (row * self.row.len()) as u64;
            self.file
                .seek(SeekFrom::Start(at))
                .and_then(|_| self.file.read_exact(&mut self.row))
                .map_err(|e| format!("reading row {row} of {}: {e}", self.plan.path.display()))?;
            decode_row(&self.plan.decode, row, &self.row, dst);
        }
        Ok(())
    }
}

/// Decodes one stored row into float32, exactly as ONNX Runtime's graph would.
pub(crate) fn decode_row(decode: &Decode, row: usize, src: &[u8], dst: &mut [f32]) {
    match decode {
        Decode::F32 => {
            for (d, c) in dst.iter_mut().zip(src.chunks_exact(4)) {
                *d = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            }
        }
        Decode::F16 => {
            for (d, c) in dst.iter_mut().zip(src.chunks_exact(2)) {
                *d = half::f16::from_le_bytes([c[0], c[1]]).to_f32();
            }
        }
        Decode::PerRow { signed, scales } => {
            let scale = scales.get(row).copied().unwrap_or(f32::NAN);
            for (d, &b) in dst.iter_mut().zip(src) {
                *d = quantized(b, *signed) as f32 * scale;
            }
        }
        Decode::PerTensorQdq {
            signed,
            scale,
            zero_point,
        } => {
            let (lo, hi) = if *signed { (-128i32, 127i32) } else { (0, 255) };
            for (d, &b) in dst.iter_mut().zip(src) {
                let x = (quantized(b, *signed) - zero_point) as f32 * scale;
                // QuantizeLinear: round half to even, add the zero point, saturate; then dequantise.
                let q = ((x / scale).round_ties_even() as i32 + zero_point).clamp(lo, hi);
                *d = (q - zero_point) as f32 * scale;
            }
        }
    }
}

fn quantized(b: u8, signed: bool) -> i32 {
    if signed { i32::from(b as i8) } else { i32::from(b) }
}
