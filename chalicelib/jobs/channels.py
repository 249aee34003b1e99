"""Scheduled: the channel codes' tags that WeChat could not take when their scan was summed
(chalicelib.channels.tagging, store.channel_tagging)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from chalicelib import wiring
from chalicelib.channels import tagging


def retry_tagging(event: Any = None) -> dict[str, Any]:
    return asdict(tagging.retry(wiring.wechat()))
