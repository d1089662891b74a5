"""Claude Code, Codex CLI and the AI SDK, the real clients, through a real `olga serve`, on an OpenAI
model, an Anthropic model and an OpenAI-compatible model; then a $0.50 key carrying a Claude Code
session on claude-sonnet-4-5 until its balance is spent.

    mkdir -p /work/npm-clients && cd /work/npm-clients && \\
        npm install @anthropic-ai/claude-code @openai/codex ai @ai-sdk/anthropic @ai-sdk/openai
    python bench/clients/run.py [--npm /work/npm-clients] [--only claude,codex,ai-sdk] [--no-small-key]

Nothing a client tries can leave the machine: each runs inside ``unshare -n`` (a network namespace
with only loopback), where 127.0.0.1:8000 is a socat bridge to a unix socket, and outside another
socat carries that socket to olga's port. olga's upstreams are the repository's strict fakes
(tests/fakes, real HTTP servers on 127.0.0.1) scripted as a model that calls a tool on the first turn
and answers once it has the result (``agentic_fakes``). Every record of every session is checked:
status 200, the tokens the fake reported, cost = catalog price x those tokens. Results go to
bench/results/clients.json. Needs root (unshare), socat and node.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Coroutine
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.clients.agentic_fakes import FINAL, AgentAnthropic, AgentOpenAI
from bench.clients.checks import check_records, read_records
from tests.fakes.gateway import configure, mint_key, point_anthropic_at, point_openai_at

COMPATIBLE = "vllm/qwen3-coder"
TARGETS = ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5", COMPATIBLE]
PORT_INSIDE = 8000
PROMPT = "List the files in the current directory with a shell command, then say you are done."


class Loop:
    """An event loop in a thread, for the fakes, while the clients run as blocking subprocesses."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)


