"""Start the local stack exactly as `make run` does (infra/local_run.py) for e2e, load and
browser tests, with the test simulator's credentials, on a free loopback port."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests import wxsim

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Stack:
    proc: subprocess.Popen
    base: str
    banner: str

    @property
    def aws_endpoint(self) -> str:
        match = re.search(r"AWS \(moto\)\s+(\S+)", self.banner)
        assert match, self.banner
        return match.group(1)

    def app_pid(self) -> int | None:
        """The `chalice local` child of the runner."""
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return None
        pids = [int(p) for p in children.split()]
        return pids[0] if pids else None

    def stop(self, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)


def start(extra_env: dict[str, str] | None = None, timeout: float = 120) -> Stack:
    port = wxsim.free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "ADMIN_", "WXLESS_"))
    }
    env.pop("AWS_ENDPOINT_URL", None)
    env.update(
        PORT=str(port),
        WECHAT_TOKEN=wxsim.TOKEN,
        WECHAT_APP_ID=wxsim.APP_ID,
        WECHAT_ENCODING_AES_KEY=wxsim.AES_KEY,
        ADMIN_TOKEN=wxsim.ADMIN,
        PYTHONUNBUFFERED="1",
        **(extra_env or {}),
    )
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "infra" / "local_run.py")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        lines.append(line)
        if "demo data" in line:
            break
    banner = "".join(lines)
    base = f"http://127.0.0.1:{port}"
    if f"{base}/wechat" not in banner:
        proc.kill()
        raise RuntimeError(f"the local stack did not start:\n{banner[-4000:]}")
    # keep draining output so the runner never blocks on a full pipe
    import threading

    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    return Stack(proc, base, banner)


def rss_kb(pid: int | None) -> int:
    if pid is None:
        return 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """`check()` until it returns something truthy (what the stream aggregator sums shows within
    seconds: the local pump polls every 0.25 s); fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"not within {timeout} s"
        time.sleep(0.2)
