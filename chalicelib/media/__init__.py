"""Media items: the file in the private media bucket (S3), its copies at WeChat.

- `content`: what a file is (judged by its bytes) and whether WeChat takes it for a kind;
- `service`: upload, the media_id valid right now (re-uploaded from S3 when stale), delete;
- `replies`: replies that name a media item, resolved to a media_id when saved or sent.

The records are store.media's, the bucket store.objects'. Every function that talks to WeChat
takes the client as a parameter (entry points pass chalicelib.wiring.wechat()).
"""
