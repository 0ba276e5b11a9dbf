"""Cursor pagination: `?limit=&cursor=` → `{items, next_cursor}` over a real pynamodb query on the table."""

from __future__ import annotations

import functools

import pytest
from chalice import Blueprint
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.domain.errors import BadRequest
from chalicelib.handlers import web
from chalicelib.handlers.pagination import Page, PageQuery
from chalicelib.handlers.web import route
from chalicelib.store import cursor
from chalicelib.store.base import Item
from tests.api.foundation.conftest import bearer, make_app


class Note(Item, discriminator="test_note"):
    """A test-only entity in the real table: `TESTNOTE#<owner>` / `N#<n>`, GSI1 by owner and tag."""

    owner = UnicodeAttribute()
    tag = UnicodeAttribute()
    n = NumberAttribute()


def add_notes(owner: str, count: int, tag: str = "red", start: int = 0) -> None:
    with Note.batch_write() as batch:
        for n in range(start, start + count):
            batch.save(
                Note(
                    PK=f"TESTNOTE#{owner}",
                    SK=f"N#{n:04d}",
                    GSI1PK=f"TESTTAG#{owner}#{tag}",
                    GSI1SK=f"{n:04d}",
                    owner=owner,
                    tag=tag,
                    n=n,
                )
            )


class NotesQuery(PageQuery):
    tag: str | None = None


bp = Blueprint(__name__)


@route(bp, "/t/notes", summary="page through the caller's notes", query=NotesQuery, response=Page[dict])
def list_notes(ctx: web.RequestContext, query: NotesQuery) -> Page[dict]:
    owner = ctx.caller.id
    if query.tag:
        rows = functools.partial(Note.gsi1.query, f"TESTTAG#{owner}#{query.tag}")
    else:
        rows = functools.partial(Note.query, f"TESTNOTE#{owner}")
    items, next_cursor = cursor.query_page(
        rows,
        scope=cursor.scope("test.notes", user=owner, tag=query.tag),
        limit=query.limit,
        cursor=query.cursor,
    )
    return Page[dict](items=[{"n": int(note.n), "tag": note.tag} for note in items], next_cursor=next_cursor)


APP = make_app(bp)
# One account per shape of listing, all written once for the module (see `notes`).
COUNTS = {"usr_ALICE": 45, "usr_BOB": 5, "usr_EXACT": 40, "usr_MANY": 101, "usr_FEW": 3, "usr_NONE": 0}
ALICE, BOB = bearer("usr_ALICE"), bearer("usr_BOB")


@pytest.fixture(scope="module")
def notes(shared_aws):
    for owner, count in COUNTS.items():
        add_notes(owner, count)
    add_notes("usr_TAGS", 7, tag="blue")
    add_notes("usr_TAGS", 3, tag="red", start=7)


@pytest.fixture
def api(notes, serve, identity):
    return serve(APP)


def walk(api, token: str, path: str = "/t/notes?limit=20", max_pages: int = 20) -> list[list[int]]:
    pages, url = [], path
    for _ in range(max_pages):
        reply = api.get(url, token=token)
        assert reply.status == 200, reply.body
        pages.append([item["n"] for item in reply.json["items"]])
        next_cursor = reply.json["next_cursor"]
        if next_cursor is None:
            return pages
        url = f"{path}&cursor={next_cursor}"
    raise AssertionError("pagination did not end")


def test_pages_walk_every_item_exactly_once_in_order(api):
    pages = walk(api, ALICE)
    assert [len(p) for p in pages] == [20, 20, 5]
    assert [n for page in pages for n in page] == list(range(45))


def test_last_page_that_ends_exactly_at_the_last_item_has_no_cursor(api):
    assert [len(p) for p in walk(api, bearer("usr_EXACT"))] == [20, 20]


def test_empty_listing_is_one_empty_page(api):
    reply = api.get("/t/notes", token=bearer("usr_NONE"))
    assert reply.json == {"items": [], "next_cursor": None}


def test_default_limit_is_20(api):
    reply = api.get("/t/notes", token=ALICE)
    assert len(reply.json["items"]) == 20
    assert reply.json["next_cursor"]


