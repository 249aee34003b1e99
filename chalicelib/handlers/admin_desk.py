"""Admin routes of the agent desk: conversations (followers whose customer-service window is
open), a thread both ways, replies within WeChat's quota (chalicelib.cs.quota, the count that
POST /admin/messages/custom shares; 409 past it, WeChat not called), assign, close, reopen,
mark read, transfer to WeChat's customer service; and the accounts of WeChat's customer
service (kfaccount)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.desk import service
from chalicelib.errors import InvalidInput
from chalicelib.handlers.admin_wechat import send_custom_message
from chalicelib.handlers.common import (
    admin_route,
    json_response,
    query_limit,
    read_object,
)
from chalicelib.media.replies import resolve_reply
from chalicelib.wechat.api.kf import check_account, check_nickname
from chalicelib.wechat.replies import validate_reply

bp = Blueprint(__name__)
admin = admin_route(bp)

MAX_OPENID_CHARS = 128


def _openid(openid: str) -> str:
    if not openid or len(openid) > MAX_OPENID_CHARS:
        raise InvalidInput("openid is not valid")
    return openid


def _kf(kf_account: str) -> str:
    """A kf account from the path: `@` may come percent-encoded, whatever the front door did."""
    return check_account(unquote(kf_account))


def _flag(name: str) -> bool:
    raw = ((bp.current_request.query_params or {}).get(name) or "").lower()
    if raw not in ("", "true", "false", "1", "0"):
        raise InvalidInput(f"{name} must be true or false")
    return raw in ("true", "1")


@bp.route("/admin/conversations", methods=["GET"])
@admin("conversations:read")
def list_conversations() -> dict:
    request = bp.current_request
    params = request.query_params or {}
    status = params.get("status") or None
    if status is not None and status not in service.STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(service.STATUSES)}")
    return service.conversations(
        wiring.desk_walk(),
        limit=query_limit(request, 50, 200),
        status=status,
        assigned_to=params.get("assigned_to"),
    )


@bp.route("/admin/conversations/{openid}", methods=["GET"])
@admin("conversations:read")
def get_conversation(openid: str) -> dict:
    limit = query_limit(bp.current_request, 50, 200)
    return service.thread(_openid(openid), limit=limit, mark_read=_flag("mark_read"))


@bp.route("/admin/conversations/{openid}/reply", methods=["POST"])
@admin("conversations:reply")
def reply_to(openid: str) -> dict:
    openid = _openid(openid)
    message, agent, kf_account = service.check_reply(read_object(bp.current_request))
    # Checked before the quota is touched: a bad reply is a 400 whatever the window says.
    validate_reply(resolve_reply(message, None, dry=True, path="reply"))
    return service.reply(
        openid,
        message,
        lambda: send_custom_message(openid, message, kf_account),
        agent=agent,
        kf_account=kf_account,
    )


@bp.route("/admin/conversations/{openid}/assign", methods=["POST"])
@admin("conversations:reply")
def assign(openid: str) -> dict:
    body = read_object(bp.current_request)
    if set(body) != {"agent"}:
        raise InvalidInput('give {"agent": "<name>"} (null unassigns)')
    return service.assign(_openid(openid), body["agent"])


@bp.route("/admin/conversations/{openid}/close", methods=["POST"])
@admin("conversations:reply")
def close(openid: str) -> dict:
    return service.close(_openid(openid))


@bp.route("/admin/conversations/{openid}/reopen", methods=["POST"])
@admin("conversations:reply")
def reopen(openid: str) -> dict:
    return service.reopen(_openid(openid))


@bp.route("/admin/conversations/{openid}/transfer", methods=["POST"])
@admin("conversations:reply")
def transfer(openid: str) -> dict:
    body = read_object(bp.current_request)
    return service.transfer(_openid(openid), body.get("kf_account"), wiring.wechat())


# -- WeChat's customer-service accounts ------------------------------------------------------------


@bp.route("/admin/kf-accounts", methods=["GET"])
@admin("kf:read")
def list_kf_accounts() -> dict:
    kf = wiring.wechat().kf
    online = {a["kf_account"]: a for a in kf.online()}
    items = []
    for account in kf.accounts():
        live = online.get(account.get("kf_account"))
        items.append(
            {
                "kf_account": account.get("kf_account"),
                "nickname": account.get("kf_nick"),
                "kf_id": account.get("kf_id"),
                "bound_wechat": account.get("kf_wx") or None,
                "invite_status": account.get("invite_status") or None,
                "online": live is not None,
                "accepted_case": int(live.get("accepted_case") or 0) if live else 0,
            }
        )
    return {"items": items}


@bp.route("/admin/kf-accounts", methods=["POST"])
@admin("kf:write")
def add_kf_account() -> Response:
    body = read_object(bp.current_request)
    account, nickname = check_account(body.get("kf_account")), check_nickname(body.get("nickname"))
    wiring.wechat().kf.add(account, nickname)
    return json_response({"kf_account": account, "nickname": nickname}, 201)


@bp.route("/admin/kf-accounts/{kf_account}", methods=["PATCH", "PUT"])
@admin("kf:write")
def update_kf_account(kf_account: str) -> dict:
    body = read_object(bp.current_request)
    account, nickname = _kf(kf_account), check_nickname(body.get("nickname"))
    wiring.wechat().kf.update(account, nickname)
    return {"kf_account": account, "nickname": nickname}


@bp.route("/admin/kf-accounts/{kf_account}", methods=["DELETE"])
@admin("kf:write")
def delete_kf_account(kf_account: str) -> Response:
    wiring.wechat().kf.delete(_kf(kf_account))
    return Response("", status_code=204)


@bp.route("/admin/kf-accounts/{kf_account}/invite", methods=["POST"])
@admin("kf:write")
def invite_kf_worker(kf_account: str) -> dict[str, Any]:
    body = read_object(bp.current_request)
    account = _kf(kf_account)
    wiring.wechat().kf.invite(account, body.get("invite_wx"))
    return {"kf_account": account, "invited": body.get("invite_wx")}
