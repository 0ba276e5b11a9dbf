"""Taskhall's AWS resources, one definition per stage.

`resources(stage)` is the CloudFormation `Resources` block: the single table, queues with dead-letter queues,
the files bucket, the KMS key and the generated secrets. `merge_template(stage)` wraps it for
`chalice package --merge-template` and rewires Chalice's event sources to these resources. The local stack
(`devstack/resources.py`) creates exactly these resources on moto, from this same function.

Run `python -m infra.template STAGE > build/merge-STAGE.json` (what `make package` does).
"""

from __future__ import annotations

import json
import sys
from typing import Any

STAGES = ("local", "test", "dev", "prod")
GSIS = ("GSI1", "GSI2", "GSI3")
QUEUE_MAX_RECEIVES = 5
LAMBDA_TIMEOUT_S = 30
# Consumer functions Chalice generates (names from `name=` in handlers/events.py).
STREAM_FUNCTION = "OnTableChange"
QUEUE_FUNCTIONS = {"OnJob": "jobs", "OnWebhook": "webhooks"}
ALL_FUNCTIONS = ("APIHandler", STREAM_FUNCTION, *QUEUE_FUNCTIONS, "Tick")
QUEUE_LOGICAL = {"jobs": "JobsQueue", "webhooks": "WebhooksQueue"}
# The IAM role Chalice generates for each function (its naming: the API handler's is "ApiHandlerRole").
ROLES = {fn: ("ApiHandlerRole" if fn == "APIHandler" else f"{fn}Role") for fn in ALL_FUNCTIONS}
# CORS origins allowed to POST uploads straight to S3 (admin console, merchant web). Apps need none.
CORS_ORIGINS = {
    "local": ["*"],
    "test": ["*"],
    "dev": ["*"],
    "prod": ["https://console.taskhall.cn", "https://merchant.taskhall.cn"],
}


def names(stage: str) -> dict[str, str]:
    p = f"taskhall-{stage}"
    return {
        "table": f"{p}-main",
        "bucket": f"{p}-files",
        "kms_alias": f"alias/{p}",
        "app_secrets": f"{p}/app-secrets",
        "provider_secrets": f"{p}/providers",
        "webhooks": f"{p}-webhooks",
        "webhooks_dlq": f"{p}-webhooks-dlq",
        "jobs": f"{p}-jobs",
        "jobs_dlq": f"{p}-jobs-dlq",
        "stream_dlq": f"{p}-stream-dlq",
    }


def _table(stage: str, n: dict[str, str]) -> dict[str, Any]:
    attrs = ["PK", "SK"] + [f"{g}{part}" for g in GSIS for part in ("PK", "SK")]
    props: dict[str, Any] = {
        "TableName": n["table"],
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in attrs],
        "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": g,
                "KeySchema": [
                    {"AttributeName": f"{g}PK", "KeyType": "HASH"},
                    {"AttributeName": f"{g}SK", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for g in GSIS
        ],
        "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
        "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": {"Ref": "AppKey"}},
        "DeletionProtectionEnabled": stage == "prod",
    }
    res: dict[str, Any] = {"Type": "AWS::DynamoDB::Table", "Properties": props}
    if stage == "prod":
        res["DeletionPolicy"] = "Retain"
        res["UpdateReplacePolicy"] = "Retain"
    return res


def _queue(name: str, dlq_logical: str | None) -> dict[str, Any]:
    props: dict[str, Any] = {
        "QueueName": name,
        "SqsManagedSseEnabled": True,
        "MessageRetentionPeriod": 1_209_600 if dlq_logical is None else 345_600,
    }
    if dlq_logical:
        # Six times the consumer's timeout, as AWS recommends for Lambda event sources.
        props["VisibilityTimeout"] = 6 * LAMBDA_TIMEOUT_S
        props["RedrivePolicy"] = {
            "deadLetterTargetArn": {"Fn::GetAtt": [dlq_logical, "Arn"]},
            "maxReceiveCount": QUEUE_MAX_RECEIVES,
        }
    return {"Type": "AWS::SQS::Queue", "Properties": props}


