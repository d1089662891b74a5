"""Is there a faster graph for the shipped model? Rebuilds it in other forms and times them alternately.

The whole model (train.py's injection.onnx; the package ships it cut in two by cascade.py) is dynamic int8 (MatMulInteger + DynamicQuantizeLinear, per-tensor
weights, QOperator-style). Only that graph ships, so the fp32 graph is rebuilt here by dequantizing
every weight (the exact values the int8 model computes with). From it: onnxruntime's transformer
optimizer (`optimize_model(..., model_type="bert", num_heads=12, hidden_size=384)`), a hand-made
`Attention` fusion (the optimizer does not recognise the attention of this export: scaled dot
product with Where/IsNaN masking), and re-quantizations of each (dynamic int8 per tensor or per
channel, QAttention, uint8 weights, 4-bit MatMulNBits). Each graph runs the same windows of the
latency texts (2 KB pieces of olga's source, 64-token windows, stride 48) on one thread, the
variants alternating in rounds so that a shared machine's load falls on all alike; the figure is
CPU time per text, with the largest logit difference from the shipped graph on the same windows.

    pip install onnx sympy onnx_ir      # tooling only, not olga's runtime
    taskset -c 0 python bench/classifier/graph_variants.py --model MODEL_DIR/injection.onnx --work /tmp/variants
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
from latency import texts


def dequantized(model: onnx.ModelProto) -> onnx.ModelProto:
    """The fp32 graph: each MatMulInteger chain and each quantized Gather back to fp32 weights."""
    graph = model.graph
    arrays = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    producer = {o: n for n in graph.node for o in n.output}
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    drop, replace, weights = set(), {}, []

    def real(quantized: str, zero: str, scale: str) -> str:
        base = quantized.removesuffix("_quantized")
        value = (arrays[quantized].astype(np.float32) - arrays[zero].astype(np.float32)) * arrays[scale]
        weights.append(numpy_helper.from_array(value.astype(np.float32), base))
        return base

    for node in graph.node:
        if node.op_type == "MatMulInteger":
            quantized_x, w, _, w_zero = node.input
            cast = consumers[node.output[0]][0]
            rescale = consumers[cast.output[0]][0]
            scales = producer[next(i for i in rescale.input if i != cast.output[0])]
            base = real(w, w_zero, w.removesuffix("_quantized") + "_scale")
            x = producer[quantized_x].input[0]
            replace[id(node)] = helper.make_node(
                "MatMul", [x, base], [rescale.output[0]], name=node.name.removesuffix("_quant")
            )
            drop |= {id(cast), id(rescale), id(scales)}
        elif node.op_type == "DequantizeLinear" and producer[node.input[0]].op_type == "Gather":
            gather = producer[node.input[0]]
            base = real(gather.input[0], node.input[2], node.input[1])
            replace[id(node)] = helper.make_node(
                "Gather", [base, gather.input[1]], [node.output[0]], name=gather.name
            )
            drop.add(id(gather))
    nodes = [replace.get(id(n), n) for n in graph.node if id(n) not in drop]
    return rebuilt(model, nodes, weights)


def rebuilt(model: onnx.ModelProto, nodes: list[Any], extra: list[Any]) -> onnx.ModelProto:
    """The model with these nodes, pruned to what its outputs need, in topological order."""
    graph = model.graph
    producer = {o: n for n in nodes for o in n.output}
    needed, stack = set(), [o.name for o in graph.output]
    while stack:
        node = producer.get(stack.pop())
        if node is not None and id(node) not in needed:
            needed.add(id(node))
            stack += list(node.input)
    ready = (
        {i.name for i in graph.input} | {i.name for i in graph.initializer} | {i.name for i in extra} | {""}
    )
    ordered, pending = [], [n for n in nodes if id(n) in needed]
    while pending:
        now = [n for n in pending if all(i in ready for i in n.input)]
        rest = [n for n in pending if not all(i in ready for i in n.input)]
        for node in now:
            ordered.append(node)
            ready |= set(node.output)
        assert len(rest) < len(pending), "a cycle"
        pending = rest
    used = {i for n in ordered for i in n.input}
    kept = [i for i in [*graph.initializer, *extra] if i.name in used]
    del graph.node[:], graph.initializer[:]
    graph.node.extend(ordered)
    graph.initializer.extend(kept)
    return model


def fused_attention(model: onnx.ModelProto) -> onnx.ModelProto:
    """Each layer's exported attention (12 heads of 32, scale 1/sqrt(32)) as one com.microsoft Attention."""
    graph = model.graph
    arrays = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    by_name = {n.name: n for n in graph.node}
    nodes = [helper.make_node("Cast", ["attention_mask"], ["mask_int32"], to=onnx.TensorProto.INT32)]
    extra = []
    for layer in range(6):
        prefix = f"/encoder/encoder/layer.{layer}/attention/self/"
        parts = ("query", "key", "value")
        matmuls = [by_name[f"{prefix}{p}/MatMul"] for p in parts]
        adds = [by_name[f"{prefix}{p}/Add"] for p in parts]
        weight = np.concatenate([arrays[m.input[1]] for m in matmuls], axis=1)
        bias = np.concatenate([arrays[next(i for i in a.input if i in arrays)] for a in adds])
        extra += [
            numpy_helper.from_array(weight, f"qkv_weight_{layer}"),
            numpy_helper.from_array(bias, f"qkv_bias_{layer}"),
        ]
        inputs = [matmuls[0].input[0], f"qkv_weight_{layer}", f"qkv_bias_{layer}", "mask_int32"]
        output = by_name[f"{prefix}Reshape_4"].output[0]
        nodes.append(helper.make_node("Attention", inputs, [output], domain="com.microsoft", num_heads=12))
    replaced = {n.output[0] for n in nodes}
    kept = [n for n in graph.node if not any(o in replaced for o in n.output)]
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return rebuilt(model, kept + nodes, extra)


