"""Scheduled campaigns: mass sends and template-message campaigns."""

from __future__ import annotations

from chalicelib.openapi.spec import items_of, op, path_param, query_param, ref

_str = {"type": "string"}
_int = {"type": "integer"}
_nullable_int = {"type": "integer", "nullable": True}
_counts = {"type": "object", "additionalProperties": {"type": "integer"}}
#: Every status a campaign may show (store.campaigns.STATUSES): four eyes add two.
_STATUSES = (
    "pending_approval",
    "scheduled",
    "running",
    "completed",
    "failed",
    "cancelled",
    "rejected",
)

_audience = {
    "description": "Who receives it. `all` and `tag` mass sends are one `sendall`; `openids` "
    "(<= 100,000, duplicates removed) and `query` (the follower records: tag, region, "
    "active_since, q; subscribed followers only) are sent in batches of <= 10,000. Template "
    "campaigns send one message per follower of any audience.",
    "oneOf": [
        {
            "type": "object",
            "required": ["type"],
            "properties": {"type": {"enum": ["all"]}},
            "additionalProperties": False,
        },
        {
            "type": "object",
            "required": ["type", "tag_id"],
            "properties": {"type": {"enum": ["tag"]}, "tag_id": {"type": "integer", "minimum": 0}},
            "additionalProperties": False,
        },
        {
            "type": "object",
            "required": ["type", "openids"],
            "properties": {
                "type": {"enum": ["openids"]},
                "openids": {"type": "array", "minItems": 1, "maxItems": 100000, "items": _str},
            },
            "additionalProperties": False,
        },
        {
            "type": "object",
            "required": ["type", "query"],
            "properties": {
                "type": {"enum": ["query"]},
                "query": {
                    "type": "object",
                    "minProperties": 1,
                    "additionalProperties": False,
                    "properties": {
                        "tag": {**_str, "description": "a local tag or a WeChat tag id"},
                        "region": {**_str, "description": "contained in the follower's region"},
                        "active_since": {**_int, "description": "epoch s of the last message"},
                        "q": {**_str, "description": "in remark or nickname, or openid prefix"},
                    },
                },
            },
            "additionalProperties": False,
        },
    ],
}

_content = {
    "description": "The mass message. `video`: a video's media_id (temporary media or permanent "
    "material), made into a mass video (media/uploadvideo, with `title` (default: the campaign's "
    "name) and `description`) when the campaign starts or is previewed; the detail then shows it "
    "as `mass_media_id`. `news`: a draft's media_id (draft/add) or 1..8 `article_ids` of the CMS "
    "with a cover `thumb_media_id` (permanent material), made into a draft when the campaign "
    "starts.",
    "oneOf": [
        {
            "type": "object",
            "required": ["type", "content"],
            "properties": {
                "type": {"enum": ["text"]},
                "content": {"type": "string", "minLength": 1, "maxLength": 2000},
            },
        },
        {
            "type": "object",
            "required": ["type", "media_id"],
            "properties": {"type": {"enum": ["image", "voice"]}, "media_id": _str},
        },
        {
            "type": "object",
            "required": ["type", "media_id"],
            "properties": {
                "type": {"enum": ["video"]},
                "media_id": _str,
                "title": _str,
                "description": _str,
            },
        },
        {
            "type": "object",
            "required": ["type"],
            "properties": {
                "type": {"enum": ["news"]},
                "media_id": _str,
                "article_ids": {"type": "array", "minItems": 1, "maxItems": 8, "items": _str},
                "thumb_media_id": _str,
                "send_ignore_reprint": {"type": "boolean", "default": False},
            },
        },
    ],
}

_template = {
    "type": "object",
    "required": ["template_id", "data"],
    "additionalProperties": False,
    "properties": {
        "template_id": _str,
        "data": {
            "type": "object",
            "description": "keyword -> text or {value, color}. `{field}` is replaced per follower "
            "by openid, remark, nickname, language, country, province, city, region, "
            "subscribe_time, subscribe_scene or tags (the follower record, else WeChat's "
            "user info); `{{`/`}}` are literal braces.",
            "additionalProperties": {
                "oneOf": [
                    {"type": "string", "maxLength": 200},
                    {
                        "type": "object",
                        "required": ["value"],
                        "properties": {
                            "value": {"type": "string", "maxLength": 200},
                            "color": {"type": "string", "pattern": "^#[0-9A-Fa-f]{6}$"},
                        },
                    },
                ]
            },
        },
        "url": _str,
        "miniprogram": {
            "type": "object",
            "required": ["appid"],
            "properties": {"appid": _str, "pagepath": _str},
        },
        "channel": {
            "enum": ["template", "subscribe"],
            "description": "template (default): template/send; subscribe: a subscribe "
            "notification (bizsend) to the followers who consented to `template_id`, each "
            "spending one one-time consent; the others are recorded failed `no_consent`",
        },
    },
}

