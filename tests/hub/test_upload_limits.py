"""Issue 13 item 8: the size limit an importer states is the request limit the server enforces,
and an upload past it gets a page that says the limit."""

from __future__ import annotations

import pytest

from challenges.crm import imports
from hub.errors import ValidationFailed, request_limit_text


def test_the_stated_limit_is_the_request_limit(app):
    assert app.config["MAX_CONTENT_LENGTH"] == 2 * 1024 * 1024
    with app.app_context():
        assert request_limit_text() == "2 MB"


def test_the_crm_importer_refuses_past_the_request_limit_and_says_it(app, ctx):
    header = b"external_id,name,account,amount,currency,stage,created_date\n"
    raw = header + b"x" * (app.config["MAX_CONTENT_LENGTH"] - len(header) + 1)
    with pytest.raises(ValidationFailed) as refused:
        imports.start_import("big.csv", raw, actor_id=1)
    assert refused.value.fields == {"file": ["The file is larger than 2 MB."]}


def test_the_import_pages_state_the_limit(client, make, login):
    login(client, make.user("owner"))
    assert "At most 2 MB a file." in client.get("/admin/crm").get_data(as_text=True)
    assert "At most 2 MB a file." in client.get("/admin/advocates/import").get_data(as_text=True)


def test_an_upload_past_the_request_limit_says_the_limit(client, make, login):
    login(client, make.user("owner"))
    # The multipart body as bytes: a file object in `data` would make the test client spool it to
    # a temporary file that it never closes (a ResourceWarning in a later test).
    boundary = "vouch-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + b"a" * (2 * 1024 * 1024 + 1)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = client.post("/admin/crm/import", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413
    assert "The upload is larger than 2 MB, the most Vouch accepts in one request." in response.get_data(as_text=True)