def resources(stage: str) -> dict[str, Any]:
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}")
    n = names(stage)
    return {
        "AppKey": {
            "Type": "AWS::KMS::Key",
            "Properties": {
                "Description": f"Taskhall {stage}: envelope encryption of ID numbers, payout accounts, secrets",
                "EnableKeyRotation": True,
                "KeyPolicy": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "AccountAdministers",
                            "Effect": "Allow",
                            "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
                            "Action": "kms:*",
                            "Resource": "*",
                        }
                    ],
                },
            },
        },
        "AppKeyAlias": {
            "Type": "AWS::KMS::Alias",
            "Properties": {"AliasName": n["kms_alias"], "TargetKeyId": {"Ref": "AppKey"}},
        },
        "MainTable": _table(stage, n),
        "WebhooksDLQ": _queue(n["webhooks_dlq"], None),
        "WebhooksQueue": _queue(n["webhooks"], "WebhooksDLQ"),
        "JobsDLQ": _queue(n["jobs_dlq"], None),
        "JobsQueue": _queue(n["jobs"], "JobsDLQ"),
        "StreamDLQ": _queue(n["stream_dlq"], None),
        "FilesBucket": {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain" if stage == "prod" else "Delete",
            "UpdateReplacePolicy": "Retain" if stage == "prod" else "Delete",
            "Properties": {
                "BucketName": n["bucket"],
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {
                            "ServerSideEncryptionByDefault": {
                                "SSEAlgorithm": "aws:kms",
                                "KMSMasterKeyID": {"Ref": "AppKey"},
                            },
                            "BucketKeyEnabled": True,
                        }
                    ]
                },
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "VersioningConfiguration": {"Status": "Enabled"},
                "CorsConfiguration": {
                    "CorsRules": [
                        {
                            "AllowedMethods": ["POST", "GET"],
                            "AllowedOrigins": CORS_ORIGINS[stage],
                            "AllowedHeaders": ["*"],
                            "MaxAge": 3000,
                        }
                    ]
                },
                "LifecycleConfiguration": {
                    "Rules": [
                        {
                            "Id": "abort-incomplete-uploads",
                            "Status": "Enabled",
                            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                        },
                        {
                            "Id": "expire-old-versions",
                            "Status": "Enabled",
                            "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                        },
                    ]
                },
            },
        },
        "FilesBucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": "FilesBucket"},
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "DenyInsecureTransport",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [
                                {"Fn::GetAtt": ["FilesBucket", "Arn"]},
                                {"Fn::Sub": "${FilesBucket.Arn}/*"},
                            ],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                },
            },
        },
        # CloudFormation cannot create SSM SecureStrings; it generates the secret in Secrets Manager and the
        # code reads it through SSM's /aws/reference/secretsmanager/ path (docs/decisions/0011-secrets.md).
        "AppSecrets": {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {
                "Name": n["app_secrets"],
                "Description": "Master secret; JWT, cursor and blind-index keys are derived from it (HKDF)",
                "KmsKeyId": {"Ref": "AppKey"},
                "GenerateSecretString": {
                    "SecretStringTemplate": "{}",
                    "GenerateStringKey": "master",
                    "PasswordLength": 64,
                    "ExcludePunctuation": True,
                },
            },
        },
        "ProviderSecrets": {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {
                "Name": n["provider_secrets"],
                "Description": "Alipay / WeChat Pay credentials, filled in by operators (see README)",
                "KmsKeyId": {"Ref": "AppKey"},
                "SecretString": "{}",
            },
        },
    }