SCHEMAS = {
    "CampaignInput": {
        "type": "object",
        "required": ["name", "audience"],
        "description": "A mass send (`content`) or a template campaign (`template`). Refused with "
        "409 when WeChat's limits would be exceeded: a subscription account mass-sends once per "
        "(Beijing) day and only to all or a tag; a service account reaches each follower with at "
        "most 4 mass messages per month; template messages stay within the daily quota.",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 100},
            "type": {"enum": ["mass", "template"], "description": "default: from the body"},
            "send_at": {
                "description": "epoch seconds or ISO 8601 (no offset: Beijing time); "
                "default now; at most 5 min in the past",
                "oneOf": [{"type": "number"}, {"type": "string"}],
            },
            "audience": _audience,
            "content": _content,
            "template": _template,
        },
    },
    "CampaignProgress": {
        "type": "object",
        "description": "Counts so far. Mass: batches and recipients submitted to WeChat. "
        "Template: recipients, counted when their chunk (~125) finishes; `unknown` means a "
        "send may or may not have reached WeChat and was not repeated; `errors` counts by "
        "WeChat errcode (43004 unsubscribed, 45047 over the count, ...).",
        "properties": {
            "planned": {"type": "boolean"},
            "batches": _int,
            "batches_sent": _int,
            "batches_failed": _int,
            "batches_unknown": _int,
            "chunks": _int,
            "chunks_done": _int,
            "recipients": _nullable_int,
            "queued": _nullable_int,
            "sent": _int,
            "failed": _int,
            "unknown": _int,
            "stuck": _int,
            "errors": _counts,
        },
    },
    "Campaign": {
        "type": "object",
        "required": ["id", "name", "type", "status", "send_at", "progress", "results"],
        "properties": {
            "id": _str,
            "name": _str,
            "type": {"enum": ["mass", "template"]},
            "status": {"enum": list(_STATUSES)},
            "send_at": _int,
            "created_at": _int,
            "started_at": _nullable_int,
            "finished_at": _nullable_int,
            "duration_s": {"type": "number", "nullable": True},
            "audience": {"type": "object"},
            "content": {"type": "object"},
            "template": {"type": "object"},
            "fail_reason": _str,
            "paused": {
                "type": "object",
                "description": "Template campaigns that are scheduled or running, in the detail "
                "only, while WeChat's daily template/send quota is spent (45009): sending is "
                "paused for the whole account until `until` (epoch seconds, the next 00:00 "
                "Beijing time, when WeChat resets the quota), then resumes by itself.",
                "required": ["reason", "errcode", "until"],
                "properties": {
                    "reason": {"enum": ["template_daily_quota"]},
                    "errcode": _int,
                    "since": _nullable_int,
                    "until": _int,
                },
            },
            "progress": ref("CampaignProgress"),
            "batches": {
                "type": "array",
                "description": "Mass campaigns, in the detail only: each batch's state, "
                "recipients (null for sendall), attempts, msg_id, sent_at, duplicate (WeChat "
                "answered 45065: an earlier attempt had gone through), errcode/reason, "
                "result (its MASSSENDJOBFINISH) and msg_status (from mass/get).",
                "items": {"type": "object"},
            },
            "results": {
                "type": "object",
                "description": "From WeChat's completion events. Mass (MASSSENDJOBFINISH): "
                "jobs_finished, total, sent, error, filtered, and `reconciled` (mass/get "
                "statuses of batches whose event never came). Template "
                "(TEMPLATESENDJOBFINISH): delivered, blocked, failed.",
                "additionalProperties": True,
            },
        },
    },
    "PreviewInput": {
        "type": "object",
        "required": ["openids"],
        "properties": {
            "openids": {"type": "array", "minItems": 1, "maxItems": 5, "items": _str},
        },
    },
    "PreviewResult": {
        "type": "object",
        "required": ["id", "results"],
        "properties": {
            "id": _str,
            "results": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["openid", "ok"],
                    "properties": {
                        "openid": _str,
                        "ok": {"type": "boolean"},
                        "msg_id": _str,
                        "errcode": _int,
                        "error": _str,
                    },
                },
            },
        },
    },
}

_id = path_param("campaign_id")
_WECHAT = {
    "description": "WeChat refused or did not answer",
    "content": {"application/json": {"schema": ref("Error")}},
}

_preview = op(
    "Send the campaign's message now to a few openids (mass/preview, or template/send); "
    "not counted in the campaign",
    tag="campaigns",
    body=ref("PreviewInput"),
    returns=ref("PreviewResult"),
    errors=(400, 401, 404, 503),
)
_preview["responses"]["502"] = _WECHAT

PATHS = {
    "/admin/campaigns": {
        "post": op(
            "Schedule a campaign",
            tag="campaigns",
            body=ref("CampaignInput"),
            ok=201,
            returns=ref("Campaign"),
            errors=(400, 401, 409, 503),
        ),
        "get": op(
            "List campaigns, newest first, with their counts",
            tag="campaigns",
            params=[
                query_param("status", {"enum": list(_STATUSES)}),
                query_param("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
            ],
            returns=items_of(ref("Campaign")),
        ),
    },
    "/admin/campaigns/{campaign_id}": {
        "parameters": [_id],
        "get": op(
            "A campaign with its progress and results",
            tag="campaigns",
            returns=ref("Campaign"),
            errors=(401, 404, 503),
        ),
    },
    "/admin/campaigns/{campaign_id}/cancel": {
        "parameters": [_id],
        "post": op(
            "Cancel a campaign that has not started (409 once it has)",
            tag="campaigns",
            returns=ref("Campaign"),
            errors=(401, 404, 409, 503),
        ),
    },
    "/admin/campaigns/{campaign_id}/preview": {
        "parameters": [_id],
        "post": _preview,
    },
}
