//! Token embeddings read row by row from the `embed_tokens` file, for the graphs that are only a
//! table lookup.
//!
//! A graph is read from the file when it is a lookup **core** followed by a **tail** and holds
//! nothing else (`Constant` nodes aside); anything else keeps its ONNX Runtime session
//! (docs/decoder-layout.md, "Embedding rows from the file"). Cores:
//!
//! | graph | table | per element |
//! |---|---|---|
//! | `Gather(weight, input_ids)` | float32 `[V, D]` | copy |
//! | `Gather` → `Cast(to=float)` | float16 | widen (exact) |
//! | `Gather(q)` → `Cast` → `[Sub(z)]` → `Mul(·, Gather(scale, input_ids))` | int8/uint8 `[V, D]`, float32 scale `[V]` / `[V, 1]` | `(q − z) · scale[row]` |
//! | the same over blocks, then `Reshape([0, 0, D])` | int8/uint8 `[V, nb, bs]`, scales `[V, nb, 1]` (the optimised int8 token table) | `(q − z) · scale[row, j / bs]` |
//! | `DequantizeLinear(q, s, z)` → `Gather` → `QuantizeLinear(s, z)` → `DequantizeLinear(s, z)` | int8/uint8 `[V, D]`, scalar `s`, `z` | `(q − z) · s`, requantised as ONNX Runtime does |
//!
//! The tail is a chain of single-consumer `Identity`, `Cast(to=float)`, `Mul` by a constant
//! float scalar (either operand; an initializer or a `Constant` node) and `Div` by one (divisor
//! second), applied in order in float32: the same IEEE operations ONNX Runtime performs, so rows
//! stay bit-exact (transformers' own exports scale the lookup by a `Constant` 1.0).
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
    /// int8/uint8 rows in blocks of `block` elements, each with its own scale:
    /// `(q − zero) · scales[row · blocks + j / block]` (a row's blocks are consecutive; one block
    /// per row for the per-row tables).
    PerRow {
        signed: bool,
        scales: Vec<f32>,
        block: usize,
        zero: f32,
    },
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

/// A float32 operation by a constant scalar after the lookup (the "tail").
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Scale {
    /// `v · c`.
    Mul(f32),
    /// `v / c`.
    Div(f32),
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
    /// Scalar operations applied after decoding, in order.
    pub tail: Vec<Scale>,
}

/// The nodes of a graph, apart from `Constant`s, with who consumes what.
struct Graph<'g> {
    summary: &'g GraphSummary,
    path: &'g Path,
    nodes: Vec<&'g NodeSummary>,
}

impl<'g> Graph<'g> {
    fn init(&self, name: &str) -> Option<&'g InitializerSummary> {
        self.summary.initializers.iter().find(|i| i.name == name)
    }

    /// A tensor known before the graph runs: an initializer or a `Constant` node's value.
    fn constant(&self, name: &str) -> Option<&'g InitializerSummary> {
        self.init(name).or_else(|| {
            self.summary
                .nodes
                .iter()
                .find(|n| n.op_type == "Constant" && n.outputs.first().map(String::as_str) == Some(name))
                .and_then(|n| n.value.as_ref())
        })
    }

    /// A constant float32 scalar (one element, any rank).
    fn scalar(&self, name: &str) -> Result<f32, String> {
        let c = self
            .constant(name)
            .ok_or_else(|| format!("{name} is not a constant"))?;
        if c.data_type != FLOAT || c.dims.iter().product::<i64>() != 1 {
            return Err(format!(
                "{name} is not a float scalar (type {}, shape {:?})",
                c.data_type, c.dims
            ));
        }
        Ok(read_f32s(c, self.path, 1)?[0])
    }

    /// The only node reading `tensor`, if there is exactly one and it is a `op`.
    fn only_user(&self, tensor: &str, op: &str) -> Option<&'g NodeSummary> {
        let mut users = self.nodes.iter().filter(|n| n.inputs.iter().any(|i| i == tensor));
        match (users.next(), users.next()) {
            (Some(n), None) if n.op_type == op => Some(n),
            _ => None,
        }
    }

    fn users(&self, tensor: &str) -> Vec<&'g NodeSummary> {
        self.nodes
            .iter()
            .copied()
            .filter(|n| n.inputs.iter().any(|i| i == tensor))
            .collect()
    }
}

