"""Content management (articles, categories): pure helpers shared by the store, the admin API,
the public pages and the callback. No web framework and no AWS here."""
