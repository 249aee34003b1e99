"""The tags a channel QR code gives the followers who scan it, applied at WeChat
(tags/members/batchtagging) from the messages stream, never on the callback's path.

Run after the stream aggregator has written a batch (chalicelib/jobs/aggregate.py): one
GetItem per scene of the batch that came through a code (the code's id is its scene's hash),
then one batchtagging call per tag and 50 followers. Tagging is idempotent at WeChat, so a
redelivered batch tags again harmlessly. When WeChat refuses one follower (unfollowed since,
already 20 tags), the rest of the chunk is tagged one by one; when WeChat is busy or
unreachable the pairs go to the retry queue (store.channel_tagging), which a schedule drains.
Nothing here ever fails the batch: counters must not wait for WeChat.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.aggregate.summaries import Logged, channel_scene, logged
from chalicelib.store import channel_tagging, qrcodes, stream
from chalicelib.wechat.api.errors import WeChatAPIError

if TYPE_CHECKING:
    from chalicelib.wechat.api import WeChatClient

log = logging.getLogger("wxless.channels")

FindCode = Callable[[str], "dict[str, Any] | None"]


@dataclass(slots=True)
class Tagged:
    calls: int = 0
    tagged: int = 0
    queued: int = 0
    refused: int = 0


def wanted(records: Sequence[Logged], find_code: FindCode) -> dict[int, list[str]]:
    """tag id -> followers to tag, for the batch's scans and subscribes through codes."""
    by_scene: dict[str, list[str]] = {}
    for record in records:
        scene = channel_scene(record)
        if scene is not None:
            by_scene.setdefault(scene, []).append(record.openid)
    out: dict[int, dict[str, None]] = {}
    for scene, openids in by_scene.items():
        code = find_code(scene)
        for tag in (code or {}).get("tag_ids") or ():
            members = out.setdefault(int(tag), {})
            members.update(dict.fromkeys(openids))
    return {tag: list(members) for tag, members in out.items()}


def apply(work: dict[int, list[str]], wechat: WeChatClient, *, from_queue: bool = False) -> Tagged:
    """Tag every follower of `work` at WeChat. What WeChat is too busy for now is queued; with
    `from_queue`, what is done (or refused for good) leaves the queue."""
    result = Tagged()
    for tag, openids in work.items():
        try:
            result.calls += wechat.tags.tag_users(tag, openids)
            result.tagged += len(openids)
            done = [(tag, o) for o in openids]
        except WeChatAPIError as exc:
            if exc.retryable:
                result.queued += channel_tagging.add((tag, o) for o in openids)
                _log("channels.tagging_queued", tag, len(openids), exc)
                continue
            done = _one_by_one(tag, openids, wechat, result)
        if from_queue:
            channel_tagging.done(done)
    return result


def _one_by_one(
    tag: int, openids: list[str], wechat: WeChatClient, result: Tagged
) -> list[tuple[int, str]]:
    """After a refusal of a whole chunk: each follower alone, so one cannot block the rest."""
    done = []
    for openid in openids:
        try:
            result.calls += wechat.tags.tag_users(tag, [openid])
            result.tagged += 1
            done.append((tag, openid))
        except WeChatAPIError as exc:
            if exc.retryable:
                result.queued += channel_tagging.add([(tag, openid)])
            else:
                result.refused += 1
                done.append((tag, openid))  # WeChat will never take it: do not retry
                _log("channels.tagging_refused", tag, 1, exc)
    return done


def _log(event: str, tag: int, followers: int, exc: WeChatAPIError) -> None:
    log.warning(
        json.dumps({"event": event, "tag": tag, "followers": followers, "error": str(exc)[:200]})
    )


def after_batch(
    records: Sequence[Logged], wechat: Callable[[], WeChatClient], find_code: FindCode | None = None
) -> Tagged:
    """The stream side: never raises (a failure is logged; the queue has the rest)."""
    try:
        work = wanted(records, find_code or qrcodes.find_by_scene)
        return apply(work, wechat()) if work else Tagged()
    except Exception:
        log.exception("channels.tagging_failed")
        return Tagged()


def after_event(event: dict[str, Any], wechat: Callable[[], WeChatClient]) -> Tagged:
    """`after_batch` for a stream event as Lambda delivers it (decoded again: cheap next to
    the batch's writes, and it keeps the aggregator itself free of WeChat)."""
    try:
        batch, _poison = stream.decode(event)
        records = [found for r in batch.records if (found := _logged(r)) is not None]
    except Exception:
        log.exception("channels.tagging_failed")
        return Tagged()
    return after_batch(records, wechat)


def _logged(record: Any) -> Logged | None:
    try:
        return logged(record)
    except Exception:  # a poison record: the aggregator has sent it to the dead-letter queue
        return None


def retry(wechat: WeChatClient) -> Tagged:
    """The schedule's side: apply what the queue holds."""
    return apply(channel_tagging.pending(), wechat, from_queue=True)
