"""The knowledge base: match CPU per message at 5,000 entries, the index's memory and build
time, the cold start of a container that answers from it, and the evaluation set's scores
(bench/faq_eval.py). `python -m bench.faq_bench` runs it alone.

The 5,000 entries are synthetic but shaped like a bank's: a few hundred product names (made of
common characters, so they share characters the way 金穗 / 安鑫 do) crossed with banking topics
and question templates, each with one or two alternatives; the 34 entries of the evaluation set
are among them. Messages: paraphrases from the evaluation set, entries' questions reworded, and
chatter, in equal parts.

Figures go to bench/results/latest.json (`faq_match_us_5000` and the `faq_*` ones) through
`python -m bench`, which writes them where its --output says; run alone (`python
bench/faq_bench.py`), this module merges them into bench/results/latest.json.
"""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from bench.common import ROOT, Row, Section, quick

RESULTS_JSON = ROOT / "bench" / "results" / "latest.json"
SIZE = 5_000
TARGET_US = 50.0

TOPICS = (
    ("挂失", "丢了怎么挂失"), ("密码", "密码忘了怎么办"), ("限额", "转账限额是多少"),
    ("手续费", "收手续费吗"), ("开通", "怎么开通"), ("注销", "怎么注销"), ("到账", "多久到账"),
    ("年费", "年费怎么收"), ("利率", "利率是多少"), ("分期", "可以分期吗"), ("激活", "怎么激活"),
    ("申请", "申请条件"), ("额度", "额度怎么提高"), ("账单", "账单怎么查"), ("还款", "怎么还款"),
    ("积分", "积分怎么兑换"), ("优惠", "有什么优惠活动"), ("保险", "保险怎么理赔"),
    ("赎回", "怎么赎回"), ("起购", "起购金额多少"),
)  # fmt: skip
KINDS = ("卡", "理财", "存款", "贷款", "基金", "保险", "账户", "信用卡")
TEMPLATES = ("{p}{k}{q}", "请问{p}{k}{q}", "{p}{k}的{t}")
ALT_TEMPLATES = ("{p}{t}", "{p}{k}{t}问题", "关于{p}{t}")
CHARS = "金银安鑫盈富利惠享悦添福瑞祥泰丰嘉华汇通达易乐盛隆恒信诚和信卓越尊荣臻"


def make_entries(n: int, seed: int = 16) -> list[dict[str, Any]]:
    from bench import faq_eval

    rng = random.Random(seed)
    entries = faq_eval.index_entries(faq_eval.load())
    products = sorted({"".join(rng.sample(CHARS, rng.choice((2, 2, 3)))) for _ in range(600)})
    while len(entries) < n:
        product, kind = rng.choice(products), rng.choice(KINDS)
        topic, question = rng.choice(TOPICS)
        fields = {"p": product, "k": kind, "q": question, "t": topic}
        alternatives = [
            rng.choice(ALT_TEMPLATES).format(**fields) for _ in range(rng.randint(1, 2))
        ]
        entries.append(
            {
                "id": f"e{len(entries)}",
                "question": rng.choice(TEMPLATES).format(**fields),
                "alternatives": alternatives,
                "answer": {"type": "text", "content": f"{product}{kind}的{topic}说明"},
                "category": kind,
                "enabled": True,
            }
        )
    return entries[:n]


def make_messages(entries: list[dict[str, Any]], count: int, seed: int = 5) -> list[str]:
    from bench import faq_eval

    rng = random.Random(seed)
    data = faq_eval.load()
    paraphrases = [t for e in data["entries"] for h in ("dev", "test") for t in e[h]]
    chatter = data["off_topic"]
    out = []
    for i in range(count):
        if i % 3 == 0:
            out.append(rng.choice(paraphrases))
        elif i % 3 == 1:
            entry = rng.choice(entries)
            out.append("我想问一下" + entry["question"].replace("怎么", "如何") + "呢")
        else:
            out.append(rng.choice(chatter))
    return out


def match_cpu_us(index: Any, messages: list[str], repeat: int) -> float:
    """Median over `repeat` rounds of the CPU seconds per message of faq.judge, in µs."""
    from chalicelib.engine import faq

    for text in messages[:50]:
        faq.judge(index, text)
    samples = []
    for _ in range(repeat):
        start = time.process_time()
        for text in messages:
            index.verdicts.clear()  # uncached: every message pays the whole match
            faq.judge(index, text)
        samples.append((time.process_time() - start) / len(messages) * 1e6)
    return statistics.median(samples)


