"""Content management (articles, categories): validation, search, public links, the admin list's
index and the news replies built from articles. The tables and the bucket stay in store/
(store.articles, store.categories, store.covers); the per-container caches here are built by
chalicelib.wiring."""
