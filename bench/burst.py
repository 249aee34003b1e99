"""Item 6: a campaign-day burst of 10,000 messages from 10,000 followers within one second,
through the real write plan: this design and the previous one (today's, commit OLD_COMMIT) side by
side. Reported: the busiest partition key of any table or index in write units per second (bar
<= 500; a partition takes 1,000) and the busiest item in writes per second (bar <= 100).

The mix (seeded, the same for both designs): 45 % "余额" (exact rule, text reply), 25 % "我想办一张
信用卡" (contains rule, news reply), 10 % "转账手续费是多少" (prefix rule), 12 % questions no rule
answers (default reply; 50 distinct texts), 8 % subscribe events from new followers (half of them
scanning a campaign QR code). Every replier is an existing follower with a synced profile; every
follower sends one message.

Each design runs in its own interpreter (bench/burst_drive.py, which says how writes are caught,
applied and priced); the previous design from `git archive OLD_COMMIT`, unpacked once into the
temporary directory. "Per second" counts every write the burst causes as falling in that second:
the callback's writes do, and the aggregator's land within its one-second batching window plus
its run, so counting them all in one second overstates it, never understates it.

A second, smaller run of this design (KEYWORD_BATCH keyword replies, one shard, one batch) gives
cost.py the aggregator's writes, write units, reads, read units and CPU for a batch of keyword
replies.
"""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from bench.common import ROOT, Row, Section, quick, verdict
from bench.ddb_model import READS

OLD_COMMIT = "9ab1bca"  # the write plan before issue #14: one 4-item transaction per message
BURST = 10_000
KEYWORD_BATCH = 1_000
CPU_TIMED = 300  # keyword replies timed through each design's callback after its keyword batch
TARGET_PARTITION_WCU = 500
TARGET_ITEM_WRITES = 100
POPULAR = (("余额", 0.45), ("我想办一张信用卡", 0.25), ("转账手续费是多少", 0.10))
UNANSWERED = 0.12
QUESTIONS = [f"请问{place}周末营业吗，第{n}个问题" for place in ("天河", "越秀") for n in range(25)]


def aggregate_workers() -> int:
    """The deployed aggregator's write threads (the template sets none: the default)."""
    from chalicelib import config

    return int(config.get(config.AGGREGATE_WORKERS))


def campaign_mix(count: int, seed: int = 14) -> list[list[str]]:
    """[kind, openid, text or scene] per follower, one message each."""
    rng = random.Random(seed)
    mix = []
    for i in range(count):
        openid = f"oCampaign{i:08d}x{rng.randrange(16**6):06x}"
        roll = rng.random()
        for text, share in POPULAR:
            if roll < share:
                mix.append(["text", openid, text])
                break
            roll -= share
        else:
            if roll < UNANSWERED:
                mix.append(["text", openid, rng.choice(QUESTIONS)])
            else:
                mix.append(["subscribe", openid, "spring_campaign" if rng.random() < 0.5 else ""])
    return mix


def keyword_mix(count: int) -> list[list[str]]:
    texts = [text for text, _ in POPULAR]
    return [["text", f"oKeyword{i:08d}", texts[i % len(texts)]] for i in range(count)]


def old_tree() -> Path:
    """The previous design's checkout, unpacked once from git."""
    target = Path(tempfile.gettempdir()) / f"wxless-bench-{OLD_COMMIT}"
    marker = target / ".unpacked"
    if marker.exists():
        return target
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", OLD_COMMIT],
        capture_output=True,
        check=True,
    ).stdout
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    marker.write_text(OLD_COMMIT, encoding="utf-8")
    return target


def drive(
    tree: Path, design: str, mix: list[list[str]], work: Path, cpu: int = 0
) -> dict[str, Any]:
    """bench/burst_drive.py in a fresh interpreter (`cpu`: messages to time after); its JSON."""
    mix_file = work / f"{design}-{len(mix)}-mix.json"
    out_file = work / f"{design}-{len(mix)}-out.json"
    mix_file.write_text(json.dumps(mix, ensure_ascii=False), encoding="utf-8")
    command = [
        sys.executable,
        str(ROOT / "bench" / "burst_drive.py"),
        *("--tree", str(tree), "--design", design),
        *("--mix", str(mix_file), "--out", str(out_file)),
        *("--cpu", str(cpu)),
    ]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tree)
    if done.returncode != 0:
        raise RuntimeError(f"burst_drive.py ({design}) failed:\n{done.stderr[-3000:]}")
    return json.loads(out_file.read_text(encoding="utf-8"))


