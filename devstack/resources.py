"""Create a stage's resources on moto from `infra.template.resources(stage)` — the same definition CloudFormation
deploys, interpreted here resource type by resource type. A type this module does not know is an error, so
the template and the local stack cannot drift apart silently.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any, ClassVar

import boto3

from infra import template

ACCOUNT = "123456789012"  # moto's default account


class LocalStack:
    """Creates resources in template order and resolves Ref / Fn::GetAtt / Fn::Sub between them."""

    def __init__(
        self,
        stage: str,
        region: str,
        session: boto3.session.Session | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        self.stage = stage
        self.region = region
        if session is None:
            from chalicelib.adapters import aws

            session = aws.session()
        self.session = session
        self.endpoint_url = endpoint_url  # None: botocore's own resolution (AWS_ENDPOINT_URL, or mock_aws)
        self.partition = "aws-cn" if region.startswith("cn-") else "aws"
        self.refs: dict[str, str] = {}
        self.attrs: dict[tuple[str, str], str] = {}
        self.outputs: dict[str, str] = {}

    def client(self, service: str) -> Any:
        return self.session.client(service, region_name=self.region, endpoint_url=self.endpoint_url)

    # ------------------------------------------------------------ intrinsic functions

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"Ref"}:
                return self.refs[value["Ref"]]
            if set(value) == {"Fn::GetAtt"}:
                logical, attr = value["Fn::GetAtt"]
                return self.attrs[(logical, attr)]
            if set(value) == {"Fn::Sub"}:
                text = value["Fn::Sub"]
                subs = {"AWS::Partition": self.partition, "AWS::Region": self.region, "AWS::AccountId": ACCOUNT}
                subs.update({f"{k}.Arn": v for (k, a), v in self.attrs.items() if a == "Arn"})
                subs.update(self.refs)
                for key, val in subs.items():
                    text = text.replace("${" + key + "}", val)
                return text
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    # ------------------------------------------------------------ resource types

    def _kms_key(self, logical: str, props: dict[str, Any]) -> None:
        kms = self.client("kms")
        meta = kms.create_key(Description=props.get("Description", ""))["KeyMetadata"]
        if props.get("EnableKeyRotation"):
            kms.enable_key_rotation(KeyId=meta["KeyId"])
        self.refs[logical] = meta["KeyId"]
        self.attrs[(logical, "Arn")] = meta["Arn"]

    def _kms_alias(self, logical: str, props: dict[str, Any]) -> None:
        self.client("kms").create_alias(AliasName=props["AliasName"], TargetKeyId=props["TargetKeyId"])
        self.refs[logical] = props["AliasName"]

    def _table(self, logical: str, props: dict[str, Any]) -> None:
        ddb = self.client("dynamodb")
        create = {
            k: props[k]
            for k in (
                "TableName",
                "BillingMode",
                "AttributeDefinitions",
                "KeySchema",
                "GlobalSecondaryIndexes",
                "StreamSpecification",
            )
        }
        create["StreamSpecification"] = {"StreamEnabled": True, **create["StreamSpecification"]}
        create["DeletionProtectionEnabled"] = props.get("DeletionProtectionEnabled", False)
        desc = ddb.create_table(**create)["TableDescription"]
        ttl = props["TimeToLiveSpecification"]
        ddb.update_time_to_live(TableName=props["TableName"], TimeToLiveSpecification=ttl)
        pitr = props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]
        ddb.update_continuous_backups(
            TableName=props["TableName"],
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": pitr},
        )
        self.refs[logical] = props["TableName"]
        self.attrs[(logical, "Arn")] = desc["TableArn"]
        self.attrs[(logical, "StreamArn")] = desc["LatestStreamArn"]

    def _queue(self, logical: str, props: dict[str, Any]) -> None:
        sqs = self.client("sqs")
        attrs: dict[str, str] = {}
        for key, val in props.items():
            if key == "QueueName":
                continue
            attrs[key] = (
                json.dumps(val) if isinstance(val, dict) else str(val).lower() if isinstance(val, bool) else str(val)
            )
        url = sqs.create_queue(QueueName=props["QueueName"], Attributes=attrs)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.refs[logical] = url
        self.attrs[(logical, "Arn")] = arn
        self.attrs[(logical, "QueueName")] = props["QueueName"]

    def _bucket(self, logical: str, props: dict[str, Any]) -> None:
        s3 = self.client("s3")
        name = props["BucketName"]
        if self.region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region})
        rules = [
            {
                "ApplyServerSideEncryptionByDefault": r["ServerSideEncryptionByDefault"],
                "BucketKeyEnabled": r.get("BucketKeyEnabled", False),
            }
            for r in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        ]
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=props["OwnershipControls"])
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=props["VersioningConfiguration"])
        cors = [
            {"MaxAgeSeconds": r["MaxAge"], **{k: v for k, v in r.items() if k != "MaxAge"}}
            for r in props["CorsConfiguration"]["CorsRules"]
        ]
        s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": cors})
        lifecycle = []
        for rule in props["LifecycleConfiguration"]["Rules"]:
            entry: dict[str, Any] = {"ID": rule["Id"], "Filter": {"Prefix": ""}, "Status": rule["Status"]}
            if "AbortIncompleteMultipartUpload" in rule:
                entry["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
            if "NoncurrentVersionExpiration" in rule:
                days = rule["NoncurrentVersionExpiration"]["NoncurrentDays"]
                entry["NoncurrentVersionExpiration"] = {"NoncurrentDays": days}
            lifecycle.append(entry)
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": lifecycle})
        self.refs[logical] = name
        self.attrs[(logical, "Arn")] = f"arn:{self.partition}:s3:::{name}"

    def _bucket_policy(self, logical: str, props: dict[str, Any]) -> None:
        # The TLS-only statement stays in AWS but not here: the local stack speaks plain HTTP to moto, and moto
        # 5.2.5 evaluates a Deny whose condition does NOT match as a denial, so it refused every S3 call.
        doc = dict(props["PolicyDocument"])
        doc["Statement"] = [st for st in doc["Statement"] if "aws:SecureTransport" not in json.dumps(st)]
        if doc["Statement"]:
            self.client("s3").put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps(doc))

    def _secret(self, logical: str, props: dict[str, Any]) -> None:
        if "GenerateSecretString" in props:
            gen = props["GenerateSecretString"]
            value = json.loads(gen.get("SecretStringTemplate", "{}"))
            alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
            value[gen["GenerateStringKey"]] = "".join(secrets.choice(alphabet) for _ in range(gen["PasswordLength"]))
            text = json.dumps(value)
        else:
            text = props["SecretString"]
        arn = self.client("secretsmanager").create_secret(
            Name=props["Name"], SecretString=text, KmsKeyId=props.get("KmsKeyId", "")
        )["ARN"]
        self.refs[logical] = arn

    HANDLERS: ClassVar[dict[str, str]] = {
        "AWS::KMS::Key": "_kms_key",
        "AWS::KMS::Alias": "_kms_alias",
        "AWS::DynamoDB::Table": "_table",
        "AWS::SQS::Queue": "_queue",
        "AWS::S3::Bucket": "_bucket",
        "AWS::S3::BucketPolicy": "_bucket_policy",
        "AWS::SecretsManager::Secret": "_secret",
    }

    def create_all(self) -> LocalStack:
        for logical, res in template.resources(self.stage).items():
            method_name = self.HANDLERS.get(res["Type"])
            if method_name is None:
                raise NotImplementedError(f"the local stack cannot create {res['Type']} ({logical}); teach it")
            create: Callable[[str, dict[str, Any]], None] = getattr(self, method_name)
            create(logical, self.resolve(res.get("Properties", {})))
        self.outputs = {
            "TABLE_NAME": self.refs["MainTable"],
            "TABLE_STREAM_ARN": self.attrs[("MainTable", "StreamArn")],
            "BUCKET_NAME": self.refs["FilesBucket"],
        }
        return self

    def put_provider_secrets(self, values: dict[str, Any]) -> None:
        """Local stage: fill the operator-managed provider secret (the sandbox provider's keys)."""
        n = template.names(self.stage)
        self.client("secretsmanager").put_secret_value(SecretId=n["provider_secrets"], SecretString=json.dumps(values))


def create_stack(stage: str, region: str, endpoint_url: str | None = None) -> LocalStack:
    stack = LocalStack(stage, region, endpoint_url=endpoint_url).create_all()
    if stage == "local":
        # The local stage pays through the sandbox provider: give it a fresh key pair, as operators would
        # put real provider credentials into this secret in dev and prod. (Tests of stage `test` put a
        # cached pair themselves: RSA generation is slow.)
        from chalicelib.adapters.payments.sandbox import generate_sandbox_keys

        stack.put_provider_secrets({"sandbox": generate_sandbox_keys()})
    return stack
