"""imagehash (numpy, scipy, PyWavelets, Pillow) loads on the first proof image, not at `import app` or consumers."""

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


def test_import_app_and_the_stream_consumers_do_not_load_imagehash():
    assert _loaded_after("import app\nfrom chalicelib.services import consumers") == []


def test_hashing_a_proof_image_loads_it():
    code = (
        "import io\nfrom PIL import Image\nfrom chalicelib.services import risk\nb = io.BytesIO()\n"
        "Image.new('RGB', (32, 32), 'white').save(b, 'PNG')\nassert len(risk.image_phash(b.getvalue())) == 16"
    )
    assert "imagehash" in _loaded_after(code)
