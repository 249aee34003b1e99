"""What the events about the account's own sending say, kept with the message for the stream
aggregator (pure; never raises: a malformed event keeps nothing and is still answered):

- subscribe_msg_popup_event: the follower answered a subscribe-notification popup, one entry per
  template: [template_id, "accept" | "reject", popup scene ("1" a web page, "2" an article)];
- subscribe_msg_change_event: the follower refused a template in their settings:
  [template_id, "reject", ""];
- subscribe_msg_sent_event: the result of each bizsend: [template_id, msgid, errcode, status];
- PUBLISHJOBFINISH: a freepublish job ended: {publish_id, status, article_id, urls, fail_idx}.
"""

from __future__ import annotations

from typing import Any

POPUP, CHANGE, SENT = (
    "subscribe_msg_popup_event",
    "subscribe_msg_change_event",
    "subscribe_msg_sent_event",
)
PUBLISH_FINISH = "publishjobfinish"
EVENTS = frozenset({POPUP, CHANGE, SENT, PUBLISH_FINISH})
# Events that report on the account's own sends (a job finished, a notification delivered):
# in the follower's timeline, but nothing the follower did.
REPORTS = frozenset({"templatesendjobfinish", "masssendjobfinish", PUBLISH_FINISH, SENT})
_CONTAINERS = {
    POPUP: "SubscribeMsgPopupEvent",
    CHANGE: "SubscribeMsgChangeEvent",
    SENT: "SubscribeMsgSentEvent",
}
MAX_ENTRIES = 20
MAX_TEXT = 128
MAX_URL = 512


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def _list(container: Any, name: str) -> list[dict[str, Any]]:
    if not isinstance(container, dict):
        return []
    found = container.get(name)
    items = found if isinstance(found, list) else [found]
    return [i for i in items if isinstance(i, dict)][:MAX_ENTRIES]


def facts(event: str | None, raw: dict[str, Any]) -> Any:
    """The event's facts to keep, or None (not one of these events, or nothing usable)."""
    try:
        return _facts(event, raw)
    except Exception:  # a malformed event: answer it, keep nothing
        return None


def _facts(event: str | None, raw: dict[str, Any]) -> Any:
    if event in (POPUP, CHANGE):
        out = []
        for entry in _list(raw.get(_CONTAINERS[event]), "List"):
            template, status = (
                _text(entry.get("TemplateId")),
                _text(entry.get("SubscribeStatusString")),
            )
            if template and status in ("accept", "reject"):
                scene = _text(entry.get("PopupScene")) if event == POPUP else ""
                out.append([template, status, scene or ("0" if event == POPUP else "")])
        return out or None
    if event == SENT:
        out = []
        for entry in _list(raw.get(_CONTAINERS[SENT]), "List"):
            template, msgid = _text(entry.get("TemplateId")), _text(entry.get("MsgID"))
            code = _text(entry.get("ErrorCode"))
            errcode = int(code) if code.lstrip("-").isdigit() else -1
            if template:
                out.append([template, msgid, errcode, _text(entry.get("ErrorStatus"))])
        return out or None
    if event == PUBLISH_FINISH:
        info = raw.get("PublishEventInfo")
        if not isinstance(info, dict) or not _text(info.get("publish_id")):
            return None
        status = _text(info.get("publish_status"))
        detail = info.get("article_detail")
        urls = [
            _text(item.get("article_url"), MAX_URL)
            for item in _list(detail, "item")
            if _text(item.get("article_url"))
        ]
        fail = info.get("fail_idx")
        fail_idx = [_text(f) for f in (fail if isinstance(fail, list) else [fail]) if _text(f)]
        return {
            "publish_id": _text(info.get("publish_id")),
            "status": int(status) if status.isdigit() else -1,
            "article_id": _text(info.get("article_id")),
            "urls": urls[:8],
            "fail_idx": fail_idx[:8],
        }
    return None
