"""Drafts (draft/add, get, delete) and publishing them (freepublish/submit, get)."""

from __future__ import annotations

from typing import Any, ClassVar

from infra.fake_wechat.protocol import ApiError, Request
from infra.fake_wechat.server import Routes


class DraftsApi:
    # The state `make run` keeps between runs (state.py).
    SAVED: ClassVar[tuple[str, ...]] = ("_drafts", "_publishes")
    ROUTES: ClassVar[Routes] = {
        "/cgi-bin/draft/add": ("POST", "_draft_add", True),
        "/cgi-bin/draft/get": ("POST", "_draft_get", True),
        "/cgi-bin/draft/delete": ("POST", "_draft_delete", True),
        "/cgi-bin/freepublish/submit": ("POST", "_publish_submit", True),
        "/cgi-bin/freepublish/get": ("POST", "_publish_get", True),
        "/cgi-bin/freepublish/delete": ("POST", "_publish_delete", True),
    }

    def _reset_state(self, *, tokens: bool) -> None:
        super()._reset_state(tokens=tokens)
        self._drafts: dict[str, dict[str, Any]] = {}
        self._publishes: dict[str, dict[str, Any]] = {}

    def _draft_add(self, req: Request) -> dict[str, Any]:
        articles = req.body().get("articles")
        if not isinstance(articles, list) or not 1 <= len(articles) <= 8:
            raise ApiError(47001, "data format error")
        for article in articles:
            if not isinstance(article, dict) or not article.get("title"):
                raise ApiError(44003, "empty news data")
            if not article.get("content"):
                raise ApiError(44004, "empty content")
            if article.get("article_type", "news") == "news":
                thumb = self._materials.get(str(article.get("thumb_media_id", "")))
                if thumb is None or thumb["kind"] not in ("thumb", "image"):
                    raise ApiError(40007, "invalid media_id")
        media_id = self._new_id()
        items = []
        for article in articles:
            item = {"url": f"http://mp.weixin.qq.com/s?__biz=demo&tempkey={media_id}"}
            item.update(article)
            items.append(item)
        self._drafts[media_id] = {"news_item": items, "update_time": int(self.clock())}
        return {"media_id": media_id}

    def _draft(self, media_id: Any) -> dict[str, Any]:
        draft = self._drafts.get(str(media_id or ""))
        if draft is None:
            raise ApiError(40007, "invalid media_id")
        return draft

    def _draft_get(self, req: Request) -> dict[str, Any]:
        return {"news_item": self._draft(req.body().get("media_id"))["news_item"]}

    def _draft_delete(self, req: Request) -> dict[str, Any]:
        media_id = req.body().get("media_id")
        self._draft(media_id)
        del self._drafts[str(media_id)]
        return {"errcode": 0, "errmsg": "ok"}

    def _publish_submit(self, req: Request) -> dict[str, Any]:
        media_id = req.body().get("media_id")
        draft = self._draft(media_id)
        publish_id = str(next(self._ids) + 100_000_000)
        article_id = self._new_id(24)
        # Published at once (WeChat takes seconds to minutes and sends PUBLISHJOBFINISH).
        self._publishes[publish_id] = {
            "publish_id": publish_id,
            "publish_status": 0,
            "article_id": article_id,
            "article_detail": {
                "count": len(draft["news_item"]),
                "item": [
                    {"idx": i + 1, "article_url": f"http://mp.weixin.qq.com/s/{article_id}_{i}"}
                    for i in range(len(draft["news_item"]))
                ],
            },
            "fail_idx": [],
            # comments opened by the draft's need_open_comment, per article index (from 0)
            "open_comment": {
                str(i): bool(a.get("need_open_comment")) for i, a in enumerate(draft["news_item"])
            },
        }
        return {"errcode": 0, "errmsg": "ok", "publish_id": publish_id}

    def _publish_get(self, req: Request) -> dict[str, Any]:
        publish = self._publishes.get(str(req.body().get("publish_id", "")))
        if publish is None:
            raise ApiError(40007, "invalid publish_id")
        return {k: v for k, v in publish.items() if k != "open_comment"}

    def _publish_delete(self, req: Request) -> dict[str, Any]:
        body = req.body()
        article_id = str(body.get("article_id") or "")
        found = [p for p in self._publishes.values() if p["article_id"] == article_id]
        if not found:
            raise ApiError(40007, "invalid media_id")
        found[0]["publish_status"] = 5  # deleted after success
        return {"errcode": 0, "errmsg": "ok"}

    # ---- test helpers --------------------------------------------------------------------

    def set_publish_status(
        self, publish_id: str, status: int, fail_idx: list[int] | None = None
    ) -> None:
        """Make a publish job end otherwise (1 still publishing, 2..4 failed, 6 banned)."""
        with self._lock:
            publish = self._publishes[str(publish_id)]
            publish["publish_status"] = status
            if status != 0:
                publish["article_id"] = ""
                publish["article_detail"] = {"count": 0, "item": []}
            publish["fail_idx"] = list(fail_idx or [])
