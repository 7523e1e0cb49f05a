"""A urlencoded form body reads as Starlette's own form parser reads it."""

from __future__ import annotations

import asyncio

import pytest
from starlette.requests import Request
from starlette.types import Message

from channels.webforms.decode import MAX_FIELDS, _add_value, decode_body

URLENCODED = "application/x-www-form-urlencoded"


def _request(body: bytes, content_type: str) -> Request:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/forms/contact",
        "query_string": b"",
        "headers": [(b"content-type", content_type.encode())],
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(scope, receive)


def _starlette_values(body: bytes) -> dict[str, str]:
    async def read() -> dict[str, str]:
        values: dict[str, str] = {}
        async with _request(body, URLENCODED).form() as form:
            for name, value in form.multi_items():
                assert isinstance(value, str)
                _add_value(values, name, value)
        return values

    return asyncio.run(read())


@pytest.mark.parametrize(
    "body",
    [
        b"name=Jane+Doe&email=jane%40example.org&message=line+one%0D%0Aline+two",
        b"subject=%C3%9Cbung+%E2%82%AC&name=Ren%C3%A9e",  # UTF-8 escapes
        b"name=Ren\xe9e",  # an unescaped Latin-1 byte
        b"topic=billing&topic=refund&topic=&website=",  # repeated and blank fields
        b"&&flag&name=&=orphan&bad=%zz&plus=a+b%2Bc&",  # stray separators, bad escapes
        b"",
    ],
)
def test_a_urlencoded_body_reads_as_starlette_reads_it(body: bytes) -> None:
    # When the same body is decoded by the form edge and by Starlette's parser
    decoded = asyncio.run(decode_body(_request(body, URLENCODED), body, 5))
    # Then the fields and values are the same, and nothing is reported as unreadable
    assert decoded.problem is None
    assert decoded.values == _starlette_values(body)
    assert decoded.files == []


def test_too_many_urlencoded_fields_are_unreadable() -> None:
    body = "&".join(f"f{i}=x" for i in range(MAX_FIELDS + 1)).encode()
    decoded = asyncio.run(decode_body(_request(body, URLENCODED), body, 5))
    assert decoded.problem is not None
    assert decoded.problem.startswith("the form data could not be read")
