"""Contract section 1 (`make run`), the way an outside tester drives it: `make run` itself, not
the runner it starts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests import wxsim

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e

# A harness running under nohup or `&` hands its children SIGINT ignored, and make would keep
# ignoring it: give `make run` the default disposition, as a terminal does.
MAKE_RUN = (
    "import os, signal; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execvp('make', ['make', 'run'])"
)


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_to_make_alone_stops_everything(signum):
    """§1: "Ctrl-C (SIGINT) or SIGTERM stops everything it started", sent to `make run` itself
    (`proc.send_signal`). GNU make passes SIGTERM on to its children, but on SIGINT it waits
    for them without passing it on: the stack kept serving and make waited forever."""
    port = wxsim.free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "ADMIN_", "WXLESS_"))
    }
    env.pop("AWS_ENDPOINT_URL", None)
    env.update(PORT=str(port), WXLESS_LOCAL_STATE="", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-c", MAKE_RUN],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        lines = []
        while time.monotonic() < deadline and proc.poll() is None:
            line = proc.stdout.readline()
            lines.append(line)
            if "demo data" in line:
                break
        assert f"{base}/wechat" in "".join(lines), "".join(lines)[-3000:]
        # keep draining output so the runner never blocks on a full pipe
        threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
        runner = _children(proc.pid)
        assert runner, "make started no runner"
        started = runner + [c for pid in runner for c in _children(pid)]

        proc.send_signal(signum)
        assert proc.wait(20) != 0  # make dies of the signal once its children are gone
        with pytest.raises(OSError):
            urllib.request.urlopen(f"{base}/health", timeout=2)
        assert [pid for pid in started if Path(f"/proc/{pid}").exists()] == []
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)