def _short(name: str) -> str:
    return name.removeprefix("wxburst-")


def _busiest(result: dict[str, Any]) -> tuple[tuple[str, str, float], tuple[str, str, float]]:
    whole = result["all"]
    return tuple(whole["partitions"][0]), tuple(whole["items"][0])  # type: ignore[return-value]


def _rows(section: Section, label: str, result: dict[str, Any], *, judged: bool) -> None:
    (part, key, wcu), (table, item, writes) = _busiest(result)
    messages = result["messages"]
    second = [f"{_short(p)} {k!r} {u:g}" for p, k, u in result["all"]["partitions"][1:4]]
    row = Row(
        "6",
        f"burst {messages:,} msg/s, {label}: busiest partition key",
        f"{wcu:,.0f} WCU/s",
        f"{_short(part)} {key!r}; next: {', '.join(second)}",
    )
    if judged:
        row.target, row.met = (
            f"<= {TARGET_PARTITION_WCU} WCU/s",
            verdict(wcu <= TARGET_PARTITION_WCU),
        )
    section.rows.append(row)
    row = Row(
        "6",
        f"burst {messages:,} msg/s, {label}: busiest item",
        f"{writes:,.0f} writes/s",
        f"{_short(table)} {item!r}",
    )
    if judged:
        row.target = f"<= {TARGET_ITEM_WRITES} writes/s"
        row.met = verdict(writes <= TARGET_ITEM_WRITES)
    section.rows.append(row)
    phases = [phase for phase in ("callback", "aggregator") if phase in result]
    parts = [f"{phase} {result[phase]['requests']:,} requests, {result[phase]['wru']:,.0f} WRU"
             for phase in phases]  # fmt: skip
    total = result["all"]["wru"]
    section.rows.append(
        Row(
            "6",
            f"burst {messages:,} msg/s, {label}: write units",
            f"{total / messages:.2f} WRU/msg",
            "; ".join(parts)
            + "; by table: "
            + ", ".join(f"{_short(t)} {u:,.0f}" for t, u in result["all"]["wru_by_table"].items()),
        )
    )
    parts = [f"{phase} {result[phase]['reads']:,} requests ({_reads(result[phase])}),"
             f" {result[phase]['rru']:,.1f} RRU" for phase in phases]  # fmt: skip
    section.rows.append(
        Row(
            "6",
            f"burst {messages:,} msg/s, {label}: read units",
            f"{result['all']['rru'] / messages:.2f} RRU/msg",
            "; ".join(parts) + "; the whole item per key or page, priced by burst_drive.read_units",
        )
    )


def _reads(phase: dict[str, Any]) -> str:
    """A phase's read requests by operation, e.g. "BatchGetItem 10"."""
    ops = [f"{op} {n:,}" for op, n in phase["operations"].items() if op in READS]
    return ", ".join(ops) or "none"


def keyword_figures(batch: dict[str, Any]) -> dict[str, float]:
    """Per keyword reply of a keyword batch: the callback's requests and write units, and its
    CPU (writes answered at botocore's send hook)."""
    messages, callback = batch["messages"], batch["callback"]
    return {
        "requests": (callback["requests"] + callback["reads"]) / messages,
        "wru": callback["wru"] / messages,
        "cpu_seconds": batch["callback_cpu"]["cpu_seconds"],
    }


def _keyword_row(label: str, batch: dict[str, Any]) -> Row:
    got = keyword_figures(batch)
    ops = ", ".join(
        f"{op} {n / batch['messages']:g}" for op, n in batch["callback"]["operations"].items()
    )
    return Row(
        "6",
        f"{batch['messages']:,} keyword replies, {label}: the callback per message",
        f"{got['wru']:.2f} WRU",
        f"{got['requests']:g} request(s) ({ops}); CPU {got['cpu_seconds'] * 1e3:.2f} ms through"
        " the pipeline (plaintext, write answered at botocore's send hook)",
    )


