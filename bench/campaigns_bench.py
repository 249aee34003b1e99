"""Campaign dispatch throughput against the fake WeChat API for 100,000 followers, with AWS
emulated by moto in this process, and the projected time for 1,000,000 followers.

    .venv/bin/python -m bench.campaigns_bench             # 100,000 followers, ~1-2 min
    .venv/bin/python -m bench.campaigns_bench --sender-chunks 0   # send all 100,000 (~2 h)
    BENCH_QUICK=1 .venv/bin/python -m bench.campaigns_bench   # tiny sizes, figures meaningless

Measured, on 100,000 followers the fake WeChat holds:

A. mass send to an openid list (10 batches of 10,000): the create, then the dispatcher run that
   sends the batches, first with the mass rate limiter off (our machinery alone), then with
   WeChat's 60 calls/min enforced (real waiting); and a `sendall` to all;
B. template campaign to all: the dispatcher's planning (10 `user/get` pages into 800 chunks,
   10 transactions, 800 SQS messages), then the SQS-triggered sender on a sample of chunks
   (every recipient: claim, template/send, msg_id pointer, result), and one worker's bare
   template/send rate against the fake.

Every run also splits its wall time into moto (DynamoDB/SQS emulation: it parses every
expression and deep-copies all tables on each transaction, so it is slow and grows with the
table), the WeChat calls, and the rest ("ours": our code and botocore). The projection for
1,000,000 followers on AWS is made from "ours" (scaled to the Lambda's CPU share), the counted
AWS requests at an assumed in-region latency, assumed WeChat latencies, the configured Lambda
settings and WeChat's limits: not from moto's speed. Results go to stdout and to
bench/results/campaigns.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.cost import DDB_LATENCY_MS, LAMBDA_FULL_VCPU_MB  # noqa: E402

# Assumptions for the projection (not measurable here), besides bench.cost's DynamoDB latency
# and Lambda CPU share.
WECHAT_TEMPLATE_MS = 60.0  # one template/send from an AWS region to api.weixin.qq.com
WECHAT_MASS_MS = 500.0  # one mass/send of 10,000 openids (a bigger body, a job submission)
WECHAT_PAGE_MS = 150.0  # one user/get page of 10,000 openids
TARGET = 1_000_000


def _quick() -> bool:
    return os.environ.get("BENCH_QUICK", "") not in ("", "0")


@dataclass
class Split:
    """Where one measured span's wall time went, and the AWS requests it made."""

    wall: float = 0.0
    moto: float = 0.0
    wechat: float = 0.0
    wechat_calls: int = 0
    waiting: float = 0.0  # the mass rate limiter's sleeps
    requests: Counter[str] = field(default_factory=Counter)

    @property
    def ours(self) -> float:
        return max(0.0, self.wall - self.moto - self.wechat - self.waiting)

    @property
    def aws_requests(self) -> int:
        return sum(self.requests.values())

    def text(self) -> str:
        reqs = ", ".join(f"{k} {v}" for k, v in sorted(self.requests.items()))
        return (
            f"{self.wall:.2f} s (moto {self.moto:.2f}, WeChat {self.wechat:.2f} in "
            f"{self.wechat_calls} calls, rate-limit waits {self.waiting:.2f}, ours "
            f"{self.ours:.2f}); AWS requests: {reqs}"
        )


