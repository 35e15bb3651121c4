"""The operator set of a graph, and the ONNX Runtime 1.29 CPU kernels our graphs must stay within.

The allowed list is `tests/android/ort-1.29-cpu-ops.txt` (the Android AAR we ship is ONNX Runtime
1.29.0); `tests/android/check-optimized-ops.sh` checks written graphs against it and the AAR itself.
"""

from __future__ import annotations

from pathlib import Path

import onnx

from .errors import OptimizeError

ALLOWED_FILE = Path(__file__).resolve().parents[3] / "tests" / "android" / "ort-1.29-cpu-ops.txt"


def op_set(model: onnx.ModelProto) -> set[tuple[str, str]]:
    """{(domain, op_type)} of every node, subgraphs included ('' is the ONNX domain)."""
    found = set()

    def walk(graph):
        for n in graph.node:
            found.add((n.domain if n.domain not in ("ai.onnx",) else "", n.op_type))
            for a in n.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    walk(a.g)
                for g in a.graphs:
                    walk(g)

    walk(model.graph)
    return found


def allowed_ops(path: Path = ALLOWED_FILE) -> set[tuple[str, str]]:
    """{(domain, op_type)} listed in the allowed-operators file ('' for ai.onnx)."""
    out = set()
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        domain, op = line.split()[:2]
        out.add(("" if domain == "ai.onnx" else domain, op))
    return out


def check_allowed(model: onnx.ModelProto, what: str) -> None:
    """Refuses a graph with an operator outside the ONNX Runtime 1.29 CPU list."""
    extra = sorted(op_set(model) - allowed_ops())
    if extra:
        names = ", ".join(f"{d or 'ai.onnx'}:{op}" for d, op in extra)
        raise OptimizeError(f"{what} would use operators outside {ALLOWED_FILE.name}: {names}")
