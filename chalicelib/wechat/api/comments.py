"""Comments (留言) on the account's articles: open or close them, list, elect (feature), reply,
delete. Every call names the article by `msg_data_id` (the mass send's, or a freepublish's) and
`index` (which article of a multi-article message, from 0).

WeChat's errors worth knowing: 88000 the account has no comment privilege, 88001 no such
article, 88003 too many elected comments, 88005 already replied, 88007 a reply's content is
empty or too long, 88008 no such comment, 88010 begin/count out of range.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.errors import InvalidInput

if TYPE_CHECKING:
    from .transport import Transport

MAX_PAGE = 50  # comment/list: count <= 50
MAX_REPLY_CHARS = 1000
TYPES = {"all": 0, "normal": 1, "elected": 2}


class CommentsAPI:
    def __init__(self, client: Transport) -> None:
        self.client = client

    def _post(self, action: str, msg_data_id: int, index: int, **extra: Any) -> dict[str, Any]:
        body = {"msg_data_id": int(msg_data_id), "index": int(index), **extra}
        return self.client.post(f"/cgi-bin/comment/{action}", body)

    def open(self, msg_data_id: int, index: int = 0) -> None:
        self._post("open", msg_data_id, index)

    def close(self, msg_data_id: int, index: int = 0) -> None:
        self._post("close", msg_data_id, index)

    def list(
        self, msg_data_id: int, index: int = 0, begin: int = 0, count: int = MAX_PAGE,
        kind: str = "all",
    ) -> dict[str, Any]:  # fmt: skip
        """POST /cgi-bin/comment/list -> {total, comment: [{user_comment_id, openid,
        create_time, content, comment_type (1: elected), reply: {content, create_time}}]}."""
        if not 1 <= count <= MAX_PAGE:
            raise InvalidInput(f"count: 1..{MAX_PAGE}")
        if kind not in TYPES:
            raise InvalidInput(f"type: one of {', '.join(TYPES)}")
        data = self._post("list", msg_data_id, index, begin=int(begin), count=count,
                          type=TYPES[kind])  # fmt: skip
        return {"total": int(data.get("total") or 0), "comment": list(data.get("comment") or [])}

    def elect(self, msg_data_id: int, index: int, comment_id: int) -> None:
        self._post("markelect", msg_data_id, index, user_comment_id=int(comment_id))

    def unelect(self, msg_data_id: int, index: int, comment_id: int) -> None:
        self._post("unmarkelect", msg_data_id, index, user_comment_id=int(comment_id))

    def delete(self, msg_data_id: int, index: int, comment_id: int) -> None:
        self._post("delete", msg_data_id, index, user_comment_id=int(comment_id))

    def reply(self, msg_data_id: int, index: int, comment_id: int, content: str) -> None:
        if not content.strip() or len(content) > MAX_REPLY_CHARS:
            raise InvalidInput(f"content: 1..{MAX_REPLY_CHARS} characters")
        self._post("reply/add", msg_data_id, index, user_comment_id=int(comment_id),
                   content=content)  # fmt: skip

    def delete_reply(self, msg_data_id: int, index: int, comment_id: int) -> None:
        self._post("reply/delete", msg_data_id, index, user_comment_id=int(comment_id))
