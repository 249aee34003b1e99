"""The account as WeChat keeps it: its template-message templates, its blacklist, WeChat's own
statistics of it, and the settings WeChat's API cannot tell us (API mass-send protection).

    templates  the templates, synced from WeChat, and the check of a message's data against its
               template (the rules themselves: chalicelib.wechat.templates)
    blacklist  get, add, remove (WeChat keeps the list; nothing stored here)
    stats      WeChat's daily statistics (datacube), synced by a daily job, stored per day
    settings   declared account settings (mass-send protection)

Their items live in chalicelib/store/wxaccount.py and chalicelib/store/wechat_stats.py.
"""
