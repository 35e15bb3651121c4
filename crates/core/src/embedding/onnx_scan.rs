//! A streaming reader for the little of an ONNX file that a table lookup needs: the graph's
//! inputs, outputs and nodes, and each initializer's type, shape and where its bytes are.
//!
//! Initializer payloads (`raw_data`) are skipped with a seek, never read, so scanning a 200 MB
//! embedding graph reads a few kilobytes. Every length is checked against the bytes that are
//! left, so a truncated or hostile file is an error, not a huge allocation or a panic.
//!
//! Wire format (protobuf): each field is a varint key `number << 3 | wire type`, followed by a
//! varint (type 0), 8 bytes (1), a varint length and that many bytes (2) or 4 bytes (5).

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};

/// Strings and small typed arrays longer than this are not read (an ONNX name or a scalar never
/// comes close); the scan fails instead of allocating what a corrupt length asks for.
const MAX_INLINE_BYTES: u64 = 1 << 20;
/// Nesting depth is fixed by the schema (model → graph → node → attribute); this bounds how many
/// entries of one list are kept, so a hostile file cannot grow the summary without limit.
const MAX_ENTRIES: usize = 4096;

/// The parts of an ONNX graph a table lookup needs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GraphSummary {
    /// Graph inputs: name and element type (ONNX `TensorProto.DataType`, 0 when not given).
    pub inputs: Vec<(String, i32)>,
    /// Graph output names.
    pub outputs: Vec<String>,
    /// Nodes in file order.
    pub nodes: Vec<NodeSummary>,
    /// Initializers in file order.
    pub initializers: Vec<InitializerSummary>,
}

/// One node: operator, inputs, outputs and its integer attributes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeSummary {
    /// Operator type, e.g. `Gather`.
    pub op_type: String,
    /// Operator domain (empty for the default ONNX domain).
    pub domain: String,
    /// Input names.
    pub inputs: Vec<String>,
    /// Output names.
    pub outputs: Vec<String>,
    /// Integer attributes (`axis`, `to`, ...); other attribute kinds are listed with `None`.
    pub attributes: Vec<(String, Option<i64>)>,
    /// A `Constant` node's value: its `value` tensor (payload located as an initializer's), or
    /// its `value_float` as a float32 scalar.
    pub value: Option<InitializerSummary>,
}

impl NodeSummary {
    /// The value of integer attribute `name`: `Ok(None)` if absent, `Err` if present but not an int.
    pub fn int_attribute(&self, name: &str) -> Result<Option<i64>, String> {
        match self.attributes.iter().find(|(n, _)| n == name) {
            None => Ok(None),
            Some((_, Some(v))) => Ok(Some(*v)),
            Some((_, None)) => Err(format!("attribute {name} of {} is not an integer", self.op_type)),
        }
    }
}

/// Where an initializer's payload is.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    /// `raw_data` inside the scanned file: absolute byte offset and length.
    Raw {
        /// Offset from the start of the file.
        offset: u64,
        /// Length in bytes.
        len: u64,
    },
    /// In another file (`data_location = EXTERNAL`): location relative to the model file's
    /// directory, offset and length as given (length `None` = to the end of the file).
    External {
        /// Relative file name.
        location: String,
        /// Offset in that file.
        offset: u64,
        /// Length, if stated.
        len: Option<u64>,
    },
    /// Typed `float_data` values (small initializers such as scales).
    Floats(Vec<f32>),
    /// Typed `int32_data` values (small int8/uint8/int32 initializers such as zero points).
    Ints(Vec<i32>),
    /// No payload at all (an empty tensor, or a kind this scanner does not read).
    None,
}

/// One initializer: name, element type, shape and payload location.
#[derive(Debug, Clone, PartialEq)]
pub struct InitializerSummary {
    /// Name referenced by nodes.
    pub name: String,
    /// ONNX `TensorProto.DataType` (1 float, 2 uint8, 3 int8, 7 int64, 10 float16, ...).
    pub data_type: i32,
    /// Shape.
    pub dims: Vec<i64>,
    /// Where the values are.
    pub data: TensorData,
}