def iam_statements(stage: str, partition: str = "aws-cn") -> list[dict[str, Any]]:
    """Least privilege for the Lambda functions: exactly the calls the code makes, on exactly these resources.

    ARNs use the resource names (account and region wildcarded) so the same document serves
    `chalice deploy` (a policy file) and `chalice package` (merged into the generated roles).
    """
    n = names(stage)
    table = f"arn:{partition}:dynamodb:*:*:table/{n['table']}"
    q = f"arn:{partition}:sqs:*:*:"
    return [
        {
            "Sid": "Logs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"arn:{partition}:logs:*:*:*",
        },
        {
            "Sid": "Table",
            "Effect": "Allow",
            "Action": [
                "dynamodb:GetItem",
                "dynamodb:BatchGetItem",
                "dynamodb:Query",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:ConditionCheckItem",
            ],
            "Resource": [table, f"{table}/index/*"],
        },
        {
            "Sid": "TableStream",
            "Effect": "Allow",
            "Action": [
                "dynamodb:DescribeStream",
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
                "dynamodb:ListStreams",
            ],
            "Resource": f"{table}/stream/*",
        },
        {
            "Sid": "Queues",
            "Effect": "Allow",
            "Action": [
                "sqs:SendMessage",
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
            ],
            "Resource": [f"{q}{n[k]}" for k in ("webhooks", "webhooks_dlq", "jobs", "jobs_dlq", "stream_dlq")],
        },
        {
            "Sid": "Files",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
            "Resource": [f"arn:{partition}:s3:::{n['bucket']}", f"arn:{partition}:s3:::{n['bucket']}/*"],
        },
        {
            "Sid": "Keys",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"],
            "Resource": f"arn:{partition}:kms:*:*:key/*",
            "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": n["kms_alias"]}},
        },
        {
            "Sid": "Secrets",
            "Effect": "Allow",
            "Action": ["ssm:GetParameter"],
            "Resource": f"arn:{partition}:ssm:*:*:parameter/aws/reference/secretsmanager/taskhall-{stage}/*",
        },
        {
            "Sid": "SecretsBehindSsm",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": f"arn:{partition}:secretsmanager:*:*:secret:taskhall-{stage}/*",
        },
    ]


def iam_policy(stage: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": iam_statements(stage)}


def _not_found_template() -> str:
    """The body of our 404, as an API Gateway response template (`$context.requestId` is filled in by AWS)."""
    body = {"error": {"code": "NOT_FOUND", "message": "接口不存在", "details": {}}, "request_id": "$context.requestId"}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def gateway_responses() -> dict[str, Any]:
    """API Gateway's own answers for requests that match no route, rewritten into the API's 404.

    MISSING_AUTHENTICATION_TOKEN is what API Gateway answers for an unknown path or a method the path does
    not have; INCOMPLETE_SIGNATURE is the same situation when the request carries an `Authorization` header
    (our bearer tokens), because API Gateway then reads it as a broken SigV4 signature. We use no IAM auth,
    so both only ever mean "no such route". devstack/api.py answers the same locally.
    """
    response = {"statusCode": "404", "responseTemplates": {"application/json": _not_found_template()}}
    return {"MISSING_AUTHENTICATION_TOKEN": response, "INCOMPLETE_SIGNATURE": dict(response)}


STREAM_EVENT_SOURCE: dict[str, Any] = {
    "FunctionResponseTypes": ["ReportBatchItemFailures"],
    "BisectBatchOnFunctionError": True,
    "MaximumRetryAttempts": 5,
    "MaximumRecordAgeInSeconds": 86400,
}


def merge_template(stage: str) -> dict[str, Any]:
    """The fragment `chalice package --merge-template` deep-merges into Chalice's SAM template.

    Chalice's merge is a deep merge of dicts (a non-dict value replaces), so this can add and override keys
    but never remove one: where Chalice's value is right but needs an ordering edge, we add `DependsOn`.
    See docs/decisions/0010-stream-arn-and-event-sources.md.
    """
    res: dict[str, Any] = resources(stage)
    stream_arn = {"Fn::GetAtt": ["MainTable", "StreamArn"]}
    env = {"Environment": {"Variables": {"TABLE_STREAM_ARN": stream_arn}}}
    for fn in ALL_FUNCTIONS:
        res[fn] = {"Properties": json.loads(json.dumps(env))}
    # Chalice wrote the placeholder ARN from .chalice/config.json here (a string): the dict replaces it.
    res[STREAM_FUNCTION]["Properties"]["Events"] = {
        f"{STREAM_FUNCTION}DynamodbEventSource": {
            "Properties": {
                "Stream": stream_arn,
                **STREAM_EVENT_SOURCE,
                "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": ["StreamDLQ", "Arn"]}}},
            }
        }
    }
    for fn, queue in QUEUE_FUNCTIONS.items():
        # Chalice's `Queue` is `Fn::Sub` of the queue's name (right, from the stage's settings) and a dict, so
        # a `Fn::GetAtt` here would merge into an invalid two-function object. Order the creation instead.
        res[fn]["DependsOn"] = [QUEUE_LOGICAL[queue]]
        res[fn]["Properties"]["Events"] = {
            f"{fn}SqsEventSource": {"Properties": {"FunctionResponseTypes": ["ReportBatchItemFailures"]}}
        }
    # Chalice builds every role from the stage's policy file (.chalice/policy-<stage>.json, written by
    # `python -m infra.policy`); stating the policy here as well keeps the template right even if that file
    # were stale. `Policies` is a list, so this replaces Chalice's.
    for fn in ALL_FUNCTIONS:
        role = ROLES[fn]
        res[role] = {"Properties": {"Policies": [{"PolicyName": f"{role}Policy", "PolicyDocument": iam_policy(stage)}]}}
    # Part of the API definition (not a separate GatewayResponse resource), so every deployment carries it.
    res["RestAPI"] = {"Properties": {"DefinitionBody": {"x-amazon-apigateway-gateway-responses": gateway_responses()}}}
    return {
        "Resources": res,
        "Outputs": {
            "TableName": {"Value": {"Ref": "MainTable"}},
            "TableStreamArn": {"Value": stream_arn},
            "FilesBucket": {"Value": {"Ref": "FilesBucket"}},
        },
    }


if __name__ == "__main__":
    stage = sys.argv[1] if len(sys.argv) > 1 else "dev"
    json.dump(merge_template(stage), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
