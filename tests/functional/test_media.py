"""Media items: S3 (moto) <-> fake WeChat, magic-byte checks, size limits, re-upload of stale
temporary media, rules naming a media item."""

from __future__ import annotations

import base64

import pytest

from tests import wxsim
from tests.functional.helpers import admin, body_json, follower_writes, post_xml, refresh_rules

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x11" * 2000
GIF = b"GIF89a" + b"\x01" * 300
BMP = b"BM" + (90).to_bytes(4, "little") + b"\x00" * 8 + (40).to_bytes(4, "little") + b"\x00" * 80
AMR = b"#!AMR\n" + b"\x3c" * 500
MP3_ID3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 200
MP3_FRAME = b"\xff\xfb\x90\x64" + b"\x00" * 400
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 1000
M4A = b"\x00\x00\x00\x18ftypM4A \x00\x00\x00\x00M4A mp42" + b"\x00" * 1000


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def upload(client, kind: str, data: bytes, **extra):
    return admin(
        client, "POST", "/admin/media", {"kind": kind, "content_base64": b64(data), **extra}
    )


def s3_object(key: str) -> dict:
    """An object of the media bucket named by its key inside the account (as the API shows)."""
    from chalicelib import config
    from chalicelib.store.aws import client
    from chalicelib.store.objects import bucket_key

    return client("s3").get_object(Bucket=config.media_bucket(), Key=bucket_key(key))


# --------------------------------------------------------------------------- magic bytes


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (GIF, "image/gif"),
        (BMP, "image/bmp"),
        (AMR, "audio/amr"),
        (MP3_ID3, "audio/mpeg"),
        (MP3_FRAME, "audio/mpeg"),
        (MP4, "video/mp4"),
        (M4A, None),  # audio in an MP4 box is not a video
        (b"BM" + b"\x00" * 40, None),  # "BM" alone is not a bitmap
        (b"<html><body>hi</body></html>", None),
        (b"\xff\xf1\x50\x80", None),  # AAC ADTS, not MP3
        (b"", None),
    ],
)
def test_sniff_content_type(data, expected):
    from chalicelib.media.content import sniff_content_type

    assert sniff_content_type(data) == expected


# --------------------------------------------------------------------------- upload


def test_upload_round_trip_s3_and_wechat(client, fake_wechat):
    response = upload(client, "image", PNG, filename="photo.JPG")
    assert response.status_code == 201, response.body
    item = body_json(response)
    # The bytes decide the type, not the name.
    assert item["content_type"] == "image/png" and item["size"] == len(PNG)
    assert item["permanent"] is False and item["media_id"]
    assert item["filename"] == "photo.JPG"

    stored = s3_object(item["s3_key"])
    assert stored["Body"].read() == PNG
    assert stored["ContentType"] == "image/png"
    assert stored["ServerSideEncryption"] == "AES256"

    (call,) = fake_wechat.calls_to("/cgi-bin/media/upload")
    assert call.query["type"] == "image"
    # WeChat judges by the extension: we send the sniffed one.
    assert fake_wechat.raw_bodies("/cgi-bin/media/upload")[0].count(f"{item['id']}.png".encode())

    # Temporary media live 3 days.
    assert item["expires_at"] - item["uploaded_at"] == pytest.approx(3 * 86400, abs=5)

    # And back: WeChat serves the very bytes that went to S3.
    from chalicelib.jobs.wechat import client as wechat

    assert wechat().media.get(item["media_id"]).content == PNG

    got = body_json(admin(client, "GET", f"/admin/media/{item['id']}"))
    assert got == item
    listed = body_json(admin(client, "GET", "/admin/media?kind=image"))["items"]
    assert [m["id"] for m in listed] == [item["id"]]
    assert body_json(admin(client, "GET", "/admin/media?kind=voice"))["items"] == []


