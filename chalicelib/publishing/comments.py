"""The comments of a published article, as the admin works with them: WeChat's comment API
names the article by `msg_data_id` (a freepublish's publish_id) and `index` (from 0); here it is
the publication and the article's position in it."""

from __future__ import annotations

from typing import Any

from chalicelib.errors import Conflict, InvalidInput
from chalicelib.store import publications as store

ACTIONS = ("elect", "unelect", "delete", "reply", "delete_reply")


def _article(publication_id: str, index: int) -> int:
    record = store.get(publication_id)
    if not record.get("msg_data_id") or record.get("state") not in (
        store.PUBLISHING,
        store.PUBLISHED,
    ):
        raise Conflict("comments exist only on a published publication")
    if not 0 <= index < len(record.get("article_ids") or []):
        raise InvalidInput(f"index: 0..{len(record.get('article_ids') or []) - 1}")
    return int(record["msg_data_id"])


def _comment(raw: dict[str, Any]) -> dict[str, Any]:
    reply = raw.get("reply") or None
    return {
        "id": int(raw["user_comment_id"]),
        "openid": raw.get("openid"),
        "content": raw.get("content", ""),
        "created_at": int(raw.get("create_time") or 0),
        "elected": int(raw.get("comment_type") or 0) == 1,
        "reply": {
            "content": reply.get("content", ""),
            "created_at": int(reply.get("create_time") or 0),
        }
        if reply
        else None,
    }


def list_comments(
    publication_id: str, api: Any, *, index: int, kind: str, begin: int, count: int
) -> dict[str, Any]:
    msg_data_id = _article(publication_id, index)
    page = api.comments.list(msg_data_id, index, begin, count, kind)
    return {"total": page["total"], "items": [_comment(c) for c in page["comment"]]}


def set_open(publication_id: str, api: Any, index: int, is_open: bool) -> None:
    msg_data_id = _article(publication_id, index)
    (api.comments.open if is_open else api.comments.close)(msg_data_id, index)


def act(
    publication_id: str, api: Any, action: str, *, index: int, comment_id: int,
    content: str | None = None,
) -> None:  # fmt: skip
    msg_data_id = _article(publication_id, index)
    comments = api.comments
    if action == "reply":
        if not isinstance(content, str) or not content.strip() or len(content) > 1000:
            raise InvalidInput("content: 1..1000 characters")
        comments.reply(msg_data_id, index, comment_id, content)
    elif action == "elect":
        comments.elect(msg_data_id, index, comment_id)
    elif action == "unelect":
        comments.unelect(msg_data_id, index, comment_id)
    elif action == "delete":
        comments.delete(msg_data_id, index, comment_id)
    elif action == "delete_reply":
        comments.delete_reply(msg_data_id, index, comment_id)
    else:
        raise InvalidInput(f"action: one of {', '.join(ACTIONS)}")
