"""CONTRACT.md §3 (message log), §4 (team access) and §5 (knowledge base) as an outside tester
over HTTP would check them: cases the other suites did not cover."""

from __future__ import annotations

import time

from tests import wxsim
from tests.functional.helpers import messages, post_xml


def _send(client, xml: str) -> None:
    assert post_xml(client, xml).status_code == 200


def test_a_limited_timeline_is_the_newest_events_even_within_one_second(client):
    """Events of one second are keyed by their name (`click` < `subscribe`): `limit=1` must
    still be the one that arrived last, as the unlimited listing says."""
    now = int(time.time())
    _send(client, wxsim.event("subscribe", openid="o_tie", create_time=now))
    _send(client, wxsim.event("CLICK", "MENU_A", openid="o_tie", create_time=now))
    everything = messages(client, "o_tie")
    assert [e["msg_type"] for e in everything] == ["event", "event"]
    assert [e["event"] for e in everything] == ["click", "subscribe"]
    assert messages(client, "o_tie", limit=1) == everything[:1]


def test_a_limited_timeline_is_the_newest_messages_whatever_their_msg_ids(client):
    """A tester's MsgIds need not grow with time: `limit=2` is still the last two sent."""
    for msg_id, content in (
        (9_000_000_003, "first"),
        (9_000_000_001, "second"),
        (9_000_000_002, "third"),
    ):
        _send(client, wxsim.text(content, "o_ids", msg_id=msg_id))
        time.sleep(0.002)  # distinct arrival milliseconds
    newest = messages(client, "o_ids", limit=2)
    assert [e["content"] for e in newest] == ["third", "second"]


def test_an_analyst_reads_everything_but_users_keys_and_the_audit_log(team):
    """§4: every GET outside users, keys and the audit log is open to an analyst (the notify
    API's status read included), and none of those three is."""
    from app import app
    from chalicelib.access import roles
    from chalicelib.handlers.routing import declared_permissions

    private = ("/admin/users", "/admin/api-keys", "/admin/audit")
    for (path, method), permission in declared_permissions(app).items():
        if method == "GET" and permission != roles.PUBLIC:
            readable = roles.allows("analyst", str(permission))
            assert readable != path.startswith(private), (path, permission)
    analyst = team.token("analyst")
    assert team.call("GET", "/admin/notify/card-txn-1", analyst).status_code == 404
    assert team.call("GET", "/admin/notify/card-txn-1", team.key("notifier")).status_code == 404
