"""The perceptual hash of a picture, from its 32 × 32 grey pixels: the 8 × 8 lowest frequencies of their 2-D
DCT-II, each bit set where that coefficient is above their median (the pHash of hackerfactor.com's "Looks Like
It", as `imagehash.phash` computes it). tests/unit/test_phash.py holds the two equal, bit for bit, except where
a coefficient equals the median, where either bit is only rounding.

Why not `imagehash` itself: it needs numpy, scipy and PyWavelets, 187 MB of the 248 MB deployment package (the
Lambda limit is 250 MB unzipped), for 10,240 multiplications a picture. This is those multiplications, with
Pillow doing the decoding and resizing exactly as imagehash asks it to (services/risk.image_phash).
Decision note 0009.
"""

from __future__ import annotations

import math
import statistics

SIDE = 32  # pixels per side of the grey thumbnail
BITS_SIDE = 8  # the 8 × 8 lowest frequencies make the 64-bit hash

# DCT-II basis, unnormalised as scipy.fftpack.dct's default: X[k] = 2 Σ x[n] cos(π k (2n + 1) / 2N).
# A positive scale does not move any coefficient across the median, but keeping scipy's makes them comparable.
_COS = [[2 * math.cos(math.pi * k * (2 * n + 1) / (2 * SIDE)) for n in range(SIDE)] for k in range(BITS_SIDE)]


def phash_hex(grey: bytes) -> str:
    """64-bit perceptual hash, 16 hex digits, of SIDE × SIDE grey pixels given row by row (Pillow's mode "L")."""
    if len(grey) != SIDE * SIDE:
        raise ValueError(f"expected {SIDE * SIDE} grey pixels, got {len(grey)}")
    rows = [grey[r * SIDE : (r + 1) * SIDE] for r in range(SIDE)]
    # Along the columns first (scipy's axis 0), keeping the 8 lowest frequencies: 8 × 32 sums of 32 terms.
    cols = [[sum(c * row[j] for c, row in zip(basis, rows, strict=True)) for j in range(SIDE)] for basis in _COS]
    # Then along each remaining row (axis 1): 8 × 8 sums of 32 terms. Rounded to a millionth: where the true
    # coefficient is 0 (a flat picture, a symmetric one) summing cosines leaves ±1e-12 of noise, which would set
    # bits at random where scipy's transform gives 0 (a blank picture hashes to 8000000000000000 in both).
    low = [round(sum(c * v for c, v in zip(basis, line, strict=True)), 6) for line in cols for basis in _COS]
    median = statistics.median(low)
    bits = 0
    for coefficient in low:  # row by row, the first coefficient in the highest bit, as imagehash writes it
        bits = bits << 1 | (coefficient > median)
    return f"{bits:016x}"
