"""Notifications for the bank's other systems (`POST /admin/notify`): one follower, one template
or subscribe notification, now, at most once per `client_msg_id`.

    request        what a caller may ask for: validation and the request's fingerprint
    subscriptions  the synced subscribe templates (what data is checked against), consents
    consent        subscribe notifications: who accepted which template, spending consents
    service        the send itself: the data checked against its synced template, claim,
                   limits, WeChat, the answer kept for repeats

Template data follows one set of WeChat's typed-field rules (chalicelib.wechat.templates),
checked against the template as synced: chalicelib.wxaccount.templates for template messages,
subscriptions.py's copy for subscribe notifications.
"""
