"""A small deterministic ONNX graph builder: named initializers, node emission with generated names.

Every name is derived from a prefix and a counter, in emission order, so the same weights and options
always give byte-identical graphs (no timestamps, no ids from the process).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

#: The opsets our graphs import: ONNX 17 (LayerNormalization) and ONNX Runtime's contrib domain.
OPSETS = {"": 17, "com.microsoft": 1}
MS = "com.microsoft"


class GraphBuilder:
    """Collects nodes and initializers in emission order and produces one `onnx.ModelProto`."""

    def __init__(self, name: str):
        self.name = name
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._init_names: dict[str, int] = {}
        self._counters: dict[str, int] = {}
        self._consts: dict[tuple, str] = {}
        self.inputs: list[onnx.ValueInfoProto] = []
        self.outputs: list[onnx.ValueInfoProto] = []

    def fresh(self, prefix: str) -> str:
        """A new tensor or node name `prefix` or `prefix_N`."""
        n = self._counters.get(prefix, 0)
        self._counters[prefix] = n + 1
        return prefix if n == 0 else f"{prefix}_{n}"

    def init(self, name: str, array: np.ndarray) -> str:
        """Adds `array` as an initializer named `name` (made unique) and returns the name."""
        name = self.fresh(name)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def const_i64(self, values) -> str:
        """A shared int64 1-D constant (shapes, axes, split sizes)."""
        key = ("i64",) + tuple(int(v) for v in values)
        if key not in self._consts:
            self._consts[key] = self.init("shape_" + "_".join(str(v).replace("-", "m") for v in key[1:]), np.array(key[1:], dtype=np.int64))
        return self._consts[key]

    def node(self, op: str, inputs: list[str], name: str, n_out: int = 1, domain: str = "", **attrs) -> list[str] | str:
        """Emits one node named `name` (made unique); returns its output name (or names when n_out > 1)."""
        node_name = self.fresh(name)
        outs = [f"{node_name}/out{i}" if n_out > 1 else f"{node_name}/out" for i in range(n_out)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=node_name, domain=domain or None, **attrs))
        return outs if n_out > 1 else outs[0]

    def input(self, name: str, elem_type: int, shape: list) -> str:
        self.inputs.append(helper.make_tensor_value_info(name, elem_type, shape))
        return name

    def output(self, tensor: str, name: str, elem_type: int, shape: list) -> None:
        """Declares graph output `name`, renaming the producer's output `tensor` to it."""
        for node in self.nodes:
            for i, o in enumerate(node.output):
                if o == tensor:
                    node.output[i] = name
            for i, o in enumerate(node.input):
                if o == tensor:
                    node.input[i] = name
        self.outputs.append(helper.make_tensor_value_info(name, elem_type, shape))

    def model(self, producer: str, doc: str = "") -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs, self.initializers)
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid(d, v) for d, v in OPSETS.items()],
            producer_name=producer,
            producer_version="1",
            doc_string=doc,
        )
        model.ir_version = 8
        return model


F32 = TensorProto.FLOAT