def test_upload_each_kind(client, fake_wechat):
    cases = [("voice", AMR), ("voice", MP3_ID3), ("video", MP4), ("thumb", JPEG), ("image", GIF)]
    for kind, data in cases:
        response = upload(client, kind, data)
        assert response.status_code == 201, (kind, response.body)
        assert body_json(response)["media_id"]
    assert fake_wechat.count("/cgi-bin/media/upload") == len(cases)


REFUSED_UPLOADS = [
    ("image", b"<?php echo 1; ?>" * 10, "unrecognised file content"),
    ("image", AMR, "not allowed"),  # a voice file sent as an image
    ("thumb", PNG, "not allowed"),  # thumbs are jpg only
    ("image", BMP, "not allowed"),  # temporary images: png/jpeg/jpg/gif (bmp: permanent only)
    ("video", M4A, "unrecognised"),
    ("voice", b"RIFF\x00\x00\x00\x00WAVEfmt " + b"\x00" * 100, "not allowed"),  # temp: amr/mp3
    ("thumb", JPEG + b"\x00" * (64 * 1024), "65536"),
    ("voice", AMR + b"\x00" * (2 * 1024 * 1024), "limit"),
    ("sticker", PNG, "kind must be one of"),
]


def test_upload_refused(client, fake_wechat):
    for kind, data, message in REFUSED_UPLOADS:
        response = upload(client, kind, data)
        assert response.status_code == 400, (kind, message, response.body)
        assert message in body_json(response)["error"], (kind, message)
    assert fake_wechat.count("/cgi-bin/media/upload") == 0


def test_bmp_is_accepted_as_permanent_material(client, fake_wechat):
    response = upload(client, "image", BMP, permanent=True)
    assert response.status_code == 201, response.body
    item = body_json(response)
    assert item["content_type"] == "image/bmp" and item["s3_key"].endswith(".bmp")
    assert fake_wechat.count("/cgi-bin/material/add_material") == 1


def test_declared_type_must_match_the_bytes(client, fake_wechat):
    response = upload(client, "image", PNG, content_type="image/jpeg")
    assert response.status_code == 400
    assert "bytes are image/png" in body_json(response)["error"]
    assert upload(client, "image", JPEG, content_type="image/jpg").status_code == 201


BAD_UPLOAD_BODIES = [
    {"kind": "image"},
    {"kind": "image", "content_base64": b64(PNG), "s3_key": "x"},
    {"kind": "image", "content_base64": "not base64!!"},
    {"kind": "image", "content_base64": b64(PNG), "permanent": "yes"},
    {"kind": "image", "content_base64": b64(PNG), "colour": "red"},
    {"kind": "video", "content_base64": b64(MP4), "permanent": True},  # needs a title
]


def test_bad_upload_bodies(client, fake_wechat):
    for body in BAD_UPLOAD_BODIES:
        response = admin(client, "POST", "/admin/media", body)
        assert response.status_code == 400, (body, response.body)
    assert fake_wechat.calls == []


def test_upload_from_an_s3_key(client, fake_wechat):
    from chalicelib import config
    from chalicelib.store import keys
    from chalicelib.store.aws import client as aws_client

    # An object the admin put into the account's part of the bucket, named inside the account.
    bucket_key = keys.s3_key("incoming/clip.bin")
    aws_client("s3").put_object(Bucket=config.media_bucket(), Key=bucket_key, Body=MP4)
    response = admin(
        client, "POST", "/admin/media", {"kind": "video", "s3_key": "incoming/clip.bin"}
    )
    assert response.status_code == 201, response.body
    item = body_json(response)
    assert item["content_type"] == "video/mp4"
    # The item keeps its own copy; a source outside tmp/ is left alone.
    assert item["s3_key"] == f"media/video/{item['id']}.mp4"
    assert s3_object(item["s3_key"])["Body"].read() == MP4
    assert s3_object("incoming/clip.bin")["Body"].read() == MP4
    assert fake_wechat.count("/cgi-bin/media/upload") == 1

    missing = admin(client, "POST", "/admin/media", {"kind": "video", "s3_key": "nope/x.mp4"})
    assert missing.status_code == 404