class Meter:
    """Times moto's request handling and the WeChat client's calls; counts AWS requests."""

    def __init__(self, wx: Any) -> None:
        from moto.core.botocore_stubber import BotocoreStubber

        from chalicelib.store.aws import client

        self.current: Split | None = None
        meter = self
        real_stub = BotocoreStubber.__call__

        def timed_stub(stub: Any, *args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return real_stub(stub, *args, **kwargs)
            finally:
                if meter.current is not None:
                    meter.current.moto += time.perf_counter() - t

        BotocoreStubber.__call__ = timed_stub  # type: ignore[method-assign]
        real_call = wx._call

        def timed_call(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return real_call(*args, **kwargs)
            finally:
                if meter.current is not None:
                    meter.current.wechat += time.perf_counter() - t
                    meter.current.wechat_calls += 1

        wx._call = timed_call
        for c in (client("dynamodb"), client("sqs")):
            c.meta.events.register("before-call", self._count, unique_id="bench-campaigns")

    def _count(self, model: Any, **_kw: Any) -> None:
        if self.current is not None:
            self.current.requests[model.name] += 1

    def sleep(self, seconds: float) -> None:
        t = time.perf_counter()
        time.sleep(seconds)
        if self.current is not None:
            self.current.waiting += time.perf_counter() - t

    @contextmanager
    def span(self) -> Iterator[Split]:
        split = Split()
        self.current = split
        t = time.perf_counter()
        try:
            yield split
        finally:
            split.wall = time.perf_counter() - t
            self.current = None


def _lambda_settings() -> dict[str, dict[str, Any]]:
    """Memory, timeout and reserved concurrency per function from .chalice/config.json (prod)."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    stage = config["stages"].get("prod") or next(iter(config["stages"].values()))
    out = {}
    for name in ("dispatch_campaigns", "send_campaign"):
        fn = stage.get("lambda_functions", {}).get(name, {})
        out[name] = {
            "memory": int(fn.get("lambda_memory_size", config.get("lambda_memory_size", 128))),
            "timeout": int(fn.get("lambda_timeout", config.get("lambda_timeout", 60))),
            "concurrency": int(fn.get("reserved_concurrency", 0) or 0),
        }
    return out


def _cpu_factor(memory_mb: int) -> float:
    return 1.0 / min(1.0, memory_mb / LAMBDA_FULL_VCPU_MB)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:,.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:,.1f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:,.1f} h"
    return f"{seconds / 86400:,.1f} days"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--followers", type=int, default=2_000 if _quick() else 100_000)
    parser.add_argument(
        "--sender-chunks",
        type=int,
        default=2 if _quick() else 8,
        help="template chunks (125 recipients each) the sender handles; 0 = all of them",
    )
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "campaigns.md"))
    args = parser.parse_args(argv)
    n = args.followers

    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        WXLESS_TABLE_PREFIX="wxbench",
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from moto import mock_aws

    from chalicelib import wiring
    from chalicelib.campaigns import admin as services
    from chalicelib.campaigns import run as campaign_run
    from chalicelib.campaigns.limits import template_daily_quota
    from chalicelib.campaigns.spec import MASS_BATCH
    from chalicelib.jobs import campaigns
    from chalicelib.store import campaign_items as items
    from chalicelib.store import campaigns as table
    from chalicelib.store.tables import create_all
    from chalicelib.wechat.api import StaticTokenProvider, WeChatClient
    from infra.fake_wechat import FakeWeChat

    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    started = time.perf_counter()
    settings = _lambda_settings()
    sends = wiring.campaign_queue
    with mock_aws(), FakeWeChat() as fake:
        create_all()
        sends().ensure()
        openids = [f"o{i:027d}" for i in range(n)]  # 28 characters, like WeChat's
        wx = WeChatClient(fake.url, token_provider=StaticTokenProvider(fake.issue_token()))
        meter = Meter(wx)

        def fresh() -> None:
            """Empty the campaign tables and the queue between measurements: moto deep-copies
            every table on each transaction, so leftovers would slow the next one down (on
            DynamoDB a table's size costs nothing)."""
            from chalicelib.store.aws import client

            ddb = client("dynamodb")
            for model in (table.CampaignRecord, items.CampaignPart):
                name = model.Meta.table_name
                keys = [
                    k["AttributeName"]
                    for k in ddb.describe_table(TableName=name)["Table"]["KeySchema"]
                ]
                for page in ddb.get_paginator("scan").paginate(TableName=name):
                    for item in page["Items"]:
                        ddb.delete_item(TableName=name, Key={k: item[k] for k in keys})
            while messages := sends().receive(10):
                for message in messages:
                    sends().delete(message["ReceiptHandle"])
            fake.reset()  # calls, jobs, messages and followers (tokens stay)
            for openid in openids:
                fake.add_follower(openid)

        say(f"# Campaign dispatch throughput: {n:,} followers, fake WeChat, moto in-process")
        say()
        say(
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} CPUs, "
            f"Python {platform.python_version()}; load average "
            f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} (a shared machine)."
        )
        say()

        # ------------------------------------------------------------------ A. mass send
        say("## A. Mass send")
        mass: dict[str, Split] = {}
        for limiter in ("off", "60/min"):
            os.environ[campaign_run.MASS_CALLS_PER_MINUTE] = "0" if limiter == "off" else "60"
            fresh()
            body = {
                "name": f"mass {limiter}",
                "audience": {"type": "openids", "openids": openids},
                "content": {"type": "text", "content": "bench"},
            }
            with meter.span() as create_split:
                created = services.create(body)
            with meter.span() as split:
                campaigns.dispatch(wx, budget=600, sleep=meter.sleep)
            mass[limiter] = split
            detail = services.detail(created["id"])
            batches = detail["progress"]["batches"]
            assert detail["status"] == "completed", detail
            assert detail["progress"]["sent"] == n, detail["progress"]
            reached = sorted(o for job in fake.mass_jobs.values() for o in job["audience"])
            assert reached == openids, "every follower in exactly one batch"
            say(
                f"- openid list, limiter {limiter}: {batches} `mass/send` calls, "
                f"{n / split.wall:,.0f} followers/s. Create {create_split.wall:.2f} s; "
                f"dispatch {split.text()}"
            )
        os.environ.pop(campaign_run.MASS_CALLS_PER_MINUTE, None)
        fresh()
        created = services.create(
            {
                "name": "mass all",
                "audience": {"type": "all"},
                "content": {"type": "text", "content": "bench"},
            }
        )
        with meter.span() as split:
            campaigns.dispatch(wx, budget=60)
        assert fake.count("/cgi-bin/message/mass/sendall") == 1
        job = next(iter(fake.mass_jobs.values()))
        assert len(job["audience"]) == n
        say(f"- all followers: one `mass/sendall` call reaching {n:,}: {split.text()}")
        say()

        # ------------------------------------------------------------------ B. template
        say("## B. Template fan-out")
        fresh()
        created = services.create(
            {
                "name": "template all",
                "audience": {"type": "all"},
                "template": {
                    "template_id": "tmpl_txn_notice_0001",
                    "data": {"first": "尊敬的客户", "keyword1": "{openid}"},
                },
            },
            client=wx,
        )
        with meter.span() as plan:
            campaigns.dispatch(wx, budget=600)
        detail = services.detail(created["id"])
        chunks = detail["progress"]["chunks"]
        chunk_size = campaign_run.template_chunk()
        assert detail["progress"]["planned"] and detail["progress"]["recipients"] == n
        say(
            f"- plan + enqueue (dispatcher): {n:,} recipients into {chunks} chunks of "
            f"{chunk_size} ({n / plan.wall:,.0f} recipients/s): {plan.text()}"
        )
        sample = chunks if args.sender_chunks <= 0 else min(chunks, args.sender_chunks)
        per_chunk: list[float] = []
        with meter.span() as send:
            handled = 0
            while handled < sample:
                messages = sends().receive(10)
                if not messages:
                    break
                for message in messages[: sample - handled]:
                    t = time.perf_counter()
                    outcome = campaigns.handle_sqs([message["Body"]], wx, budget=600)
                    per_chunk.append(time.perf_counter() - t)
                    sends().delete(message["ReceiptHandle"])
                    assert outcome == {"done": 1}, outcome
                    handled += 1
        recipients = len(fake.template_messages)
        assert len({m["touser"] for m in fake.template_messages}) == recipients
        assert recipients == min(n, sample * chunk_size)
        say(
            f"- sender (SQS handler, 1 worker), {handled} of {chunks} chunks: {recipients:,} "
            f"recipients, {recipients / send.wall:,.1f}/s (median "
            f"{statistics.median(per_chunk):.2f} s per chunk): {send.text()}"
        )
        calls = 300 if _quick() else 2_000
        t = time.perf_counter()
        for i in range(calls):
            wx.messages.send_template(
                openids[i % n], "tmpl_txn_notice_0001", {"first": "x"}, client_msg_id=f"b{i}"
            )
        bare = (time.perf_counter() - t) / calls
        say(
            f"- bare `template/send` against the fake, 1 worker, no storage: "
            f"{1 / bare:,.0f} calls/s ({bare * 1000:.2f} ms per call)"
        )
        say()

        # ------------------------------------------------------------------ measured: 100,000
        per_recipient_moto = send.wall / recipients
        sender_workers = settings["send_campaign"]["concurrency"] or 1
        say(f"## Measured for {n:,} followers (this machine, moto)")
        say(
            f"- mass send by openid list: {mass['off'].wall:.1f} s of machinery for "
            f"{math.ceil(n / MASS_BATCH)} batches; {mass['60/min'].wall:.1f} s with WeChat's "
            f"60 calls/min enforced ({n / mass['60/min'].wall:,.0f} followers/s)"
        )
        say(
            f"- template fan-out: plan + enqueue {plan.wall:.1f} s; sending "
            f"{per_recipient_moto * 1000:.0f} ms per recipient on moto, of which ours "
            f"{send.ours / recipients * 1000:.1f} ms and WeChat (fake) "
            f"{send.wechat / recipients * 1000:.2f} ms: {n:,} recipients would take "
            f"{_duration(n * per_recipient_moto)} on one worker here, "
            f"{_duration(n * per_recipient_moto / sender_workers)} on {sender_workers}"
            " (moto is the bottleneck: see the split)"
        )
        say()

        # ------------------------------------------------------------------ projection
        say(f"## Projected for {TARGET:,} followers on AWS")
        dispatcher, sender = settings["dispatch_campaigns"], settings["send_campaign"]
        d_cpu, s_cpu = _cpu_factor(dispatcher["memory"]), _cpu_factor(sender["memory"])
        budget = campaign_run.dispatch_budget()
        interval = 60.0 / 59.0  # campaign_run.mass_interval() at 60 calls/min
        # Mass: 10 campaigns of 100,000 listed openids (the cap), or a follower query: 100
        # batches either way; a tag or all is one sendall.
        batches = math.ceil(TARGET / MASS_BATCH)
        off = mass["off"]
        per_batch = (
            off.ours / (n / MASS_BATCH) * d_cpu
            + off.aws_requests / (n / MASS_BATCH) * DDB_LATENCY_MS / 1000
            + WECHAT_MASS_MS / 1000
        )
        step = max(interval, per_batch)
        per_run = max(1, int((budget - 2.0) // step))
        runs = math.ceil(batches / per_run)
        mass_total = (runs - 1) * 60 + (batches - (runs - 1) * per_run) * step
        say(
            f"- mass send, {batches} batches of {MASS_BATCH:,} (10 openid-list campaigns of "
            f"100,000, or one follower-query campaign): {per_batch:.2f} s of work per batch "
            f"(ours x{d_cpu:.1f} CPU share at {dispatcher['memory']} MB + "
            f"{off.aws_requests / (n / MASS_BATCH):.0f} AWS requests x {DDB_LATENCY_MS:g} ms + "
            f"mass/send {WECHAT_MASS_MS:g} ms), but WeChat allows one call per {interval:.2f} s "
            f"(60/min): {per_run} batches per {budget:.0f}-s dispatcher run, {runs} runs a "
            f"minute apart = **{_duration(mass_total)}** (WeChat's limit is the bound). To all "
            "followers or a tag: one `sendall`, seconds."
        )
        plan_per_recipient = plan.ours / n * d_cpu + plan.aws_requests / n * DDB_LATENCY_MS / 1000
        pages = math.ceil(TARGET / 10_000)
        plan_total = TARGET * plan_per_recipient + pages * WECHAT_PAGE_MS / 1000
        plan_runs = math.ceil(plan_total / (budget - 5.0))
        requests_per_recipient = send.aws_requests / recipients
        cpu_per_recipient = send.ours / recipients * s_cpu
        per_recipient = (
            cpu_per_recipient
            + requests_per_recipient * DDB_LATENCY_MS / 1000
            + WECHAT_TEMPLATE_MS / 1000
        )
        rate = sender_workers / per_recipient
        send_total = TARGET / rate
        quota = template_daily_quota()
        say(
            f"- template fan-out, planning: {TARGET:,} recipients in "
            f"{math.ceil(TARGET / chunk_size):,} chunks, {plan_per_recipient * 1e6:.0f} us each "
            f"+ {pages} user/get pages x {WECHAT_PAGE_MS:g} ms = {plan_total:.0f} s of "
            f"dispatcher work, spread over {plan_runs} run(s); sending starts with the first "
            "page's chunks, so planning overlaps sending."
        )
        say(
            f"- template fan-out, sending: per recipient {cpu_per_recipient * 1000:.1f} ms CPU "
            f"(ours x{s_cpu:.1f} at {sender['memory']} MB) + {requests_per_recipient:.2f} AWS "
            f"requests x {DDB_LATENCY_MS:g} ms + template/send {WECHAT_TEMPLATE_MS:g} ms = "
            f"{per_recipient * 1000:.0f} ms; {sender_workers} workers (reserved concurrency) = "
            f"{rate:,.0f} messages/s: **{_duration(send_total)}** for {TARGET:,} "
            f"(~{_duration(send_total / 10)} per 100,000)."
        )
        say(
            f"- WeChat's template quota bounds it first: the account's daily quota "
            f"(WXLESS_TEMPLATE_DAILY_QUOTA, now {quota:,}; WeChat's default 100,000, raised "
            f"for large accounts) means {TARGET:,} recipients take "
            f"**{max(1, math.ceil(TARGET / quota))} day(s)** at {quota:,}/day: past the quota "
            "WeChat answers 45009 once: every chunk is held on the queue (no WeChat call) and "
            "the campaign carries on when the quota resets at 00:00 Beijing time. Within the "
            "quota, sending scales "
            "with the sender's reserved concurrency (each worker is one sequential caller)."
        )
        say(
            f"- Assumed: {DDB_LATENCY_MS:g} ms per DynamoDB/SQS request in-region; Lambda CPU "
            f"share memory/{LAMBDA_FULL_VCPU_MB} MB of this machine's core; WeChat latencies "
            f"template/send {WECHAT_TEMPLATE_MS:g} ms, mass/send {WECHAT_MASS_MS:g} ms, user/get "
            f"{WECHAT_PAGE_MS:g} ms (the fake answers in "
            f"{send.wechat / max(1, send.wechat_calls) * 1000:.1f} ms on loopback)."
        )
        say()
        say(f"Bench wall time {time.perf_counter() - started:.0f} s.")
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
