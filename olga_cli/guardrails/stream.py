"""Screening a streamed response as it passes, holding back only what a match could still span.

Each text lane of a stream (one per choice and field, e.g. `choices[0].content` or
`content[1].input`) is fed its deltas in order. After each delta the screener scans the lane's
unsent text (plus a little already-sent text as context) and releases everything up to the first
point that could still change:

- the tail the detectors say might still grow into a match (`Detector.pending_start`: the last
  token, a run of digit groups, a phrase window when prompt-injection guardrails apply);
- the start of any match that touches the end of what has arrived (a key still arriving);
- never the middle of a match: a match is released whole, redacted if a guardrail says so.

So ordinary prose flows with a holdback of one token, a secret or card split across chunks is
caught whole, and a block is raised as soon as the offending match is complete, before any of it
is sent. The holdback is bounded by `max_holdback` characters: past that the text is released
(redacting whatever is matched so far), so a stream never stalls behind an endless token.

Offsets in the violations are positions in the lane's whole original text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from olga_cli.guardrails.screen import Hit, Screen, redact
from olga_cli.guardrails.spec import Violation

# Past this many unsent characters, only rescan after the text grew by an eighth: a long token that
# keeps growing (a base64 blob) then costs a bounded number of scans rather than one per delta.
_RESCAN_FLOOR = 1024
_RESCAN_GROWTH = 1.125


def _word_piece(text: str) -> bool:
    return text.isascii() and text.isalnum()


@dataclass(slots=True)
class _Lane:
    context: str = ""  # the end of already-released original text, for detectors' lookbehind
    pending: str = ""  # original text not yet released
    offset: int = 0  # position of `pending[0]` in the lane's original text
    scanned: int = 0  # len(pending) at the last scan that released nothing
    released: list[str] = field(default_factory=list)  # what was sent, redacted
    finished: bool = False


class StreamScreener:
    """Screens the text lanes of one streamed response. Not thread-safe; one per stream."""

    def __init__(self, screen: Screen, *, max_holdback: int = 16384) -> None:
        self.screen = screen
        self.max_holdback = max_holdback
        self._lanes: dict[str, _Lane] = {}
        self._blocked: Violation | None = None
        self.violations: list[Violation] = []

    @property
    def blocked(self) -> Violation | None:
        """The violation that blocked the stream; once set, nothing more is released."""
        return self._blocked

    def feed(self, key: str, delta: str) -> tuple[str, list[Violation]]:
        """Take the next delta of lane `key`; return the text safe to send now and new violations."""
        if not self.screen.active:
            self._lane(key).released.append(delta)
            return delta, []
        lane = self._lane(key)
        if self._blocked is not None or lane.finished:
            return "", []
        continues_word = bool(lane.pending) and _word_piece(lane.pending[-1]) and _word_piece(delta)
        lane.pending += delta
        size = len(lane.pending)
        if size <= self.max_holdback and (
            # A piece of the word still arriving cannot complete anything: the last word is held anyway.
            continues_word or (size > _RESCAN_FLOOR and size < lane.scanned * _RESCAN_GROWTH)
        ):
            return "", []
        return self._release(key, lane, final=False)

    def finish(self, key: str) -> tuple[str, list[Violation]]:
        """The lane ended: screen and return whatever was held back."""
        lane = self._lane(key)
        if lane.finished:
            return "", []
        if self._blocked is not None or not self.screen.active:
            lane.finished = True
            return "", []
        released = self._release(key, lane, final=True)
        lane.finished = True
        return released

    def finish_all(self) -> dict[str, tuple[str, list[Violation]]]:
        """Finish every lane still open, in the order the lanes started."""
        return {key: self.finish(key) for key, lane in list(self._lanes.items()) if not lane.finished}

    def lanes(self) -> list[str]:
        """Every lane key seen, in the order the lanes started."""
        return list(self._lanes)

    def has_lane(self, key: str) -> bool:
        return key in self._lanes

    def held(self, key: str) -> int:
        """How many characters of lane `key` are held back right now."""
        lane = self._lanes.get(key)
        return len(lane.pending) if lane else 0

    def released_text(self, key: str) -> str:
        """Everything sent so far on lane `key`, as sent (redacted)."""
        lane = self._lanes.get(key)
        return "".join(lane.released) if lane else ""

    def _lane(self, key: str) -> _Lane:
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane()
        return lane

    def _release(self, key: str, lane: _Lane, *, final: bool) -> tuple[str, list[Violation]]:
        window = lane.context + lane.pending
        base = len(lane.context)
        size = len(window)
        hits = [hit for hit in self.screen.hits(window) if hit.match.end > base]
        cut = size if final else self._cut(window, base, hits)
        if cut <= base:
            lane.scanned = len(lane.pending)
            return "", []
        shift = lane.offset - base
        released_hits = [hit for hit in hits if max(hit.match.start, base) < cut]
        violations = [
            hit.violation(
                self.screen.stage,
                key,
                shift=shift,
                start=max(hit.match.start, base),
                end=min(hit.match.end, cut),
            )
            for hit in released_hits
        ]
        self.violations.extend(violations)
        blocking = next((v for v in violations if v.action == "block"), None)
        if blocking is not None:
            self._blocked = blocking
            return "", violations
        text = redact(window, released_hits, lo=base, hi=cut)
        lane.released.append(text)
        lane.offset += cut - base
        lane.pending = window[cut:]
        lane.context = window[max(0, cut - self.screen.lookbehind) : cut]
        lane.scanned = 0
        return text, violations

    def _cut(self, window: str, base: int, hits: list[Hit]) -> int:
        """How far the window can be released: before anything that could still change."""
        size = len(window)
        cut = max(base, self.screen.pending_start(window))
        for hit in hits:
            # A match reaching the end of what has arrived may still grow ("sk-proj-ab" + "cd...").
            if hit.match.end >= size - 1:
                cut = min(cut, max(base, hit.match.start))
        moved = True
        while moved:
            moved = False
            for hit in hits:
                start = max(base, hit.match.start)
                if start < cut < hit.match.end:
                    cut = start
                    moved = True
        if size - cut > self.max_holdback:
            # Bounded holdback: release the oldest text even if a match is still open; the part of
            # the match released is redacted (or blocks) with the rest of the released text.
            cut = size - self.max_holdback
        return cut
