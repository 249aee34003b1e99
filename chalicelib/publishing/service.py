"""Freepublish: CMS articles -> a WeChat draft (draft/add) -> published (freepublish/submit) ->
WeChat's outcome (the PUBLISHJOBFINISH event, or freepublish/get when an admin refreshes).

Each step is recorded on the publication before the next one runs, so a failure leaves it where
it stopped (`failed` with the error; the admin publishes again), never a half-known state:
a crash between draft/add and our record leaves an unused draft at WeChat, nothing published.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from typing import Any

from chalicelib.errors import Conflict, InvalidInput
from chalicelib.publishing.drafts import draft_articles
from chalicelib.store import articles
from chalicelib.store import publications as store
from chalicelib.wechat.api import WeChatAPIError

log = logging.getLogger("wxless.publishing")

MAX_ARTICLES = 8
# freepublish/get's publish_status -> the publication's state.
OUTCOMES = {
    0: store.PUBLISHED,
    1: store.PUBLISHING,
    2: store.FAILED,  # originality check failed
    3: store.FAILED,
    4: store.FAILED,  # audit failed
    5: store.DELETED,
    6: store.DELETED,  # banned after publishing
}
REASONS = {
    2: "WeChat's originality check failed",
    3: "publishing failed",
    4: "WeChat's audit refused it",
    5: "deleted",
    6: "banned by WeChat after publishing",
}
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _bool(body: Mapping[str, Any], key: str) -> bool:
    value = body.get(key, False)
    if not isinstance(value, bool):
        raise InvalidInput(f"{key}: true or false")
    return value


def validate(body: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(body) - {"article_ids", "thumb_media_id", "thumb_media", "open_comment",
                                  "fans_only_comment"})  # fmt: skip
    if unknown:
        raise InvalidInput(f"unknown field(s): {', '.join(unknown)}")
    ids = body.get("article_ids")
    if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_ARTICLES:
        raise InvalidInput(f"article_ids: 1..{MAX_ARTICLES} CMS article ids")
    if not all(isinstance(i, str) and _ID.fullmatch(i) for i in ids) or len(set(ids)) != len(ids):
        raise InvalidInput("article_ids: distinct article ids")
    if ("thumb_media_id" in body) == ("thumb_media" in body):
        raise InvalidInput(
            "give the cover as thumb_media_id (permanent material) or thumb_media (a media item)"
        )
    for key in ("thumb_media_id", "thumb_media"):
        if key in body and (not isinstance(body[key], str) or not body[key].strip()):
            raise InvalidInput(f"{key}: a non-empty string")
    spec = {
        "article_ids": list(ids),
        "thumb_media_id": body.get("thumb_media_id"),
        "thumb_media": body.get("thumb_media"),
        "open_comment": _bool(body, "open_comment"),
        "fans_only_comment": _bool(body, "fans_only_comment"),
    }
    for article_id in ids:
        if articles.get_published(article_id) is None:
            raise InvalidInput(f"article_ids: {article_id} is not a published CMS article")
    return spec


def publish(spec: dict[str, Any], api: Any, base_url: str, now: float | None = None) -> dict:
    """Draft and submit; -> the publication (state publishing, or failed with the error)."""
    from chalicelib.media.service import permanent_media_id

    now = time.time() if now is None else now
    thumb = spec["thumb_media_id"] or permanent_media_id(spec["thumb_media"], api)
    titles = [articles.get_article(i)["title"] for i in spec["article_ids"]]
    record = store.create(
        {
            "id": store.new_id(now),
            "state": store.DRAFTING,
            "article_ids": spec["article_ids"],
            "titles": titles,
            "thumb_media_id": thumb,
            "open_comment": spec["open_comment"],
            "fans_only_comment": spec["fans_only_comment"],
            "created_at": int(now),
            "updated_at": int(now),
        }
    )
    pid = record["id"]
    drafts = draft_articles(
        spec["article_ids"], thumb, base_url,
        open_comment=spec["open_comment"], fans_only_comment=spec["fans_only_comment"],
    )  # fmt: skip
    try:
        media_id = api.draft.add(drafts)
        store.update(pid, media_id=media_id, updated_at=int(time.time()))
        publish_id = api.freepublish.submit(media_id)
    except WeChatAPIError as exc:
        store.update(pid, state=store.FAILED, error=exc.message[:300], updated_at=int(time.time()))
        raise
    store.put_pointer(publish_id, pid)
    return store.update(
        pid,
        state=store.PUBLISHING,
        publish_id=publish_id,
        msg_data_id=publish_id,  # what the comment API names the article by
        updated_at=int(time.time()),
    )


def record_outcome(publication_id: str, outcome: Mapping[str, Any], now: float) -> dict:
    """WeChat's outcome ({status, article_id, urls, fail_idx}) on the publication."""
    status = int(outcome.get("status", -1))
    state = OUTCOMES.get(status, store.FAILED)
    fields: dict[str, Any] = {"state": state, "publish_status": status, "updated_at": int(now)}
    if outcome.get("article_id"):
        fields["wechat_article_id"] = str(outcome["article_id"])
    if outcome.get("urls"):
        fields["urls"] = [str(u) for u in outcome["urls"]]
    if state == store.PUBLISHED:
        fields["published_at"] = int(now)
    elif status in REASONS:
        fields["error"] = REASONS[status]
        if outcome.get("fail_idx"):
            fields["fail_idx"] = [str(i) for i in outcome["fail_idx"]]
    return store.update(publication_id, **fields)


def refresh(publication_id: str, api: Any, now: float | None = None) -> dict:
    """Ask WeChat (freepublish/get) for a publication still publishing."""
    record = store.get(publication_id)
    if record.get("state") != store.PUBLISHING or not record.get("publish_id"):
        return record
    answer = api.freepublish.get(record["publish_id"])
    detail = answer.get("article_detail") or {}
    outcome = {
        "status": int(answer.get("publish_status", -1)),
        "article_id": answer.get("article_id") or "",
        "urls": [i.get("article_url") for i in detail.get("item") or [] if i.get("article_url")],
        "fail_idx": answer.get("fail_idx") or [],
    }
    return record_outcome(publication_id, outcome, time.time() if now is None else now)


def finished(facts: Mapping[str, Any], now: float) -> None:
    """A PUBLISHJOBFINISH (the stream aggregator): record it on its publication, if ours."""
    publication_id = store.by_publish_id(str(facts.get("publish_id") or ""))
    if publication_id is None:
        return  # published elsewhere (the WeChat console)
    record_outcome(publication_id, facts, now)


def delete(publication_id: str, api: Any, now: float | None = None) -> dict:
    """Take a published article down (freepublish/delete, every article of it)."""
    record = store.get(publication_id)
    if record.get("state") != store.PUBLISHED or not record.get("wechat_article_id"):
        raise Conflict("only a published publication can be deleted (refresh it first)")
    api.freepublish.delete(record["wechat_article_id"], 0)
    now = time.time() if now is None else now
    return store.update(publication_id, state=store.DELETED, updated_at=int(now))
