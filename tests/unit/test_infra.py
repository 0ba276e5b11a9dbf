"""infra/: the merge template Chalice packages with, the per-stage IAM policy files, and the gateway responses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from chalice.package import TemplateDeepMerger

from chalicelib.domain.errors import RateLimited
from chalicelib.handlers.web import error_body
from chalicelib.services.sessions import SIGNATURE_HEADER
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
    assert set(responses) == {"MISSING_AUTHENTICATION_TOKEN", "INCOMPLETE_SIGNATURE", "THROTTLED"}
    for kind in ("MISSING_AUTHENTICATION_TOKEN", "INCOMPLETE_SIGNATURE"):
        response = responses[kind]
        assert response["statusCode"] == "404"
        body = response["responseTemplates"]["application/json"].replace("$context.requestId", "rid-1")
        # The local gateway (devstack/api.py) answers exactly the same.
        assert json.loads(body) == json.loads(not_found_body("rid-1"))


# ------------------------------------------------------------------ edge limits (docs/decisions/0008)


@pytest.mark.parametrize("stage", DEPLOYED)
def test_the_api_is_regional_as_china_regions_require(stage):
    # API Gateway in Beijing and Ningxia has no edge-optimized endpoints; Chalice's default is EDGE.
    from chalice.cli.factory import CLIFactory

    config = CLIFactory(str(Path(__file__).resolve().parents[2])).create_config_obj(chalice_stage_name=stage)
    assert config.api_gateway_endpoint_type == "REGIONAL"


def test_a_dry_stage_bucket_answers_429_in_the_api_error_shape(merged):
    throttled = merged["RestAPI"]["Properties"]["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]["THROTTLED"]
    assert throttled["statusCode"] == "429"
    assert throttled["responseParameters"] == {"gatewayresponse.header.Retry-After": "'1'"}
    body = json.loads(throttled["responseTemplates"]["application/json"].replace("$context.requestId", "rid-1"))
    # The same code and message as the app's own rate limits.
    assert body == error_body(RateLimited.default_code, RateLimited.default_message, {}, "rid-1")


@pytest.mark.parametrize("stage", DEPLOYED)
def test_every_method_of_the_stage_has_the_stage_token_bucket(stage):
    merged = TemplateDeepMerger().merge(template.merge_template(stage), _chalice_like(stage))["Resources"]
    rate, burst = template.STAGE_THROTTLE[stage]
    assert merged["RestAPI"]["Properties"]["MethodSettings"] == [
        {"ResourcePath": "/*", "HttpMethod": "*", "ThrottlingRateLimit": rate, "ThrottlingBurstLimit": burst}
    ]


def _rules(merged: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["Name"]: r for r in merged["EdgeLimits"]["Properties"]["Rules"]}


def test_callers_are_counted_by_token_by_merchant_server_and_anonymous_ones_by_address(merged):
    rules = _rules(merged)
    assert set(rules) == {"per-token", "per-merchant-server", "anonymous-per-ip", "per-ip"}
    keyed = {
        name: rule["Statement"]["RateBasedStatement"]["CustomKeys"][0]["Header"]["Name"]
        for name, rule in rules.items()
        if rule["Statement"]["RateBasedStatement"]["AggregateKeyType"] == "CUSTOM_KEYS"
    }
    # The headers the app authenticates by: the bearer token and the merchant-server signature's merchant id.
    assert keyed == {"per-token": "authorization", "per-merchant-server": SIGNATURE_HEADER}
    by_ip = rules["anonymous-per-ip"]["Statement"]["RateBasedStatement"]
    assert by_ip["AggregateKeyType"] == "IP"
    # Carrier-grade NAT puts many signed-in people behind one address: only callers with neither header count.
    absent = {
        s["NotStatement"]["Statement"]["SizeConstraintStatement"]["FieldToMatch"]["SingleHeader"]["Name"]
        for s in by_ip["ScopeDownStatement"]["AndStatement"]["Statements"]
    }
    assert absent == {"authorization", SIGNATURE_HEADER}
    # A header made up anew for every request passes the keyed rules; every address is still counted, generously.
    everyone = rules["per-ip"]["Statement"]["RateBasedStatement"]
    assert everyone["AggregateKeyType"] == "IP" and "ScopeDownStatement" not in everyone
    keyed_limits = [r["Statement"]["RateBasedStatement"]["Limit"] for n, r in rules.items() if n != "per-ip"]
    assert everyone["Limit"] > max(keyed_limits)
    for rule in rules.values():
        statement = rule["Statement"]["RateBasedStatement"]
        assert statement["EvaluationWindowSec"] == template.WINDOW_S and statement["Limit"] >= 100


def test_a_caller_over_its_rate_gets_the_apps_429(merged):
    acl = merged["EdgeLimits"]["Properties"]
    body = json.loads(acl["CustomResponseBodies"]["rate_limited"]["Content"])
    assert body == error_body(RateLimited.default_code, RateLimited.default_message, {}, "")
    for rule in acl["Rules"]:
        response = rule["Action"]["Block"]["CustomResponse"]
        assert response["ResponseCode"] == 429 and response["CustomResponseBodyKey"] == "rate_limited"
        assert response["ResponseHeaders"] == [{"Name": "Retry-After", "Value": str(template.RETRY_AFTER_S)}]


def test_the_web_acl_guards_the_apis_stage(merged):
    association = merged["EdgeLimitsAssociation"]["Properties"]
    assert association["WebACLArn"] == {"Fn::GetAtt": ["EdgeLimits", "Arn"]}
    parts = association["ResourceArn"]["Fn::Join"][1]
    assert parts[-4:] == ["::/restapis/", {"Ref": "RestAPI"}, "/stages/", {"Ref": "RestAPI.Stage"}]
    assert merged["EdgeLimits"]["Properties"]["Scope"] == "REGIONAL"


@pytest.mark.parametrize("stage", DEPLOYED)
def test_the_edge_limits_lint_clean_for_the_china_regions(stage):
    from cfnlint.api import ManualArgs, lint

    res = template.edge_limits(stage)
    # A plain RestApi and Stage stand in for what SAM makes of Chalice's RestAPI (`RestAPI.Stage` is SAM's name
    # for that stage), with the stage settings the merge template gives it.
    res["RestAPI"] = {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": f"taskhall-{stage}"}}
    res["RestAPIStage"] = {
        "Type": "AWS::ApiGateway::Stage",
        "Properties": {
            "RestApiId": {"Ref": "RestAPI"},
            "StageName": stage,
            "DeploymentId": "d1",
            "MethodSettings": template.merge_template(stage)["Resources"]["RestAPI"]["Properties"]["MethodSettings"],
        },
    }
    text = json.dumps({"AWSTemplateFormatVersion": "2010-09-09", "Resources": res}).replace(
        '"RestAPI.Stage"', '"RestAPIStage"'
    )
    assert lint(text, config=ManualArgs(regions=["cn-north-1", "cn-northwest-1"])) == []
