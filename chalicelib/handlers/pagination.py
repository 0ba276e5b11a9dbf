"""The list conventions of API.md as pydantic models: `?limit=&cursor=` in, `{items, next_cursor}` out.

A listing route takes `query=PageQuery` (or a subclass that adds its filters) and answers `Page[ItemOut]`;
its service pages the table with `store.cursor.query_page`, which seals the cursor for the listing's scope.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, Field, field_validator

T = TypeVar("T")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_CURSOR_CHARS = 2048  # a sealed key of a few attributes is ~200 characters; anything far longer is junk


class PageQuery(BaseModel):
    """`?limit=` and `?cursor=`. Subclass it to add a listing's filters."""

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="每页条数，默认 20，最多 100")
    cursor: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_CURSOR_CHARS,
        description="上一页返回的 next_cursor，原样传回；不传（或传空）表示第一页",
    )

    @field_validator("cursor", mode="before")
    @classmethod
    def _empty_is_first_page(cls, value: object) -> object:
        # `?cursor=` is what a client sends when it templates a null next_cursor into the URL.
        return None if value == "" else value


class Page(BaseModel, Generic[T]):
    """One page of a listing. `next_cursor` is null on the last page."""

    items: list[T]
    next_cursor: str | None = Field(description="下一页的游标；为 null 表示没有更多了")
