"""Scheduled campaigns: mass sends and template-message campaigns that fire by themselves, once.

One module per concept; the entry points (handlers/admin_campaigns.py, jobs/campaigns.py) call them
and pass down what the container holds (the WeChat client, the send queue; chalicelib.wiring):

    spec        what an admin may schedule: validation, the WeChat message, template data
    limits      WeChat's sending limits, refused when scheduling
    admin       create, cancel, detail, listing, preview (the admin API's services)
    report      what an admin sees of a campaign: progress and results
    audience    who a campaign reaches, one page at a time
    run         what one dispatcher or sender invocation carries; the campaign settings
    dispatcher  the scheduled run: start due campaigns, work on running ones, reconcile
    mass        mass sends: batches, the shared rate limit, reconciliation with mass/get
    template    template campaigns: planning into chunks, the sweep, sending one chunk
    quota       the account's template/send daily-quota pause (45009)
    sender      the SQS sender's work: one delivery after another
    queue       the send queue (SQS)

Their tables are in chalicelib/store/ (campaigns, campaign_items, campaign_work,
campaign_recipients, campaign_limits, campaign_results).

How "exactly once" holds:
1. starting: scheduled -> running is one conditional write; of two dispatchers (EventBridge
   delivers at least once, runs may overlap) one wins. Running campaigns are then worked on by
   every dispatcher run, which is safe because
2. every unit of sending (a mass batch, a template recipient) is claimed with a conditional
   write and a lease, and the send carries WeChat's own idempotency key (`clientmsgid`,
   `client_msg_id`), so a crash between any two writes resumes without a second message; a
   dead worker's lease expires and its work is taken over;
3. counters are added in the same transaction as the state change they count.

This module imports nothing: app.py reads QUEUE at every cold start.
"""

#: The template sender's queue: the name app.py's @app.on_sqs_message and infra/resources.py
#: QUEUES use; deployed as `<WXLESS_TABLE_PREFIX>-campaign-sends` (+ `-dlq`), its URL in
#: WXLESS_QUEUE_CAMPAIGN_SENDS_URL.
QUEUE = "campaign-sends"
