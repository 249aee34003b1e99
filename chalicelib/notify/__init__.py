"""Notifications for the bank's other systems (`POST /admin/notify`): one follower, one template
or subscribe notification, now, at most once per `client_msg_id`.

    request   what a caller may ask for: validation and the request's fingerprint
    fields    template data as WeChat accepts it since 2023 (typed fields, no colour)
    consent   subscribe notifications: who accepted which template, spending one-time consents
    service   the send itself: claim, limits, WeChat, the answer kept for repeats
"""
