"""Writes the CI regression sample and its validated figures.

The sample holds only texts the model never trained on, from sources whose licence lets us ship them
(MIT: JailbreakBench artifacts, greshake/llm-security, LouisShark/chatgpt_system_prompt; and olga's
own repository). Its figures are measured with the shipped model as olga runs it (rules plus
classifier at the default threshold 0.5); tests/unit/guardrails/test_classifier.py asserts that no
later change makes them worse.

    python bench/classifier/make_sample.py --data DATA_DIR
    python bench/classifier/make_sample.py --keep    # the same texts, figures of a new model
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from olga_cli.guardrails import default_detectors

TAKE = {"jbb_pair": 40, "jbb_gcg_dsn_rs": 15, "greshake_indirect": 10, "gpts_sysprompts": 70, "olga_repo": 30}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep sample.jsonl, only measure it again")
    args = parser.parse_args()
    out = ROOT / "bench" / "classifier" / "sample.jsonl"
    if args.keep:
        sample = [json.loads(line) for line in out.read_text().splitlines() if line]
    elif args.data is None:
        parser.error("--data is required unless --keep")
    else:
        sample = draw(args.data)
        out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in sample))
    measure(sample)


def draw(data: Path) -> list[dict[str, object]]:
    rows = []
    for split in ("val", "test"):
        rows += [json.loads(line) for line in (data / f"{split}.jsonl").read_text().split("\n") if line]
    rng = random.Random(5)
    sample = []
    for source, count in TAKE.items():
        pool = [r for r in rows if r["source"] == source and len(r["text"]) <= 2500]
        sample += rng.sample(pool, min(count, len(pool)))
    return sample


def measure(sample: list[dict[str, object]]) -> None:
    detector = default_detectors()["prompt-injection"]
    flags = [max((m.confidence for m in detector.detect(str(r["text"]))), default=0.0) >= 0.5 for r in sample]
    attacks = [f for r, f in zip(sample, flags, strict=True) if r["label"] == 1]
    benign = [f for r, f in zip(sample, flags, strict=True) if r["label"] == 0]
    figures = {
        "recall": round(sum(attacks) / len(attacks), 4),
        "fpr": round(sum(benign) / len(benign), 4),
        "attacks": len(attacks),
        "benign": len(benign),
    }
    (ROOT / "bench" / "results" / "classifier_sample.json").write_text(json.dumps(figures, indent=1) + "\n")
    print(figures)


if __name__ == "__main__":
    main()
