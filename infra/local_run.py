"""`make run`: an embedded AWS (moto server), the fake WeChat API, demo data and `chalice local`.

Everything binds to 127.0.0.1. Ctrl-C (SIGINT) or SIGTERM stops all of it; so does the death of
the parent `make` (PR_SET_PDEATHSIG), so nothing is left behind.

The embedded AWS keeps its data between runs in `WXLESS_LOCAL_STATE` (infra/local_state.py;
`make run` sets `.local/state`, `make run-fresh` also sets `WXLESS_LOCAL_FRESH=1`): restored
before the app starts, saved every few seconds and on the way out.

Background workers (what AWS would run beside the API: the schedules, and any stream or queue
consumer `chalice local` lacks) start once the app is healthy and stop, newest first, before the
app does; add one in `start_workers`.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from infra.cognito_local import LocalPool
    from infra.local_state import LocalState
    from scheduled.local import LocalScheduler

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEMO = {
    "PORT": "8000",
    "WECHAT_TOKEN": "wxless-demo-token",
    "WECHAT_APP_ID": "wx5f3d0c9e7a1b2c4d",
    "WECHAT_APP_SECRET": "wxless-demo-app-secret",
    "WECHAT_ENCODING_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "ADMIN_TOKEN": "wxless-demo-admin-token",
    # The stack answers loopback only, where every client shares 127.0.0.1: at the deployed
    # default (200 wrong credentials per address in 10 minutes), a suite that checks the 401 of
    # every admin route would lock out everyone, the owner included. Set it to try the throttle.
    "WXLESS_AUTH_MAX_FAILURES": "1000000",
}


class Worker(Protocol):
    """A background job of the local stack, started after the app and stopped before it."""

    def start(self) -> object: ...

    def stop(self) -> None: ...


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM us when our parent (make) dies, even if it is SIGKILLed."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _interrupted_make() -> bool:
    """Whether our parent is GNU make handling a SIGINT sent to it alone (`kill -INT <make>`,
    a harness's `proc.send_signal(SIGINT)`): make then waits for its children inside its handler
    and never passes the signal on (it forwards only SIGTERM; Ctrl-C in a terminal reaches the
    whole process group, us included). While it waits there SIGINT is blocked in its mask."""
    parent = Path(f"/proc/{os.getppid()}")
    try:
        if (parent / "comm").read_text().strip() not in ("make", "gmake"):
            return False
        for line in (parent / "status").read_text().splitlines():
            if line.startswith("SigBlk:"):
                return bool(int(line.split()[1], 16) >> (signal.SIGINT - 1) & 1)
    except (OSError, ValueError, IndexError):
        pass
    return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(
    url: str, proc: subprocess.Popen, stop: threading.Event, timeout: float = 60.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stop.is_set():
        if proc.poll() is not None:
            raise SystemExit(f"chalice local exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        stop.wait(0.2)
    if not stop.is_set():
        raise SystemExit("the app did not become healthy in time")


class LocalStack:
    def __init__(self) -> None:
        self.moto = None
        self.fake = None
        self.chalice: subprocess.Popen | None = None
        self.scheduler: LocalScheduler | None = None
        self.workers: list[Worker] = []  # started in order after the app, stopped in reverse
        self.state: LocalState | None = None
        self.pool: LocalPool | None = None  # the embedded user pool's people (team access)
        self.stopping = threading.Event()

    def start(self) -> None:
        for name, value in DEMO.items():
            os.environ.setdefault(name, value)
        port = int(os.environ["PORT"])

        if not os.environ.get("AWS_ENDPOINT_URL"):
            from moto.server import ThreadedMotoServer

            from infra import moto_patches

            moto_patches.apply()  # concurrent transactions must not roll back each other
            os.environ.update(
                AWS_ACCESS_KEY_ID="testing",
                AWS_SECRET_ACCESS_KEY="testing",
                AWS_SESSION_TOKEN="testing",
                AWS_DEFAULT_REGION=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            )
            self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
            self.moto.start()
            host, moto_port = self.moto.get_host_and_port()
            os.environ["AWS_ENDPOINT_URL"] = f"http://{host}:{moto_port}"
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

        if not os.environ.get("WECHAT_API_BASE"):
            from infra.fake_wechat import FakeWeChat

            self.fake = FakeWeChat(
                app_id=os.environ["WECHAT_APP_ID"], app_secret=os.environ["WECHAT_APP_SECRET"]
            )
            self.fake.demo_comments = True  # published articles get a few followers' comments
            self.fake.start()
            os.environ["WECHAT_API_BASE"] = self.fake.url

        from chalicelib.store.tables import create_all
        from infra.seed import seed_if_empty

        create_all()
        self.create_user_pool()
        saved = self.restore_state()
        seeded = seed_if_empty()
        if seeded:  # the demo flow (办卡) and Guangzhou branches; apart so benches keep rules only
            from infra.seed_faq import seed_faq_if_empty
            from infra.seed_flows import seed_flows_and_points

            seed_flows_and_points()
            seed_faq_if_empty()  # the demo knowledge base: "我想办卡" gets an answer

        # `chalice local`, through a shim that lets every method reach its gateway emulation
        self.chalice = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "infra" / "chalice_local.py"),
                "local",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--stage",
                "dev",
                "--no-autoreload",
            ],
            cwd=ROOT,
            env=os.environ.copy(),
            preexec_fn=_die_with_parent,
        )
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(f"{base}/health", self.chalice, self.stopping)
        if self.stopping.is_set():
            return

        self.start_workers()
        if self.state is not None:
            self.state.start()  # autosave

        aes = os.environ.get("WECHAT_ENCODING_AES_KEY", "")
        # Passed on to the app with the rest of the environment, like every setting.
        previous = os.environ.get("WECHAT_ENCODING_AES_KEY_PREVIOUS", "")
        print(
            "\n".join(
                [
                    "",
                    "wxless is running (Ctrl-C to stop)",
                    f"  callback URL     {base}/wechat",
                    f"  token            {os.environ['WECHAT_TOKEN']}",
                    f"  app id           {os.environ['WECHAT_APP_ID']}",
                    f"  EncodingAESKey   {aes or '(unset: safe mode off)'}",
                    *(
                        [f"  previous key     {previous} (tried when the current one fails)"]
                        if previous
                        else []
                    ),
                    f"  admin token      {os.environ['ADMIN_TOKEN']}  (the owner's; add people"
                    " with POST /admin/users)",
                    f"  user pool        {os.environ.get('WXLESS_USER_POOL_ID', '(none)')}",
                    f"  admin API        {base}/admin/openapi.json",
                    f"  console          {base}/console",
                    f"  WeChat API       {os.environ.get('WECHAT_API_BASE', '')}",
                    f"  AWS (moto)       {os.environ['AWS_ENDPOINT_URL']}",
                    f"  saved data       {saved}",
                    f"  demo data        {'seeded' if seeded else 'store not empty; left as is'}",
                    "",
                ]
            ),
            flush=True,
        )

    def create_user_pool(self) -> None:
        """Team access: a Cognito user pool (groups as roles, an app client) in the embedded
        AWS, its ids in the app's environment. Elsewhere (AWS_ENDPOINT_URL set by hand), the
        pool named by WXLESS_USER_POOL_ID / WXLESS_USER_POOL_CLIENT_ID is used as it is."""
        if self.moto is None or os.environ.get("WXLESS_USER_POOL_ID"):
            return
        from chalicelib.store.aws import client
        from infra.cognito_local import LocalPool, create_pool

        cognito = client("cognito-idp")
        pool_id, client_id = create_pool(cognito)
        endpoint = os.environ["AWS_ENDPOINT_URL"]
        os.environ.update(
            WXLESS_USER_POOL_ID=pool_id,
            WXLESS_USER_POOL_CLIENT_ID=client_id,
            # moto serves the pool's keys here, not at the issuer's (AWS) address
            WXLESS_COGNITO_JWKS_URL=f"{endpoint}/{pool_id}/.well-known/jwks.json",
        )
        self.pool = LocalPool(cognito, pool_id)

    def restore_state(self) -> str:
        """Put the last run's data back (WXLESS_LOCAL_STATE); what the banner says about it."""
        directory = os.environ.get("WXLESS_LOCAL_STATE", "")
        if not directory:
            return "not kept (WXLESS_LOCAL_STATE is empty or unset)"
        if self.moto is None:
            return "not kept (AWS_ENDPOINT_URL is not the embedded emulator)"
        from infra.local_state import LocalState

        self.state = LocalState(Path(directory).resolve(), wechat=self.fake, cognito=self.pool)
        note = ""
        if os.environ.get("WXLESS_LOCAL_FRESH", "").lower() in ("1", "true", "yes"):
            previous = self.state.discard()
            note = f"; started fresh, the previous data is in {previous}" if previous else ""
        restored = self.state.restore()
        return f"{self.state.directory} ({restored.summary()}{note})"

    def start_workers(self) -> None:
        """What AWS runs beside the API and `chalice local` does not: append new workers here."""
        self.workers.append(self.start_scheduler())
        self.workers.append(self.start_stream_pump())

    @staticmethod
    def start_stream_pump() -> Worker:
        """The messages stream's event source mapping: moto's stream, polled every 0.25 s and
        handed to the same consumer Lambda runs (counters, follower records and the listing
        then lag a message by about that)."""
        from chalicelib.jobs import aggregate
        from chalicelib.store.messages import table_name
        from infra.stream_pump import StreamPump

        pump = StreamPump(table_name, aggregate.handle)
        pump.start()
        return pump

    def start_scheduler(self) -> LocalScheduler:
        """`chalice local` runs no `@app.schedule`: run them here, in this process, against the
        same moto and WeChat API as the app (the token refresh first, at once, then every
        RATE_MINUTES), so the app finds a fresh token in the store without anyone asking."""
        from scheduled.local import LocalScheduler

        self.scheduler = LocalScheduler().start()
        return self.scheduler

    def wait(self) -> int:
        assert self.chalice is not None
        while not self.stopping.is_set():
            if self.chalice.poll() is not None:
                return self.chalice.returncode or 1
            if os.getppid() == 1:  # orphaned: make is gone
                return 0
            if _interrupted_make():  # Ctrl-C sent to make alone: ours too
                return 0
            self.stopping.wait(0.5)
        return 0

    def stop(self) -> None:
        self.stopping.set()
        for worker in reversed(self.workers):
            worker.stop()
        self.workers.clear()
        if self.scheduler is not None:
            self.scheduler.stop()  # started on its own (tests); stopping twice is harmless
        if self.chalice is not None and self.chalice.poll() is None:
            self.chalice.terminate()
            try:
                self.chalice.wait(5)
            except subprocess.TimeoutExpired:
                self.chalice.kill()
                self.chalice.wait()
        if self.state is not None:
            try:
                self.state.stop()  # nothing writes any more: the last save is complete
            except Exception:
                logging.getLogger("wxless.local_state").exception("local_state.final_save_failed")
        if self.fake is not None:
            self.fake.stop()
        if self.moto is not None:
            self.moto.stop()


def main() -> int:
    _die_with_parent()
    # moto's werkzeug server logs every request; keep the terminal for what matters.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    stack = LocalStack()

    def on_signal(signum: int, _frame: object) -> None:
        stack.stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        stack.start()
        code = stack.wait()
    finally:
        stack.stop()
        print("wxless stopped", flush=True)
    return code


if __name__ == "__main__":
    status = main()
    # Everything is stopped and flushed: skip the interpreter's teardown, which after a load run
    # spent 20+ s of CPU freeing the in-process AWS emulator's state (Ctrl-C should be instant).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
