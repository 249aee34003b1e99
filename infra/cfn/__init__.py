"""The pieces of the CloudFormation merge template, one concern each; `infra/build.py` assembles
them (tables, the media bucket, queues, functions and their triggers, alarms, IAM policies)."""
