"""Customer-service messages: WeChat's per-follower windows and quota (window.py: the rules,
read from the timeline; quota.py: the counted sends and the API every sender uses)."""
