"""wxless: a serverless backend for a WeChat Official Account.

Thin on purpose: routes live in chalicelib.handlers Blueprints; scheduled and queue handlers are
two-line wrappers around chalicelib.jobs.
"""

from chalice import Chalice, Cron, Rate

from chalicelib.handlers import (
    admin_campaigns,
    admin_cms,
    admin_flows,
    admin_followers,
    admin_media,
    admin_points,
    admin_rules,
    admin_stats,
    admin_wechat,
    callback,
    console,
    health,
    pages,
)
from chalicelib.handlers.common import add_admin_preflight
from chalicelib.jobs import campaigns, profile_sync, token_refresh

app = Chalice(app_name="wxless")
app.register_blueprint(callback.bp)
app.register_blueprint(admin_rules.bp)
app.register_blueprint(health.bp)
app.register_blueprint(admin_wechat.bp)
app.register_blueprint(admin_media.bp)
app.register_blueprint(admin_cms.bp)
app.register_blueprint(pages.bp)
app.register_blueprint(console.bp)
app.register_blueprint(admin_followers.bp)
app.register_blueprint(admin_stats.bp)
app.register_blueprint(admin_campaigns.bp)
app.register_blueprint(admin_flows.bp)
app.register_blueprint(admin_points.bp)


# Keeps the access_token and jsapi_ticket fresh in DynamoDB (~13 token calls per 24 h).
@app.schedule(Rate(token_refresh.RATE_MINUTES, unit=Rate.MINUTES), name="token_refresh")
def refresh_wechat_tokens(event):
    return token_refresh.run()


# Follower profiles from user/info: the pending queue (new followers), and a running full resync.
@app.schedule(Rate(profile_sync.RATE_MINUTES, unit=Rate.MINUTES), name="profile_sync")
def sync_follower_profiles(event):
    return profile_sync.scheduled(event)


# Sundays 03:00 Asia/Shanghai (19:00 UTC Saturday): start a full resync of the follower list.
@app.schedule(Cron(0, 19, "?", "*", "SAT", "*"), name="profile_full_resync")
def resync_follower_profiles(event):
    return profile_sync.weekly_full_resync(event)


# Starts due campaigns and sends mass batches; EventBridge may deliver twice: every step is safe.
@app.schedule(Rate(1, unit=Rate.MINUTES), name="dispatch_campaigns")
def dispatch_campaigns(event):
    return campaigns.dispatch(context=event.context)


# Template campaigns: one chunk (~125 template/send calls) per message; concurrency in config.
@app.on_sqs_message(
    queue=campaigns.QUEUE, batch_size=campaigns.SQS_BATCH_SIZE, name="send_campaign"
)
def send_campaign_messages(event):
    return campaigns.handle_sqs(event, context=event.context)


# Keep last: answers CORS preflight on every admin route registered above.
add_admin_preflight(app)
