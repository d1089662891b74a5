"""Calibrates and measures the prompt-injection classifier on sources it never trained on.

1. Scores the validation split with the raw model and picks the raw threshold: the lowest one whose
   false-positive rate on the validation negatives is at most --fpr-target (a margin under the 2 %
   goal, since the test sources differ again).
2. Scores the test split (sources used for nothing else) and reports, per source and overall, the
   recall on attacks and the false-positive rate on benign texts for: the rules alone, the classifier
   alone, and both combined as olga runs them (a text is flagged when either says so at the default
   threshold 0.5).

    python bench/classifier/evaluate.py --data DATA_DIR --model MODEL_DIR --out bench/results/classifier.json

MODEL_DIR holds the model's two parts, its gate and tokenizer (`cascade.py` writes them);
--write-calibration writes calibration.json there.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from olga_cli.guardrails import PromptInjectionDetector
from olga_cli.guardrails.classifier import CALIBRATION_FILE, MODEL_FILES, InjectionModel

WINDOW_TOKENS = 64  # the windows the model was trained on (train.py --max-tokens)
STRIDE_TOKENS = 48
FULL_WINDOWS = 3  # windows of a text that the whole model scores (the gate picks them)


def load(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().split("\n") if line]


def raw_model(
    model_dir: Path, scratch: Path, stride: int = STRIDE_TOKENS, full_windows: int = FULL_WINDOWS
) -> InjectionModel:
    """The model with an identity calibration (raw threshold 0.5), so scores are raw probabilities."""
    for path in MODEL_FILES:
        if path != CALIBRATION_FILE:
            shutil.copy(model_dir / path.name, scratch / path.name)
    meta = {
        "raw_threshold": 0.5,
        "window_tokens": WINDOW_TOKENS,
        "stride_tokens": stride,
        "full_windows": full_windows,
        "blocking": True,
    }
    (scratch / "calibration.json").write_text(json.dumps(meta))
    return InjectionModel(scratch)


def pick_threshold(scores: list[float], labels: list[int], fpr_target: float) -> float:
    negatives = sorted((s for s, y in zip(scores, labels, strict=True) if y == 0), reverse=True)
    allowed = int(fpr_target * len(negatives))
    # Flag strictly above the (allowed+1)-th highest negative score.
    return min(0.999, max(0.5, negatives[allowed] + 1e-6)) if negatives else 0.5


def figures(rows: list[dict[str, object]], flags: list[bool]) -> dict[str, dict[str, float]]:
    by_source: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    for row, flag in zip(rows, flags, strict=True):
        by_source[str(row["source"])].append((int(row["label"]), flag))  # type: ignore[call-overload]
    out: dict[str, dict[str, float]] = {}
    everything = [pair for pairs in by_source.values() for pair in pairs]
    for source, pairs in [*sorted(by_source.items()), ("ALL", everything)]:
        pos = [f for y, f in pairs if y == 1]
        neg = [f for y, f in pairs if y == 0]
        entry: dict[str, float] = {"attacks": len(pos), "benign": len(neg)}
        if pos:
            entry["recall"] = round(sum(pos) / len(pos), 4)
        if neg:
            entry["fpr"] = round(sum(neg) / len(neg), 4)
        out[source] = entry
    return out


def evaluate(
    rows: list[dict[str, object]], model: InjectionModel, raw_threshold: float, raw: list[float] | None = None
) -> dict[str, object]:
    rules = PromptInjectionDetector()
    raw = raw if raw is not None else [model.score(str(r["text"])) for r in rows]
    rule_flags = [rules.score(str(r["text"])) >= 0.5 for r in rows]
    model_flags = [s >= raw_threshold for s in raw]
    return {
        "rules": figures(rows, rule_flags),
        "classifier": figures(rows, model_flags),
        "combined": figures(rows, [a or b for a, b in zip(rule_flags, model_flags, strict=True)]),
    }


def first_window(model: InjectionModel, text: str) -> str:
    """The text cut after the tokens of its first window: what a truncating classifier would see."""
    encoding = model._tokenizer.encode(text, add_special_tokens=False)
    body = model.window - 2
    return text if len(encoding.ids) <= body else text[: encoding.offsets[body - 1][1]]


def variants(
    rows: list[dict[str, object]], model: InjectionModel, raw: list[float], fpr_target: float
) -> dict[str, object]:
    """Cheap alternatives, each calibrated to the same false-positive target on these (validation)
    rows: the first window only (a truncated prefix) against the strongest window, and the rules
    folded into the score (noisy-or) rather than OR-ed after thresholding."""
    labels = [int(r["label"]) for r in rows]  # type: ignore[call-overload]
    rules = PromptInjectionDetector()
    rule_scores = [rules.score(str(r["text"])) for r in rows]
    candidates = {
        "strongest_window": raw,
        "first_window_only": [model.score(first_window(model, str(r["text"]))) for r in rows],
        "noisy_or_with_rules": [1 - (1 - a) * (1 - b) for a, b in zip(raw, rule_scores, strict=True)],
    }
    out: dict[str, object] = {}
    for name, scores in candidates.items():
        threshold = pick_threshold(scores, labels, fpr_target)
        out[name] = {
            "threshold": round(threshold, 6),
            **figures(rows, [v >= threshold for v in scores])["ALL"],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--fpr-target", type=float, default=0.01)
    parser.add_argument("--write-calibration", action="store_true")
    parser.add_argument("--stride", type=int, default=STRIDE_TOKENS, help="tokens between window starts")
    parser.add_argument(
        "--full-windows", type=int, default=FULL_WINDOWS, help="windows the whole model scores (1000: all)"
    )
    parser.add_argument("--scores", type=Path, help="also save the raw scores here (not in the repository)")
    parser.add_argument("--from-scores", type=Path, help="raw scores saved by --scores: no scoring again")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        model = raw_model(args.model, Path(scratch), args.stride, args.full_windows)
        val = load(args.data / "val.jsonl")
        saved = json.loads(args.from_scores.read_text()) if args.from_scores else {}
        val_scores = saved.get("validation") or [model.score(str(r["text"])) for r in val]
        threshold = pick_threshold(val_scores, [int(r["label"]) for r in val], args.fpr_target)  # type: ignore[call-overload]
        result: dict[str, object] = {
            "raw_threshold": round(threshold, 6),
            "fpr_target_on_validation": args.fpr_target,
        }
        result["validation"] = evaluate(val, model, threshold, val_scores)
        result["validation_variants"] = variants(val, model, val_scores, args.fpr_target)
        if (args.data / "test.jsonl").exists():
            test_rows = load(args.data / "test.jsonl")
            test_scores = saved.get("test") or [model.score(str(r["text"])) for r in test_rows]
            result["test"] = evaluate(test_rows, model, threshold, test_scores)
            if args.scores:
                # Raw scores per text, to study thresholds later without scoring again.
                args.scores.write_text(json.dumps({"validation": val_scores, "test": test_scores}))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    test = result.get("test", result["validation"])
    combined = test["combined"]["ALL"]  # type: ignore[index]
    alone = test["classifier"]["ALL"]  # type: ignore[index]
    # Blocking only when the goal is met on held-out sources: the model's own false positives within
    # 2 % and, with the rules, recall of at least 0.8. Otherwise the model is a log-only signal.
    blocking = alone.get("fpr", 1.0) <= 0.02 and combined.get("recall", 0.0) >= 0.8
    if args.write_calibration:
        meta = {
            "raw_threshold": round(threshold, 6),
            "window_tokens": WINDOW_TOKENS,
            "stride_tokens": args.stride,
            "full_windows": args.full_windows,
            # Blocking only at a false-positive rate measured within the goal on held-out sources.
            "blocking": blocking,
            "measured": {
                "test_recall_with_rules": combined.get("recall"),
                "test_fpr_with_rules": combined.get("fpr"),
                "test_recall_alone": alone.get("recall"),
                "test_fpr_alone": alone.get("fpr"),
            },
        }
        (args.model / "calibration.json").write_text(json.dumps(meta, indent=1) + "\n")
    for split in ("validation", "test"):
        if split not in result:
            continue
        print(f"== {split} (raw threshold {threshold:.4f})")
        for kind in ("rules", "classifier", "combined"):
            print(f"  {kind}")
            for source, entry in result[split][kind].items():  # type: ignore[index]
                print(f"    {source:24} {entry}")


if __name__ == "__main__":
    main()