def build(work: Path, shipped: Path) -> dict[str, Path]:
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.matmul_nbits_quantizer import (
        DefaultWeightOnlyQuantConfig,
        MatMulNBitsQuantizer,
    )
    from onnxruntime.transformers.optimizer import optimize_model

    paths = {name: work / f"{name}.onnx" for name in ("fp32", "fp32_optimizer", "fp32_attention")}
    onnx.save(dequantized(onnx.load(str(shipped))), str(paths["fp32"]))
    optimized = optimize_model(
        str(paths["fp32"]), model_type="bert", num_heads=12, hidden_size=384, opt_level=0
    )
    print("optimizer fusions:", {k: v for k, v in optimized.get_fused_operator_statistics().items() if v})
    optimized.save_model_to_file(str(paths["fp32_optimizer"]))
    onnx.save(fused_attention(onnx.load(str(paths["fp32"]))), str(paths["fp32_attention"]))
    for name, source, options in (
        ("int8_optimizer", "fp32_optimizer", {}),
        ("int8_optimizer_per_channel", "fp32_optimizer", {"per_channel": True}),
        ("int8_qattention", "fp32_attention", {}),
        ("uint8_weights", "fp32", {"weight_type": QuantType.QUInt8}),
    ):
        paths[name] = work / f"{name}.onnx"
        quantize_dynamic(paths[source], paths[name], **{"weight_type": QuantType.QInt8, **options})
    for level in (0, 4):
        paths[f"matmulnbits4_accuracy{level}"] = work / f"nbits{level}.onnx"
        config = DefaultWeightOnlyQuantConfig(block_size=32, is_symmetric=True, accuracy_level=level)
        quantizer = MatMulNBitsQuantizer(onnx.load(str(paths["fp32_attention"])), algo_config=config)
        quantizer.process()
        quantizer.model.save_model_to_file(str(paths[f"matmulnbits4_accuracy{level}"]), False)
    return paths


def batches(count: int, shipped: Path) -> list[dict[str, np.ndarray]]:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(shipped.parent / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    out = []
    for text in texts(300)[:: 300 // count][:count]:
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        rows = [[101, *ids[s : s + 62], 102] for s in range(0, max(1, len(ids) - 14), 48)]
        input_ids = np.zeros((len(rows), max(map(len, rows))), dtype=np.int64)
        for r, row in enumerate(rows):
            input_ids[r, : len(row)] = row
        out.append({"input_ids": input_ids, "attention_mask": (input_ids != 0).astype(np.int64)})
    return out


def session(path: Path, level: str = "ORT_ENABLE_ALL") -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--model", type=Path, required=True, help="the whole model, beside its tokenizer.json"
    )
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--texts", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    sessions = {
        "shipped": session(args.model),
        "shipped_extended_optimizations": session(args.model, "ORT_ENABLE_EXTENDED"),
    }
    sessions |= {name: session(path) for name, path in build(args.work, args.model).items()}
    feeds = batches(args.texts, args.model)
    cpu: dict[str, list[float]] = {name: [] for name in sessions}
    logits: dict[str, np.ndarray] = {}
    load_before = os.getloadavg()[0]
    for _ in range(args.rounds):
        for name, sess in sessions.items():
            outputs = []
            for feed in feeds:
                started = time.thread_time()
                outputs.append(sess.run(None, feed)[0].reshape(-1))
                cpu[name].append(time.thread_time() - started)
            logits[name] = np.concatenate(outputs)
    result = {
        name: {
            "cpu_p50_ms": round(1000 * statistics.median(times), 1),
            "max_logit_difference": round(float(np.abs(logits[name] - logits["shipped"]).max()), 3),
        }
        for name, times in cpu.items()
    }
    result["load_average_before_after"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]  # type: ignore[assignment]
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
