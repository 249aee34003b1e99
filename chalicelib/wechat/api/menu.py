"""Custom menu: create/get/delete, conditional (personalised) menus, and a validator.

WeChat's own errors for a bad menu (40016, 40018, 40054 ...) do not say which button is wrong,
so :func:`validate_menu` checks the documented limits first and names the offending field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.errors import InvalidInput

if TYPE_CHECKING:
    from .transport import Transport

MAX_BUTTONS = 3
MAX_SUB_BUTTONS = 5
MAX_NAME_BYTES = 16  # top-level title (4 Chinese characters)
MAX_SUB_NAME_BYTES = 60
MAX_KEY_BYTES = 128
MAX_URL_BYTES = 1024

# type -> fields that must be present and non-empty.
BUTTON_REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "click": ("key",),
    "view": ("url",),
    # url is the fallback page for clients without mini-program support; WeChat requires it.
    "miniprogram": ("appid", "pagepath", "url"),
    "scancode_push": ("key",),
    "scancode_waitmsg": ("key",),
    "pic_sysphoto": ("key",),
    "pic_photo_or_album": ("key",),
    "pic_weixin": ("key",),
    "location_select": ("key",),
    "media_id": ("media_id",),
    "article_id": ("article_id",),
    "article_view_limited": ("article_id",),
}
BUTTON_TYPES = frozenset(BUTTON_REQUIRED_FIELDS)

# Conditional-menu match rule keys still honoured by WeChat (sex/country/... were retired).
MATCHRULE_KEYS = frozenset(
    {"tag_id", "client_platform_type", "sex", "country", "province", "city", "language"}
)


def _utf8_len(value: str) -> int:
    return len(value.encode("utf-8"))


def _fail(path: str, message: str) -> InvalidInput:
    return InvalidInput(f"{path}: {message}")


def _check_str(button: Mapping[str, Any], key: str, path: str, max_bytes: int) -> str:
    value = button.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _fail(f"{path}.{key}", "required non-empty string")
    size = _utf8_len(value)
    if size > max_bytes:
        raise _fail(f"{path}.{key}", f"{size} bytes (UTF-8), limit {max_bytes}")
    return value


def _check_leaf(button: Mapping[str, Any], path: str) -> None:
    btype = button.get("type")
    if not isinstance(btype, str) or not btype:
        raise _fail(f"{path}.type", "required (a button without sub_button needs a type)")
    if btype not in BUTTON_TYPES:
        raise _fail(f"{path}.type", f"unknown type {btype!r}; allowed: {sorted(BUTTON_TYPES)}")
    for key in BUTTON_REQUIRED_FIELDS[btype]:
        if key == "key":
            _check_str(button, "key", path, MAX_KEY_BYTES)
        elif key == "url":
            _check_url(button, path)
        else:
            _check_str(button, key, path, MAX_URL_BYTES)


def _check_url(button: Mapping[str, Any], path: str) -> None:
    url = _check_str(button, "url", path, MAX_URL_BYTES)
    if not url.lower().startswith(("http://", "https://")):
        raise _fail(f"{path}.url", "must start with http:// or https://")


#: client_platform_type: 1 iOS, 2 Android, 3 others.
PLATFORM_TYPES = frozenset({"1", "2", "3"})


def _check_matchrule(rule: Any, path: str) -> None:
    if not isinstance(rule, Mapping) or not rule:
        raise _fail(path, "must be a non-empty object")
    unknown = set(rule) - MATCHRULE_KEYS
    if unknown:
        raise _fail(path, f"unknown keys {sorted(unknown)}")
    for key, value in rule.items():
        # WeChat takes every condition as a string ("100", "2"); ints are sent as such too.
        if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int))):
            raise _fail(f"{path}.{key}", "must be a string")
    if not any(str(v).strip() for v in rule.values() if v is not None):
        raise _fail(path, "needs at least one non-empty condition")
    tag_id = str(rule.get("tag_id") or "").strip()
    if tag_id and not (tag_id.isascii() and tag_id.isdigit()):
        raise _fail(f"{path}.tag_id", "must be a tag id (digits)")
    platform = str(rule.get("client_platform_type") or "").strip()
    if platform and platform not in PLATFORM_TYPES:
        raise _fail(f"{path}.client_platform_type", "must be 1 (iOS), 2 (Android) or 3 (others)")


def validate_menu(menu: Mapping[str, Any], *, conditional: bool = False) -> dict[str, Any]:
    """Check a menu against WeChat's limits; return it (as a dict) or raise InvalidInput.

    The message starts with the path of the bad field, e.g.
    ``menu.button[1].sub_button[0].name: 63 bytes (UTF-8), limit 60``.
    """
    if not isinstance(menu, Mapping):
        raise _fail("menu", "must be an object")
    buttons = menu.get("button")
    if not isinstance(buttons, list) or not buttons:
        raise _fail("menu.button", f"needs 1..{MAX_BUTTONS} buttons")
    if len(buttons) > MAX_BUTTONS:
        raise _fail("menu.button", f"{len(buttons)} buttons, limit {MAX_BUTTONS}")
    for i, button in enumerate(buttons):
        path = f"menu.button[{i}]"
        if not isinstance(button, Mapping):
            raise _fail(path, "must be an object")
        _check_str(button, "name", path, MAX_NAME_BYTES)
        subs = button.get("sub_button")
        if subs is None or subs == []:
            _check_leaf(button, path)
            continue
        if not isinstance(subs, list):
            raise _fail(f"{path}.sub_button", "must be a list")
        if len(subs) > MAX_SUB_BUTTONS:
            raise _fail(f"{path}.sub_button", f"{len(subs)} sub-buttons, limit {MAX_SUB_BUTTONS}")
        if button.get("type"):
            # WeChat ignores or rejects the action of a button that opens a sub-menu.
            raise _fail(f"{path}.type", "a button with sub_button must not have a type")
        for j, sub in enumerate(subs):
            sub_path = f"{path}.sub_button[{j}]"
            if not isinstance(sub, Mapping):
                raise _fail(sub_path, "must be an object")
            _check_str(sub, "name", sub_path, MAX_SUB_NAME_BYTES)
            if sub.get("sub_button"):
                raise _fail(f"{sub_path}.sub_button", "menus are at most two levels deep")
            _check_leaf(sub, sub_path)
    if conditional or "matchrule" in menu:
        _check_matchrule(menu.get("matchrule"), "menu.matchrule")
    return dict(menu)


class MenuAPI:
    def __init__(self, client: Transport) -> None:
        self.client = client

    def create(self, menu: Mapping[str, Any], *, validate: bool = True) -> None:
        """POST /cgi-bin/menu/create (replaces the default menu)."""
        body = validate_menu(menu) if validate else dict(menu)
        body.pop("matchrule", None)  # a matchrule belongs to addconditional
        self.client.post("/cgi-bin/menu/create", body)

    def get(self) -> dict[str, Any]:
        """GET /cgi-bin/menu/get: the menu set through the API (plus conditional menus)."""
        return self.client.get("/cgi-bin/menu/get")

    def get_current_selfmenu_info(self) -> dict[str, Any]:
        """GET /cgi-bin/get_current_selfmenu_info: the live menu, API- or console-made."""
        return self.client.get("/cgi-bin/get_current_selfmenu_info")

    def delete(self) -> None:
        """GET /cgi-bin/menu/delete: removes the default and every conditional menu."""
        self.client.get("/cgi-bin/menu/delete")

    def addconditional(self, menu: Mapping[str, Any], *, validate: bool = True) -> str:
        """POST /cgi-bin/menu/addconditional -> menuid. Needs a default menu to exist."""
        body = validate_menu(menu, conditional=True) if validate else dict(menu)
        data = self.client.post("/cgi-bin/menu/addconditional", body)
        return str(data["menuid"])

    def delconditional(self, menuid: str | int) -> None:
        """POST /cgi-bin/menu/delconditional."""
        self.client.post("/cgi-bin/menu/delconditional", {"menuid": str(menuid)})

    def trymatch(self, user_id: str) -> dict[str, Any]:
        """POST /cgi-bin/menu/trymatch: which menu a follower (openid or WeChat ID) sees."""
        return self.client.post("/cgi-bin/menu/trymatch", {"user_id": user_id})
