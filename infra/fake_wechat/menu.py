"""The custom menu: create/get/delete, conditional menus by tag, trymatch, and the self-menu
info (the menu as the account's console shows it)."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from infra.fake_wechat.protocol import ApiError, Request
from infra.fake_wechat.server import Routes


class MenuApi:
    # The state `make run` keeps between runs (state.py).
    SAVED: ClassVar[tuple[str, ...]] = ("_menu", "_conditional")
    ROUTES: ClassVar[Routes] = {
        "/cgi-bin/menu/create": ("POST", "_menu_create", True),
        "/cgi-bin/menu/get": ("GET", "_menu_get", True),
        "/cgi-bin/menu/delete": ("GET", "_menu_delete", True),
        "/cgi-bin/menu/addconditional": ("POST", "_menu_addconditional", True),
        "/cgi-bin/menu/delconditional": ("POST", "_menu_delconditional", True),
        "/cgi-bin/menu/trymatch": ("POST", "_menu_trymatch", True),
        "/cgi-bin/get_current_selfmenu_info": ("GET", "_selfmenu_info", True),
    }

    def _reset_state(self, *, tokens: bool) -> None:
        super()._reset_state(tokens=tokens)
        self._menu: dict[str, Any] | None = None
        self._conditional: dict[str, dict[str, Any]] = {}

    @property
    def menu(self) -> dict[str, Any] | None:
        with self._lock:
            return json.loads(json.dumps(self._menu)) if self._menu else None

    @staticmethod
    def _check_buttons(body: dict[str, Any]) -> list[dict[str, Any]]:
        buttons = body.get("button")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
            raise ApiError(40016, "invalid button size")
        for button in buttons:
            if not isinstance(button, dict):
                raise ApiError(47001, "data format error")
            name = str(button.get("name", ""))
            if not name or len(name.encode()) > 16:
                raise ApiError(40018, "invalid button name size")
            subs = button.get("sub_button") or []
            if len(subs) > 5:
                raise ApiError(40023, "invalid sub button size")
            for sub in subs:
                if not isinstance(sub, dict):
                    raise ApiError(47001, "data format error")
                sub_name = str(sub.get("name", ""))
                if not sub_name or len(sub_name.encode()) > 60:
                    raise ApiError(40022, "invalid sub button name size")
                if sub.get("type") == "view" and not str(sub.get("url", "")).startswith("http"):
                    raise ApiError(40054, "invalid sub button url domain")
            if button.get("type") == "view" and not str(button.get("url", "")).startswith("http"):
                raise ApiError(40055, "invalid button url domain")
        return buttons

    def _menu_create(self, req: Request) -> dict[str, Any]:
        buttons = self._check_buttons(req.body())
        self._menu = {"button": buttons, "menuid": next(self._ids)}
        return {"errcode": 0, "errmsg": "ok"}

    def _menu_get(self, req: Request) -> dict[str, Any]:
        if self._menu is None:
            raise ApiError(46003, "menu no exist")
        data: dict[str, Any] = {"menu": self._menu}
        if self._conditional:
            data["conditionalmenu"] = list(self._conditional.values())
        return data

    def _menu_delete(self, req: Request) -> dict[str, Any]:
        self._menu = None
        self._conditional.clear()
        return {"errcode": 0, "errmsg": "ok"}

    def _menu_addconditional(self, req: Request) -> dict[str, Any]:
        body = req.body()
        if self._menu is None:
            raise ApiError(65303, "there is no selfmenu, please create selfmenu first")
        buttons = self._check_buttons(body)
        rule = body.get("matchrule")
        if not isinstance(rule, dict) or not any(rule.values()):
            raise ApiError(65304, "match rule empty")
        if "tag_id" in rule and int(rule["tag_id"]) not in self._tags:
            raise ApiError(40050, "invalid tag id")
        menuid = str(next(self._ids))
        self._conditional[menuid] = {"button": buttons, "matchrule": rule, "menuid": menuid}
        return {"menuid": menuid}

    def _menu_delconditional(self, req: Request) -> dict[str, Any]:
        menuid = str(req.body().get("menuid", ""))
        if self._conditional.pop(menuid, None) is None:
            raise ApiError(65301, "this menuid does not exist")
        return {"errcode": 0, "errmsg": "ok"}

    def _menu_trymatch(self, req: Request) -> dict[str, Any]:
        user_id = str(req.body().get("user_id", ""))
        if self._menu is None:
            raise ApiError(46003, "menu no exist")
        if user_id not in self._followers:
            raise ApiError(40003, "invalid openid")
        tags = self._user_tag_ids(user_id)
        for menu in reversed(self._conditional.values()):  # the newest matching menu wins
            tag = menu["matchrule"].get("tag_id")
            if tag is not None and int(tag) in tags:
                return {"button": menu["button"]}
        return {"button": self._menu["button"]}

    def _selfmenu_info(self, req: Request) -> dict[str, Any]:
        if self._menu is None:
            return {"is_menu_open": 0}

        def convert(button: dict[str, Any]) -> dict[str, Any]:
            out = {k: v for k, v in button.items() if k != "sub_button"}
            if button.get("sub_button"):
                out["sub_button"] = {"list": [convert(s) for s in button["sub_button"]]}
            return out

        return {
            "is_menu_open": 1,
            "selfmenu_info": {"button": [convert(b) for b in self._menu["button"]]},
        }