class Bench:
    def __init__(self, npm: Path, work: Path) -> None:
        self.npm, self.work, self.loop = npm, work, Loop()
        self.home = work / "olga-home"
        self.openai, self.compatible, self.anthropic = AgentOpenAI(), AgentOpenAI(), AgentAnthropic()
        self.compatible.compatible = True
        self.server: subprocess.Popen[bytes] | None = None
        self.bridge: subprocess.Popen[bytes] | None = None
        self.socket = work / "olga.sock"

    # -- olga and the fakes ------------------------------------------------------------------------

    def start(self) -> None:
        self.loop.run(self.openai.start())
        self.loop.run(self.compatible.start())
        self.loop.run(self.anthropic.start())
        self.home.mkdir()
        point_openai_at(self.home, self.openai.url)
        point_anthropic_at(self.home, self.anthropic.url)
        configure(
            self.home,
            providers={
                "vllm": {"kind": "openai-compatible", "base_url": self.compatible.url + "/v1", "api_key": "x"}
            },
        )
        catalog = {
            "vllm/*": {
                "provider": "vllm",
                "input_per_mtok": "0.1",
                "output_per_mtok": "0.2",
                "max_output_tokens": 8192,
                "context_window": 131072,
                "endpoints": ["chat"],
            }
        }
        (self.home / "model_catalog.json").write_text(json.dumps({"models": catalog}))
        port = _free_port()
        env = {**os.environ, "OLGA_HOME": str(self.home)}
        self.server = subprocess.Popen(
            [sys.executable, "-m", "olga_cli", "serve", "--port", str(port)],
            env=env,
            stdout=(self.work / "olga-serve.log").open("wb"),  # its access log: one line a request
            stderr=subprocess.STDOUT,
        )
        _wait_for_port(port)
        self.bridge = subprocess.Popen(
            ["socat", f"UNIX-LISTEN:{self.socket},fork,unlink-early", f"TCP:127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(50):
            if self.socket.exists():
                break
            time.sleep(0.1)

    def stop(self) -> None:
        for process in (self.bridge, self.server):
            if process is not None:
                process.terminate()
                process.wait(10)
        for fake in (self.openai, self.compatible, self.anthropic):
            self.loop.run(fake.close())

    def key(self, name: str, credits: str | None = None) -> str:
        _, plaintext = self.loop.run(mint_key(self.home, name=name, credits_usd=credits))
        return plaintext

    # -- one client, sealed ------------------------------------------------------------------------

    def sealed(self, argv: list[str], env: dict[str, str], cwd: Path, timeout: float = 240) -> dict[str, Any]:
        """``argv`` inside a network namespace with only loopback, 127.0.0.1:8000 bridged to olga."""
        script = (
            "ip link set lo up && "
            f"(socat TCP-LISTEN:{PORT_INSIDE},bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:{self.socket}"
            " </dev/null >/dev/null 2>&1 & echo $! > .bridge.pid) && sleep 0.3 && "
            '"$@"; rc=$?; kill $(cat .bridge.pid); rm -f .bridge.pid; exit $rc'
        )
        started = time.monotonic()
        try:
            done = subprocess.run(
                ["unshare", "-n", "sh", "-c", script, "sh", *argv],
                env=env,
                cwd=cwd,
                capture_output=True,
                timeout=timeout,
            )
            code, out, err = done.returncode, done.stdout.decode(), done.stderr.decode()
        except subprocess.TimeoutExpired as exc:
            code, out, err = -1, (exc.stdout or b"").decode(), "timed out"
        return {"exit": code, "seconds": round(time.monotonic() - started, 1), "stdout": out, "stderr": err}

    def workspace(self, name: str) -> Path:
        path = self.work / "ws" / name
        path.mkdir(parents=True)
        (path / "README.txt").write_text("a file for the agent to find\n")
        (path / "notes.md").write_text("# notes\n")
        return path

    def base_env(self, name: str) -> dict[str, str]:
        home = self.work / "homes" / name
        home.mkdir(parents=True, exist_ok=True)  # a resumed session keeps its home
        path = f"{self.npm / 'node_modules' / '.bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}"
        return {"HOME": str(home), "PATH": path, "LANG": "C.UTF-8", "TERM": "dumb"}

    # -- the clients -------------------------------------------------------------------------------

    def claude(self, name: str, key: str, model: str, *, max_turns: int = 4) -> dict[str, Any]:
        env = {
            **self.base_env(name),
            "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{PORT_INSIDE}",
            "ANTHROPIC_AUTH_TOKEN": key,
            "ANTHROPIC_MODEL": model,
            "ANTHROPIC_DEFAULT_HAIKU_MODEL": model,
            "ANTHROPIC_DEFAULT_SONNET_MODEL": model,
            "ANTHROPIC_DEFAULT_OPUS_MODEL": model,
            "CLAUDE_CODE_SUBAGENT_MODEL": model,
            "CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY": "1",
            "DISABLE_AUTOUPDATER": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_ERROR_REPORTING": "1",
        }
        argv = [
            "claude",
            "-p",
            PROMPT,
            "--model",
            model,
            "--allowedTools",
            "Bash",
            "--max-turns",
            str(max_turns),
        ]
        return self.sealed(argv, env, self._cwd(name), timeout=600)

    def codex(self, name: str, key: str, model: str) -> dict[str, Any]:
        env = self.base_env(name)
        codex_home = Path(env["HOME"]) / ".codex"
        codex_home.mkdir()
        (codex_home / "config.toml").write_text(
            f'model = "{model}"\nmodel_provider = "olga"\napproval_policy = "never"\n'
            'sandbox_mode = "danger-full-access"\n\n[model_providers.olga]\nname = "olga"\n'
            f'base_url = "http://127.0.0.1:{PORT_INSIDE}/v1"\nenv_key = "OLGA_KEY"\nwire_api = "responses"\n'
        )
        env.update({"CODEX_HOME": str(codex_home), "OLGA_KEY": key})
        return self.sealed(["codex", "exec", "--skip-git-repo-check", PROMPT], env, self._cwd(name))

    def ai_sdk(self, name: str, key: str, model: str, sdk: str) -> dict[str, Any]:
        script = self.npm / "olga-ai-sdk-session.mjs"
        shutil.copyfile(ROOT / "bench" / "clients" / "ai_sdk_session.mjs", script)
        env = {
            **self.base_env(name),
            "OLGA_BASE": f"http://127.0.0.1:{PORT_INSIDE}",
            "OLGA_KEY": key,
            "OLGA_MODEL": model,
            "OLGA_SDK": sdk,
        }
        return self.sealed(["node", str(script)], env, self._cwd(name))

    def _cwd(self, name: str) -> Path:
        path = self.work / "ws" / name
        return path if path.exists() else self.workspace(name)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int) -> None:
    import socket

    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"olga serve did not start on port {port}")


def versions(npm: Path) -> dict[str, str]:
    def of(package: str) -> str:
        return str(json.loads((npm / "node_modules" / package / "package.json").read_text())["version"])

    return {
        p: of(p)
        for p in ("@anthropic-ai/claude-code", "@openai/codex", "ai", "@ai-sdk/anthropic", "@ai-sdk/openai")
    }