def test_upload_url_is_a_presigned_put(client, fake_wechat):
    from chalicelib import config

    response = admin(client, "POST", "/admin/media/upload-url", {"kind": "video"})
    assert response.status_code == 200, response.body
    presigned = body_json(response)
    assert presigned["method"] == "PUT" and presigned["s3_key"].startswith("tmp/uploads/video/")
    assert config.media_bucket() in presigned["url"] and "X-Amz-Signature" in presigned["url"]

    # The admin PUTs the file there (the URL's key: under tmp/, then the account), then hands
    # over the key: the tmp/ upload is moved.
    from urllib.parse import unquote, urlsplit

    from chalicelib.store.aws import client as aws_client
    from chalicelib.store.objects import bucket_key

    path = unquote(urlsplit(presigned["url"]).path).lstrip("/")
    url_key = path.removeprefix(config.media_bucket() + "/")
    assert url_key == bucket_key(presigned["s3_key"]) == "tmp/default/" + presigned["s3_key"][4:]
    s3 = aws_client("s3")
    s3.put_object(Bucket=config.media_bucket(), Key=url_key, Body=MP4)
    body = {"kind": "video", "s3_key": presigned["s3_key"]}
    response = admin(client, "POST", "/admin/media", body)
    assert response.status_code == 201, response.body
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=config.media_bucket())["Contents"]]
    assert keys == [bucket_key(body_json(response)["s3_key"])]


def test_wechat_refusal_keeps_nothing(client, fake_wechat):
    from chalicelib import config
    from chalicelib.store.aws import client as aws_client

    fake_wechat.inject_error("/cgi-bin/media/upload", 40005, "invalid file type")
    response = upload(client, "image", PNG)
    assert response.status_code == 422
    assert body_json(response)["errcode"] == 40005
    assert body_json(admin(client, "GET", "/admin/media"))["items"] == []
    listing = aws_client("s3").list_objects_v2(Bucket=config.media_bucket())
    assert listing.get("KeyCount", 0) == 0


# --------------------------------------------------------------------------- stale media


def test_stale_temporary_media_is_reuploaded_from_s3(client, fake_wechat):
    from chalicelib import wiring
    from chalicelib.media.service import media_id_for

    item = body_json(upload(client, "image", PNG))
    wechat = wiring.wechat()
    assert media_id_for(item["id"], wechat) == item["media_id"]  # fresh: cached
    assert fake_wechat.count("/cgi-bin/media/upload") == 1

    three_days_later = item["expires_at"] - 60  # inside the re-upload margin
    fresh_id = media_id_for(item["id"], wechat, clock=lambda: three_days_later)
    assert fresh_id != item["media_id"]
    assert fake_wechat.count("/cgi-bin/media/upload") == 2
    again = body_json(admin(client, "GET", f"/admin/media/{item['id']}"))
    assert again["media_id"] == fresh_id and again["upload_count"] == 2
    assert again["expires_at"] > item["expires_at"]
    # cached again until it is stale
    assert media_id_for(item["id"], wechat, clock=lambda: three_days_later) == fresh_id
    assert fake_wechat.count("/cgi-bin/media/upload") == 2


def test_permanent_upload_and_delete(client, fake_wechat):
    from chalicelib import config
    from chalicelib.store.aws import client as aws_client

    response = upload(client, "video", MP4, permanent=True, title="开户指南", introduction="3 分钟")
    assert response.status_code == 201, response.body
    item = body_json(response)
    assert item["permanent"] is True and item["expires_at"] is None
    assert fake_wechat.count("/cgi-bin/material/add_material") == 1
    assert fake_wechat.count("/cgi-bin/media/upload") == 0

    assert admin(client, "DELETE", f"/admin/media/{item['id']}").status_code == 204
    assert fake_wechat.calls_to("/cgi-bin/material/del_material")[0].body == {
        "media_id": item["media_id"]
    }
    assert admin(client, "GET", f"/admin/media/{item['id']}").status_code == 404
    listing = aws_client("s3").list_objects_v2(Bucket=config.media_bucket())
    assert listing.get("KeyCount", 0) == 0
    assert admin(client, "DELETE", f"/admin/media/{item['id']}").status_code == 404


