"""Our optimised graph layouts of a Florence-2 model folder (models/optimize.py).

- `folder`: the input folder's checks and the atomic output folder (staging, rename);
- `layouts`: one `Layout` per component we rewrite (today the vision encoder; issue 18 adds the
  decoder), and the per-precision file names;
- `vision_weights` / `vision_graph`: reading the stock DaViT weights by structure, writing our graph;
- `selfcheck`: the optimised graphs against the stock ones (max |Δ| of the outputs);
- `graph_builder`: the deterministic ONNX builder every layout uses;
- `opset`: the operator set of a graph, and the ONNX Runtime 1.29 CPU kernels it must stay within.
"""
