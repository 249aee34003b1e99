"""Item 5: end to end over loopback, `chalice local` + moto server, as `make run` starts them.

The stack is infra/local_run.py in a subprocess (its own moto server, the demo rules, the fake
WeChat API, `chalice local` on a free 127.0.0.1 port). A bounded load generator (threads) sends
freshly signed AES keyword messages ("余额", unique MsgIds), one connection per request, at 1, 4
and 16 concurrent clients, each level for a fixed time and at most MAX_REQUESTS requests, and
records each request's latency. Loopback only; it stops by itself.

Report only: moto on the same two cores is not DynamoDB, and `chalice local` is not API Gateway
+ Lambda (one process, threads sharing one GIL), so these figures are about this machine.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from urllib.parse import urlencode

from bench.common import ROOT, Row, Section, percentile, quick

TOKEN = "benchtoken"
APP_ID = "wx5f3d0c9e7a1b2c4d"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ACCOUNT = "gh_bench_account"
LEVELS = (1, 4, 16)
SECONDS = 30.0
MAX_REQUESTS = 200_000  # per level: a hard bound whatever the speed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalStack:
    """infra/local_run.py as a child process; stopped with SIGINT like Ctrl-C."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None
        self.log: list[str] = []

    def __enter__(self) -> LocalStack:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("WECHAT_", "ADMIN_", "WXLESS_", "AWS_ENDPOINT_URL"))
        }
        env.update(
            PORT=str(self.port),
            WECHAT_TOKEN=TOKEN,
            WECHAT_APP_ID=APP_ID,
            WECHAT_ENCODING_AES_KEY=AES_KEY,
            ADMIN_TOKEN="bench-admin-token",
            PYTHONUNBUFFERED="1",
        )
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "infra" / "local_run.py")],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._drain, daemon=True).start()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("local stack exited:\n" + "".join(self.log[-30:]))
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.3)
        self.__exit__(None, None, None)
        raise RuntimeError("local stack did not become healthy in 120 s")

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.log.append(line)
            del self.log[:-200]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Client(threading.Thread):
    """One simulated WeChat connection: signed AES messages back to back until told to stop."""

    def __init__(
        self,
        port: int,
        number: int,
        stop: threading.Event,
        budget: list[int],
        lock: threading.Lock,
    ) -> None:
        super().__init__(daemon=True)
        from chalicelib.wechat.crypto import WeChatCrypto

        self.port = port
        self.number = number
        self.stop = stop
        self.budget = budget  # remaining requests, shared by every client: [n]
        self.lock = lock
        self.crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
        self.latencies: list[float] = []
        self.errors = 0

    def _take(self) -> bool:
        with self.lock:
            if self.budget[0] <= 0:
                return False
            self.budget[0] -= 1
            return True

    def request(self, seq: int) -> tuple[str, bytes]:
        from chalicelib.wechat.signature import compute_signature

        ts = str(int(time.time()))
        nonce = f"{self.number}{seq}"
        msg_id = int(time.time() * 1000) * 100 + self.number * 1_000_000_000_000 + seq
        xml = (
            f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<FromUserName><![CDATA[o_load_{self.number}]]></FromUserName>"
            f"<CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[余额]]></Content><MsgId>{msg_id}</MsgId></xml>"
        )
        enc = self.crypto.encrypt(xml)
        query = {
            "signature": compute_signature(TOKEN, ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "openid": f"o_load_{self.number}",
            "encrypt_type": "aes",
            "msg_signature": compute_signature(TOKEN, ts, nonce, enc),
        }
        body = (
            f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<Encrypt><![CDATA[{enc}]]></Encrypt></xml>"
        )
        return f"/wechat?{urlencode(query)}", body.encode("utf-8")

    def run(self) -> None:
        seq = 0
        while not self.stop.is_set() and self._take():
            seq += 1
            path, body = self.request(seq)
            # A new connection per request: on a kept-alive connection chalice local's replies
            # stall ~40 ms (headers and body leave in two writes: Nagle meets delayed ACK).
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            start = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers={"Content-Type": "text/xml"})
                resp = conn.getresponse()
                payload = resp.read()
                ok = resp.status == 200 and b"<Encrypt>" in payload
            except (OSError, http.client.HTTPException):
                ok = False
            finally:
                conn.close()
            elapsed = time.perf_counter() - start
            if ok:
                self.latencies.append(elapsed)
            else:
                self.errors += 1


def load(port: int, clients: int, seconds: float) -> dict[str, float]:
    stop = threading.Event()
    budget = [MAX_REQUESTS]
    lock = threading.Lock()
    workers = [Client(port, i + 1, stop, budget, lock) for i in range(clients)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    stop.wait(seconds)
    stop.set()
    for worker in workers:
        worker.join(15)
    elapsed = time.perf_counter() - start
    latencies = sorted(x for w in workers for x in w.latencies)
    errors = sum(w.errors for w in workers)
    return {
        "clients": clients,
        "requests": len(latencies),
        "errors": errors,
        "seconds": elapsed,
        "rps": len(latencies) / elapsed if elapsed else 0.0,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
    }


def run() -> Section:
    small = quick()
    seconds = float(os.environ.get("BENCH_E2E_SECONDS") or (1.0 if small else SECONDS))
    levels = (2,) if small else LEVELS
    section = Section()
    started = time.perf_counter()
    with LocalStack() as stack:
        boot = time.perf_counter() - started
        load(stack.port, 1, 0.2 if small else 1.0)  # warm-up: the container's first messages
        results = [load(stack.port, n, seconds) for n in levels]
    section.data["levels"] = results
    for r in results:
        section.rows.append(
            Row(
                "5",
                f"e2e chalice local + moto, AES keyword, {r['clients']} client(s), "
                f"{r['seconds']:.0f} s",
                f"{r['rps']:,.0f} req/s",
                f"p50 {r['p50'] * 1e3:.1f} ms, p99 {r['p99'] * 1e3:.1f} ms; "
                f"{r['requests']:,} ok, {r['errors']} errors",
            )
        )
    section.notes.append(
        f"Item 5: report only. The stack (infra/local_run.py: moto server + chalice local) took"
        f" {boot:.1f} s to become healthy; the load generator, moto and chalice local share this"
        " machine's cores, and chalice local serves every request in one Python process."
    )
    return section
