"""wxless: a serverless backend for a WeChat Official Account.

Thin on purpose: routes live in chalicelib.handlers Blueprints; scheduled, queue and stream
handlers are two-line wrappers around chalicelib.jobs. Cold start matters (a follower's first
message waits for it), so only the callback's modules load at import: admin and article page
routes come from a manifest and load their module on first use (chalicelib/handlers/routing.py),
jobs load when their event arrives.
"""

import logging

from chalice import Chalice, Cron, Rate

from chalicelib.campaigns import QUEUE as CAMPAIGN_QUEUE
from chalicelib.handlers import callback, chalice_errors, console, health, routing
from chalicelib.handlers.cors import add_admin_preflight
from chalicelib.jobs.schedules import (
    AGGREGATE_BATCH_SIZE,
    AGGREGATE_WINDOW_SECONDS,
    CAMPAIGN_SQS_BATCH_SIZE,
    CHANNEL_TAGGING_RATE_MINUTES,
    MESSAGES_STREAM_ARN,
    PROFILE_SYNC_RATE_MINUTES,
    TOKEN_REFRESH_RATE_MINUTES,
)

# The inbox's table module (botocore and PynamoDB with it) loads at import, not with the first
# message: every message writes it, and Lambda runs the init phase at full CPU.
from chalicelib.store import messages as _inbox_tables  # noqa: F401

app = Chalice(app_name="wxless")
# Chalice sets its logger, the parent of every `wxless.*` logger, to ERROR outside debug mode:
# the operator's WARNING and INFO lines (admin.bad_token, tokens.*, campaigns.*) would be lost.
app.log.setLevel(logging.INFO)
app.register_blueprint(callback.bp)
app.register_blueprint(health.bp)
app.register_blueprint(console.bp)
routing.register(app)
# Chalice's own error bodies (405, 415, ...) answer in the project's {"error": ...} shape.
chalice_errors.register(app)


# Keeps the access_token and jsapi_ticket fresh in DynamoDB (~13 token calls per 24 h).
@app.schedule(Rate(TOKEN_REFRESH_RATE_MINUTES, unit=Rate.MINUTES), name="token_refresh")
def refresh_wechat_tokens(event):
    from chalicelib.jobs import token_refresh

    return token_refresh.run()


# Follower profiles from user/info: the pending queue (new followers), and a running full resync.
@app.schedule(Rate(PROFILE_SYNC_RATE_MINUTES, unit=Rate.MINUTES), name="profile_sync")
def sync_follower_profiles(event):
    from chalicelib.jobs import profile_sync

    return profile_sync.scheduled(event)


# Sundays 03:00 Asia/Shanghai (19:00 UTC Saturday): start a full resync of the follower list.
@app.schedule(Cron(0, 19, "?", "*", "SAT", "*"), name="profile_full_resync")
def resync_follower_profiles(event):
    from chalicelib.jobs import profile_sync

    return profile_sync.weekly_full_resync(event)


# WeChat's own daily statistics (datacube), ready the morning after: 09:15 Asia/Shanghai.
@app.schedule(Cron(15, 1, "*", "*", "?", "*"), name="wechat_stats")
def sync_wechat_stats(event):
    from chalicelib.jobs import wechat_stats

    return wechat_stats.run(event)


# Channel QR codes' tags that WeChat was too busy for when their scans were summed.
@app.schedule(Rate(CHANNEL_TAGGING_RATE_MINUTES, unit=Rate.MINUTES), name="channel_tagging")
def retry_channel_tagging(event):
    from chalicelib.jobs import channels

    return channels.retry_tagging(event)


# Starts due campaigns and sends mass batches; EventBridge may deliver twice: every step is safe.
@app.schedule(Rate(1, unit=Rate.MINUTES), name="dispatch_campaigns")
def dispatch_campaigns(event):
    from chalicelib.jobs import campaigns

    return campaigns.dispatch(context=event.context)


# Template campaigns: one chunk (~125 template/send calls) per message; concurrency in config.
@app.on_sqs_message(queue=CAMPAIGN_QUEUE, batch_size=CAMPAIGN_SQS_BATCH_SIZE, name="send_campaign")
def send_campaign_messages(event):
    from chalicelib.jobs import campaigns

    return campaigns.handle_sqs(event, context=event.context)


# Counters, follower records and the cross-follower message listing, summed from the messages
# table's stream.
@app.on_dynamodb_record(
    stream_arn=MESSAGES_STREAM_ARN,
    batch_size=AGGREGATE_BATCH_SIZE,
    maximum_batching_window_in_seconds=AGGREGATE_WINDOW_SECONDS,
    starting_position="TRIM_HORIZON",
    name="aggregate",
)
def aggregate_messages(event):
    from chalicelib.jobs import aggregate

    return aggregate.handle(event.to_dict(), context=event.context)


# Keep last: answers CORS preflight on every admin route registered above.
add_admin_preflight(app)
