"""Outbound messages: customer service, template and mass (broadcast) messages.

Limits worth knowing (WeChat enforces them; errors map to exceptions in ``errors``):
- customer service: 5 messages within 48 h after a follower's message, 3 within 1 min after a
  click/subscribe/scan; 45015 outside the window, 45047 over the count;
- mass: 60 calls/min; ``clientmsgid`` (<= 64 bytes) dedups for 24 h: a repeat answers 45065 with
  the existing msg_id, which :class:`MessagesAPI` reports as success (``duplicate=True``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.errors import InvalidInput

from .errors import DuplicateClientMsgIdError

if TYPE_CHECKING:
    from .transport import Transport

CUSTOM_MSGTYPES = frozenset(
    {"text", "image", "voice", "video", "music", "news", "mpnews", "mpnewsarticle", "msgmenu"}
)
MASS_MSGTYPES = frozenset({"mpnews", "text", "voice", "image", "mpvideo", "wxcard"})
# The payload key differs from msgtype for mass images: {"msgtype": "image", "images": {...}}.
MASS_PAYLOAD_KEYS = {"image": "images"}
MASS_SEND_MIN = 2
MASS_SEND_MAX = 10_000
MAX_CLIENTMSGID_BYTES = 64


@dataclass(frozen=True)
class MassSendResult:
    msg_id: int
    msg_data_id: int | None = None
    #: True when WeChat answered 45065: this clientmsgid was already sent (within 24 h).
    duplicate: bool = False


def _check_clientmsgid(clientmsgid: str | None) -> None:
    if clientmsgid is None:
        return
    if not clientmsgid or len(clientmsgid.encode("utf-8")) > MAX_CLIENTMSGID_BYTES:
        raise InvalidInput(f"clientmsgid must be 1..{MAX_CLIENTMSGID_BYTES} bytes")


def _template_data(data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    # Accept {"keyword1": "text"} as shorthand for {"keyword1": {"value": "text"}}.
    out: dict[str, dict[str, Any]] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            if "value" not in value:
                raise InvalidInput(f"data.{key}: needs a 'value'")
            out[key] = dict(value)
        else:
            out[key] = {"value": str(value)}
    return out


class MessagesAPI:
    def __init__(self, client: Transport) -> None:
        self.client = client

    # ---- customer service ----------------------------------------------------------------

    def send_custom(
        self,
        openid: str,
        msgtype: str,
        payload: Mapping[str, Any],
        *,
        kf_account: str | None = None,
    ) -> None:
        """POST /cgi-bin/message/custom/send with ``{msgtype: payload}``."""
        if msgtype not in CUSTOM_MSGTYPES:
            raise InvalidInput(f"msgtype {msgtype!r}: expected one of {sorted(CUSTOM_MSGTYPES)}")
        body: dict[str, Any] = {"touser": openid, "msgtype": msgtype, msgtype: dict(payload)}
        if kf_account:
            body["customservice"] = {"kf_account": kf_account}
        self.client.post("/cgi-bin/message/custom/send", body)

    def send_text(self, openid: str, content: str, **kw: Any) -> None:
        if not content:
            raise InvalidInput("text content must not be empty")
        self.send_custom(openid, "text", {"content": content}, **kw)

    def send_image(self, openid: str, media_id: str, **kw: Any) -> None:
        self.send_custom(openid, "image", {"media_id": media_id}, **kw)

    def send_voice(self, openid: str, media_id: str, **kw: Any) -> None:
        self.send_custom(openid, "voice", {"media_id": media_id}, **kw)

    def send_video(
        self,
        openid: str,
        media_id: str,
        *,
        thumb_media_id: str | None = None,
        title: str | None = None,
        description: str | None = None,
        **kw: Any,
    ) -> None:
        payload = {
            "media_id": media_id,
            "thumb_media_id": thumb_media_id,
            "title": title,
            "description": description,
        }
        self.send_custom(openid, "video", {k: v for k, v in payload.items() if v}, **kw)

    def send_music(
        self,
        openid: str,
        *,
        musicurl: str,
        hqmusicurl: str,
        thumb_media_id: str,
        title: str | None = None,
        description: str | None = None,
        **kw: Any,
    ) -> None:
        payload = {
            "title": title,
            "description": description,
            "musicurl": musicurl,
            "hqmusicurl": hqmusicurl,
            "thumb_media_id": thumb_media_id,
        }
        self.send_custom(openid, "music", {k: v for k, v in payload.items() if v}, **kw)

    def send_news(self, openid: str, article: Mapping[str, Any], **kw: Any) -> None:
        """External-link news: WeChat allows exactly one article per customer message."""
        if not isinstance(article, Mapping):
            raise InvalidInput("send_news takes one article (a dict); WeChat allows only 1")
        for key in ("title", "url"):
            if not article.get(key):
                raise InvalidInput(f"article.{key}: required")
        self.send_custom(openid, "news", {"articles": [dict(article)]}, **kw)

    def send_mpnews(self, openid: str, media_id: str, **kw: Any) -> None:
        self.send_custom(openid, "mpnews", {"media_id": media_id}, **kw)

    def send_mpnewsarticle(self, openid: str, article_id: str, **kw: Any) -> None:
        """A published article (freepublish) by article_id."""
        self.send_custom(openid, "mpnewsarticle", {"article_id": article_id}, **kw)

    def send_menu(
        self,
        openid: str,
        head_content: str,
        items: Iterable[Mapping[str, Any] | tuple[str, str]],
        tail_content: str = "",
        **kw: Any,
    ) -> None:
        """A choice menu (msgmenu); a tap comes back as a text message with ``bizmsgmenuid``.

        ``items`` are ``{"id", "content"}`` dicts or ``(id, content)`` pairs.
        """
        menu = []
        for item in items:
            if isinstance(item, Mapping):
                menu.append({"id": str(item["id"]), "content": str(item["content"])})
            else:
                menu.append({"id": str(item[0]), "content": str(item[1])})
        if not menu:
            raise InvalidInput("menu needs at least one item")
        payload = {"head_content": head_content, "list": menu, "tail_content": tail_content}
        self.send_custom(openid, "msgmenu", payload, **kw)

    # ---- template messages ---------------------------------------------------------------

    def send_template(
        self,
        touser: str,
        template_id: str,
        data: Mapping[str, Any],
        *,
        url: str | None = None,
        miniprogram: Mapping[str, str] | None = None,
        client_msg_id: str | None = None,
    ) -> int:
        """POST /cgi-bin/message/template/send -> msgid.

        The delivery result arrives later as a TEMPLATESENDJOBFINISH event.
        """
        body: dict[str, Any] = {
            "touser": touser,
            "template_id": template_id,
            "data": _template_data(data),
        }
        if url:
            body["url"] = url
        if miniprogram:
            if not miniprogram.get("appid"):
                raise InvalidInput("miniprogram.appid: required")
            body["miniprogram"] = dict(miniprogram)
        if client_msg_id:
            body["client_msg_id"] = client_msg_id
        return int(self.client.post("/cgi-bin/message/template/send", body)["msgid"])

    def get_all_private_template(self) -> list[dict[str, Any]]:
        """GET /cgi-bin/template/get_all_private_template -> template_list."""
        data = self.client.get("/cgi-bin/template/get_all_private_template")
        return list(data.get("template_list") or [])

    # ---- mass messages -------------------------------------------------------------------

    def mass_send_all(
        self,
        msgtype: str,
        payload: Mapping[str, Any],
        *,
        tag_id: int | None = None,
        is_to_all: bool = False,
        clientmsgid: str | None = None,
        send_ignore_reprint: int = 0,
    ) -> MassSendResult:
        """POST /cgi-bin/message/mass/sendall to one tag or (``is_to_all``) every follower."""
        if is_to_all == (tag_id is not None):
            raise InvalidInput("give exactly one of tag_id or is_to_all=True")
        filt: dict[str, Any] = {"is_to_all": is_to_all}
        if tag_id is not None:
            filt["tag_id"] = tag_id
        body = self._mass_body(msgtype, payload, clientmsgid, send_ignore_reprint)
        body["filter"] = filt
        return self._mass("/cgi-bin/message/mass/sendall", body)

    def mass_send(
        self,
        openids: Iterable[str],
        msgtype: str,
        payload: Mapping[str, Any],
        *,
        clientmsgid: str | None = None,
        send_ignore_reprint: int = 0,
    ) -> MassSendResult:
        """POST /cgi-bin/message/mass/send to 2..10,000 openids (duplicates removed).

        Larger audiences need several calls, each with its own clientmsgid; that split is the
        caller's decision, since each call is a separate, separately-deduped mass send.
        """
        touser = list(dict.fromkeys(openids))
        if not MASS_SEND_MIN <= len(touser) <= MASS_SEND_MAX:
            raise InvalidInput(
                f"mass send needs {MASS_SEND_MIN}..{MASS_SEND_MAX} distinct openids, "
                f"got {len(touser)}"
            )
        body = self._mass_body(msgtype, payload, clientmsgid, send_ignore_reprint)
        body["touser"] = touser
        return self._mass("/cgi-bin/message/mass/send", body)

    def mass_preview(
        self,
        msgtype: str,
        payload: Mapping[str, Any],
        *,
        openid: str | None = None,
        wxname: str | None = None,
    ) -> int | None:
        """POST /cgi-bin/message/mass/preview to one follower (openid or WeChat ID)."""
        if (openid is None) == (wxname is None):
            raise InvalidInput("give exactly one of openid or wxname")
        body = self._mass_body(msgtype, payload, None, None)
        if openid is not None:
            body["touser"] = openid
        else:
            body["towxname"] = wxname
        data = self.client.post("/cgi-bin/message/mass/preview", body)
        return int(data["msg_id"]) if data.get("msg_id") is not None else None

    def mass_get(self, msg_id: int) -> dict[str, Any]:
        """POST /cgi-bin/message/mass/get -> {msg_id, msg_status} (SEND_SUCCESS, SENDING,
        SEND_FAIL, DELETE)."""
        return self.client.post("/cgi-bin/message/mass/get", {"msg_id": msg_id})

    def mass_delete(self, msg_id: int, article_idx: int = 0, url: str | None = None) -> None:
        """POST /cgi-bin/message/mass/delete (only the article is deleted; article_idx 0 = all)."""
        body: dict[str, Any] = {"msg_id": msg_id, "article_idx": article_idx}
        if url:
            body["url"] = url
        self.client.post("/cgi-bin/message/mass/delete", body)

    # ---- helpers -------------------------------------------------------------------------

    @staticmethod
    def _mass_body(
        msgtype: str,
        payload: Mapping[str, Any],
        clientmsgid: str | None,
        send_ignore_reprint: int | None,
    ) -> dict[str, Any]:
        if msgtype not in MASS_MSGTYPES:
            raise InvalidInput(f"mass msgtype {msgtype!r}: expected one of {sorted(MASS_MSGTYPES)}")
        _check_clientmsgid(clientmsgid)
        key = MASS_PAYLOAD_KEYS.get(msgtype, msgtype)
        body: dict[str, Any] = {"msgtype": msgtype, key: dict(payload)}
        if send_ignore_reprint is not None:
            body["send_ignore_reprint"] = int(send_ignore_reprint)
        if clientmsgid is not None:
            body["clientmsgid"] = clientmsgid
        return body

    def _mass(self, path: str, body: dict[str, Any]) -> MassSendResult:
        try:
            data = self.client.post(path, body)
        except DuplicateClientMsgIdError as exc:
            # Already sent within 24 h: the earlier job is the result (the notes: treat as sent).
            msg_id = exc.response.get("msg_id", exc.response.get("msgid"))
            if msg_id is None:
                raise
            return MassSendResult(msg_id=int(msg_id), duplicate=True)
        data_id = data.get("msg_data_id")
        return MassSendResult(
            msg_id=int(data["msg_id"]),
            msg_data_id=int(data_id) if data_id is not None else None,
        )