def test_media_keys_start_with_the_account(client, fake_wechat, monkeypatch):
    """Records and objects are written under the account (WXLESS_ACCOUNT_ID); an account never
    sees another's items; the API shows keys inside the account's folder."""
    from chalicelib import config
    from chalicelib.store.aws import client as aws_client
    from chalicelib.store.media import MediaItem

    theirs = body_json(upload(client, "image", PNG))
    monkeypatch.setenv("WXLESS_ACCOUNT_ID", "bank2")
    assert body_json(admin(client, "GET", "/admin/media"))["items"] == []
    assert admin(client, "GET", f"/admin/media/{theirs['id']}").status_code == 404

    ours = body_json(upload(client, "image", PNG))
    assert ours["s3_key"] == f"media/image/{ours['id']}.png"
    assert MediaItem.get(f"bank2#media#{ours['id']}").s3_key == ours["s3_key"]
    listed = aws_client("s3").list_objects_v2(Bucket=config.media_bucket())["Contents"]
    assert sorted(o["Key"] for o in listed) == sorted(
        [f"bank2/{ours['s3_key']}", f"default/{theirs['s3_key']}"]
    )
    presigned = body_json(admin(client, "POST", "/admin/media/upload-url", {"kind": "image"}))
    assert presigned["s3_key"].startswith("tmp/uploads/image/")
    assert "/tmp/bank2/uploads/image/" in presigned["url"]  # tmp/ first: one lifecycle rule


# --------------------------------------------------------------------------- replies


def test_rule_reply_naming_a_media_item_uses_permanent_material(client, fake_wechat, monkeypatch):
    item = body_json(upload(client, "image", PNG))  # temporary upload
    response = admin(
        client,
        "POST",
        "/admin/rules",
        {
            "name": "海报",
            "match": "exact",
            "keywords": ["海报"],
            "reply": {"type": "image", "media": item["id"]},
        },
    )
    assert response.status_code == 201, response.body
    rule = body_json(response)
    # Resolved when saved: an ordinary Reply holding the permanent material's media_id.
    now_permanent = body_json(admin(client, "GET", f"/admin/media/{item['id']}"))
    material_id = now_permanent["media_id"]
    assert now_permanent["permanent"] is True and material_id != item["media_id"]
    assert rule["reply"] == {"type": "image", "media_id": material_id}
    assert fake_wechat.count("/cgi-bin/material/add_material") == 1

    # The callback's hot path never looks at the media table.
    from chalicelib.store import media

    def no_reads(*args, **kwargs):
        raise AssertionError("the callback read a media item")

    monkeypatch.setattr(media, "get_item", no_reads)
    monkeypatch.setattr(media.MediaItem, "get", no_reads)
    refresh_rules()
    reply = wxsim.parse(post_xml(client, wxsim.text("海报")).body.decode())
    assert reply["MsgType"] == "image" and reply["Image"]["MediaId"] == material_id


def test_second_rule_reuses_the_material(client, fake_wechat):
    item = body_json(upload(client, "voice", AMR))
    for word in ("a", "b"):
        rule = {
            "name": word,
            "match": "exact",
            "keywords": [word],
            "reply": {"type": "voice", "media": item["id"]},
        }
        assert admin(client, "POST", "/admin/rules", rule).status_code == 201
    assert fake_wechat.count("/cgi-bin/material/add_material") == 1


