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
#: Template-campaign chunks per sender invocation (a chunk is ~125 template sends); the queue's
#: name is chalicelib.campaigns.QUEUE.
CAMPAIGN_SQS_BATCH_SIZE = 1
