"""domain/phash.py against the reference it replaces: `imagehash.phash` (numpy + scipy)."""

from __future__ import annotations

import io

import imagehash
import numpy
import scipy.fftpack
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from chalicelib.domain.phash import SIDE, phash_hex
from chalicelib.services.risk import image_phash


def _reference(grey: bytes) -> str:
    """imagehash.phash's steps after the resize, on the same 32 × 32 grey pixels."""
    low, median = _reference_low(grey)
    return str(imagehash.ImageHash(low > median))


def _reference_low(grey: bytes) -> tuple[numpy.ndarray, float]:
    pixels = numpy.frombuffer(grey, dtype=numpy.uint8).reshape(SIDE, SIDE)
    dct = scipy.fftpack.dct(scipy.fftpack.dct(pixels, axis=0), axis=1)
    low = dct[:8, :8]
    return low, float(numpy.median(low))


NOISE = 1e-6  # both transforms leave ~1e-12 of rounding where a coefficient is exactly the median


def assert_same_hash(grey: bytes) -> None:
    """Our bits equal imagehash's, except a bit whose coefficient equals the median (a flat or symmetric picture):
    there neither side's bit means anything, each is decided by its own rounding."""
    mine, theirs = int(phash_hex(grey), 16), int(_reference(grey), 16)
    low, median = _reference_low(grey)
    for index, coefficient in enumerate(low.flatten()):
        bit = 1 << (63 - index)
        if mine & bit != theirs & bit:
            assert abs(coefficient - median) < NOISE, f"bit {index}: {coefficient} against median {median}"


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=SIDE * SIDE, max_size=SIDE * SIDE))
def test_the_hash_of_any_grey_thumbnail_is_imagehashs(grey):
    assert_same_hash(grey)


@st.composite
def pictures(draw):
    """PNG or JPEG pictures of various sizes with a few coloured shapes on a background."""
    colour = st.tuples(*[st.integers(0, 255)] * 3)
    width, height = draw(st.integers(8, 300)), draw(st.integers(8, 300))
    img = Image.new("RGB", (width, height), draw(colour))
    pen = ImageDraw.Draw(img)
    for _ in range(draw(st.integers(0, 8))):
        x, y = draw(st.integers(0, width - 1)), draw(st.integers(0, height - 1))
        w, h = draw(st.integers(1, width)), draw(st.integers(1, height))
        shape = pen.ellipse if draw(st.booleans()) else pen.rectangle
        shape([x, y, x + w, y + h], fill=draw(colour))
    out = io.BytesIO()
    img.save(out, draw(st.sampled_from(["PNG", "JPEG"])))
    return out.getvalue()


@settings(max_examples=150, deadline=None)
@given(pictures())
def test_the_hash_of_a_proof_image_is_imagehashs(data):
    # Decoding and the LANCZOS resize are Pillow's in both (imagehash.phash's own steps); the DCT and bits are ours.
    with Image.open(io.BytesIO(data)) as img:
        grey = img.convert("L").resize((SIDE, SIDE), Image.Resampling.LANCZOS).tobytes()
        assert _reference(grey) == str(imagehash.phash(img))
    assert image_phash(data) == phash_hex(grey)
    assert_same_hash(grey)


def test_most_pictures_hash_exactly_as_imagehash():
    # The exceptions above are rare: 200 pictures of random rectangles differ in no bit.
    import random

    rng = random.Random(7)
    for _ in range(200):
        img = Image.new("L", (rng.randint(20, 200), rng.randint(20, 200)), rng.randrange(256))
        pen = ImageDraw.Draw(img)
        for _ in range(rng.randint(3, 10)):
            x, y = rng.randrange(img.width), rng.randrange(img.height)
            pen.ellipse([x, y, x + rng.randint(5, 90), y + rng.randint(5, 90)], fill=rng.randrange(256))
        out = io.BytesIO()
        img.save(out, "PNG")
        assert image_phash(out.getvalue()) == str(imagehash.phash(img))


def test_flat_pictures_hash_alike_whatever_their_shade():
    # Every AC coefficient of a flat picture is 0: only the DC one is above the median.
    assert {phash_hex(bytes([shade]) * SIDE * SIDE) for shade in (1, 77, 255)} == {"8000000000000000"}


def test_a_thumbnail_of_the_wrong_size_is_refused():
    import pytest

    with pytest.raises(ValueError, match="1024 grey pixels"):
        phash_hex(bytes(SIDE * SIDE - 1))