/// Scans an ONNX model from `reader` (positioned at the start of the file).
///
/// # Errors
///
/// A description of the first problem: not protobuf, a field that runs past the end, a length
/// over the inline limit, a group wire type, or no graph at all.
pub fn scan<R: Read + Seek>(reader: R) -> Result<GraphSummary, String> {
    let mut wire = Wire::new(reader)?;
    let end = wire.len;
    let mut graph = None;
    while wire.pos < end {
        let (field, kind) = wire.key()?;
        if field == 7 && kind == 2 {
            let sub = wire.message_end(end)?;
            graph = Some(read_graph(&mut wire, sub)?);
        } else {
            wire.skip(kind, end)?;
        }
    }
    graph.ok_or_else(|| "the file holds no graph".to_string())
}

fn read_graph<R: Read + Seek>(wire: &mut Wire<R>, end: u64) -> Result<GraphSummary, String> {
    let mut graph = GraphSummary::default();
    while wire.pos < end {
        let (field, kind) = wire.key()?;
        match (field, kind) {
            (1, 2) => {
                let sub = wire.message_end(end)?;
                let node = read_node(wire, sub)?;
                push_bounded(&mut graph.nodes, node, "nodes")?;
            }
            (5, 2) => {
                let sub = wire.message_end(end)?;
                let init = read_tensor(wire, sub)?;
                push_bounded(&mut graph.initializers, init, "initializers")?;
            }
            (11, 2) => {
                let sub = wire.message_end(end)?;
                let input = read_value_info(wire, sub)?;
                push_bounded(&mut graph.inputs, input, "inputs")?;
            }
            (12, 2) => {
                let sub = wire.message_end(end)?;
                let (name, _) = read_value_info(wire, sub)?;
                push_bounded(&mut graph.outputs, name, "outputs")?;
            }
            _ => wire.skip(kind, end)?,
        }
    }
    wire.expect_at(end)?;
    Ok(graph)
}

fn read_node<R: Read + Seek>(wire: &mut Wire<R>, end: u64) -> Result<NodeSummary, String> {
    let mut node = NodeSummary::default();
    while wire.pos < end {
        let (field, kind) = wire.key()?;
        match (field, kind) {
            (1, 2) => {
                let s = wire.string(end)?;
                push_bounded(&mut node.inputs, s, "node inputs")?;
            }
            (2, 2) => {
                let s = wire.string(end)?;
                push_bounded(&mut node.outputs, s, "node outputs")?;
            }
            (4, 2) => node.op_type = wire.string(end)?,
            (7, 2) => node.domain = wire.string(end)?,
            (5, 2) => {
                let sub = wire.message_end(end)?;
                let (attribute, value) = read_attribute(wire, sub)?;
                if value.is_some() && matches!(attribute.0.as_str(), "value" | "value_float") {
                    node.value = value;
                }
                push_bounded(&mut node.attributes, attribute, "attributes")?;
            }
            _ => wire.skip(kind, end)?,
        }
    }
    wire.expect_at(end)?;
    Ok(node)
}

/// An attribute's name and integer value, and its tensor (`t`) or float (`f`) as a tensor.
type Attribute = ((String, Option<i64>), Option<InitializerSummary>);

fn read_attribute<R: Read + Seek>(wire: &mut Wire<R>, end: u64) -> Result<Attribute, String> {
    let (mut name, mut int, mut kind_tag) = (String::new(), None, 0u64);
    let (mut float, mut tensor) = (None, None);
    while wire.pos < end {
        let (field, kind) = wire.key()?;
        match (field, kind) {
            (1, 2) => name = wire.string(end)?,
            (2, 5) => float = Some(f32::from_bits(wire.fixed32()?)),
            (3, 0) => int = Some(wire.varint()? as i64),
            (5, 2) => {
                let sub = wire.message_end(end)?;
                tensor = Some(read_tensor(wire, sub)?);
            }
            (20, 0) => kind_tag = wire.varint()?,
            _ => wire.skip(kind, end)?,
        }
    }
    wire.expect_at(end)?;
    // AttributeProto.type 2 = INT; older files may leave the type out and only set `i`.
    let value = if kind_tag == 2 || kind_tag == 0 { int } else { None };
    // AttributeProto.type 1 = FLOAT (`f`), 4 = TENSOR (`t`).
    let constant = match (kind_tag, tensor, float) {
        (4 | 0, Some(t), _) => Some(t),
        (1, _, Some(f)) | (0, None, Some(f)) => Some(InitializerSummary {
            name: String::new(),
            data_type: 1,
            dims: Vec::new(),
            data: TensorData::Floats(vec![f]),
        }),
        _ => None,
    };
    Ok(((name, value), constant))
}