def one_run(bench: Bench, client: str, target: str, sdk: str | None = None) -> dict[str, Any]:
    name = f"{client}{'-' + sdk if sdk else ''}-{target.replace('/', '_')}"
    key = bench.key(name)
    if client == "claude-code":
        ran = bench.claude(name, key, target)
    elif client == "codex":
        ran = bench.codex(name, key, target)
    else:
        ran = bench.ai_sdk(name, key, target, sdk or "anthropic")
    records = read_records(bench.home, name)
    verdict = check_records(bench.home, records, anthropic_usage=bench.anthropic.usage)
    finished = ran["exit"] == 0 and FINAL in ran["stdout"]
    result = {
        "client": client if sdk is None else f"ai-sdk ({sdk})",
        "target": target,
        "finished": finished,
        "exit": ran["exit"],
        "seconds": ran["seconds"],
        **verdict,
    }
    if not (finished and verdict["records_exact"]):
        result["stdout_tail"] = ran["stdout"][-1500:]
        result["stderr_tail"] = ran["stderr"][-1500:]
    print(json.dumps({k: v for k, v in result.items() if not k.endswith("_tail")}), flush=True)
    return result


def small_key_session(bench: Bench) -> dict[str, Any]:
    """A $0.50 key, one Claude Code session on claude-sonnet-4-5 whose model calls a tool on every
    turn, until olga refuses a turn with 402; each turn reports what a cached Claude Code turn does."""
    from bench.clients.checks import balance

    bench.anthropic.usage = {
        "input_tokens": 3,
        "cache_read_input_tokens": 30_000,
        "cache_creation_input_tokens": 800,
        "output_tokens": 400,
    }
    name, model = "claude-code-small-key", "anthropic/claude-sonnet-4-5"
    key = bench.key(name, credits="0.50")
    before = len(bench.anthropic.requests)
    bench.anthropic.endless = True
    try:
        ran = bench.claude(name, key, model, max_turns=200)
    finally:
        bench.anthropic.endless = False
    records = read_records(bench.home, name)
    verdict = check_records(bench.home, records, anthropic_usage=bench.anthropic.usage, allow_402=True)
    credits, spent = balance(bench.home, name)
    bench.anthropic.usage = {}
    return {
        "key_credits": credits,
        "spent": spent,
        "left": str(Decimal(credits) - Decimal(spent)),
        "claude_exit": ran["exit"],
        "claude_said": (ran["stdout"] + ran["stderr"]).strip()[-400:],
        "seconds": ran["seconds"],
        "turns_answered": sum(1 for r in records if r["status"] == 200),
        # What reached the provider: Claude Code asks for 32,000 each turn.
        "max_tokens_sent": [body.get("max_tokens") for _, _, body in bench.anthropic.requests[before:]],
        "statuses": [r["status"] for r in records],
        "ended_with_402": bool(records) and records[-1]["status"] == 402 and ran["exit"] != 0,
        "never_below_zero": Decimal(spent) <= Decimal(credits),
        **verdict,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--npm", type=Path, default=Path("/work/npm-clients"))
    parser.add_argument("--only", default="claude-code,codex,ai-sdk")
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--no-small-key", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "clients.json")
    parser.add_argument("--keep", type=Path, help="Work in this folder and keep it (olga's home, logs).")
    args = parser.parse_args()
    clients = args.only.split(",")
    with tempfile.TemporaryDirectory(prefix="olga-clients-") as tmp:
        work = Path(tmp) if args.keep is None else args.keep
        work.mkdir(parents=True, exist_ok=True)
        bench = Bench(args.npm, work)
        bench.start()
        try:
            runs = []
            for target in args.targets.split(","):
                if "claude-code" in clients:
                    runs.append(one_run(bench, "claude-code", target))
                if "codex" in clients:
                    runs.append(one_run(bench, "codex", target))
                if "ai-sdk" in clients:
                    for sdk in ("anthropic", "openai-chat", "openai"):
                        runs.append(one_run(bench, "ai-sdk", target, sdk))
            small = None if args.no_small_key else small_key_session(bench)
        finally:
            bench.stop()
    document = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "clients": versions(args.npm),
        "runs": runs,
        "small_key": small,
        "all_finished_and_exact": all(r["finished"] and r["records_exact"] for r in runs)
        and (
            small is None
            or (small["ended_with_402"] and small["never_below_zero"] and small["records_exact"])
        ),
    }
    args.out.write_text(json.dumps(document, indent=1) + "\n")
    print(f"wrote {args.out}: all finished and exact: {document['all_finished_and_exact']}")


if __name__ == "__main__":
    main()