/// Recognises a row lookup in `graph` (scanned from `path`): a lookup **core** followed by a
/// **tail** of scalar operations, and nothing else (docs/decoder-layout.md, "Embedding rows from
/// the file"). `Err` says why the graph is not a row lookup; the caller then keeps an ONNX
/// Runtime session for it.
pub(crate) fn plan(graph: &GraphSummary, path: &Path) -> Result<TablePlan, String> {
    let (ids, output) = lookup_io(graph)?;
    let g = Graph {
        summary: graph,
        path,
        nodes: graph.nodes.iter().filter(|n| n.op_type != "Constant").collect(),
    };
    let ops: Vec<&str> = g.nodes.iter().map(|n| n.op_type.as_str()).collect();
    let not_lookup = || format!("nodes {ops:?} are not one of the lookup graphs");
    let gathers: Vec<&NodeSummary> = g
        .nodes
        .iter()
        .copied()
        .filter(|n| n.op_type == "Gather" && n.inputs.get(1).map(String::as_str) == Some(ids))
        .collect();
    for gather in &gathers {
        check_gather_axis(gather)?;
    }
    let init = |name: &str| g.init(name);
    // The core: (table, decode, nodes used, the tensor it ends at).
    let (table, decode, mut used, mut end) = match (g.nodes.first(), gathers.as_slice()) {
        (Some(dq), _) if dq.op_type == "DequantizeLinear" && g.nodes.len() >= 4 => {
            let [dq, gather, q, dq_out] = [g.nodes[0], g.nodes[1], g.nodes[2], g.nodes[3]];
            let end = first(&dq_out.outputs)?.clone();
            let (table, decode) = qdq_lookup([dq, gather, q, dq_out], ids, &end, &init, path)?;
            (table, decode, 4, end)
        }
        (_, [gather]) => {
            let table = gathered(gather, ids, &init)?;
            let rows = first(&gather.outputs)?;
            match table.data_type {
                FLOAT => (table, Decode::F32, 1, rows.clone()),
                FLOAT16 => {
                    let cast = g
                        .only_user(rows, "Cast")
                        .ok_or("a float16 table must be widened by a Cast")?;
                    check_cast(cast, rows, first(&cast.outputs)?)?;
                    (table, Decode::F16, 2, first(&cast.outputs)?.clone())
                }
                t => return Err(format!("table {} has element type {t}", table.name)),
            }
        }
        (_, [a, b]) => quantized_core(&g, [a, b], ids)?,
        _ => return Err(not_lookup()),
    };
    // The tail: single-consumer scalar operations up to the graph's output.
    let mut tail = Vec::new();
    while end != *output {
        let users = g.users(&end);
        let [node] = users.as_slice() else {
            return Err(format!("{end} feeds {} nodes; {}", users.len(), not_lookup()));
        };
        let other: Vec<&String> = node.inputs.iter().filter(|i| **i != end).collect();
        match node.op_type.as_str() {
            "Identity" => {}
            "Cast" if node.int_attribute("to")? == Some(i64::from(FLOAT)) => {}
            "Mul" => match other.as_slice() {
                [c] => tail.push(Scale::Mul(
                    g.scalar(c).map_err(|e| format!("Mul after the lookup: {e}"))?,
                )),
                _ => return Err(not_lookup()),
            },
            "Div" if node.inputs.first() == Some(&end) && other.len() == 1 => tail.push(Scale::Div(
                g.scalar(other[0])
                    .map_err(|e| format!("Div after the lookup: {e}"))?,
            )),
            op => return Err(format!("{op} after the lookup; {}", not_lookup())),
        }
        used += 1;
        end = first(&node.outputs)?.clone();
    }
    if used != g.nodes.len() {
        return Err(format!("{}: more than a lookup", not_lookup()));
    }
    let mut plan = table_plan(table, decode, path)?;
    plan.tail = tail;
    Ok(plan)
}

