"""Comments (留言) on published articles: open/close, list, elect, reply, delete, with WeChat's
88xxx errors. An article is a `msg_data_id` (a mass send's, or a freepublish's publish_id) and
an `index`; followers' comments come from `add_comment` (tests, the demo seed)."""

from __future__ import annotations

from typing import Any, ClassVar

from infra.fake_wechat.protocol import ApiError, Request
from infra.fake_wechat.server import Routes

MAX_ELECTED = 100
MAX_REPLY = 1000
DEMO_COMMENTS = (
    ("o_demo_reader_1", "请问这个活动截止到什么时候？"),
    ("o_demo_reader_2", "很实用，已转发"),
)


class CommentsApi:
    #: `make run` turns this on: every published article gets a couple of followers' comments,
    #: so the console has something to moderate.
    demo_comments = False
    # The state `make run` keeps between runs (state.py).
    SAVED: ClassVar[tuple[str, ...]] = ("_comments", "_comment_ids")
    ROUTES: ClassVar[Routes] = {
        "/cgi-bin/comment/open": ("POST", "_comment_open", True),
        "/cgi-bin/comment/close": ("POST", "_comment_close", True),
        "/cgi-bin/comment/list": ("POST", "_comment_list", True),
        "/cgi-bin/comment/markelect": ("POST", "_comment_elect", True),
        "/cgi-bin/comment/unmarkelect": ("POST", "_comment_unelect", True),
        "/cgi-bin/comment/delete": ("POST", "_comment_delete", True),
        "/cgi-bin/comment/reply/add": ("POST", "_comment_reply", True),
        "/cgi-bin/comment/reply/delete": ("POST", "_comment_reply_delete", True),
    }

    def _reset_state(self, *, tokens: bool) -> None:
        super()._reset_state(tokens=tokens)
        # "<msg_data_id>#<index>" -> {"open": bool, "items": [comment, ...]}
        self._comments: dict[str, dict[str, Any]] = {}
        self._comment_ids = {"next": 1}

    # ---- test helpers --------------------------------------------------------------------

    def add_comment(self, msg_data_id: Any, index: int, openid: str, content: str) -> int:
        """A follower comments on an article; returns its user_comment_id."""
        with self._lock:
            comment = self._new_comment(openid, content)
            self._article(msg_data_id, index)["items"].append(comment)
            return int(comment["user_comment_id"])

    def comments_of(self, msg_data_id: Any, index: int = 0) -> dict[str, Any]:
        with self._lock:
            return self._article(msg_data_id, index)

    # ---- API -------------------------------------------------------------------------------

    def _comment_target_known(self, msg_data_id: Any) -> bool:
        key = str(msg_data_id)
        return key in self._publishes or any(
            str(job.get("msg_data_id")) == key for job in self._mass_jobs.values()
        )

    def _article(self, msg_data_id: Any, index: Any) -> dict[str, Any]:
        try:
            idx = int(index or 0)
        except (TypeError, ValueError):
            raise ApiError(47001, "data format error") from None
        if not self._comment_target_known(msg_data_id) or idx < 0:
            raise ApiError(88001, "msg_data is not exists")
        key = f"{msg_data_id}#{idx}"
        if key not in self._comments:
            publish = self._publishes.get(str(msg_data_id), {})
            opened = bool(publish.get("open_comment", {}).get(str(idx)))
            self._comments[key] = {"open": opened, "items": []}
            if self.demo_comments and opened:
                for openid, content in DEMO_COMMENTS:
                    self._comments[key]["items"].append(self._new_comment(openid, content))
        return self._comments[key]

    def _new_comment(self, openid: str, content: str) -> dict[str, Any]:
        comment_id = self._comment_ids["next"]
        self._comment_ids["next"] += 1
        return {
            "user_comment_id": comment_id,
            "openid": openid,
            "create_time": int(self.clock()),
            "content": content,
            "comment_type": 0,
        }

    def _target(self, req: Request) -> tuple[dict[str, Any], dict[str, Any]]:
        body = req.body()
        article = self._article(body.get("msg_data_id"), body.get("index"))
        wanted = body.get("user_comment_id")
        for comment in article["items"]:
            if comment["user_comment_id"] == wanted:
                if comment.get("deleted"):
                    raise ApiError(88004, "comment was deleted by user")
                return article, comment
        raise ApiError(88008, "comment is not exists")

    def _comment_open(self, req: Request) -> dict[str, Any]:
        body = req.body()
        self._article(body.get("msg_data_id"), body.get("index"))["open"] = True
        return {"errcode": 0, "errmsg": "ok"}

    def _comment_close(self, req: Request) -> dict[str, Any]:
        body = req.body()
        self._article(body.get("msg_data_id"), body.get("index"))["open"] = False
        return {"errcode": 0, "errmsg": "ok"}

    def _comment_list(self, req: Request) -> dict[str, Any]:
        body = req.body()
        article = self._article(body.get("msg_data_id"), body.get("index"))
        begin, count, kind = body.get("begin", 0), body.get("count"), body.get("type", 0)
        if not isinstance(begin, int) or begin < 0 or not isinstance(count, int):
            raise ApiError(88010, "count range error. cout <= 0 or count > 50")
        if not 1 <= count <= 50:
            raise ApiError(88010, "count range error. cout <= 0 or count > 50")
        items = [c for c in article["items"] if not c.get("deleted")]
        if kind == 1:
            items = [c for c in items if c["comment_type"] == 0]
        elif kind == 2:
            items = [c for c in items if c["comment_type"] == 1]
        page = [
            {k: v for k, v in c.items() if k != "deleted"} for c in items[begin : begin + count]
        ]
        return {"errcode": 0, "errmsg": "ok", "total": len(items), "comment": page}

    def _comment_elect(self, req: Request) -> dict[str, Any]:
        article, comment = self._target(req)
        if sum(1 for c in article["items"] if c["comment_type"] == 1) >= MAX_ELECTED:
            raise ApiError(88003, "elected comment upper limit")
        comment["comment_type"] = 1
        return {"errcode": 0, "errmsg": "ok"}

    def _comment_unelect(self, req: Request) -> dict[str, Any]:
        _, comment = self._target(req)
        comment["comment_type"] = 0
        return {"errcode": 0, "errmsg": "ok"}

    def _comment_delete(self, req: Request) -> dict[str, Any]:
        _, comment = self._target(req)
        comment["deleted"] = True
        return {"errcode": 0, "errmsg": "ok"}

    def _comment_reply(self, req: Request) -> dict[str, Any]:
        _, comment = self._target(req)
        content = req.body().get("content")
        if not isinstance(content, str) or not content or len(content) > MAX_REPLY:
            raise ApiError(88007, "reply content beyond max len or content len is zero")
        if comment.get("reply"):
            raise ApiError(88005, "already reply")
        comment["reply"] = {"content": content, "create_time": int(self.clock())}
        return {"errcode": 0, "errmsg": "ok"}

    def _comment_reply_delete(self, req: Request) -> dict[str, Any]:
        _, comment = self._target(req)
        comment.pop("reply", None)
        return {"errcode": 0, "errmsg": "ok"}
