"""The Aliyun SMS adapter against the signature example in Alibaba Cloud's SendSms documentation."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from chalicelib.adapters import sms
from chalicelib.domain.errors import ServiceUnavailable

DOC_PARAMS = {
    "AccessKeyId": "testId",
    "Action": "SendSms",
    "Format": "XML",
    "OutId": "123",
    "PhoneNumbers": "15300000001",
    "RegionId": "cn-hangzhou",
    "SignName": "阿里云短信测试专用",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
    "SignatureVersion": "1.0",
    "TemplateCode": "SMS_71390007",
    "TemplateParam": '{"customer":"test"}',
    "Timestamp": "2017-07-12T02:42:19Z",
    "Version": "2017-05-25",
}
DOC_STRING_TO_SIGN = (
    "GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms%26Format%3DXML%26OutId%3D123%26PhoneNumbers%3D15300000001"
    "%26RegionId%3Dcn-hangzhou%26SignName%3D%25E9%2598%25BF%25E9%2587%258C%25E4%25BA%2591%25E7%259F%25AD%25E4"
    "%25BF%25A1%25E6%25B5%258B%25E8%25AF%2595%25E4%25B8%2593%25E7%2594%25A8%26SignatureMethod%3DHMAC-SHA1"
    "%26SignatureNonce%3D45e25e9b-0a6f-4070-8c85-2956eda1b466%26SignatureVersion%3D1.0%26TemplateCode"
    "%3DSMS_71390007%26TemplateParam%3D%257B%2522customer%2522%253A%2522test%2522%257D%26Timestamp"
    "%3D2017-07-12T02%253A42%253A19Z%26Version%3D2017-05-25"
)
CONFIG = {
    "access_key_id": "testId",
    "access_key_secret": "testSecret",
    "sign_name": "任务大厅",
    "template_code": "SMS_1",
}


def test_string_to_sign_and_signature_match_the_documented_example():
    assert sms.aliyun_string_to_sign(DOC_PARAMS) == DOC_STRING_TO_SIGN
    assert sms.aliyun_signature(DOC_PARAMS, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_percent_encoding_follows_pop_rules():
    assert sms.percent_encode("a b*~/+=") == "a%20b%2A~%2F%2B%3D"


def _query(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def test_send_builds_a_signed_request_that_verifies():
    sent: list[str] = []

    def transport(url: str) -> tuple[int, bytes]:
        sent.append(url)
        return 200, json.dumps({"Code": "OK", "BizId": "900619746936498440^0"}).encode()

    sms.AliyunSms(CONFIG, transport).send_otp("13800001234", "246810", "login")
    [url] = sent
    assert url.startswith("https://dysmsapi.aliyuncs.com/?Signature=")
    params = _query(url)
    signature = params.pop("Signature")
    assert signature == sms.aliyun_signature(params, "testSecret")
    assert params["PhoneNumbers"] == "13800001234"
    assert json.loads(params["TemplateParam"]) == {"code": "246810"}
    assert params["Action"] == "SendSms" and params["Version"] == "2017-05-25"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控"}),
        (500, {}),
        (403, {"Code": "SignatureDoesNotMatch"}),
    ],
)
def test_provider_refusals_are_503_and_retryable(status, body):
    sender = sms.AliyunSms(CONFIG, lambda url: (status, json.dumps(body).encode()))
    with pytest.raises(ServiceUnavailable) as err:
        sender.send_otp("13800001234", "246810", "login")
    assert err.value.code == "SMS_SEND_FAILED"


def test_incomplete_configuration_is_refused():
    with pytest.raises(RuntimeError):
        sms.AliyunSms({"access_key_id": "x"})
