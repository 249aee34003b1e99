"""When the scheduled and queue-driven functions run: the figures `app.py` declares to Chalice.

Kept apart from the jobs so that `app.py` can declare the functions without importing them (a
job's modules load when its event arrives, not at every cold start of the API function).
"""

from __future__ import annotations

#: EventBridge rate of the token refresh. Under 5 minutes so that at least one run falls inside
#: WeChat's renewal window (the last 300 s of a token); 2 minutes gives two chances there.
TOKEN_REFRESH_RATE_MINUTES = 2
#: Follower profile sync: the pending queue (new followers) and a running full resync.
PROFILE_SYNC_RATE_MINUTES = 15
#: Channel QR codes' tags that WeChat could not apply when their scan was summed: retried.
CHANNEL_TAGGING_RATE_MINUTES = 5
#: Template-campaign chunks per sender invocation (a chunk is ~125 template sends); the queue's
#: name is chalicelib.campaigns.QUEUE.
CAMPAIGN_SQS_BATCH_SIZE = 1
#: The messages table's stream and its consumer (chalicelib.jobs.aggregate): records per invocation
#: (up to 1,000, summed into one write per key) and how long Lambda gathers them first (the lag
#: from a message to its counters is about this plus one invocation). The ARN is a placeholder
#: naming the table by its suffix: infra/build.py replaces it with the table's StreamArn in the
#: template, as it does for a queue trigger's ARN; `chalice local` never reads it.
MESSAGES_STREAM_ARN = "arn:aws:dynamodb:local:000000000000:table/messages/stream/from-template"
AGGREGATE_BATCH_SIZE = 1000
AGGREGATE_WINDOW_SECONDS = 1
