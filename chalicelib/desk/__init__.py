"""The agent desk: followers whose customer-service window is open, their thread both ways
(what they sent, what the account answered automatically, what agents sent), replies that
count against WeChat's quota before WeChat is called, assignment, closing, transfer to
WeChat's own customer service, and its accounts (kf accounts)."""
