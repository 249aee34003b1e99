"""The burst model's driver: runs inside one checkout (this one, or the previous design's, which
bench/burst.py extracts from git) as a subprocess, and prints what a burst wrote, as JSON.

    python bench/burst_drive.py --tree <checkout> --design new|old --mix <mix.json> --out <out.json>
        [--cpu N]

On moto (tables from the checkout's own `create_all()`, its bank rules and articles from
`infra/seed.py`), every message of the mix goes through the checkout's real callback pipeline,
plaintext (encryption writes nothing). Every DynamoDB write any botocore client makes is caught
before it is sent, applied to an in-memory copy of the tables (ddb_model.ItemStore, which also
prices it: moto's UpdateItem is too slow for 10,000 messages) and answered with an empty success;
reads still go to moto (rules, articles) and are priced in read units from what they asked and
got (`read_units`: the whole item, from the in-memory copy when it has it, since moto never sees
the caught writes). Existing followers' records are in the in-memory copy before the burst, with
a synced profile.

This design only: the messages' stream records (NEW_IMAGE, built from the captured puts, in
order) are split over N shards by a hash of their partition key, N = one shard per 1,000 write
units of the messages table in the burst's second, and fed to the real aggregator
(`chalicelib.aggregate.run.handle`, then the channel codes' tags, as its Lambda does) in batches
of up to 1,000 per shard, as the event source mapping delivers them (every record of a one-second
burst falls in one batching window). Then the largest batch is run again with every write
answered by an empty success at botocore's send hook (botocore still validates, serialises and
signs each request): the aggregator's CPU per batch.

With --cpu N (both designs): N more messages of the mix through the callback, writes answered the
same way, timed one by one (CPU): what one message costs each design's callback, measured alike.

Imports of the project happen only after `--tree` is on sys.path; ddb_model.py (next to this
file) is loaded by path, so both designs are priced by the same code.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
import json
import math
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TOKEN = "bursttoken"
APP_ID = "wx5f3d0c9e7a1b2c4d"
PREFIX = "wxburst"
BATCH_SIZE = 1000  # the event source mapping's (chalicelib/jobs/schedules.py)
SHARD_WCU = 1000  # one stream shard per table partition, a partition takes 1,000 WCU/s

ENV = {
    "WECHAT_TOKEN": TOKEN,
    "WECHAT_APP_ID": APP_ID,
    "WECHAT_APP_SECRET": "burst-secret",
    "WECHAT_ENCODING_AES_KEY": "",
    "ADMIN_TOKEN": "burst-admin",
    "WXLESS_TABLE_PREFIX": PREFIX,
    "WXLESS_TIMEZONE": "Asia/Shanghai",
    "WXLESS_AGGREGATE_WORKERS": "1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _load_model() -> Any:
    spec = importlib.util.spec_from_file_location("wxless_bench_ddb_model", HERE / "ddb_model.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


model = _load_model()


# -- catching the writes, pricing the reads -----------------------------------------------------

READ_BYTES = 4096  # a read unit reads 4 KB, strongly consistent; eventually consistent, 8 KB


def _units(nbytes: int, consistent: bool, factor: float = 1.0) -> float:
    """Read units of `nbytes` read at once: 0.5 per started 4 KB eventually consistent, 1
    strongly consistent, `factor` times that (2 in a transaction); 0 bytes pays the minimum."""
    return factor * (1.0 if consistent else 0.5) * max(1, math.ceil(nbytes / READ_BYTES))


def read_units(
    operation: str,
    params: dict[str, Any],
    response: dict[str, Any],
    stored: Callable[[str, dict[str, Any]], dict[str, Any] | None] = lambda _t, _k: None,
) -> float:
    """Read units of one read request, from what it asked and what it got back.

    DynamoDB bills a read on the whole item, not the ProjectionExpression's part, so an item is
    sized from `stored(table, key)` (the burst's in-memory copy: on moto the harness caught the
    writes, so it is the item a real table would hold) when that has it, else from the
    response, which under a projection understates it. GetItem / BatchGetItem / TransactGetItems
    pay per key, a missing key the minimum; Query / Scan pay on the bytes of the page, rounded up
    per request (items a FilterExpression dropped are not in the response: not counted)."""
    if operation == "GetItem":
        found = stored(params["TableName"], params["Key"]) or response.get("Item")
        return _units(model.item_size(found), bool(params.get("ConsistentRead")))
    if operation == "TransactGetItems":  # twice a strongly consistent read, per item
        gets = [entry["Get"] for entry in params["TransactItems"]]
        answers = response.get("Responses") or [{}] * len(gets)  # {} for a missing item
        pairs = zip(gets, answers, strict=True)
        found = [stored(g["TableName"], g["Key"]) or a.get("Item") for g, a in pairs]
        return sum(_units(model.item_size(item), True, 2.0) for item in found)
    if operation == "BatchGetItem":
        total, unprocessed = 0.0, response.get("UnprocessedKeys") or {}
        for table, asked in params["RequestItems"].items():
            left = unprocessed.get(table, {}).get("Keys") or []
            returned = response.get("Responses", {}).get(table, [])
            for key in asked["Keys"]:
                if key in left:
                    continue  # not read: asked again in the next request
                match = [i for i in returned if all(i.get(n) == v for n, v in key.items())]
                found = stored(table, key) or (match[0] if match else None)
                total += _units(model.item_size(found), bool(asked.get("ConsistentRead")))
        return total
    if operation in ("Query", "Scan"):  # an index's entries are what it reads: as returned
        index, items = params.get("IndexName"), response.get("Items") or []
        found = [None if index else stored(params["TableName"], item) for item in items]
        nbytes = sum(model.item_size(f or item) for f, item in zip(found, items, strict=True))
        return _units(nbytes, bool(params.get("ConsistentRead")))
    return 0.0


class Capture:
    """Every DynamoDB call, by phase: writes applied to the store and priced, reads counted and
    priced (read_units)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.phase = "setup"
        self.tallies: dict[str, Any] = {}
        self.reads: dict[str, int] = {}
        self.rru: dict[str, float] = {}
        self.operations: dict[str, dict[str, int]] = {}

    def tally(self, phase: str) -> Any:
        return self.tallies.setdefault(phase, model.Tally())

    def handle(self, operation: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """The answer for a write (None: not a write, send it on)."""
        ops = self.operations.setdefault(self.phase, {})
        ops[operation] = ops.get(operation, 0) + 1
        if operation not in model.WRITES:
            if operation in model.READS:
                self.reads[self.phase] = self.reads.get(self.phase, 0) + 1
            return None
        writes = self.store.apply(operation, params)
        self.tally(self.phase).add(writes)
        if params.get("ReturnValues") == "ALL_NEW" and writes:
            return {"Attributes": self.store.items[writes[0].table].get(writes[0].item) or {}}
        return {}

    def answered(self, operation: str, params: dict[str, Any], response: dict[str, Any]) -> None:
        """Price a read moto answered."""
        if operation in model.READS:
            units = read_units(operation, params, response, self.stored)
            self.rru[self.phase] = self.rru.get(self.phase, 0.0) + units

    def stored(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        """The in-memory copy of an item; None when the store has none (or `key` lacks one)."""
        if table not in self.store.tables:
            return None
        try:
            return self.store.get(table, key)
        except KeyError:
            return None


@contextlib.contextmanager
def intercept(capture: Capture) -> Iterator[None]:
    from botocore.client import BaseClient

    original = BaseClient._make_api_call

    def make_api_call(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if self.meta.service_model.service_name == "dynamodb":
            answer = capture.handle(operation, params)
            if answer is not None:
                return answer
            response = original(self, operation, params)
            capture.answered(operation, params, response)
            return response
        return original(self, operation, params)

    BaseClient._make_api_call = make_api_call
    try:
        yield
    finally:
        BaseClient._make_api_call = original


@contextlib.contextmanager
def canned_writes() -> Iterator[list[str]]:
    """Writes answered by an empty success at botocore's send hook (moto's stubber), so a timed
    run pays botocore's validation, serialisation, signing and parsing, and no emulator."""
    from botocore.awsrequest import AWSResponse
    from moto.core.botocore_stubber import BotocoreStubber, MockRawResponse

    sent: list[str] = []
    events = {f"before-send.dynamodb.{op}" for op in model.WRITES}
    original = BotocoreStubber.__call__

    def stub(self: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
        if event_name in events:
            sent.append(event_name)
            headers = {"Content-Type": "application/x-amz-json-1.0"}
            return AWSResponse(request.url, 200, headers, MockRawResponse(b"{}"))
        return original(self, event_name, request, **kwargs)

    BotocoreStubber.__call__ = stub
    try:
        yield sent
    finally:
        BotocoreStubber.__call__ = original


# -- the designs -------------------------------------------------------------------------------


def follower_profile(openid: str, now: int) -> dict[str, Any]:
    """A follower of some months with a synced profile (what a campaign's repliers are)."""
    n = int(hashlib.md5(openid.encode()).hexdigest()[:6], 16)
    return {
        "subscribed": True,
        "first_seen_at": now - 200 * 86400 - n % 86400,
        "first_subscribed_at": now - 200 * 86400 - n % 86400,
        "last_subscribed_at": now - 200 * 86400 - n % 86400,
        "subscribe_count": 1,
        "nickname": f"用户{n % 100000:05d}",
        "language": "zh_CN",
        "country": "中国",
        "province": "广东",
        "city": "广州",
        "region": "中国 广东 广州",
        "wechat_tags": [2],
        "subscribe_time": now - 200 * 86400 - n % 86400,
        "subscribe_scene": "ADD_SCENE_SEARCH",
        "profile_synced_at": now - 199 * 86400,
        "updated_at": now - 3 * 86400,
    }


class Design:
    """What differs between the two checkouts: their follower records and their callback."""

    def __init__(self, name: str) -> None:
        self.name = name

    def follower_item(self, openid: str, now: int) -> tuple[str, dict[str, Any]]:
        from chalicelib.store import followers

        attrs = follower_profile(openid, now)
        if self.name == "new":  # activity is read from the timeline, not kept on the record
            item = followers.item(openid, profile_sync=followers.done_flag(), **attrs)
            return followers.table_name(), item.serialize()
        n = int(hashlib.md5(openid.encode()).hexdigest()[:6], 16)
        attrs["last_interaction_at"] = now - 3 * 86400 - n % 3600
        attrs["cs_window_until"] = now - 86400 - n % 3600
        item = followers.FollowerItem(openid, profile_sync="done", **attrs)
        return f"{PREFIX}-followers", item.serialize()

    def receive(self) -> Callable[[dict[str, str], bytes], Any]:
        if self.name == "new":
            from chalicelib import wiring

            return wiring.callback().receive
        from chalicelib.handlers.callback import get_callback

        return get_callback().receive


def request(kind: str, openid: str, text: str, msg_id: int, ts: int) -> tuple[dict, bytes]:
    from chalicelib.wechat.signature import compute_signature

    head = (
        f"<xml><ToUserName><![CDATA[gh_burst]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{ts}</CreateTime>"
    )
    if kind == "subscribe":
        key = f"<EventKey><![CDATA[qrscene_{text}]]></EventKey>" if text else ""
        xml = f"{head}<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event>{key}"
    else:
        xml = (
            f"{head}<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{text}]]></Content>"
            f"<MsgId>{msg_id}</MsgId>"
        )
    nonce = str(msg_id)
    query = {"signature": compute_signature(TOKEN, str(ts), nonce), "timestamp": str(ts)}
    query["nonce"] = nonce
    return query, (xml + "</xml>").encode("utf-8")


# -- the stream --------------------------------------------------------------------------------


def stream_records(puts: list[dict[str, Any]], arn: str) -> list[dict[str, Any]]:
    """The NEW_IMAGE INSERT records of the messages the callback put, in order. Sequence
    numbers grow by irregular steps, as DynamoDB's do (regular ones would give the listing's
    page hash, a CRC, regular patterns that real streams do not show)."""
    rng = random.Random(len(puts))
    records, sequence = [], 10**20
    for i, item in enumerate(puts):
        sequence += rng.randrange(1, 10**7)
        records.append(
            {
                "eventID": f"{i:032x}",
                "eventName": "INSERT",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "eventSourceARN": arn,
                "dynamodb": {
                    "ApproximateCreationDateTime": time.time(),
                    "Keys": {k: item[k] for k in ("pk", "sk")},
                    "NewImage": item,
                    "SequenceNumber": str(sequence),
                    "SizeBytes": model.item_size(item),
                    "StreamViewType": "NEW_IMAGE",
                },
            }
        )
    return records


def shard_of(pk: str, shards: int) -> int:
    return int(hashlib.md5(pk.encode()).hexdigest(), 16) % shards


def batches(records: list[dict[str, Any]], shards: int) -> list[tuple[str, list[dict]]]:
    per_shard: list[list[dict]] = [[] for _ in range(shards)]
    for record in records:
        per_shard[shard_of(record["dynamodb"]["Keys"]["pk"]["S"], shards)].append(record)
    out = []
    for number, shard_records in enumerate(per_shard):
        shard_id = f"shardId-00000001700000000000-{number:08x}"
        for start in range(0, len(shard_records), BATCH_SIZE):
            out.append((shard_id, shard_records[start : start + BATCH_SIZE]))
    return out


def consume(event: dict[str, Any], dead_letter: Callable[[list[dict]], None]) -> dict[str, Any]:
    """What the aggregator's Lambda does with one batch (chalicelib.jobs.aggregate.handle), on
    one write thread and with our own dead-letter list: the batch, then its channel codes' tags
    (one GetItem per QR code scene of the batch)."""
    from chalicelib import wiring
    from chalicelib.aggregate import run
    from chalicelib.channels import tagging

    answer = run.handle(event, dead_letter=dead_letter, workers=1)
    if not answer["batchItemFailures"]:
        tagging.after_event(event, wiring.wechat)
    return answer


def aggregate(capture: Capture, messages_table: str) -> tuple[dict[str, Any], list[dict], str]:
    """Feed the burst's stream to the aggregator; (figures, the largest batch, stream ARN)."""
    # the store keeps insertion order: the order the callback put them, the stream's order
    puts = list(capture.store.items[messages_table].values())
    callback_tally = capture.tallies["callback"]
    messages_wcu = callback_tally.by_table.get(messages_table, 0.0)
    shards = max(1, math.ceil(messages_wcu / SHARD_WCU))
    arn = f"arn:aws:dynamodb:us-east-1:123456789012:table/{messages_table}/stream/burst"
    work = batches(stream_records(puts, arn), shards)
    poison: list[dict] = []
    capture.phase = "aggregator"
    for shard_id, records in work:
        event = {"Records": records, "shardId": shard_id, "eventSourceARN": arn, "window": {}}
        answer = consume(event, poison.extend)
        if answer.get("batchItemFailures") or poison:
            raise RuntimeError(f"the aggregator failed a batch of {shard_id}: {answer}")
    capture.phase = "done"
    biggest = max(work, key=lambda w: len(w[1]))[1]
    sizes = [len(records) for _, records in work]
    figures = {"shards": shards, "batches": len(work), "batch_sizes": sorted(sizes, reverse=True)}
    return figures, biggest, arn


def batch_cpu(records: list[dict[str, Any]], arn: str, repeat: int = 3) -> dict[str, Any]:
    """CPU seconds of one batch through the aggregator with canned writes (median of runs)."""
    samples, writes = [], 0
    for rep in range(repeat):
        event = {"Records": records, "shardId": f"shardId-cpu-{rep}", "eventSourceARN": arn}
        with canned_writes() as sent:
            start = time.thread_time()
            consume(event, lambda _: None)
            samples.append(time.thread_time() - start)
        writes = len(sent)
    return {"records": len(records), "cpu_seconds": statistics.median(samples), "writes": writes}


def callback_cpu(
    receive: Callable[[dict[str, str], bytes], Any], mix: list[list[str]], first_id: int, now: int
) -> dict[str, Any]:
    """CPU seconds of one message through the callback, writes answered by an empty success at
    botocore's send hook (botocore still validates, serialises, signs and parses): the median
    over `mix` sent again with new MsgIds (the first 20 are a warm-up), building the request
    left out."""
    samples = []
    with canned_writes() as sent:
        for i, (kind, openid, text) in enumerate(mix):
            query, body = request(kind, openid, text, first_id + i, now)
            start = time.thread_time()
            answer = receive(query, body)
            samples.append(time.thread_time() - start)
            if answer.status != 200:
                raise RuntimeError(f"message {i} answered {answer.status}: {answer.body}")
    timed = samples[20:] or samples
    return {"messages": len(timed), "cpu_seconds": statistics.median(timed), "writes": len(sent)}


# -- the run -----------------------------------------------------------------------------------


def summary(tally: Any, reads: int, rru: float, operations: dict[str, int]) -> dict[str, Any]:
    busiest = tally.busiest(8)
    return {
        "requests": tally.requests,
        "reads": reads,
        "rru": rru,
        "operations": operations,
        "wru": tally.units,
        "wru_by_table": dict(tally.by_table),
        "partitions": busiest["partitions"],
        "items": busiest["items"],
        "item_writes": sum(tally.item_writes.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tree", required=True)
    parser.add_argument("--design", choices=("new", "old"), required=True)
    parser.add_argument("--mix", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--cpu", type=int, default=0, help="then time this many messages")
    args = parser.parse_args()
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
    sys.path.insert(0, str(Path(args.tree).resolve()))
    os.chdir(args.tree)
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        os.environ.pop(name, None)
    os.environ.update(ENV)
    mix = json.loads(Path(args.mix).read_text(encoding="utf-8"))
    import logging

    logging.basicConfig(level=logging.ERROR)
    from moto import mock_aws

    design = Design(args.design)
    started = time.perf_counter()
    with mock_aws():
        from chalicelib.store.aws import client
        from chalicelib.store.tables import create_all
        from infra import seed

        create_all()
        # The bank rules (contains, prefix) this design's demo narrows; the previous design's
        # checkout has no BANK_RULES: its demo rules were these.
        bank_rules = getattr(seed, "BANK_RULES", None)
        if bank_rules:
            seed.seed_if_empty(bank_rules)
        else:
            seed.seed_if_empty()
        store = model.ItemStore(model.describe_all(client("dynamodb")))
        now = int(time.time())
        for kind, openid, _text in mix:
            if kind != "subscribe":  # repliers are followers already; subscribers are new
                store.put(*design.follower_item(openid, now))
        capture = Capture(store)
        out: dict[str, Any] = {"design": args.design, "messages": len(mix)}
        with intercept(capture):
            receive = design.receive()
            capture.phase = "callback"
            first_id = now * 1000
            t0 = time.perf_counter()
            for i, (kind, openid, text) in enumerate(mix):
                answer = receive(*request(kind, openid, text, first_id + i, now))
                if answer.status != 200:
                    raise RuntimeError(f"message {i} answered {answer.status}: {answer.body}")
            out["callback_seconds"] = time.perf_counter() - t0
            capture.phase = "done"
            if args.design == "new":
                out["stream"], biggest, arn = aggregate(capture, f"{PREFIX}-messages")
        if args.design == "new":
            out["stream"]["cpu_batch"] = batch_cpu(biggest, arn)
        if args.cpu:
            again = (mix * (1 + (args.cpu + 20) // len(mix)))[: args.cpu + 20]
            out["callback_cpu"] = callback_cpu(receive, again, first_id + len(mix), now)
        for phase, tally in capture.tallies.items():
            ops = capture.operations.get(phase, {})
            out[phase] = summary(
                tally, capture.reads.get(phase, 0), capture.rru.get(phase, 0.0), ops
            )
        whole = model.merge(capture.tallies.values())
        out["all"] = summary(whole, sum(capture.reads.values()), sum(capture.rru.values()), {})
        out["seconds"] = time.perf_counter() - started
    Path(args.out).write_text(json.dumps(out, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