_COLD = """
import json, sys, time
t0 = time.perf_counter()
from chalicelib.engine import faq
from chalicelib.engine.faq_index import FaqIndex
t1 = time.perf_counter()
from bench.faq_bench import make_entries
entries = make_entries(int(sys.argv[1]))
t2 = time.perf_counter()
index = FaqIndex(entries)
faq.judge(index, "我的储蓄卡丢了")
t3 = time.perf_counter()
print(json.dumps({"import_ms": (t1 - t0) * 1000, "build_ms": (t3 - t2) * 1000}))
"""


def cold_start(size: int) -> dict[str, float]:
    """A fresh interpreter: importing the matcher, then building the index and answering one
    message (what a cold container pays on its first unmatched text)."""
    runs = []
    for _ in range(1 if quick() else 3):
        out = subprocess.run(
            [sys.executable, "-c", _COLD, str(size)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(out.stdout))
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def memory_mb(entries: list[dict[str, Any]]) -> float:
    from chalicelib.engine.faq_index import FaqIndex

    tracemalloc.start()
    index = FaqIndex(entries)
    current, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del index
    return current / 1e6


def run() -> Section:
    from bench import faq_eval
    from chalicelib.engine.faq_index import FaqIndex

    size = 300 if quick() else SIZE
    entries = make_entries(size)
    messages = make_messages(entries, 300 if quick() else 3000)
    started = time.perf_counter()
    index = FaqIndex(entries)
    build_ms = (time.perf_counter() - started) * 1000
    us = match_cpu_us(index, messages, 3 if quick() else 7)
    mb = memory_mb(entries)
    cold = cold_start(size)
    scores = {
        half: faq_eval.evaluate((half,), (off,)).summary()
        for half, off in (("test", "off_topic"), ("holdout", "off_topic_holdout"))
    }
    figures = {
        f"faq_match_us_{SIZE}": round(us, 1),
        f"faq_build_ms_{SIZE}": round(build_ms, 1),
        f"faq_index_mb_{SIZE}": round(mb, 1),
        "faq_cold_import_ms": round(cold["import_ms"], 1),
        f"faq_cold_build_ms_{SIZE}": round(cold["build_ms"], 1),
    }
    for half, rates in scores.items():
        for name in ("right", "right_or_clarified", "wrong", "not_answered", "off_topic_answered"):
            figures[f"faq_eval_{half}_{name}_pct"] = round(rates[name] * 100, 1)
    met = "yes" if us < TARGET_US else "NO"
    rows = [
        Row("7", f"FAQ match CPU per message, {size:,} entries", f"{us:.1f} µs",
            f"index built in {build_ms:.0f} ms, {mb:.1f} MB", "", f"< {TARGET_US:.0f} µs", met),
        Row("7", "FAQ cold start (import + build + first match)",
            f"{cold['import_ms'] + cold['build_ms']:.0f} ms",
            f"import {cold['import_ms']:.0f} ms, build {cold['build_ms']:.0f} ms"),
    ]  # fmt: skip
    for half, rates in scores.items():
        rows.append(
            Row(
                "7",
                f"FAQ evaluation ({half}: paraphrases never indexed)",
                f"{rates['right']:.1%} right",
                f"{rates['right_or_clarified']:.1%} right or offered in a clarifying question, "
                f"{rates['wrong']:.1%} wrong, {rates['not_answered']:.1%} not answered, "
                f"off-topic answered {rates['off_topic_answered']:.1%}",
                "",
                ">= 85 % right, <= 3 % wrong",
                "yes" if rates["right"] >= 0.85 and rates["wrong"] <= 0.03 else "NO",
            )
        )
    notes = [
        "FAQ: CPU time (time.process_time) of engine.faq.judge per message, median of rounds; "
        "the index is built once per snapshot, never per message.",
    ]
    return Section(rows=rows, notes=notes, data={"figures": figures})


def save_figures(figures: dict[str, float]) -> None:
    """Merge into bench/results/latest.json (`{"figures": {...}}`), keeping what others wrote."""
    current: dict[str, Any] = {}
    if RESULTS_JSON.exists():
        try:
            current = json.loads(RESULTS_JSON.read_text(encoding="utf-8"))
        except ValueError:
            current = {}
    current.setdefault("figures", {}).update(figures)
    RESULTS_JSON.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_JSON.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    section = run()
    if not quick():  # run alone: merge its figures; `python -m bench` saves them itself
        save_figures(section.data["figures"])
    for row in section.rows:
        print(row.what, "|", row.value, "|", row.baseline, "|", row.met)
