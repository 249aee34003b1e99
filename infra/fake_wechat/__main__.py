"""``python -m infra.fake_wechat --port 0``: serve until SIGINT/SIGTERM; the base URL is the first
line on stdout."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Any

from infra.fake_wechat import DEFAULT_APP_ID, DEFAULT_APP_SECRET, FakeWeChat


def _seed_demo(fake: FakeWeChat, followers: int) -> None:
    for i in range(followers):
        fake.add_follower(f"o_demo_{i:04d}", remark=f"演示用户{i}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fake WeChat API server (loopback only)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--app-id", default=os.environ.get("WECHAT_APP_ID", DEFAULT_APP_ID))
    parser.add_argument(
        "--app-secret", default=os.environ.get("WECHAT_APP_SECRET", DEFAULT_APP_SECRET)
    )
    parser.add_argument("--followers", type=int, default=3, help="demo followers to seed")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)

    fake = FakeWeChat(
        args.host, args.port, app_id=args.app_id, app_secret=args.app_secret, verbose=args.verbose
    )
    _seed_demo(fake, args.followers)
    stop = threading.Event()

    def _on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    fake.start()
    print(fake.url, flush=True)
    print(f"fake wechat: app_id={fake.app_id} serving on {fake.url}", file=sys.stderr, flush=True)
    try:
        while not stop.wait(0.2):
            pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
