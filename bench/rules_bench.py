"""Benchmark chalicelib.engine.rules: build time and median µs/message per match type.

Run: ``python bench/rules_bench.py`` (from the repo root; about 30 s). Keywords and messages are
short Chinese strings drawn with a seeded random from the 3,500 code points after U+4E00, so
runs are reproducible and some messages really hit (half of them embed a keyword).
"""

from __future__ import annotations

import logging
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chalicelib.engine.rules import compile_rules  # after the sys.path line above

SIZES = (10, 1_000, 10_000, 100_000)
# "regex*": patterns with no literal the pre-filter could use, so each one is searched.
TYPES = ("exact", "contains", "prefix", "regex", "regex*", "click")
CJK_START = 0x4E00
CJK_SPAN = 3_500  # about the size of the common-character list
MESSAGES = 400
REPEAT = 5
# Regex rules are evaluated one by one (bounded by the 50 ms budget): fewer samples keep the run
# short.
REGEX_MESSAGES = 60
REGEX_REPEAT = 1


def cjk(rng: random.Random, length: int) -> str:
    return "".join(chr(CJK_START + rng.randrange(CJK_SPAN)) for _ in range(length))


def make_rules(match: str, n: int, rng: random.Random) -> tuple[list[dict], list[str]]:
    keywords: list[str] = []
    rules = []
    for i in range(n):
        kw = cjk(rng, rng.randint(2, 4))
        keywords.append(kw)
        if match == "regex":
            pattern = "^" + kw + r"\d*"
        elif match == "regex*":
            # two-character classes: nothing in the pattern is a required literal
            pattern = "^" + "".join(f"[{c}{chr(ord(c) + 1)}]" for c in kw)
        else:
            pattern = kw
        rules.append(
            {
                "id": f"r{i}",
                "name": f"rule {i}",
                "match": match.rstrip("*"),
                "keywords": [pattern],
                "reply": {"type": "text", "content": "ok"},
                "priority": rng.randrange(5),
                "enabled": True,
                "seq": i,
            }
        )
    return rules, keywords


def make_messages(match: str, keywords: list[str], rng: random.Random, count: int) -> list[str]:
    out = []
    for i in range(count):
        if i % 2:  # a miss: random text
            out.append(cjk(rng, rng.randint(4, 20)))
            continue
        kw = rng.choice(keywords)
        if match in ("exact", "click"):
            out.append(kw)
        elif match in ("prefix", "regex", "regex*"):
            out.append(kw + cjk(rng, rng.randint(2, 12)))
        else:
            out.append(cjk(rng, rng.randint(1, 8)) + kw + cjk(rng, rng.randint(1, 8)))
    return out


def bench(
    match: str, n: int, *, n_messages: int | None = None, repeat: int | None = None
) -> tuple[float, float, int, int]:
    """(build ms, median us/message, hits, messages); `n_messages`/`repeat` override the defaults
    (the `make bench` smoke test uses tiny ones)."""
    rng = random.Random(f"{match}-{n}")
    rules, keywords = make_rules(match, n, rng)
    slow = match.startswith("regex")
    default_count, default_repeat = (REGEX_MESSAGES, REGEX_REPEAT) if slow else (MESSAGES, REPEAT)
    count, repeat = n_messages or default_count, repeat or default_repeat
    messages = make_messages(match, keywords, rng, count)
    t0 = time.perf_counter()
    ruleset = compile_rules(rules)
    build_ms = (time.perf_counter() - t0) * 1000
    fn = ruleset.match_click if match == "click" else ruleset.match_text
    hits = sum(fn(m) is not None for m in messages)
    per_msg = []
    for _ in range(repeat):
        for m in messages:
            t = time.perf_counter_ns()
            fn(m)
            per_msg.append(time.perf_counter_ns() - t)
    return build_ms, statistics.median(per_msg) / 1000, hits, len(messages)


def main() -> None:
    # Budget-exhaustion warnings are expected at 10,000+ regex rules; keep the table readable.
    logging.getLogger("chalicelib.engine.rules").setLevel(logging.ERROR)
    started = time.perf_counter()
    print(f"{'type':9} {'rules':>8} {'build ms':>10} {'median us/msg':>14} {'hits':>9}")
    for match in TYPES:
        for n in SIZES:
            build_ms, us, hits, count = bench(match, n)
            print(f"{match:9} {n:>8,} {build_ms:>10.1f} {us:>14.2f} {hits:>5}/{count}")
    print(f"total {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
