"""Publishing CMS articles as WeChat articles with freepublish (published on the account's page
without a push, using no mass-send quota), their status, and their comments.

    drafts    CMS articles as draft/add articles (also what a news mass send is made of)
    service   publish (draft -> submit -> status), refresh, record WeChat's PUBLISHJOBFINISH,
              delete
    comments  the comments of a published article: list, elect, reply, delete, open/close
"""