fn read_value_info<R: Read + Seek>(wire: &mut Wire<R>, end: u64) -> Result<(String, i32), String> {
    let (mut name, mut elem) = (String::new(), 0i32);
    while wire.pos < end {
        let (field, kind) = wire.key()?;
        match (field, kind) {
            (1, 2) => name = wire.string(end)?,
            // TypeProto { tensor_type (1): TypeProto.Tensor { elem_type (1) } }
            (2, 2) => {
                let type_end = wire.message_end(end)?;
                while wire.pos < type_end {
                    let (f, k) = wire.key()?;
                    if f == 1 && k == 2 {
                        let tensor_end = wire.message_end(type_end)?;
                        while wire.pos < tensor_end {
                            let (g, j) = wire.key()?;
                            if g == 1 && j == 0 {
                                elem = wire.varint()? as i32;
                            } else {
                                wire.skip(j, tensor_end)?;
                            }
                        }
                        wire.expect_at(tensor_end)?;
                    } else {
                        wire.skip(k, type_end)?;
                    }
                }
                wire.expect_at(type_end)?;
            }
            _ => wire.skip(kind, end)?,
        }
    }
    wire.expect_at(end)?;
    Ok((name, elem))
}

fn read_tensor<R: Read + Seek>(wire: &mut Wire<R>, end: u64) -> Result<InitializerSummary, String> {
    let mut tensor = InitializerSummary {
        name: String::new(),
        data_type: 0,
        dims: Vec::new(),
        data: TensorData::None,
    };
    let (mut floats, mut ints) = (Vec::new(), Vec::new());
    let (mut external, mut location_external) = (Vec::new(), false);
    while wire.pos < end {
        let (field, kind) = wire.key()?;
        match (field, kind) {
            (1, 0) => push_bounded(&mut tensor.dims, wire.varint()? as i64, "dims")?,
            (1, 2) => {
                let packed_end = wire.message_end(end)?;
                while wire.pos < packed_end {
                    push_bounded(&mut tensor.dims, wire.varint()? as i64, "dims")?;
                }
                wire.expect_at(packed_end)?;
            }
            (2, 0) => tensor.data_type = wire.varint()? as i32,
            (4, 5) => push_bounded(&mut floats, f32::from_bits(wire.fixed32()?), "float_data")?,
            (4, 2) => {
                let len = wire.length(end)?;
                if len % 4 != 0 || len > MAX_INLINE_BYTES {
                    return Err(format!("float_data of {len} bytes"));
                }
                for _ in 0..len / 4 {
                    push_bounded(&mut floats, f32::from_bits(wire.fixed32()?), "float_data")?;
                }
            }
            (5, 0) => push_bounded(&mut ints, wire.varint()? as i32, "int32_data")?,
            (5, 2) => {
                let packed_end = wire.message_end(end)?;
                while wire.pos < packed_end {
                    push_bounded(&mut ints, wire.varint()? as i32, "int32_data")?;
                }
                wire.expect_at(packed_end)?;
            }
            (8, 2) => tensor.name = wire.string(end)?,
            (9, 2) => {
                let len = wire.length(end)?;
                tensor.data = TensorData::Raw {
                    offset: wire.pos,
                    len,
                };
                wire.seek_forward(len)?;
            }
            (13, 2) => {
                let entry_end = wire.message_end(end)?;
                let (mut key, mut value) = (String::new(), String::new());
                while wire.pos < entry_end {
                    let (f, k) = wire.key()?;
                    match (f, k) {
                        (1, 2) => key = wire.string(entry_end)?,
                        (2, 2) => value = wire.string(entry_end)?,
                        _ => wire.skip(k, entry_end)?,
                    }
                }
                wire.expect_at(entry_end)?;
                push_bounded(&mut external, (key, value), "external_data")?;
            }
            (14, 0) => location_external = wire.varint()? == 1,
            _ => wire.skip(kind, end)?,
        }
    }
    wire.expect_at(end)?;
    if location_external {
        let get = |k: &str| external.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        let number = |k: &str| -> Result<Option<u64>, String> {
            get(k)
                .map(|v| {
                    v.parse::<u64>()
                        .map_err(|_| format!("external_data {k} = {v:?} is not a number"))
                })
                .transpose()
        };
        let location = get("location")
            .ok_or_else(|| format!("external initializer {} has no location", tensor.name))?
            .to_string();
        tensor.data = TensorData::External {
            location,
            offset: number("offset")?.unwrap_or(0),
            len: number("length")?,
        };
    } else if tensor.data == TensorData::None {
        if !floats.is_empty() {
            tensor.data = TensorData::Floats(floats);
        } else if !ints.is_empty() {
            tensor.data = TensorData::Ints(ints);
        }
    }
    Ok(tensor)
}