def test_empty_cursor_parameter_means_the_first_page(api):
    assert [i["n"] for i in api.get("/t/notes?cursor=", token=bearer("usr_FEW")).json["items"]] == [0, 1, 2]


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten"])
def test_limit_outside_1_to_100_is_422(api, limit):
    reply = api.get(f"/t/notes?limit={limit}", token=ALICE)
    assert reply.status == 422
    assert set(reply.json["error"]["details"]["fields"]) == {"limit"}


def test_limit_100_is_allowed(api):
    assert [len(p) for p in walk(api, bearer("usr_MANY"), "/t/notes?limit=100")] == [100, 1]


def test_pages_through_an_index_query(api):
    assert walk(api, bearer("usr_TAGS"), "/t/notes?limit=3&tag=blue") == [[0, 1, 2], [3, 4, 5], [6]]
    assert walk(api, bearer("usr_TAGS"), "/t/notes?limit=3") == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]


def test_cursor_is_opaque(api):
    token = api.get("/t/notes?limit=2", token=ALICE).json["next_cursor"]
    assert "TESTNOTE" not in token and "usr_ALICE" not in token and "N#" not in token


def _first_cursor(api) -> str:
    return api.get("/t/notes?limit=2", token=ALICE).json["next_cursor"]


def _flip(text: str, at: int) -> str:
    return text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1 :]


@pytest.mark.parametrize("where", ["nonce", "middle", "tag"])
def test_tampered_cursor_is_400_invalid_cursor(api, where):
    token = _first_cursor(api)
    at = {"nonce": 2, "middle": len(token) // 2, "tag": len(token) - 3}[where]
    reply = api.get(f"/t/notes?limit=2&cursor={_flip(token, at)}", token=ALICE)
    assert (reply.status, reply.code) == (400, "INVALID_CURSOR")
    assert reply.json["error"]["message"] == "分页游标无效或已过期，请从第一页重新获取"


@pytest.mark.parametrize("junk", ["abc", "null", "%25%25%25", "A" * 300])
def test_junk_cursor_is_400_invalid_cursor(api, junk):
    reply = api.get(f"/t/notes?cursor={junk}", token=ALICE)
    assert (reply.status, reply.code) == (400, "INVALID_CURSOR")


def test_cursor_of_one_user_is_refused_on_another_users_listing(api):
    token = _first_cursor(api)
    reply = api.get(f"/t/notes?limit=2&cursor={token}", token=BOB)
    assert (reply.status, reply.code) == (400, "INVALID_CURSOR")


def test_cursor_is_refused_when_the_filters_change(api):
    token = _first_cursor(api)
    reply = api.get(f"/t/notes?limit=2&tag=red&cursor={token}", token=ALICE)
    assert (reply.status, reply.code) == (400, "INVALID_CURSOR")


def test_cursor_survives_a_change_of_page_size(api):
    token = _first_cursor(api)
    reply = api.get(f"/t/notes?limit=3&cursor={token}", token=ALICE)
    assert [i["n"] for i in reply.json["items"]] == [2, 3, 4]


def test_cursor_round_trip_and_scope_binding(notes):
    key = {"PK": {"S": "TESTNOTE#usr_A"}, "SK": {"S": "N#0007"}}
    scope = cursor.scope("test.notes", user="usr_A", tag=None)
    sealed = cursor.encode(key, scope)
    assert cursor.decode(sealed, scope) == key
    assert sealed != cursor.encode(key, scope)  # a fresh nonce each time: cursors do not reveal equal keys
    with pytest.raises(BadRequest):
        cursor.decode(sealed, cursor.scope("test.notes", user="usr_A", tag="red"))
    assert cursor.encode(None, scope) is None and cursor.decode(None, scope) is None


def test_scope_is_independent_of_filter_order():
    assert cursor.scope("x", a=1, b="2") == cursor.scope("x", b="2", a=1)
    assert cursor.scope("x", a=1) != cursor.scope("y", a=1)


def test_the_entity_is_a_model_of_the_one_table():
    assert issubclass(Note, Model) and Note.Meta.table_name == Item.Meta.table_name