def _before(old: dict[str, Any], batch: dict[str, Any]) -> dict[str, Any]:
    """The previous design's figures for cost.py and latest.json."""
    (_, _, wcu), (_, _, writes) = _busiest(old)
    return {
        "commit": OLD_COMMIT,
        "config": str(old_tree() / ".chalice" / "config.json"),
        "keyword": keyword_figures(batch),
        "burst_wru_per_msg": old["all"]["wru"] / old["messages"],
        "burst_max_partition_wcu_per_s": wcu,
        "burst_max_item_writes_per_s": writes,
    }


def run() -> Section:
    small = quick()
    section = Section()
    with tempfile.TemporaryDirectory(prefix="wxless-burst-") as tmp:
        work = Path(tmp)
        mix = campaign_mix(300 if small else BURST)
        new = drive(ROOT, "new", mix, work)
        keywords, timed = keyword_mix(100 if small else KEYWORD_BATCH), 30 if small else CPU_TIMED
        batch = drive(ROOT, "new", keywords, work, cpu=timed)
        old: dict[str, Any] | None = None
        old_batch: dict[str, Any] | None = None
        try:
            tree = old_tree()
            old = drive(tree, "old", mix, work)
            old_batch = drive(tree, "old", keywords, work, cpu=timed)
        except (OSError, subprocess.CalledProcessError, RuntimeError) as exc:
            why = str(exc).strip().splitlines()[-1:]
            section.notes.append(f"Item 6: today's design ({OLD_COMMIT}) did not run: {why}")
    _rows(section, "this design", new, judged=True)
    stream = new["stream"]
    section.rows.append(
        Row(
            "6",
            f"burst {new['messages']:,} msg/s, this design: stream",
            f"{stream['shards']} shards, {stream['batches']} batches",
            f"records per batch {stream['batch_sizes']}; records split over shards by a hash of"
            " their partition key, one shard per 1,000 WCU/s of the messages table",
        )
    )
    if old is not None:
        _rows(section, f"today's design ({OLD_COMMIT})", old, judged=False)
    section.rows.append(_keyword_row("this design", batch))
    if old_batch is not None:
        section.rows.append(_keyword_row(f"today's design ({OLD_COMMIT})", old_batch))
    (_, _, wcu), (_, _, writes) = _busiest(new)
    cpu = batch["stream"]["cpu_batch"]
    section.data.update(
        new=new,
        old=old,
        keyword_batch=batch,
        before=_before(old, old_batch) if old and old_batch else None,
        callback_cpu_seconds=batch["callback_cpu"]["cpu_seconds"],
        aggregator_batch={
            "messages": batch["messages"],
            "batches": batch["stream"]["batches"],
            "cpu_seconds": cpu["cpu_seconds"],
            "writes": batch["aggregator"]["requests"],
            "wru": batch["aggregator"]["wru"],
            "reads": batch["aggregator"]["reads"],
            "read_operations": {
                op: n for op, n in batch["aggregator"]["operations"].items() if op in READS
            },
            "rru": batch["aggregator"]["rru"],
            "wru_by_table": batch["aggregator"]["wru_by_table"],
            "workers": aggregate_workers(),
        },
        figures={"burst_max_partition_wcu_per_s": wcu, "burst_max_item_writes_per_s": writes},
    )
    before = section.data["before"]
    if before:  # the previous design's figures, for the README's before/after table
        section.data["figures"].update(
            before_ddb_requests_keyword_reply=round(before["keyword"]["requests"], 3),
            before_ddb_wru_keyword_reply=round(before["keyword"]["wru"], 3),
            before_burst_max_partition_wcu_per_s=before["burst_max_partition_wcu_per_s"],
            before_burst_max_item_writes_per_s=before["burst_max_item_writes_per_s"],
            burst_wru_per_msg=round(new["all"]["wru"] / new["messages"], 3),
            before_burst_wru_per_msg=round(before["burst_wru_per_msg"], 3),
        )
    section.notes.append(
        "Item 6: campaign-day mix (bench/burst.py): 45 % 余额, 25 % 信用卡 (news), 10 % 转账,"
        " 12 % unanswered questions, 8 % subscribes of new followers; repliers are existing"
        " followers with synced profiles. Writes are priced by bench/ddb_model.py (the larger of"
        " the item before and after per started KB, transactions twice, GSI upkeep once);"
        " every write of the burst is counted in its one second (bench/burst_drive.py)."
    )
    return section
