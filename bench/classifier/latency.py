"""Latency of the prompt-injection check on 2 KB texts, one core: the classifier (a fresh text each
time, so no cache hit), a repeated text (cache hit), and the rules alone. onnxruntime runs on one
thread (as olga runs it); the CPU time per call (time.thread_time) is the figure to read on a shared
machine, the wall time only in a quiet one. Besides the shipped window and stride, a window layout
without overlap is measured too (fewer tokens per text, but a sentence may be cut in two), and the
whole model on every window (no gate).

    taskset -c 0 python bench/classifier/latency.py --out bench/results/classifier_latency.json

The texts are 2,048-character pieces of olga's own source and README plus synthetic prose, each made
unique; the machine's load average is saved with the figures, as a shared machine slows every run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from olga_cli.guardrails import PromptInjectionDetector
from olga_cli.guardrails.classifier import CALIBRATION_FILE, MODEL_DIR, MODEL_FILES, InjectionModel


def texts(count: int) -> list[str]:
    corpus = "\n".join(p.read_text() for p in sorted(ROOT.glob("olga_cli/**/*.py")))
    corpus += (ROOT / "README.md").read_text()
    pieces = [corpus[i : i + 2000] for i in range(0, len(corpus) - 2000, 2000)][:count]
    return [f"{n:06d} {piece}"[:2048].ljust(2048) for n, piece in enumerate(pieces)]


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000, 2),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2),
        "n": len(ordered),
    }


def tokens(model: InjectionModel, text: str) -> list[int]:
    return list(model._tokenizer.encode(text, add_special_tokens=False).ids)


def windows(model: InjectionModel, count: int) -> int:
    """How many windows the model scores for a text of `count` tokens (as `InjectionModel._run`)."""
    return len(range(0, max(1, count - (model.window - 2) + model.stride), model.stride))


def spread(values: list[int]) -> dict[str, int]:
    ordered = sorted(values)
    return {
        "p50": ordered[len(ordered) // 2],
        "p99": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
    }


def timed(fn: object, items: list[str]) -> tuple[list[float], list[float]]:
    """Wall time and this thread's CPU time per call: on a shared machine the wall time includes
    waiting for the core, the CPU time is what one core would take alone."""
    wall, cpu = [], []
    for item in items:
        started, started_cpu = time.perf_counter(), time.thread_time()
        fn(item)  # type: ignore[operator]
        cpu.append(time.thread_time() - started_cpu)
        wall.append(time.perf_counter() - started)
    return wall, cpu


def with_windows(model_dir: Path, scratch: Path, **changes: int) -> InjectionModel:
    """The model with another window layout (same weights, same threshold)."""
    for path in MODEL_FILES:
        shutil.copy(model_dir / path.name, scratch / path.name)
    meta = json.loads((model_dir / CALIBRATION_FILE.name).read_text())
    meta.update(changes)
    (scratch / CALIBRATION_FILE.name).write_text(json.dumps(meta))
    return InjectionModel(scratch)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--model", type=Path, default=MODEL_DIR, help="default: the shipped model")
    args = parser.parse_args()
    items = texts(args.count)
    model = InjectionModel(args.model)
    model.strongest("warm up the session " * 20)
    load_before = os.getloadavg()
    fresh = timed(model.strongest, items)
    cached = timed(model.strongest, items)
    rules = timed(PromptInjectionDetector().detect, items)
    with tempfile.TemporaryDirectory() as scratch:
        tiled = with_windows(args.model, Path(scratch), stride_tokens=model.window - 2)
        tiled.strongest("warm up the session " * 20)
        no_overlap = timed(tiled.strongest, items)
    with tempfile.TemporaryDirectory() as scratch:
        whole = with_windows(args.model, Path(scratch), full_windows=1000)
        whole.strongest("warm up the session " * 20)
        every_window = timed(whole.strongest, items)
    result = {
        "text_chars": 2048,
        "window_tokens": model.window,
        "stride_tokens": model.stride,
        "full_windows": model.full_windows,
        # The cost is windows x layers: how many tokens and windows a 2 KB text makes.
        "tokens_per_text": spread([len(tokens(model, item)) for item in items]),
        "windows_per_text": spread([windows(model, len(tokens(model, item))) for item in items]),
        "classifier_fresh_text_cpu": percentiles(fresh[1]),
        "classifier_fresh_text_wall": percentiles(fresh[0]),
        "classifier_cache_hit_wall": percentiles(cached[0]),
        f"classifier_fresh_text_cpu_windows_without_overlap_stride_{model.window - 2}": percentiles(
            no_overlap[1]
        ),
        # Without the gate: the whole model on every window (as before the model was cut in two).
        "classifier_fresh_text_cpu_whole_model_on_every_window": percentiles(every_window[1]),
        "rules_cpu": percentiles(rules[1]),
        "rules_wall": percentiles(rules[0]),
        "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "cpu_affinity": sorted(os.sched_getaffinity(0)),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