fn push_bounded<T>(list: &mut Vec<T>, item: T, what: &str) -> Result<(), String> {
    if list.len() >= MAX_ENTRIES {
        return Err(format!("more than {MAX_ENTRIES} {what}"));
    }
    list.push(item);
    Ok(())
}

/// A protobuf reader over a seekable stream that knows its position and the stream's length.
struct Wire<R> {
    inner: BufReader<R>,
    pos: u64,
    len: u64,
}

impl<R: Read + Seek> Wire<R> {
    fn new(mut reader: R) -> Result<Self, String> {
        let len = reader.seek(SeekFrom::End(0)).map_err(io)?;
        reader.seek(SeekFrom::Start(0)).map_err(io)?;
        Ok(Self {
            inner: BufReader::with_capacity(64 * 1024, reader),
            pos: 0,
            len,
        })
    }

    fn byte(&mut self) -> Result<u8, String> {
        let buf = self.inner.fill_buf().map_err(io)?;
        let Some(&b) = buf.first() else {
            return Err(format!("unexpected end of file at byte {}", self.pos));
        };
        self.inner.consume(1);
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for i in 0..10 {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(format!("varint longer than 10 bytes at byte {}", self.pos))
    }

    fn fixed32(&mut self) -> Result<u32, String> {
        let mut b = [0u8; 4];
        self.inner.read_exact(&mut b).map_err(io)?;
        self.pos += 4;
        Ok(u32::from_le_bytes(b))
    }

    fn key(&mut self) -> Result<(u64, u8), String> {
        let key = self.varint()?;
        let field = key >> 3;
        if field == 0 {
            return Err(format!("field number 0 at byte {}", self.pos));
        }
        Ok((field, (key & 7) as u8))
    }

    /// A length prefix, checked against the end of the enclosing message.
    fn length(&mut self, end: u64) -> Result<u64, String> {
        let len = self.varint()?;
        if len > end.saturating_sub(self.pos) {
            return Err(format!(
                "a field of {len} bytes at byte {} runs past the end of its message (byte {end})",
                self.pos
            ));
        }
        Ok(len)
    }

    /// A length prefix, returned as the absolute end of the field it introduces.
    fn message_end(&mut self, end: u64) -> Result<u64, String> {
        let len = self.length(end)?;
        Ok(self.pos + len)
    }

    fn string(&mut self, end: u64) -> Result<String, String> {
        let len = self.length(end)?;
        if len > MAX_INLINE_BYTES {
            return Err(format!("a {len}-byte string at byte {}", self.pos));
        }
        let mut bytes = vec![0u8; len as usize];
        self.inner.read_exact(&mut bytes).map_err(io)?;
        self.pos += len;
        String::from_utf8(bytes).map_err(|_| format!("a string before byte {} is not UTF-8", self.pos))
    }

    fn seek_forward(&mut self, n: u64) -> Result<(), String> {
        let offset = i64::try_from(n).map_err(|_| format!("cannot skip {n} bytes"))?;
        self.inner.seek_relative(offset).map_err(io)?;
        self.pos += n;
        Ok(())
    }

    fn skip(&mut self, kind: u8, end: u64) -> Result<(), String> {
        match kind {
            0 => self.varint().map(drop),
            1 => self.skip_exact(8, end),
            2 => {
                let len = self.length(end)?;
                self.seek_forward(len)
            }
            5 => self.skip_exact(4, end),
            other => Err(format!(
                "wire type {other} at byte {} (not an ONNX file?)",
                self.pos
            )),
        }
    }

    fn skip_exact(&mut self, n: u64, end: u64) -> Result<(), String> {
        if n > end.saturating_sub(self.pos) {
            return Err(format!(
                "a {n}-byte field at byte {} runs past byte {end}",
                self.pos
            ));
        }
        self.seek_forward(n)
    }

    /// Messages must end exactly where their length said.
    fn expect_at(&self, end: u64) -> Result<(), String> {
        if self.pos == end {
            Ok(())
        } else {
            Err(format!(
                "a message meant to end at byte {end} ends at byte {}",
                self.pos
            ))
        }
    }
}

fn io(e: std::io::Error) -> String {
    format!("read failed: {e}")
}
