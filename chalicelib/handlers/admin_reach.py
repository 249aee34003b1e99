"""Admin routes for what the public pages learn: an article's views, distinct readers and
views through shared links (summed from page views by the stream aggregator, seconds behind),
per day, and the followers who read it."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.handlers.common import admin_route, query_limit
from chalicelib.store import analytics, article_stats, progress
from chalicelib.store import articles as articles_store

bp = Blueprint(__name__)
admin = admin_route(bp)


@bp.route("/admin/articles/{article_id}/stats", methods=["GET"])
@admin("articles:read")
def article_stats_view(article_id: str) -> dict:
    params = bp.current_request.query_params or {}
    first, last = analytics.date_range(params.get("from"), params.get("to"), default_days=30)
    articles_store.get_article(article_id)  # 404 for an unknown article
    return {
        "id": article_id,
        **article_stats.totals(article_id),
        "days": article_stats.daily(article_id, first, last),
        **progress.as_of(),
    }


@bp.route("/admin/articles/{article_id}/readers", methods=["GET"])
@admin("articles:read")
def article_readers(article_id: str) -> dict:
    """The followers who read the article (known through the pages' web authorization)."""
    limit = query_limit(bp.current_request, 1000, 100_000)
    articles_store.get_article(article_id)
    openids = article_stats.follower_readers(article_id, limit)
    return {"id": article_id, "items": [{"openid": o} for o in openids], **progress.as_of()}
