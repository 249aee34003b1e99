"""Item 3: DynamoDB requests and write units per message on a warm container, counted at botocore,
and what the stream aggregator writes for them.

The real app (Chalice's Lambda entry point through `chalice.test.Client`: the callback pipeline
with the ports chalicelib/wiring.py builds) runs on moto (`mock_aws`, tables from
`chalicelib.store.tables.create_all()`, the bank rules and demo articles of infra/seed.py). Every
DynamoDB call of every client passes `BaseClient._make_api_call`, which is wrapped to record the
operation, its outcome, its CPU and what it wrote: each item's image before and after the call is
read from moto's own tables and priced by bench/ddb_model.py (the larger of the two per started
KB, transactions twice, GSI upkeep, a failed condition still pays).

The first message of the run is the cold container (it loads the rule snapshot); the scenarios
then run on the warm container. The rule cache checks the version item at most every 2 s: that
read is counted apart ("version checks"), since it is per container and time, not per message.
Once every scenario has run, the messages table's stream is drained through the real consumer
(infra/stream_pump.py feeding `chalicelib.jobs.aggregate.handle`, as the tests do), and its
writes are counted per message delivered, amortized over its batch (a batch here holds every
message of the run, ~200; the burst model, item 6, measures batches of 1,000).

Besides counts, this measures what cost.py needs: the Lambda entry point's own CPU per keyword
reply, with the message's write answered by a canned empty success instead of moto (botocore
still validates, serialises and signs the request and parses the answer: that is Lambda time).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from bench import ddb_model
from bench.common import Row, Section, environment, quick, verdict

TOKEN = "benchtoken"
APP_ID = "wx5f3d0c9e7a1b2c4d"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ACCOUNT = "gh_bench_account"
ADMIN = "bench-admin-token"
PREFIX = "wxbench"
KEYWORD = "keyword reply"


@dataclass
class Call:
    operation: str
    params: dict[str, Any]
    ok: bool
    seconds: float
    error: str = ""
    cpu: float = 0.0  # this thread's CPU seconds inside the call (moto runs in-thread)
    writes: list[ddb_model.Write] = field(default_factory=list)

    @property
    def wru(self) -> float:
        return sum(w.total for w in self.writes)


@dataclass
class Recorder:
    calls: list[Call] = field(default_factory=list)
    canned: bool = False  # answer the message's write with an empty success instead of moto
    tables: dict[str, ddb_model.TableDef] = field(default_factory=dict)
    read_item: Callable[[str, dict], dict | None] | None = None

    def take(self) -> list[Call]:
        out, self.calls = self.calls, []
        return out


# Only the message's own write gets the canned answer; anything else still goes to moto.
CANNED_EVENTS = ("before-send.dynamodb.PutItem", "before-send.dynamodb.TransactWriteItems")


def moto_reader() -> Callable[[str, dict], dict | None]:
    """An item as moto holds it (wire format), read without a request."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][os.environ["AWS_DEFAULT_REGION"]]

    def read(table: str, key: dict) -> dict | None:
        try:
            found = backend.get_item(table, key)
        except Exception:
            return None
        return found.to_json()["Attributes"] if found else None

    return read


