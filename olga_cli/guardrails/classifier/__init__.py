"""The offline prompt-injection classifier: a fine-tuned MiniLM shipped as int8 ONNX in this package.

Installed with the optional extra `olga[classifier]` (onnxruntime, tokenizers, numpy; no torch, no
pickles, nothing fetched from a model hub). Without it `load()` returns None and `missing()` says
what to install; the rules run either way.

A text is tokenized once and scored in overlapping windows of `window_tokens` tokens, so an
injection hidden in one sentence of a long document is seen, not cut off with a truncated prefix;
the text's score is its strongest window's. The model is shipped in two parts, cut after its first
layer: that layer runs on every window, a linear gate on its output ranks them (`gate.json`), and the
other five layers run only on the `full_windows` highest, which keeps a 2 KB text (13 windows) within
the latency goal. A text of that many windows or fewer is scored exactly as by the whole model; a
longer one can only score lower, when the gate leaves its strongest window out (measured in
bench/README.md). Scores are cached by content hash, so a conversation
resent on every turn costs one model run per new message. `score()` is calibrated: the model's raw
probability is mapped so that 0.5 is the threshold validated to keep false positives at the goal on
sources the model was not trained on (see `calibration.json` and bench/classifier/), which makes
the guardrails' default threshold of 0.5 mean "at the validated false-positive rate".
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODEL_DIR = Path(__file__).resolve().parent
FIRST_FILE = MODEL_DIR / "injection_first.onnx"  # embeddings and layer 0
REST_FILE = MODEL_DIR / "injection_rest.onnx"  # layers 1 to 5, pooling and the head
GATE_FILE = MODEL_DIR / "gate.json"
TOKENIZER_FILE = MODEL_DIR / "tokenizer.json"
CALIBRATION_FILE = MODEL_DIR / "calibration.json"
MODEL_FILES = (FIRST_FILE, REST_FILE, GATE_FILE, TOKENIZER_FILE, CALIBRATION_FILE)
RUNTIME_MODULES = ("onnxruntime", "tokenizers", "numpy")
INSTALL_HINT = "pip install 'olga[classifier]'"
_CACHE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class WindowScore:
    """The strongest window of a text: its calibrated score and its character span."""

    score: float
    start: int
    end: int


def missing() -> str | None:
    """What keeps the classifier from running (a sentence naming the fix), or None."""
    absent = [name for name in RUNTIME_MODULES if importlib.util.find_spec(name) is None]
    if absent:
        return f"the prompt-injection classifier needs {', '.join(absent)}: {INSTALL_HINT}"
    for path in MODEL_FILES:
        if not path.is_file():
            return f"the prompt-injection classifier's model file {path.name} is missing: reinstall olga"
    return None


@functools.cache
def load() -> InjectionModel | None:
    """The classifier, loaded once per process; None when the extra is not installed."""
    if missing() is not None:
        return None
    return InjectionModel(MODEL_DIR)


def calibrate(raw: float, threshold: float) -> float:
    """Maps a raw probability monotonically onto [0, 1] with `threshold` landing on 0.5."""
    if raw < threshold:
        return 0.5 * raw / threshold
    return 0.5 + 0.5 * (raw - threshold) / (1.0 - threshold)


class InjectionModel:
    """Scores texts with the ONNX model; thread-safe (scoring runs in worker threads)."""

    def __init__(self, directory: Path) -> None:
        import numpy
        import onnxruntime  # type: ignore[import-untyped]
        from tokenizers import Tokenizer

        meta = json.loads((directory / CALIBRATION_FILE.name).read_text())
        self.threshold: float = float(meta["raw_threshold"])
        self.window: int = int(meta["window_tokens"])
        self.stride: int = int(meta["stride_tokens"])
        self.blocking: bool = bool(meta["blocking"])
        self.full_windows: int = int(meta["full_windows"])
        gate = json.loads((directory / GATE_FILE.name).read_text())
        self._gate = numpy.array(gate["weights"], dtype=numpy.float32)
        self._place = numpy.array(gate["place_weights"], dtype=numpy.float32)
        self._np: Any = numpy
        self._tokenizer = Tokenizer.from_file(str(directory / TOKENIZER_FILE.name))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self._cls = self._tokenizer.token_to_id("[CLS]")
        self._sep = self._tokenizer.token_to_id("[SEP]")
        options = onnxruntime.SessionOptions()
        # One core per text: the server scores several requests at once in its worker threads.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._first, self._rest = (
            onnxruntime.InferenceSession(
                str(directory / path.name), options, providers=["CPUExecutionProvider"]
            )
            for path in (FIRST_FILE, REST_FILE)
        )
        self._hidden: str = self._rest.get_inputs()[0].name
        self._cache: OrderedDict[bytes, WindowScore] = OrderedDict()
        self._lock = threading.Lock()

    def score(self, text: str) -> float:
        return self.strongest(text).score

    def strongest(self, text: str) -> WindowScore:
        """The calibrated score of the text's strongest window (cached by content hash)."""
        digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        with self._lock:
            cached = self._cache.get(digest)
            if cached is not None:
                self._cache.move_to_end(digest)
                return cached
        result = self._run(text)
        with self._lock:
            self._cache[digest] = result
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return result

    def _run(self, text: str) -> WindowScore:
        encoding = self._tokenizer.encode(text, add_special_tokens=False)
        ids, offsets = encoding.ids, encoding.offsets
        if not ids:
            return WindowScore(0.0, 0, 0)
        body = self.window - 2
        starts = range(0, max(1, len(ids) - body + self.stride), self.stride)
        # One window per run: the int8 graph quantizes its activations with one scale per run, so a
        # window scored in a batch would move with its neighbours (by up to 1.4 in logit).
        firsts = [self._first_layer(ids[start : start + body]) for start in starts]
        best = WindowScore(-1.0, 0, 0)
        for n in self._chosen(firsts):
            value = self._probability(firsts[n])
            if value > best.score:
                last = min(len(ids), starts[n] + body) - 1
                best = WindowScore(value, offsets[starts[n]][0], offsets[last][1])
        return WindowScore(calibrate(best.score, self.threshold), best.start, best.end)

    def _first_layer(self, window: list[int]) -> Any:
        np = self._np
        input_ids = np.array([[self._cls, *window, self._sep]], dtype=np.int64)
        (hidden,) = self._first.run(None, {"input_ids": input_ids, "attention_mask": np.ones_like(input_ids)})
        return hidden

    def _chosen(self, firsts: list[Any]) -> list[int]:
        """The windows the rest of the model scores: all of a short text's, else the gate's highest."""
        count = len(firsts)
        if count <= self.full_windows:
            return list(range(count))
        np = self._np
        pooled = np.stack([np.concatenate([h[0].mean(0), h[0].max(0)]) for h in firsts])
        places = np.array([[n / (count - 1), n == 0, n == count - 1] for n in range(count)], dtype=np.float32)
        gate = pooled @ self._gate + places @ self._place
        return sorted(int(n) for n in np.argsort(-gate, kind="stable")[: self.full_windows])

    def _probability(self, hidden: Any) -> float:
        np = self._np
        mask = np.ones(hidden.shape[:2], dtype=np.int64)
        (logits,) = self._rest.run(None, {self._hidden: hidden, "attention_mask": mask})
        return float(1.0 / (1.0 + np.exp(-float(logits.reshape(-1)[0]))))
