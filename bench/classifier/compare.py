"""Compares models at the same operating point, from the raw scores `evaluate.py --scores` saved.

Each model's threshold from the validation sources (the lowest with at most --fpr-target false
positives there, as `evaluate.py` picks it) gives its test figures; since that threshold lands at a
different false-positive rate on the test sources for each model, the recall is also read at the
same test false-positive rates for all (the first model's, and the goal's 2 %), with the ROC-AUC.
The test split is read only to report.

    python bench/classifier/compare.py --data DATA_DIR shipped=scores6.json two_layers=scores2.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evaluate import load, pick_threshold


def rates(scores: list[float], labels: list[int], threshold: float) -> tuple[float, float]:
    pos = [s >= threshold for s, y in zip(scores, labels, strict=True) if y == 1]
    neg = [s >= threshold for s, y in zip(scores, labels, strict=True) if y == 0]
    return sum(pos) / len(pos), sum(neg) / len(neg)


def recall_at_fpr(scores: list[float], labels: list[int], fpr: float) -> float:
    """Recall with the threshold that flags at most `fpr` of the negatives."""
    return rates(scores, labels, pick_threshold_exact(scores, labels, fpr))[0]


def pick_threshold_exact(scores: list[float], labels: list[int], fpr: float) -> float:
    negatives = sorted((s for s, y in zip(scores, labels, strict=True) if y == 0), reverse=True)
    return negatives[int(fpr * len(negatives))] + 1e-9


def roc_auc(scores: list[float], labels: list[int]) -> float:
    """The chance that an attack outscores a benign text (ties count half)."""
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    pos = [r for r, y in zip(ranks, labels, strict=True) if y == 1]
    n_pos, n_neg = len(pos), len(labels) - len(pos)
    return (sum(pos) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--fpr-target", type=float, default=0.01)
    parser.add_argument("models", nargs="+", help="NAME=SCORES.json")
    args = parser.parse_args()
    val_labels = [int(r["label"]) for r in load(args.data / "val.jsonl")]  # type: ignore[call-overload]
    test_labels = [int(r["label"]) for r in load(args.data / "test.jsonl")]  # type: ignore[call-overload]
    reference_fpr: float | None = None
    for spec in args.models:
        name, path = spec.split("=", 1)
        saved = json.loads(Path(path).read_text())
        threshold = pick_threshold(saved["validation"], val_labels, args.fpr_target)
        recall, fpr = rates(saved["test"], test_labels, threshold)
        reference_fpr = fpr if reference_fpr is None else reference_fpr
        row = {
            "raw_threshold": round(threshold, 6),
            "test_recall": round(recall, 4),
            "test_fpr": round(fpr, 4),
            f"test_recall_at_fpr_{reference_fpr:.4f}": round(
                recall_at_fpr(saved["test"], test_labels, reference_fpr), 4
            ),
            "test_recall_at_fpr_0.02": round(recall_at_fpr(saved["test"], test_labels, 0.02), 4),
            "test_roc_auc": round(roc_auc(saved["test"], test_labels), 4),
            "validation_roc_auc": round(roc_auc(saved["validation"], val_labels), 4),
        }
        print(name, json.dumps(row))


if __name__ == "__main__":
    main()
