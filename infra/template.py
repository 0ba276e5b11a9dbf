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


def _error_json(code: str, message: str, request_id: str) -> str:
    body = {"error": {"code": code, "message": message, "details": {}}, "request_id": request_id}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def _not_found_template() -> str:
    """The body of our 404, as an API Gateway response template (`$context.requestId` is filled in by AWS)."""
    return _error_json("NOT_FOUND", "接口不存在", "$context.requestId")


# ------------------------------------------------------------------ edge limits (docs/decisions/0008)

RATE_LIMITED = ("RATE_LIMITED", "操作过于频繁，请稍后再试")  # the app's own 429 (domain/errors.RateLimited)
# API Gateway's stage-wide token bucket, in front of everything: (steady requests per second, burst). It caps
# what a flood can cost (Lambda concurrency, DynamoDB on-demand spend), not what one caller may do.
STAGE_THROTTLE = {"local": (100, 200), "test": (100, 200), "dev": (100, 200), "prod": (2_000, 4_000)}
# WAF rate-based rules, per caller, counted over a sliding window at the edge (no table write per request):
# (rule name, requests allowed per window, what a caller is). A signed-in person is their bearer token, a
# merchant server its merchant id header (signed requests carry no token), anyone else their address.
WINDOW_S = 300
BY_ADDRESS, BY_ADDRESS_IF_ANONYMOUS = "address", "address if anonymous"
RATE_RULES: tuple[tuple[str, int, str], ...] = (
    ("per-token", 1_500, "authorization"),  # 5 requests/s sustained: a person browsing the hall does ~1
    ("per-merchant-server", 6_000, "x-taskhall-merchant"),  # 20/s: a merchant's server reviewing in bulk
    # 2/s per address for callers with neither header (sign-in, SMS codes, payment notifications)
    ("anonymous-per-ip", 600, BY_ADDRESS_IF_ANONYMOUS),
    # Everyone per address, generous for carrier-grade NAT: a header made up anew for every request is a new
    # key for the two rules above, and would otherwise pass them all.
    ("per-ip", 30_000, BY_ADDRESS),
)
RETRY_AFTER_S = 60
_AS_IS = [{"Priority": 0, "Type": "NONE"}]  # WAF's "no text transformation"


def gateway_responses() -> dict[str, Any]:
    """API Gateway's own answers, in the API's error shape.

    MISSING_AUTHENTICATION_TOKEN is what API Gateway answers for an unknown path or a method the path does
    not have; INCOMPLETE_SIGNATURE is the same situation when the request carries an `Authorization` header
    (our bearer tokens), because API Gateway then reads it as a broken SigV4 signature. We use no IAM auth,
    so both only ever mean "no such route". devstack/api.py answers the same locally. THROTTLED is the stage's
    token bucket (STAGE_THROTTLE) running dry: the app's own 429.
    """
    response = {"statusCode": "404", "responseTemplates": {"application/json": _not_found_template()}}
    throttled = {
        "statusCode": "429",
        "responseTemplates": {"application/json": _error_json(*RATE_LIMITED, "$context.requestId")},
        "responseParameters": {"gatewayresponse.header.Retry-After": "'1'"},
    }
    return {"MISSING_AUTHENTICATION_TOKEN": response, "INCOMPLETE_SIGNATURE": dict(response), "THROTTLED": throttled}


def _rate_rule(priority: int, name: str, limit: int, key: str) -> dict[str, Any]:
    statement: dict[str, Any] = {"Limit": limit, "EvaluationWindowSec": WINDOW_S}
    if key in (BY_ADDRESS, BY_ADDRESS_IF_ANONYMOUS):
        statement["AggregateKeyType"] = "IP"
    else:
        statement["AggregateKeyType"] = "CUSTOM_KEYS"  # requests without the header are not counted here
        statement["CustomKeys"] = [{"Header": {"Name": key, "TextTransformations": _AS_IS}}]
    if key == BY_ADDRESS_IF_ANONYMOUS:
        # Only callers that name themselves neither way: carrier-grade NAT puts many signed-in people behind one
        # address, and they are counted by token instead.
        headers = [k for _, _, k in RATE_RULES if k not in (BY_ADDRESS, BY_ADDRESS_IF_ANONYMOUS)]
        statement["ScopeDownStatement"] = {"AndStatement": {"Statements": [_header_absent(h) for h in headers]}}
    return {
        "Name": name,
        "Priority": priority,
        "Statement": {"RateBasedStatement": statement},
        "Action": {
            "Block": {
                "CustomResponse": {
                    "ResponseCode": 429,
                    "CustomResponseBodyKey": "rate_limited",
                    "ResponseHeaders": [{"Name": "Retry-After", "Value": str(RETRY_AFTER_S)}],
                }
            }
        },
        "VisibilityConfig": _visibility(name),
    }


def _header_absent(header: str) -> dict[str, Any]:
    present = {
        "SizeConstraintStatement": {
            "FieldToMatch": {"SingleHeader": {"Name": header}},
            "ComparisonOperator": "GT",
            "Size": 0,
            "TextTransformations": _AS_IS,
        }
    }
    return {"NotStatement": {"Statement": present}}


def _visibility(name: str) -> dict[str, Any]:
    return {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": name.replace("-", "")}


def edge_limits(stage: str) -> dict[str, Any]:
    """The WAF web ACL with the per-caller rate rules, and its association with the API's stage.

    The stage is Chalice's `RestAPI` (SAM names its stage resource `RestAPI<stage>Stage`; `RestAPI.Stage` is
    SAM's reference to it, which also orders the association after the stage exists).
    """
    rules = [_rate_rule(i, name, limit, key) for i, (name, limit, key) in enumerate(RATE_RULES)]
    # WAF serves this body as is: it cannot fill in a request id, so the body says none.
    body = _error_json(*RATE_LIMITED, "")
    stage_arn = {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":apigateway:",
                {"Ref": "AWS::Region"},
                "::/restapis/",
                {"Ref": "RestAPI"},
                "/stages/",
                {"Ref": "RestAPI.Stage"},
            ],
        ]
    }
    return {
        "EdgeLimits": {
            "Type": "AWS::WAFv2::WebACL",
            "Properties": {
                "Name": f"taskhall-{stage}-edge",
                "Scope": "REGIONAL",
                "DefaultAction": {"Allow": {}},
                "Rules": rules,
                "CustomResponseBodies": {"rate_limited": {"ContentType": "APPLICATION_JSON", "Content": body}},
                "VisibilityConfig": _visibility(f"taskhall-{stage}-edge"),
            },
        },
        "EdgeLimitsAssociation": {
            "Type": "AWS::WAFv2::WebACLAssociation",
            "Properties": {"ResourceArn": stage_arn, "WebACLArn": {"Fn::GetAtt": ["EdgeLimits", "Arn"]}},
        },
    }


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
    # The stage's token bucket applies to every method (`/*/*`).
    rate, burst = STAGE_THROTTLE[stage]
    res["RestAPI"] = {
        "Properties": {
            "DefinitionBody": {"x-amazon-apigateway-gateway-responses": gateway_responses()},
            "MethodSettings": [
                {"ResourcePath": "/*", "HttpMethod": "*", "ThrottlingRateLimit": rate, "ThrottlingBurstLimit": burst}
            ],
        }
    }
    res.update(edge_limits(stage))
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
