"""The media bucket: private, encrypted, TLS only, temporary uploads expired by a lifecycle rule."""

from __future__ import annotations

from typing import Any

from infra import resources
from infra.cfn.common import sub
from infra.resources import APP_NAME


def media_bucket_name(stage: str) -> str:
    """The bucket name with the account and region left as `${AWS::...}` placeholders."""
    return f"{APP_NAME}-{stage}-media-${{AWS::AccountId}}-${{AWS::Region}}"


def media_bucket_resources() -> dict[str, Any]:
    bucket = {
        "Type": "AWS::S3::Bucket",
        "Properties": {
            # Bucket names are global: the account and region keep them unique.
            "BucketName": sub(f"{APP_NAME}-${{Stage}}-media-${{AWS::AccountId}}-${{AWS::Region}}"),
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "LifecycleConfiguration": {
                "Rules": [
                    {
                        "Id": "expire-temporary-uploads",
                        "Status": "Enabled",
                        "Prefix": resources.MEDIA_TEMP_PREFIX,
                        "ExpirationInDays": resources.MEDIA_TEMP_DAYS,
                    },
                    {
                        "Id": "abort-incomplete-multipart-uploads",
                        "Status": "Enabled",
                        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                    },
                ]
            },
        },
    }
    policy = {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": {"Ref": "MediaBucket"},
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [
                            {"Fn::GetAtt": ["MediaBucket", "Arn"]},
                            sub("${MediaBucket.Arn}/*"),
                        ],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            },
        },
    }
    return {"MediaBucket": bucket, "MediaBucketPolicy": policy}
