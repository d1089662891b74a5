"""Splits an exported classifier into its first layer and the rest, and fits the gate between them.

The runtime runs the embeddings and the first layer on every window of a text (about a sixth of the
model's cost), ranks the windows with a linear gate on that layer's output, and runs the other five
layers only on the `full_windows` highest (`olga_cli/guardrails/classifier/__init__.py`). A text of
that many windows or fewer is scored exactly as by the whole model; a longer one can only score
lower (its strongest window may be left out), never higher.

The gate is a ridge regression from the first layer's output (mean and max over the window's tokens)
and the window's place in its text (relative position, first, last) to the whole model's logit,
fitted *within* texts (both sides minus their text's mean), since it only has to rank the windows of
one text. Fitted on the training split's windows, scored by the model itself; the validation split
(for choosing --ridge and --full-windows) is scored exactly and with the gate.

    python bench/classifier/cascade.py --model MODEL_DIR --data DATA_DIR --out OUT_DIR

MODEL_DIR holds injection.onnx (train.py's export) and tokenizer.json; OUT_DIR gets
injection_first.onnx, injection_rest.onnx, gate.json and tokenizer.json. Needs onnx besides olga's
classifier extra.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime  # type: ignore[import-untyped]
from onnx.utils import Extractor
from tokenizers import Tokenizer

FIRST = "/encoder/encoder/layer.0/output/LayerNorm/LayerNormalization_output_0"
EMBEDDED = "/encoder/embeddings/LayerNorm/LayerNormalization_output_0"
WINDOW, STRIDE, MAX_WINDOWS = 64, 48, 20


def split(model: Path, out: Path) -> None:
    """The graph cut after layer 0: the first part's output is the second part's input."""
    whole = onnx.load(str(model))
    first = Extractor(whole).extract_model(["input_ids", "attention_mask"], [FIRST])
    for node in whole.graph.node:
        # The mask's shape is read from the embeddings: read it from layer 0's output instead
        # (the same shape), so the second part needs neither the embeddings nor the token ids.
        if node.op_type == "Shape" and list(node.input) == [EMBEDDED] and "embeddings" not in node.name:
            node.input[0] = FIRST
    rest = Extractor(whole).extract_model([FIRST, "attention_mask"], ["logit"])
    onnx.save(first, str(out / "injection_first.onnx"))
    onnx.save(rest, str(out / "injection_rest.onnx"))


def session(path: Path) -> Any:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def windows(out: Path, rows: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Per window of each text: gate features, the whole model's logit, the text's index, label."""
    first, rest = session(out / "injection_first.onnx"), session(out / "injection_rest.onnx")
    tokenizer = Tokenizer.from_file(str(out / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    feats, logits, texts, labels, places = [], [], [], [], []
    for index, row in enumerate(rows):
        ids = tokenizer.encode(str(row["text"]), add_special_tokens=False).ids
        starts = list(range(0, max(1, len(ids) - (WINDOW - 2) + STRIDE), STRIDE))[:MAX_WINDOWS]
        for n, start in enumerate(starts):
            tokens = np.array([[cls, *ids[start : start + WINDOW - 2], sep]], dtype=np.int64)
            mask = np.ones_like(tokens)
            (hidden,) = first.run(None, {"input_ids": tokens, "attention_mask": mask})
            (logit,) = rest.run(None, {FIRST: hidden, "attention_mask": mask})
            feats.append(np.concatenate([hidden[0].mean(0), hidden[0].max(0)]))
            places.append(place(n, len(starts)))
            logits.append(float(logit.reshape(-1)[0]))
            texts.append(index)
            labels.append(int(row["label"]))
    return {
        "feats": np.hstack([np.array(feats, np.float32), np.array(places, np.float32)]),
        "logits": np.array(logits, np.float32),
        "text": np.array(texts),
        "label": np.array(labels),
    }


def place(n: int, count: int) -> list[float]:
    """A window's place in its text, as the runtime computes it."""
    return [n / max(1, count - 1), float(n == 0), float(n == count - 1)]


def within(values: np.ndarray, texts: np.ndarray) -> np.ndarray:
    out = values.astype(np.float64).copy()
    for text in np.unique(texts):
        rows = texts == text
        out[rows] -= out[rows].mean(0)
    return out


def fit(train: dict[str, np.ndarray], ridge: float) -> tuple[np.ndarray, np.ndarray]:
    """The gate's weights on standardized features, and the features' scales."""
    mean, scale = train["feats"].mean(0), train["feats"].std(0) + 1e-6
    x = within((train["feats"] - mean) / scale, train["text"])
    y = within(train["logits"][:, None], train["text"])[:, 0]
    weights = np.linalg.solve(x.T @ x + ridge * np.eye(x.shape[1]), x.T @ y)
    return weights, scale


def simulate(val: dict[str, np.ndarray], gate: np.ndarray, keep: int, threshold: float) -> dict[str, float]:
    """Validation recall and false positives at the model's threshold, all windows against the gate's."""
    whole, gated, labels = [], [], []
    for text in np.unique(val["text"]):
        rows = np.where(val["text"] == text)[0]
        chosen = rows[np.argsort(-gate[rows], kind="stable")[:keep]]
        whole.append(val["logits"][rows].max())
        gated.append(val["logits"][chosen].max())
        labels.append(val["label"][rows[0]])
    y = np.array(labels)
    out = {}
    for name, scores in (("all_windows", np.array(whole)), ("gated", np.array(gated))):
        out[f"{name}_recall"] = round(float(((scores >= threshold) & (y == 1)).sum() / (y == 1).sum()), 4)
        out[f"{name}_fpr"] = round(float(((scores >= threshold) & (y == 0)).sum() / (y == 0).sum()), 4)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--texts", type=int, default=3000, help="training texts whose windows fit the gate")
    parser.add_argument("--ridge", type=float, default=10000.0)
    parser.add_argument("--full-windows", type=int, default=3)
    parser.add_argument("--threshold", type=float, default=0.997724, help="raw probability, to simulate")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    shutil.copy(args.model / "tokenizer.json", args.out / "tokenizer.json")
    split(args.model / "injection.onnx", args.out)
    rows = [json.loads(line) for line in (args.data / "train.jsonl").read_text().split("\n") if line]
    train = windows(args.out, random.Random(1).sample(rows, min(args.texts, len(rows))))
    weights, scale = fit(train, args.ridge)
    # Folded into one weight per feature (the constant term does not change a ranking).
    folded = weights / scale
    gate = {
        "features": "mean and max over the window's tokens of layer 0's output, then place in text",
        "weights": [round(float(w), 7) for w in folded[:-3]],
        "place_weights": [round(float(w), 7) for w in folded[-3:]],
        "ridge": args.ridge,
        "training_windows": len(train["logits"]),
    }
    (args.out / "gate.json").write_text(json.dumps(gate) + "\n")
    val_rows = [json.loads(line) for line in (args.data / "val.jsonl").read_text().split("\n") if line]
    val = windows(args.out, val_rows)
    threshold = float(np.log(args.threshold / (1 - args.threshold)))
    for keep in (1, 2, 3, 4):
        print(keep, simulate(val, val["feats"] @ folded, keep, threshold))


if __name__ == "__main__":
    main()