@contextlib.contextmanager
def count_dynamodb(tables: dict[str, ddb_model.TableDef]) -> Iterator[Recorder]:
    """Record (and price) every DynamoDB API call of every botocore client while active."""
    from botocore.awsrequest import AWSResponse
    from botocore.client import BaseClient
    from botocore.exceptions import ClientError
    from moto.core.botocore_stubber import BotocoreStubber, MockRawResponse

    recorder = Recorder(tables=tables, read_item=moto_reader())
    original = BaseClient._make_api_call

    def recording(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        if self.meta.service_model.service_name != "dynamodb":
            return original(self, operation_name, api_params)
        touched = []
        if operation_name in ddb_model.WRITES and not recorder.canned:
            for touch in ddb_model.touches(operation_name, api_params, recorder.tables):
                touched.append((touch, recorder.read_item(touch.table, touch.key)))
        start, cpu = time.perf_counter(), time.thread_time()
        call = Call(operation_name, api_params, True, 0.0)
        try:
            return original(self, operation_name, api_params)
        except ClientError as exc:
            call.ok, call.error = False, exc.response.get("Error", {}).get("Code", "")
            raise
        except Exception as exc:
            call.ok, call.error = False, type(exc).__name__
            raise
        finally:
            call.seconds = time.perf_counter() - start
            call.cpu = time.thread_time() - cpu
            for touch, before in touched:
                after = recorder.read_item(touch.table, touch.key) if call.ok else before
                call.writes.append(
                    ddb_model.write_units(
                        recorder.tables[touch.table],
                        before,
                        after,
                        op=operation_name,
                        in_transaction=touch.in_transaction,
                        ok=call.ok,
                    )
                )
            recorder.calls.append(call)

    stub_call = BotocoreStubber.__call__

    def maybe_canned(self: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
        if recorder.canned and event_name in CANNED_EVENTS:
            headers = {"Content-Type": "application/x-amz-json-1.0"}
            return AWSResponse(request.url, 200, headers, MockRawResponse(b"{}"))
        return stub_call(self, event_name, request, **kwargs)

    BaseClient._make_api_call = recording
    BotocoreStubber.__call__ = maybe_canned
    try:
        yield recorder
    finally:
        BaseClient._make_api_call = original
        BotocoreStubber.__call__ = stub_call


def bench_env(**extra: str) -> contextlib.AbstractContextManager[None]:
    """The app's settings and fake AWS credentials for the duration; restored afterwards."""
    values = {
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_APP_ID": APP_ID,
        "WECHAT_APP_SECRET": "bench-secret",
        "WECHAT_ENCODING_AES_KEY": AES_KEY,
        "ADMIN_TOKEN": ADMIN,
        "WXLESS_TABLE_PREFIX": PREFIX,
        "WXLESS_TIMEZONE": "Asia/Shanghai",
        "WXLESS_AGGREGATE_WORKERS": "1",  # moto's DynamoDB is not safe for concurrent writers
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        **extra,
    }
    return environment(values, dropped=("AWS_ENDPOINT_URL", "AWS_PROFILE"))


def is_version_check(call: Call) -> bool:
    """A snapshot cache's periodic read of a version item (per container, not per message)."""
    if call.operation != "GetItem":
        return False
    key = call.params.get("Key", {})
    return any(str(v.get("S", "")).endswith("version") for v in key.values())


# -- driving the app --------------------------------------------------------------------------


class Driver:
    def __init__(self, client: Any) -> None:
        from chalicelib.wechat.crypto import WeChatCrypto

        self.client = client
        self.crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
        self.next_id = int(time.time() * 1000)

    def request(self, inner: str) -> tuple[dict[str, str], bytes]:
        """A signed, encrypted request of one message (`inner`: its XML fields)."""
        from chalicelib.wechat.signature import compute_signature

        self.next_id += 1
        ts = str(int(time.time()))
        xml = f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>{inner}</xml>"
        nonce = str(self.next_id % 10**9)
        enc = self.crypto.encrypt(xml)
        query = {
            "signature": compute_signature(TOKEN, ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "encrypt_type": "aes",
            "msg_signature": compute_signature(TOKEN, ts, nonce, enc),
        }
        body = (
            f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<Encrypt><![CDATA[{enc}]]></Encrypt></xml>"
        )
        return query, body.encode("utf-8")

    def _head(self, openid: str, kind: str) -> str:
        return (
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[{kind}]]></MsgType>"
        )

    def text(self, content: str, openid: str) -> tuple[dict[str, str], bytes]:
        msg_id = self.next_id + 1
        body = f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId>"
        return self.request(self._head(openid, "text") + body)

    def subscribe(self, openid: str) -> tuple[dict[str, str], bytes]:
        return self.request(self._head(openid, "event") + "<Event><![CDATA[subscribe]]></Event>")

    def location(self, openid: str) -> tuple[dict[str, str], bytes]:
        msg_id = self.next_id + 1
        body = (
            "<Location_X>23.1291</Location_X><Location_Y>113.2644</Location_Y><Scale>15</Scale>"
            f"<Label><![CDATA[广州市天河区]]></Label><MsgId>{msg_id}</MsgId>"
        )
        return self.request(self._head(openid, "location") + body)

    def post(self, request: tuple[dict[str, str], bytes]) -> tuple[str, float]:
        """(reply body, this thread's CPU seconds for the whole Lambda invocation)."""
        query, body = request
        start = time.thread_time()
        response = self.client.http.post(
            f"/wechat?{urlencode(query)}", headers={"Content-Type": "text/xml"}, body=body
        )
        elapsed = time.thread_time() - start
        assert response.status_code == 200, (response.status_code, response.body)
        text = response.body.decode() if isinstance(response.body, bytes) else response.body
        return text, elapsed

    def open_reply(self, body: str) -> str:
        """The plaintext reply XML of an AES reply envelope ("success" stays as is)."""
        from chalicelib.wechat.xml import parse_xml

        if not body.startswith("<xml>"):
            return body
        return self.crypto.decrypt(parse_xml(body)["Encrypt"]).decode("utf-8")


@dataclass
class Scenario:
    name: str
    messages: int = 0
    calls: list[Call] = field(default_factory=list)
    log_bytes: int = 0  # what the app logged at WARNING and above (Python's default level)

    def counted(self) -> list[Call]:
        return [c for c in self.calls if not is_version_check(c)]

    def per_message(self) -> tuple[float, float, float]:
        """(write requests, read requests, write units) per message."""
        ops = Counter(c.operation for c in self.counted())
        writes = sum(n for op, n in ops.items() if op in ddb_model.WRITES)
        reads = sum(n for op, n in ops.items() if op in ddb_model.READS)
        wru = sum(c.wru for c in self.counted())
        return writes / self.messages, reads / self.messages, wru / self.messages

    def describe(self) -> str:
        writes, reads, wru = self.per_message()
        ops = Counter(c.operation for c in self.counted())
        detail = ", ".join(f"{op} {n / self.messages:g}" for op, n in sorted(ops.items()))
        return f"{writes:g} write + {reads:g} read, {wru:g} WRU ({detail or 'no call'})"


class LogBytes(logging.Handler):
    """Counts the bytes the app would send to CloudWatch Logs (one line per record)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.bytes = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.bytes += len(self.format(record).encode("utf-8")) + 1


def run_scenario(
    driver: Driver, recorder: Recorder, name: str, requests: list, expect: str = ""
) -> Scenario:
    """Post every request, counting DynamoDB calls; `expect`: text every reply must contain
    (after decryption), so a scenario cannot silently measure some other path."""
    scenario = Scenario(name, len(requests))
    counter = LogBytes()
    root = logging.getLogger()
    root.addHandler(counter)
    recorder.take()
    try:
        for request in requests:
            reply, _cpu = driver.post(request)
            if expect:
                assert expect in driver.open_reply(reply), (name, driver.open_reply(reply))
            scenario.calls.extend(recorder.take())
    finally:
        root.removeHandler(counter)
    scenario.log_bytes = counter.bytes
    return scenario


def measure_handler_cpu(driver: Driver, recorder: Recorder, count: int) -> tuple[float, float]:
    """(median CPU seconds of one keyword reply through the Lambda entry point, median CPU
    seconds of it inside botocore's `_make_api_call`), with DynamoDB's answer canned. Only the
    write is canned: run it while a keyword reply makes no other request."""
    requests = [driver.text("余额", f"o_cpu_{i}") for i in range(count + 20)]
    recorder.canned = True
    total, in_botocore = [], []
    try:
        for request in requests:
            recorder.take()
            total.append(driver.post(request)[1])
            in_botocore.append(sum(c.cpu for c in recorder.take()))
    finally:
        recorder.canned = False
        recorder.take()
    return statistics.median(total[20:]), statistics.median(in_botocore[20:])


def drain_stream(recorder: Recorder) -> dict[str, Any]:
    """Every message so far through the real stream consumer; what it wrote."""
    from chalicelib.jobs import aggregate
    from chalicelib.store.messages import table_name
    from infra.stream_pump import StreamPump

    pump = StreamPump(table_name, aggregate.handle)
    recorder.take()
    start = time.thread_time()
    delivered = pump.drain()
    cpu = time.thread_time() - start
    calls = recorder.take()
    mine = [c for c in calls if c.operation in ddb_model.WRITES]
    return {
        "messages": delivered,
        "batches": pump.batches,
        "failures": pump.failures,
        "writes": len(mine),
        "failed": sum(1 for c in mine if not c.ok),
        "wru": sum(c.wru for c in mine),
        "operations": dict(Counter(c.operation for c in mine)),
        "cpu_seconds": cpu,
    }


def _scenarios(driver: Driver, recorder: Recorder, count: int) -> dict[str, Scenario]:
    from chalicelib import wiring
    from infra.seed_flows import seed_flows_and_points

    def texts(content: str, tag: str) -> list:
        return [driver.text(content, f"o_{tag}_{i}") for i in range(count)]

    out: dict[str, Scenario] = {}
    keyword = texts("余额", "kw")
    out[KEYWORD] = run_scenario(driver, recorder, KEYWORD, keyword, "查询余额")
    out["default reply"] = run_scenario(
        driver, recorder, "default reply", texts("你好，请问营业时间", "df"), "没有找到相关答案"
    )
    out["retry (same MsgId)"] = run_scenario(driver, recorder, "retry", keyword, "查询余额")
    out["subscribe event"] = run_scenario(
        driver,
        recorder,
        "subscribe",
        [driver.subscribe(f"o_sub_{i}") for i in range(count)],
        "欢迎",
    )
    seed_flows_and_points()  # the demo flow (办卡) and points of service
    pipeline = wiring.callback()
    pipeline.book.invalidate()  # see them now, not in 2 s
    pipeline.places.invalidate()
    driver.post(driver.text("余额", "o_after_flow"))
    out["keyword reply, a flow enabled"] = run_scenario(
        driver, recorder, "keyword, flow", texts("余额", "kwf"), "查询余额"
    )
    for request in texts("办卡", "flow"):  # enter the flow (not counted)
        driver.post(request)
    out["in-flow message"] = run_scenario(
        driver, recorder, "in-flow", texts("借记卡", "flow"), "借记卡："
    )
    driver.post(driver.location("o_loc_warm"))  # loads the points snapshot (once per container)
    out["location message"] = run_scenario(
        driver, recorder, "location", [driver.location(f"o_loc_{i}") for i in range(count)], "网点"
    )
    return out


def run() -> Section:
    from chalice.test import Client
    from moto import mock_aws

    count = 2 if quick() else 25
    section = Section()
    with bench_env(), mock_aws():
        from chalicelib import wiring

        wiring.reset(clients=True)
        try:
            from chalicelib.store.aws import client as aws_client
            from chalicelib.store.tables import create_all
            from infra.seed import BANK_RULES, seed_if_empty

            create_all()
            seed_if_empty(BANK_RULES)
            tables = ddb_model.describe_all(aws_client("dynamodb"))
            from app import app

            with Client(app) as client, count_dynamodb(tables) as recorder:
                driver = Driver(client)
                wiring.reset()  # the next message is a cold container's first
                cold = run_scenario(driver, recorder, "cold", [driver.text("余额", "o_cold")])
                # Before any flow is enabled: with one, a keyword reply also reads the
                # follower's flow state from moto, whose CPU runs in this thread.
                handler_cpu, botocore_cpu = measure_handler_cpu(
                    driver, recorder, 5 if quick() else 200
                )
                traffic_start = time.perf_counter()
                scenarios = _scenarios(driver, recorder, count)
                elapsed = time.perf_counter() - traffic_start
                stream = drain_stream(recorder)
        finally:
            wiring.reset(clients=True)
    _report(section, cold, scenarios, stream, elapsed)
    kw = scenarios[KEYWORD]
    writes, reads, wru = kw.per_message()
    puts = [c for c in kw.counted() if c.operation == "PutItem"]
    sizes = [ddb_model.item_size(c.params["Item"]) for c in puts]
    section.data.update(
        keyword_writes=writes,
        keyword_reads=reads,
        keyword_wru=wru,
        keyword_rru=0.5 * reads,  # eventually consistent reads of small items (none expected)
        keyword_item_bytes=statistics.median(sizes) if sizes else 0,
        keyword_storage_seconds=statistics.median(c.seconds for c in kw.counted()),
        handler_seconds=handler_cpu,
        botocore_seconds=botocore_cpu,
        keyword_log_bytes=kw.log_bytes / kw.messages,
        stream=stream,
        scenarios={k: v.describe() for k, v in scenarios.items()},
        figures={"ddb_requests_keyword_reply": writes + reads, "ddb_wru_keyword_reply": wru},
    )
    data = section.data
    section.notes.append(
        f"Item 3: a keyword reply's message item is ~{data['keyword_item_bytes']:.0f} bytes"
        f" (1 KB = 1 WRU). The Lambda entry point (chalice.test.Client, the put answered by a"
        f" canned empty success) takes {handler_cpu * 1e3:.2f} ms of CPU per keyword reply"
        f" (median), of which {botocore_cpu * 1e3:.2f} ms inside botocore (validate, serialise,"
        f" sign, parse the one request); on moto the put took"
        f" {data['keyword_storage_seconds'] * 1e3:.1f} ms."
    )
    return section


def _report(
    section: Section,
    cold: Scenario,
    scenarios: dict[str, Scenario],
    stream: dict[str, Any],
    elapsed: float,
) -> None:
    for name, scenario in scenarios.items():
        row = Row("3", f"DynamoDB per message, warm: {name}", scenario.describe())
        if name == KEYWORD:
            writes, reads, wru = scenario.per_message()
            row.target = "1 request, <= 1.5 WRU (aim 1)"
            row.met = verdict(writes == 1 and reads == 0 and wru <= 1.5)
        section.rows.append(row)
    section.rows.append(Row("3", "DynamoDB, cold container's first message", cold.describe()))
    messages = max(1, stream["messages"])
    section.rows.append(
        Row(
            "3",
            "stream aggregator per message (drained through the real consumer)",
            f"{stream['writes'] / messages:.2f} writes, {stream['wru'] / messages:.2f} WRU",
            f"{stream['writes']} writes ({json.dumps(stream['operations'])}), {stream['wru']:g}"
            f" WRU for {stream['messages']} messages in {stream['batches']} batch(es);"
            f" {stream['failed']} failed conditions",
        )
    )
    version_checks = sum(
        1 for s in [cold, *scenarios.values()] for c in s.calls if is_version_check(c)
    )
    section.notes.append(
        f"Item 3: the snapshot caches read their version items {version_checks} time(s) in"
        f" {elapsed:.2f} s of traffic (at most once per 2 s per container, whatever the traffic);"
        " those reads are not counted per message. The aggregator's figure is amortized over one"
        " batch of every message of this run (many distinct followers; only their subscribes and"
        " unsubscribes write a follower record); item 6 measures it on batches of 1,000."
    )