/// `Gather(q) → Cast(to=FLOAT) → [Sub(z)] → Mul(·, Gather(scales))`, over rows `q [V, D]` with
/// scales `[V]` / `[V, 1]`, or blocks `q [V, nb, bs]` with scales `[V, nb, 1]` then
/// `Reshape([0, 0, nb·bs])`.
fn quantized_core<'g>(
    g: &Graph<'g>,
    gathers: [&'g NodeSummary; 2],
    ids: &str,
) -> Result<(&'g InitializerSummary, Decode, usize, String), String> {
    let init = |name: &str| g.init(name);
    let is_q = |n: &NodeSummary| {
        n.inputs
            .first()
            .and_then(|t| init(t))
            .is_some_and(|t| matches!(t.data_type, INT8 | UINT8))
    };
    let (q_gather, s_gather) = match gathers {
        [a, b] if is_q(a) => (a, b),
        [a, b] if is_q(b) => (b, a),
        _ => return Err("two lookups, neither of an int8/uint8 table".into()),
    };
    let table = gathered(q_gather, ids, &init)?;
    let scale = gathered(s_gather, ids, &init)?;
    let rows_out = first(&q_gather.outputs)?;
    let cast = g
        .only_user(rows_out, "Cast")
        .ok_or("the quantised rows are not cast to float")?;
    check_cast(cast, rows_out, first(&cast.outputs)?)?;
    let mut used = 4;
    let mut x = first(&cast.outputs)?.clone();
    let mut zero = 0.0f32;
    if let Some(sub) = g.only_user(&x, "Sub") {
        if sub.inputs.first() != Some(&x) {
            return Err("the zero point is subtracted from the wrong side".into());
        }
        let z = sub.inputs.get(1).ok_or("Sub without a zero point")?;
        zero = g.scalar(z).map_err(|e| format!("zero point: {e}"))?;
        x = first(&sub.outputs)?.clone();
        used += 1;
    }
    let mul = g.only_user(&x, "Mul").ok_or("the dequantising Mul is missing")?;
    if !same_set(&mul.inputs, &[&x, first(&s_gather.outputs)?]) {
        return Err("Mul does not combine the cast rows with their scales".into());
    }
    let mut end = first(&mul.outputs)?.clone();
    let signed = quantized_signedness(table)?;
    let rows = usize_dim(table.dims.first())?;
    let (dim, block, want): (usize, usize, Vec<Vec<i64>>) = match table.dims.as_slice() {
        [_, d] => {
            let r = rows as i64;
            (
                usize_dim(Some(d))?,
                usize_dim(Some(d))?,
                vec![vec![r], vec![r, 1]],
            )
        }
        [_, nb, bs] => {
            let (nb_u, bs_u) = (usize_dim(Some(nb))?, usize_dim(Some(bs))?);
            let dim = nb_u * bs_u;
            let reshape = g
                .only_user(&end, "Reshape")
                .ok_or("the blocks of a row are not merged by a Reshape")?;
            let shape = reshape
                .inputs
                .get(1)
                .and_then(|n| g.constant(n))
                .ok_or("the Reshape's shape is not a constant")?;
            if read_i64s(shape, g.path, 3).ok() != Some(vec![0, 0, dim as i64]) {
                return Err(format!(
                    "the blocks of a row are not merged by Reshape([0, 0, {dim}])"
                ));
            }
            end = first(&reshape.outputs)?.clone();
            used += 1;
            (dim, bs_u, vec![vec![rows as i64, *nb, 1]])
        }
        other => return Err(format!("quantised table of shape {other:?}")),
    };
    if scale.data_type != FLOAT || !want.contains(&scale.dims) {
        return Err(format!(
            "scales {:?} of type {} for a quantised table {:?}",
            scale.dims, scale.data_type, table.dims
        ));
    }
    if block == 0 || dim % block != 0 {
        return Err(format!("blocks of {block} in rows of {dim}"));
    }
    let scales = read_f32s(scale, g.path, rows * (dim / block))?;
    let decode = Decode::PerRow {
        signed,
        scales,
        block,
        zero,
    };
    Ok((table, decode, used, end))
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
    let dim = table.dims[1..]
        .iter()
        .try_fold(1usize, |acc, d| Ok::<_, String>(acc * usize_dim(Some(d))?))?;
    if !(2..=3).contains(&table.dims.len()) || rows == 0 || dim == 0 {
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
        tail: Vec::new(),
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

fn check_cast(cast: &NodeSummary, input: &str, output: &str) -> Result<(), String> {
    if cast.int_attribute("to")? != Some(i64::from(FLOAT))
        || cast.inputs.first().map(String::as_str) != Some(input)
        || cast.outputs.first().map(String::as_str) != Some(output)
    {
        return Err("Cast is not a widening to float of the gathered rows".into());
    }
    Ok(())
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

/// Reads `n` int64 values of a small initializer (inline raw bytes).
fn read_i64s(init: &InitializerSummary, graph_path: &Path, n: usize) -> Result<Vec<i64>, String> {
    if init.data_type != INT64 || init.dims.iter().product::<i64>() != n as i64 {
        return Err(format!("{} is not {n} int64 values", init.name));
    }
    let bytes = read_small(init, graph_path, n * 8)?;
    Ok(bytes
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
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
            for op in &self.plan.tail {
                match *op {
                    Scale::Mul(c) => dst.iter_mut().for_each(|v| *v *= c),
                    Scale::Div(c) => dst.iter_mut().for_each(|v| *v /= c),
                }
            }
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
        Decode::PerRow {
            signed,
            scales,
            block,
            zero,
        } => {
            let blocks = dst.len() / (*block).max(1);
            let row_scales = scales.get(row * blocks..(row + 1) * blocks).unwrap_or(&[]);
            for ((d, s), scale) in dst
                .chunks_mut((*block).max(1))
                .zip(src.chunks((*block).max(1)))
                .zip(row_scales)
            {
                for (d, &b) in d.iter_mut().zip(s) {
                    *d = (quantized(b, *signed) as f32 - zero) * scale;
                }
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
