"""Template messages' templates: the account's list, adding one from WeChat's library, deleting.

Sending is `MessagesAPI.send_template`; the rules a template's data must keep are in
chalicelib.wechat.templates.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from chalicelib.errors import InvalidInput

if TYPE_CHECKING:
    from .transport import Transport

MAX_TEMPLATES = 25  # an account holds at most 25 private templates


class TemplatesAPI:
    def __init__(self, client: Transport) -> None:
        self.client = client

    def list(self) -> list[dict[str, Any]]:
        """GET /cgi-bin/template/get_all_private_template -> [{template_id, title, content,
        example, primary_industry, deputy_industry}]."""
        data = self.client.get("/cgi-bin/template/get_all_private_template")
        return list(data.get("template_list") or [])

    def add(self, template_id_short: str, keyword_names: Iterable[str] = ()) -> str:
        """POST /cgi-bin/template/api_add_template -> the new template_id. A category template
        (since 2023) names the keywords it uses (`keyword_name_list`)."""
        if not template_id_short:
            raise InvalidInput("template_id_short: required")
        body: dict[str, Any] = {"template_id_short": template_id_short}
        names = [str(n) for n in keyword_names]
        if names:
            body["keyword_name_list"] = names
        return str(self.client.post("/cgi-bin/template/api_add_template", body)["template_id"])

    def delete(self, template_id: str) -> None:
        """POST /cgi-bin/template/del_private_template."""
        self.client.post("/cgi-bin/template/del_private_template", {"template_id": template_id})
