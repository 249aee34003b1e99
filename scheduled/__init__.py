"""What runs only outside Lambda: the local stand-in for EventBridge schedules.

Not packaged by `chalice package` (only app.py, chalicelib/ and vendor/ are), so nothing in
app.py or chalicelib/ may import it.
"""
