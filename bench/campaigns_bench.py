"""Campaign dispatch throughput against the fake WeChat API, with AWS emulated by moto.

    .venv/bin/python -m bench.campaigns_bench                  # 100,000 followers
    .venv/bin/python -m bench.campaigns_bench --sender-sample 0  # send to all 100,000 (slow)
    BENCH_QUICK=1 .venv/bin/python -m bench.campaigns_bench     # tiny sizes, figures meaningless

What it measures, each on 100,000 followers (the fake holds them; WeChat pages 10,000 at a time):

1. mass send to an openid list: create (the list stored as 10 batches) and the dispatcher's
   run that sends the 10 batches, first with the rate limiter off (our machinery alone), then
   with WeChat's 60 calls/min enforced (real waiting);
2. mass send to all: one `sendall`;
3. template campaign to all: the dispatcher's planning (10 `user/get` pages, 800 chunks in 10
   transactions) and the enqueueing (800 SQS messages);
4. the template sender (the SQS handler) on a sample of those chunks, or on all of them; plus
   the bare template/send call rate of one worker against the fake, without any storage.

moto runs in this process and spends ~5-15 ms of CPU per DynamoDB call (it parses every
expression and copies tables on transactions), where DynamoDB answers in single-digit ms and in
parallel; the figures are therefore lower bounds on our machinery, and the projection for
1,000,000 followers is made from WeChat's limits and the counted requests per recipient, not
from moto's speed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _quick() -> bool:
    return os.environ.get("BENCH_QUICK", "") not in ("", "0")


class CallCounter:
    """Counts botocore calls by operation on the store's clients."""

    def __init__(self) -> None:
        from chalicelib.store.aws import client

        self.counts: Counter[str] = Counter()
        self.clients = [client("dynamodb"), client("sqs")]
        for c in self.clients:
            c.meta.events.register("before-call", self._count, unique_id="bench-count")

    def _count(self, model, **_kw) -> None:
        self.counts[model.name] += 1

    def take(self) -> Counter[str]:
        out, self.counts = self.counts, Counter()
        return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--followers", type=int, default=2_000 if _quick() else 100_000)
    parser.add_argument(
        "--sender-sample",
        type=int,
        default=3 if _quick() else 8,
        help="template chunks (125 recipients each) the sender handles; 0 = all of them",
    )
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

    from chalicelib.jobs import campaign_run, campaigns
    from chalicelib.store import campaigns as store
    from chalicelib.store.tables import create_all
    from chalicelib.wechat.api import StaticTokenProvider, WeChatClient
    from infra.fake_wechat import FakeWeChat

    lines: list[str] = []

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    with mock_aws(), FakeWeChat() as fake:
        create_all()
        store.ensure_queue()
        t0 = time.perf_counter()
        openids = [f"o{i:027d}" for i in range(n)]  # 28 characters, like WeChat's
        for openid in openids:
            fake.add_follower(openid)
        wx = WeChatClient(fake.url, token_provider=StaticTokenProvider(fake.issue_token()))
        counter = CallCounter()
        say(f"# campaigns bench: {n:,} followers (fake ready in {time.perf_counter() - t0:.1f} s)")

        # 1. mass send to an openid list, limiter off, then on
        for limiter in ("off", "60/min"):
            os.environ["WXLESS_MASS_CALLS_PER_MINUTE"] = "0" if limiter == "off" else "60"
            fake.reset()
            t = time.perf_counter()
            body = {
                "name": f"mass {limiter}",
                "audience": {"type": "openids", "openids": openids},
                "content": {"type": "text", "content": "bench"},
            }
            created = campaigns.create(body)
            created_s = time.perf_counter() - t
            t = time.perf_counter()
            report = campaigns.dispatch(wx, budget=600)
            sent_s = time.perf_counter() - t
            detail = campaigns.detail(created["id"])
            assert detail["status"] == "completed", detail
            assert detail["progress"]["sent"] == n
            reached = sum(len(j["audience"]) for j in fake.mass_jobs.values())
            assert reached == n and len(fake.mass_jobs) == detail["progress"]["batches"]
            say(
                f"1. mass/send, openid list, limiter {limiter}: create {created_s:.2f} s, "
                f"dispatch {sent_s:.2f} s for {detail['progress']['batches']} batches "
                f"({n / sent_s:,.0f} followers/s); requests {dict(counter.take())}; "
                f"report {report}"
            )
            # Keep the next round inside WeChat's 4-per-follower monthly quota check.
            store.set_campaign_fields(created["id"], status=None, send_at=0.0)

        # 2. mass send to all: one sendall
        fake.reset()
        t = time.perf_counter()
        created = campaigns.create(
            {
                "name": "mass all",
                "send_at": time.time() + 40 * 86400,
                "audience": {"type": "all"},
                "content": {"type": "text", "content": "bench"},
            }
        )
        campaigns.dispatch(wx, budget=60, clock=lambda: time.time() + 40 * 86400)
        say(
            f"2. mass/sendall to all: {time.perf_counter() - t:.2f} s, "
            f"{fake.count('/cgi-bin/message/mass/sendall')} call"
        )

        # 3. template campaign to all: planning + enqueueing
        fake.reset()  # forgets followers too
        for openid in openids:
            fake.add_follower(openid)
        counter.take()
        created = campaigns.create(
            {
                "name": "template all",
                "audience": {"type": "all"},
                "template": {
                    "template_id": "tmpl_txn_notice_0001",
                    "data": {"first": "尊敬的客户", "keyword1": "{openid}"},
                },
            }
        )
        t = time.perf_counter()
        campaigns.dispatch(wx, budget=600)
        plan_s = time.perf_counter() - t
        detail = campaigns.detail(created["id"])
        chunks = detail["progress"]["chunks"]
        assert detail["progress"]["planned"] and detail["progress"]["recipients"] == n
        say(
            f"3. template fan-out, plan + enqueue: {plan_s:.2f} s for {n:,} recipients in "
            f"{chunks} chunks ({n / plan_s:,.0f} recipients/s); "
            f"requests {dict(counter.take())}"
        )

        # 4. the sender on a sample of chunks (or all), then the bare WeChat call rate
        sample = chunks if args.sender_sample <= 0 else min(chunks, args.sender_sample)
        handled, recipients = 0, 0
        t = time.perf_counter()
        per_chunk: list[float] = []
        while handled < sample:
            messages = store.receive(10)
            if not messages:
                break
            for message in messages[: sample - handled]:
                c0 = time.perf_counter()
                outcome = campaigns.handle_sqs([message["Body"]], wx, budget=600)
                per_chunk.append(time.perf_counter() - c0)
                store.delete_message(message["ReceiptHandle"])
                assert outcome == {"done": 1}, outcome
                handled += 1
        send_s = time.perf_counter() - t
        recipients = len(fake.template_messages)
        requests = counter.take()
        assert len({m["touser"] for m in fake.template_messages}) == recipients
        ddb_per = sum(v for k, v in requests.items() if k not in ("ReceiveMessage",)) / max(
            1, recipients
        )
        say(
            f"4. template sender (SQS handler, 1 worker): {recipients:,} recipients in "
            f"{send_s:.2f} s ({recipients / send_s:,.1f}/s; median "
            f"{statistics.median(per_chunk) * 1000:.0f} ms per chunk of "
            f"{campaign_run.template_chunk()}); requests {dict(requests)} "
            f"(= {ddb_per:.2f} AWS requests per recipient)"
        )
        calls = 300 if _quick() else 3_000
        t = time.perf_counter()
        for i in range(calls):
            wx.messages.send_template(
                openids[i % n], "tmpl_txn_notice_0001", {"first": "x"}, client_msg_id=f"b{i}"
            )
        bare_s = time.perf_counter() - t
        say(
            f"   bare template/send against the fake, 1 worker: {calls / bare_s:,.0f} calls/s "
            f"({bare_s / calls * 1000:.2f} ms per call)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