def test_special_reply_may_name_a_media_item(client, fake_wechat):
    item = body_json(upload(client, "image", JPEG))
    response = admin(
        client, "PUT", "/admin/replies/subscribe", {"type": "image", "media": item["id"]}
    )
    assert response.status_code in (200, 204), response.body
    stored = body_json(admin(client, "GET", "/admin/replies/subscribe"))
    assert stored["type"] == "image" and stored["media_id"] and "media" not in stored


def test_bad_media_references(client, fake_wechat):
    item = body_json(upload(client, "image", PNG))
    cases = [
        ({"type": "video", "media": item["id"]}, "is a image, a video is needed"),
        ({"type": "image", "media": "nope"}, "no media item"),
        ({"type": "image", "media": item["id"], "media_id": "x"}, "not both"),
        ({"type": "image", "media": 42}, "must be a media item id"),
    ]
    for reply, message in cases:
        rule = {"name": "x", "match": "exact", "keywords": ["x"], "reply": reply}
        response = admin(client, "POST", "/admin/rules", rule)
        assert response.status_code == 400, (reply, response.body)
        assert message in body_json(response)["error"], (reply, message)
    assert fake_wechat.count("/cgi-bin/material/add_material") == 0


def test_invalid_rule_uploads_nothing(client, fake_wechat):
    item = body_json(upload(client, "image", PNG))
    rule = {
        "name": "x",
        "match": "regex",
        "keywords": ["(a+)+$"],
        "reply": {"type": "image", "media": item["id"]},
    }
    assert admin(client, "POST", "/admin/rules", rule).status_code == 400
    assert fake_wechat.count("/cgi-bin/material/add_material") == 0


def test_media_used_by_a_rule_cannot_be_deleted(client, fake_wechat):
    item = body_json(upload(client, "image", PNG))
    rule = body_json(
        admin(
            client,
            "POST",
            "/admin/rules",
            {
                "name": "x",
                "match": "exact",
                "keywords": ["x"],
                "reply": {"type": "image", "media": item["id"]},
            },
        )
    )
    response = admin(client, "DELETE", f"/admin/media/{item['id']}")
    assert response.status_code == 409 and rule["id"] in body_json(response)["error"]
    assert admin(client, "DELETE", f"/admin/rules/{rule['id']}").status_code == 204
    assert admin(client, "DELETE", f"/admin/media/{item['id']}").status_code == 204


def test_customer_service_message_with_a_media_item(client, fake_wechat):
    item = body_json(upload(client, "image", PNG))
    follower_writes(client, "o_follower_1")
    response = admin(
        client,
        "POST",
        "/admin/messages/custom",
        {"openid": "o_follower_1", "message": {"type": "image", "media": item["id"]}},
    )
    assert response.status_code == 200, response.body
    (sent,) = fake_wechat.custom_messages
    # A message goes out now: the temporary media_id is fine, no material is made.
    assert sent["image"] == {"media_id": item["media_id"]}
    assert fake_wechat.count("/cgi-bin/material/add_material") == 0


def test_video_rule_naming_a_media_item_replies_with_the_material(client, fake_wechat):
    item = body_json(upload(client, "video", MP4))
    rule = {
        "name": "开户视频",
        "match": "exact",
        "keywords": ["开户"],
        "reply": {
            "type": "video",
            "media": item["id"],
            "title": "开户指南",
            "description": "3 分钟",
        },
    }
    response = admin(client, "POST", "/admin/rules", rule)
    assert response.status_code == 201, response.body
    material_id = body_json(admin(client, "GET", f"/admin/media/{item['id']}"))["media_id"]
    assert body_json(response)["reply"]["media_id"] == material_id
    # WeChat needs a title for permanent video: the reply's title went with the upload.
    (raw,) = fake_wechat.raw_bodies("/cgi-bin/material/add_material")
    assert "开户指南".encode() in raw

    refresh_rules()
    reply = wxsim.parse(post_xml(client, wxsim.text("开户")).body.decode())
    assert reply["MsgType"] == "video" and reply["Video"]["MediaId"] == material_id
    assert reply["Video"]["Title"] == "开户指南"
