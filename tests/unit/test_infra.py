"""infra/: the merge template Chalice packages with, the per-stage IAM policy files, and the gateway responses."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.package import TemplateDeepMerger

from devstack.api import not_found_body
from infra import policy, template

DEPLOYED = ("dev", "prod")


@pytest.mark.parametrize("stage", DEPLOYED)
def test_committed_policy_file_equals_the_generated_policy(stage):
    assert policy.policy_path(stage).read_text(encoding="utf-8") == policy.render(stage)


@pytest.mark.parametrize("stage", DEPLOYED)
def test_policy_names_only_this_stages_resources(stage):
    for statement in template.iam_policy(stage)["Statement"]:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for arn in resources:
            assert arn.startswith("arn:aws-cn:")
            if statement["Sid"] not in ("Logs", "Keys"):
                assert f"taskhall-{stage}" in arn, arn
        assert "*" not in statement["Action"] and not any(a.endswith(":*") for a in statement["Action"])
    keys = next(s for s in template.iam_policy(stage)["Statement"] if s["Sid"] == "Keys")
    assert keys["Condition"] == {"ForAnyValue:StringEquals": {"kms:ResourceAliases": f"alias/taskhall-{stage}"}}


def _chalice_like(stage: str) -> dict[str, Any]:
    """The parts of `chalice package` output (chalice 1.34) that the merge template touches."""
    role_policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["logs:*"], "Resource": "*"}]}
    res: dict[str, Any] = {}
    for fn in template.ALL_FUNCTIONS:
        res[fn] = {
            "Type": "AWS::Serverless::Function",
            "Properties": {"Environment": {"Variables": {"STAGE": stage, "TABLE_STREAM_ARN": "arn:placeholder"}}},
        }
        role = template.ROLES[fn]
        res[role] = {
            "Type": "AWS::IAM::Role",
            "Properties": {"Policies": [{"PolicyDocument": role_policy, "PolicyName": f"{role}Policy"}]},
        }
    res[template.STREAM_FUNCTION]["Properties"]["Events"] = {
        f"{template.STREAM_FUNCTION}DynamodbEventSource": {
            "Type": "DynamoDB",
            "Properties": {"Stream": "arn:placeholder", "BatchSize": 100, "StartingPosition": "TRIM_HORIZON"},
        }
    }
    for fn, queue in template.QUEUE_FUNCTIONS.items():
        arn = {"Fn::Sub": f"arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:taskhall-{stage}-{queue}"}
        res[fn]["Properties"]["Events"] = {
            f"{fn}SqsEventSource": {"Type": "SQS", "Properties": {"Queue": arn, "BatchSize": 10}}
        }
    res["RestAPI"] = {"Type": "AWS::Serverless::Api", "Properties": {"DefinitionBody": {"swagger": "2.0"}}}
    return {"Resources": res}


def _intrinsics(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if any(k == "Ref" or k.startswith("Fn::") for k in node):
            found.append(node)
        for value in node.values():
            found += _intrinsics(value)
    elif isinstance(node, list):
        for value in node:
            found += _intrinsics(value)
    return found


@pytest.fixture(params=DEPLOYED)
def merged(request) -> dict[str, Any]:
    stage = request.param
    return TemplateDeepMerger().merge(template.merge_template(stage), _chalice_like(stage))["Resources"]


def test_merge_leaves_every_intrinsic_function_alone_in_its_object(merged):
    for node in _intrinsics(merged):
        assert len(node) == 1, node


def test_every_function_reads_the_real_stream_arn(merged):
    for fn in template.ALL_FUNCTIONS:
        variables = merged[fn]["Properties"]["Environment"]["Variables"]
        assert variables["TABLE_STREAM_ARN"] == {"Fn::GetAtt": ["MainTable", "StreamArn"]}
        assert variables["STAGE"] in DEPLOYED  # Chalice's own variables survive the merge


def test_stream_consumer_reports_partial_failures_and_dead_letters_after_retries(merged):
    source = merged[template.STREAM_FUNCTION]["Properties"]["Events"]["OnTableChangeDynamodbEventSource"]
    props = source["Properties"]
    assert props["Stream"] == {"Fn::GetAtt": ["MainTable", "StreamArn"]}
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BisectBatchOnFunctionError"] is True and props["MaximumRetryAttempts"] == 5
    assert props["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["StreamDLQ", "Arn"]}
    assert props["BatchSize"] == 100  # Chalice's, from the decorator


def test_queue_consumers_report_partial_failures_and_wait_for_their_queue(merged):
    for fn, queue in template.QUEUE_FUNCTIONS.items():
        props = merged[fn]["Properties"]["Events"][f"{fn}SqsEventSource"]["Properties"]
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert props["Queue"]["Fn::Sub"].endswith(f"-{queue}")
        assert merged[fn]["DependsOn"] == [template.QUEUE_LOGICAL[queue]]


def test_every_function_role_carries_the_stage_policy_alone(merged):
    stage = merged["APIHandler"]["Properties"]["Environment"]["Variables"]["STAGE"]
    for fn in template.ALL_FUNCTIONS:
        policies = merged[template.ROLES[fn]]["Properties"]["Policies"]
        assert [p["PolicyDocument"] for p in policies] == [template.iam_policy(stage)]


def test_unmatched_routes_answer_404_in_the_api_error_shape(merged):
    responses = merged["RestAPI"]["Properties"]["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]
    assert set(responses) == {"MISSING_AUTHENTICATION_TOKEN", "INCOMPLETE_SIGNATURE"}
    for response in responses.values():
        assert response["statusCode"] == "404"
        body = response["responseTemplates"]["application/json"].replace("$context.requestId", "rid-1")
        # The local gateway (devstack/api.py) answers exactly the same.
        assert json.loads(body) == json.loads(not_found_body("rid-1"))
