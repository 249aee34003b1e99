"""The WeChat callback over HTTP: `GET /wechat` (URL verification) and `POST /wechat` (messages).

HTTP in, HTTP out, nothing else: the message pipeline (chalicelib/engine/pipeline.py) does the
work with the ports the composition root gives it (chalicelib/wiring.py).
"""

from __future__ import annotations

import logging

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.cms.links import base_url_from_request
from chalicelib.engine.pipeline import SUCCESS, Answer

log = logging.getLogger("wxless.callback")
bp = Blueprint(__name__)


def _reply(answer: Answer) -> Response:
    return Response(
        answer.body, status_code=answer.status, headers={"Content-Type": answer.content_type}
    )


@bp.route("/wechat", methods=["GET"])
def wechat_verify() -> Response:
    query = bp.current_request.query_params or {}
    return _reply(wiring.callback().verify(dict(query)))


# WeChat sends text/xml; any type is read the same (a script's `requests.post(url, data=xml)`
# sends none, which Chalice would answer with its own 415): the signature, not the header,
# says the message is WeChat's, and the body must be WeChat's XML whatever it is labelled.
@bp.route("/wechat", methods=["POST"], content_types=["*/*"])
def wechat_receive() -> Response:
    request = bp.current_request
    query = dict(request.query_params or {})
    try:
        answer = wiring.callback().receive(
            query, request.raw_body or b"", lambda: base_url_from_request(request)
        )
    except Exception:  # last line of defence: WeChat never sees a 5xx
        log.exception("callback.unhandled")
        answer = Answer(200, SUCCESS)
    return _reply(answer)
