"""Precision and recall of each detector on the labelled set, at the default threshold.

A positive case counts as found when a match of the expected entity covers the expected substring;
anything else the detector reports at 0.5 or more on a case is a false positive.
"""

from __future__ import annotations

from collections import Counter

import pytest

from olga_cli.guardrails import Match, PromptInjectionDetector, default_detectors
from olga_cli.guardrails.classifier.detector import ENTITY as CLASSIFIER_ENTITY
from olga_cli.guardrails.spec import ENTITIES, GuardrailType
from tests.unit.guardrails.labelled import ALL, Case

THRESHOLD = 0.5
FLOOR = 0.9
# The rules: the classifier (when installed) has its own figures, pinned in test_classifier.py.
DETECTORS = {**default_detectors(), "prompt-injection": PromptInjectionDetector()}


def _reported(case: Case) -> list[Match]:
    return [m for m in DETECTORS[case.type].detect(case.text) if m.confidence >= THRESHOLD]


def _score(kind: GuardrailType) -> tuple[Counter[str], Counter[str], Counter[str], list[str]]:
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    misses: list[str] = []
    for case in (c for c in ALL if c.type == kind):
        reported = _reported(case)
        for entity, needle in case.expect:
            start = case.text.index(needle)
            end = start + len(needle)
            if any(m.entity == entity and m.start <= start and end <= m.end for m in reported):
                tp[entity] += 1
            else:
                fn[entity] += 1
                misses.append(f"missed {entity} in {case.text!r}")
        for m in reported:
            if m.entity not in case.entities:
                fp[m.entity] += 1
                misses.append(f"false {m.entity} {case.text[m.start : m.end]!r} in {case.text!r}")
    return tp, fp, fn, misses


@pytest.mark.parametrize("kind", ["pii", "secrets", "prompt-injection"])
def test_precision_and_recall_per_detector_reach_the_floor(kind: GuardrailType) -> None:
    tp, fp, fn, misses = _score(kind)
    found, wrong, missed = sum(tp.values()), sum(fp.values()), sum(fn.values())
    precision = found / (found + wrong)
    recall = found / (found + missed)
    assert precision >= FLOOR and recall >= FLOOR, (precision, recall, misses)


@pytest.mark.parametrize("kind", ["pii", "prompt-injection"])
def test_every_entity_has_positives_and_reaches_the_recall_floor(kind: GuardrailType) -> None:
    tp, _, fn, misses = _score(kind)
    for entity in ENTITIES[kind]:
        if entity == CLASSIFIER_ENTITY:
            continue  # the model's own figures are pinned in test_classifier.py
        total = tp[entity] + fn[entity]
        assert total >= 3, f"labelled set needs positives for {entity}"
        assert tp[entity] / total >= FLOOR - 0.1, (entity, misses)


def test_labelled_set_has_negatives_for_every_detector() -> None:
    negatives = Counter(case.type for case in ALL if not case.expect)
    assert min(negatives[kind] for kind in ("pii", "secrets", "prompt-injection")) >= 15
