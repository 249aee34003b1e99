"""Followers as the admin API shows them: the record (store/followers.py) with the activity read
from their timeline (activity.py)."""
