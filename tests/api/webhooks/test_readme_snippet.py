"""The README's signature-verification snippet works on what Taskhall sends, and refuses what it must."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from chalicelib.domain import webhooks as W

README = Path(__file__).resolve().parents[3] / "README.md"


def _snippet() -> Any:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Verifying webhook signatures", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    scope: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), scope)
    return scope["verify_taskhall"]


def test_readme_snippet_verifies_a_taskhall_signature_and_refuses_forgeries():
    verify = _snippet()
    body = b'{"data":{"claim_id":"clm_1"},"type":"claim.accepted"}'
    now = int(time.time())
    header = W.signature_header("whsec_abc", now, body)
    assert verify("whsec_abc", header, body)
    assert not verify("whsec_abc", header, body + b"\n")
    assert not verify("whsec_other", header, body)
    assert not verify("whsec_abc", W.signature_header("whsec_abc", now - 301, body), body)
    assert not verify("whsec_abc", "v1=" + W.signature("whsec_abc", now, body), body)
    assert not verify("whsec_abc", "garbage", body)
