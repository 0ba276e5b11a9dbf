"""Pillow loads on the first proof image, not at `import app` or the consumers; imagehash and its numpy, scipy and
PyWavelets never load in the product (domain/phash.py, decision 0009): they are not in the deployment package."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
HEAVY = ("imagehash", "numpy", "scipy", "pywt", "PIL")


def _loaded_after(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def test_import_app_and_the_stream_consumers_do_not_load_pillow():
    assert _loaded_after("import app\nfrom chalicelib.services import consumers") == []


def test_hashing_a_proof_image_loads_pillow_and_nothing_else_of_those(tmp_path):
    from PIL import Image

    picture = tmp_path / "proof.png"
    Image.new("RGB", (32, 32), "white").save(picture, "PNG")
    code = (
        "from pathlib import Path\nfrom chalicelib.services import risk\n"
        f"assert len(risk.image_phash(Path({str(picture)!r}).read_bytes())) == 16"
    )
    assert _loaded_after(code) == ["PIL"]
