"""The knowledge base's services that span layers: tables in and out (tables.py), the
unanswered questions grouped (clusters.py) and each entry's quality (quality.py). Matching is
engine/faq*.py; storage store/faq.py and store/faq_stats.py."""
