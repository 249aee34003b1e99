"""Typed WeChat messages and events.

``parse_message(parse_xml(body))`` turns a callback body into one of the types below. Only the four
envelope fields are mandatory (CONTRACT.md §2); a known type missing an optional field gets an empty
default, but a present, garbage field (``Location_X="abc"``, an element where text belongs) is an
InvalidMessageError. Unknown types and events become UnknownMessage / UnknownEvent with ``raw``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from chalicelib.records import Record

from .errors import InvalidMessageError

_INT_RE = re.compile(r"[+-]?[0-9]{1,19}")  # ASCII only: int() would accept "١٢" and "1_000"
_TIME_RE = re.compile(r"[0-9]{1,19}")
_FLOAT_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")


# -- field helpers ---------------------------------------------------------------------------------


def _text(fields: dict[str, Any], name: str) -> str:
    """Optional text field: "" when absent; a nested element/list where text belongs is invalid."""
    value = fields.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidMessageError(f"{name} must be text")
    return value


def _opt_text(fields: dict[str, Any], name: str) -> str | None:
    return _text(fields, name) if name in fields else None


def _required_text(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidMessageError(f"missing {name}")
    return value


def _int(fields: dict[str, Any], name: str, default: int = 0) -> int:
    value = fields.get(name)
    if value is None or value == "":
        return default
    if not isinstance(value, str) or not _INT_RE.fullmatch(value.strip()):
        raise InvalidMessageError(f"{name} must be an integer")
    return int(value)


def _float(fields: dict[str, Any], name: str) -> float:
    value = fields.get(name)
    if value is None or value == "":
        return 0.0
    if not isinstance(value, str) or not _FLOAT_RE.fullmatch(value.strip()):
        raise InvalidMessageError(f"{name} must be a number")
    number = float(value)
    if not math.isfinite(number):  # "1e999" -> inf
        raise InvalidMessageError(f"{name} must be a finite number")
    return number


def _fmt(number: float) -> str:
    return f"{number:g}"


# -- base ------------------------------------------------------------------------------------------


class Message(Record):
    """Fields every WeChat message has. ``raw`` keeps the whole parsed document. A Record, not a
    dataclass (chalicelib/records.py: 20 types here, on the callback's cold start)."""

    __slots__ = ("create_time", "from_user", "msg_type", "raw", "to_user")
    to_user: str  # our account id (gh_...)
    from_user: str  # the follower's openid
    create_time: int
    msg_type: str  # lower-cased MsgType
    raw: dict[str, Any]

    # Subclasses that declare a field with the same name (msg_id, event_key) shadow these
    # properties with their slot; every other type reads them from ``raw``.
    @property
    def msg_id(self) -> str | None:
        value = self.raw.get("MsgId", self.raw.get("MsgID"))
        return value if isinstance(value, str) and value else None

    @property
    def is_event(self) -> bool:
        return self.msg_type == "event"

    @property
    def event(self) -> str | None:
        if not self.is_event:
            return None
        value = self.raw.get("Event")
        if not isinstance(value, str):
            return None
        return value.strip().lower() or None

    @property
    def event_key(self) -> str:
        value = self.raw.get("EventKey")
        return value if isinstance(value, str) else ""

    @property
    def dedup_key(self) -> str:
        """Identity of one delivery: WeChat retries reuse it (NOTES.md "Dedup keys")."""
        if not self.is_event:
            msg_id = self.msg_id
            if msg_id:
                return msg_id
        # Events (incl. completion events, whose MsgID identifies the job, not the delivery) and
        # messages without MsgId: LOCATION events every 5 s and doubled unsubscribes differ here.
        return f"{self.from_user}:{self.create_time}:{self.event or self.msg_type}:{self.event_key}"

    def summary(self) -> str:
        return f"[{self.msg_type}]"


# -- ordinary messages -----------------------------------------------------------------------------


class TextMessage(Message):
    __slots__ = ("content", "msg_id")
    content: str
    msg_id: str | None

    def summary(self) -> str:
        return self.content


class ImageMessage(Message):
    __slots__ = ("media_id", "pic_url")
    pic_url: str
    media_id: str

    def summary(self) -> str:
        return f"[image] {self.pic_url}".rstrip()


class VoiceMessage(Message):
    __slots__ = ("format", "media_id", "recognition")
    media_id: str
    format: str
    recognition: str  # speech-to-text, only when the account enabled it

    def summary(self) -> str:
        return f"[voice] {self.recognition}".rstrip()


class VideoMessage(Message):
    __slots__ = ("media_id", "thumb_media_id")
    media_id: str
    thumb_media_id: str

    def summary(self) -> str:
        return f"[video] {self.media_id}".rstrip()


class ShortVideoMessage(Message):
    __slots__ = ("media_id", "thumb_media_id")
    media_id: str
    thumb_media_id: str

    def summary(self) -> str:
        return f"[shortvideo] {self.media_id}".rstrip()


class LocationMessage(Message):
    __slots__ = ("label", "latitude", "longitude", "scale")
    latitude: float
    longitude: float
    scale: int
    label: str

    def summary(self) -> str:
        label = f" {self.label}" if self.label else ""
        return f"[location]{label} ({_fmt(self.latitude)},{_fmt(self.longitude)})"


class LinkMessage(Message):
    __slots__ = ("description", "title", "url")
    title: str
    description: str
    url: str

    def summary(self) -> str:
        return f"[link] {self.title} {self.url}".rstrip()


class UnknownMessage(Message):
    """A MsgType we do not model; kept whole in ``raw``."""

    __slots__ = ()


# -- events ----------------------------------------------------------------------------------------


class SubscribeEvent(Message):
    __slots__ = ("event_key", "scene", "ticket")
    event_key: str  # "qrscene_<scene>" when followed through a parametric QR code, else ""
    ticket: str
    scene: str | None

    def summary(self) -> str:
        return "[event] subscribe" + (f" qrscene={self.scene}" if self.scene is not None else "")


class UnsubscribeEvent(Message):
    __slots__ = ()

    def summary(self) -> str:
        return "[event] unsubscribe"


class ScanEvent(Message):
    """An existing follower scanned a parametric QR code."""

    __slots__ = ("event_key", "ticket")
    event_key: str  # the scene value, without prefix
    ticket: str

    def summary(self) -> str:
        return f"[event] scan {self.event_key}".rstrip()


class LocationEvent(Message):
    """Periodic location report (every 5 s while the chat is open, if enabled)."""

    __slots__ = ("latitude", "longitude", "precision")
    latitude: float
    longitude: float
    precision: float

    def summary(self) -> str:
        return f"[event] location ({_fmt(self.latitude)},{_fmt(self.longitude)})"


class ClickEvent(Message):
    __slots__ = ("event_key",)
    event_key: str

    def summary(self) -> str:
        return f"[event] click {self.event_key}".rstrip()


class ViewEvent(Message):
    __slots__ = ("event_key", "menu_id")
    event_key: str  # the URL opened
    menu_id: str

    def summary(self) -> str:
        return f"[event] view {self.event_key}".rstrip()


class TemplateSendJobFinishEvent(Message):
    __slots__ = ("msg_id", "status")
    msg_id: str | None  # spelled MsgID in this event
    status: str  # "success", "failed:user block", "failed: system failed"

    def summary(self) -> str:
        return f"[event] templatesendjobfinish {self.msg_id or ''} {self.status}".rstrip()


class MassSendJobFinishEvent(Message):
    __slots__ = ("error_count", "filter_count", "msg_id", "sent_count", "status", "total_count")
    msg_id: str | None
    status: str
    total_count: int
    filter_count: int
    sent_count: int
    error_count: int

    def summary(self) -> str:
        return (
            f"[event] masssendjobfinish {self.msg_id or ''} {self.status} "
            f"sent={self.sent_count}/{self.total_count} errors={self.error_count}"
        )


class MenuEvent(Message):
    """scancode_push / scancode_waitmsg / pic_* / location_select menu buttons.

    ``details`` is the nested info element (ScanCodeInfo, SendPicsInfo, SendLocationInfo) as
    parsed, or {} when absent.
    """

    __slots__ = ("details", "event_key")
    event_key: str
    details: dict[str, Any]

    def summary(self) -> str:
        extra = ""
        scan_result = self.details.get("ScanResult")
        if isinstance(scan_result, str) and scan_result:
            extra = f" {scan_result}"
        label = self.details.get("Label")
        if isinstance(label, str) and label:
            extra = f" {label}"
        return f"[event] {self.event} {self.event_key}{extra}".rstrip()


class UnknownEvent(Message):
    """An Event we do not model; kept whole in ``raw``."""

    __slots__ = ()

    def summary(self) -> str:
        return f"[event] {self.event or 'unknown'} {self.event_key}".rstrip()


# -- builders (registry, not an if-chain) ----------------------------------------------------------

_Base = dict[str, Any]
_Builder = Callable[[dict[str, Any], _Base], Message]


def _text_message(f: dict[str, Any], base: _Base) -> Message:
    return TextMessage(**base, content=_text(f, "Content"), msg_id=_opt_text(f, "MsgId") or None)


def _image(f: dict[str, Any], base: _Base) -> Message:
    return ImageMessage(**base, pic_url=_text(f, "PicUrl"), media_id=_text(f, "MediaId"))


def _voice(f: dict[str, Any], base: _Base) -> Message:
    return VoiceMessage(
        **base,
        media_id=_text(f, "MediaId"),
        format=_text(f, "Format"),
        recognition=_text(f, "Recognition"),
    )


def _video(f: dict[str, Any], base: _Base) -> Message:
    return VideoMessage(
        **base, media_id=_text(f, "MediaId"), thumb_media_id=_text(f, "ThumbMediaId")
    )


def _short_video(f: dict[str, Any], base: _Base) -> Message:
    return ShortVideoMessage(
        **base, media_id=_text(f, "MediaId"), thumb_media_id=_text(f, "ThumbMediaId")
    )


def _location(f: dict[str, Any], base: _Base) -> Message:
    return LocationMessage(
        **base,
        latitude=_float(f, "Location_X"),
        longitude=_float(f, "Location_Y"),
        scale=_int(f, "Scale"),
        label=_text(f, "Label"),
    )


def _link(f: dict[str, Any], base: _Base) -> Message:
    return LinkMessage(
        **base, title=_text(f, "Title"), description=_text(f, "Description"), url=_text(f, "Url")
    )


_QRSCENE = "qrscene_"


def _subscribe(f: dict[str, Any], base: _Base) -> Message:
    key = _text(f, "EventKey")
    scene = key[len(_QRSCENE) :] if key.startswith(_QRSCENE) else None
    return SubscribeEvent(**base, event_key=key, ticket=_text(f, "Ticket"), scene=scene)


def _unsubscribe(f: dict[str, Any], base: _Base) -> Message:
    return UnsubscribeEvent(**base)


def _scan(f: dict[str, Any], base: _Base) -> Message:
    return ScanEvent(**base, event_key=_text(f, "EventKey"), ticket=_text(f, "Ticket"))


def _location_event(f: dict[str, Any], base: _Base) -> Message:
    return LocationEvent(
        **base,
        latitude=_float(f, "Latitude"),
        longitude=_float(f, "Longitude"),
        precision=_float(f, "Precision"),
    )


def _click(f: dict[str, Any], base: _Base) -> Message:
    return ClickEvent(**base, event_key=_text(f, "EventKey"))


def _view(f: dict[str, Any], base: _Base) -> Message:
    return ViewEvent(**base, event_key=_text(f, "EventKey"), menu_id=_text(f, "MenuId"))


def _job_msg_id(f: dict[str, Any]) -> str | None:
    return _opt_text(f, "MsgID") or _opt_text(f, "MsgId") or None


def _template_finish(f: dict[str, Any], base: _Base) -> Message:
    return TemplateSendJobFinishEvent(**base, msg_id=_job_msg_id(f), status=_text(f, "Status"))


def _mass_finish(f: dict[str, Any], base: _Base) -> Message:
    return MassSendJobFinishEvent(
        **base,
        msg_id=_job_msg_id(f),
        status=_text(f, "Status"),
        total_count=_int(f, "TotalCount"),
        filter_count=_int(f, "FilterCount"),
        sent_count=_int(f, "SentCount"),
        error_count=_int(f, "ErrorCount"),
    )


_MENU_DETAILS = ("ScanCodeInfo", "SendPicsInfo", "SendLocationInfo")


def _menu(f: dict[str, Any], base: _Base) -> Message:
    details: dict[str, Any] = {}
    for name in _MENU_DETAILS:
        value = f.get(name)
        if isinstance(value, dict):
            details = value
            break
        if value is not None and value != "":
            raise InvalidMessageError(f"{name} must be an element")
    return MenuEvent(**base, event_key=_text(f, "EventKey"), details=details)


_MESSAGE_BUILDERS: dict[str, _Builder] = {
    "text": _text_message,
    "image": _image,
    "voice": _voice,
    "video": _video,
    "shortvideo": _short_video,
    "location": _location,
    "link": _link,
}

_EVENT_BUILDERS: dict[str, _Builder] = {
    "subscribe": _subscribe,
    "unsubscribe": _unsubscribe,
    "scan": _scan,
    "location": _location_event,
    "click": _click,
    "view": _view,
    "templatesendjobfinish": _template_finish,
    "masssendjobfinish": _mass_finish,
    "scancode_push": _menu,
    "scancode_waitmsg": _menu,
    "pic_sysphoto": _menu,
    "pic_photo_or_album": _menu,
    "pic_weixin": _menu,
    "location_select": _menu,
}


def _unknown_message(f: dict[str, Any], base: _Base) -> Message:
    return UnknownMessage(**base)


def _unknown_event(f: dict[str, Any], base: _Base) -> Message:
    return UnknownEvent(**base)


def parse_message(fields: dict[str, Any]) -> Message:
    """Build the typed message for a parsed ``<xml>`` dict; raise InvalidMessageError if invalid."""
    if not isinstance(fields, dict):
        raise InvalidMessageError("message must be an XML element")
    to_user = _required_text(fields, "ToUserName")
    from_user = _required_text(fields, "FromUserName")
    msg_type = _required_text(fields, "MsgType").strip().lower()
    create_time = fields.get("CreateTime")
    if not isinstance(create_time, str) or not _TIME_RE.fullmatch(create_time.strip()):
        raise InvalidMessageError("missing or invalid CreateTime")
    base: _Base = {
        "to_user": to_user,
        "from_user": from_user,
        "create_time": int(create_time),
        "msg_type": msg_type,
        "raw": fields,
    }
    if msg_type == "event":
        event = fields.get("Event")
        name = event.strip().lower() if isinstance(event, str) else ""
        builder = _EVENT_BUILDERS.get(name, _unknown_event)
    else:
        builder = _MESSAGE_BUILDERS.get(msg_type, _unknown_message)
    return builder(fields, base)
