"""Issue 19, evidence by upload: a challenge that asks for a photo or a document takes one file,
checked by its content (never its name or the browser's type), stored outside the web root under
a random name once the completion commits, served only to staff and the advocate whose completion
it is, listed in the export and deleted by erasure."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from challenges import services
from challenges.models import Completion, CompletionStatus, EvidenceFile
from hub import privacy, uploads
from hub.errors import AlreadySubmitted, ValidationFailed
from hub.extensions import db
from tests.support.uploads import CAMERA, HTML_PAGE, image_bytes, multipart_body, pdf_bytes, photo_with_gps

IMAGES = "a photo or image (PNG, JPEG, WebP or GIF)"
PDF = "a PDF document"


@pytest.fixture()
def evidence_dir(app, tmp_path, monkeypatch) -> Path:
    """Uploads go to a fresh folder for the test; returns the evidence area."""
    monkeypatch.setitem(app.config, "VOUCH_UPLOAD_DIR", str(tmp_path / "uploads"))
    return tmp_path / "uploads" / "evidence"


def stored_files(folder: Path) -> list[Path]:
    """Every file under the evidence area, temporary ones included."""
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def photo_challenge(make_challenge, **overrides):
    return make_challenge(title="Show us your team at the summit", type="photo", points=80, **overrides)


def sent(data: bytes, name: str) -> list[services.SentFile]:
    return [services.SentFile(data, name)]


# --- what a file is, by its content ------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "families", "message"),
    [
        (
            image_bytes("PNG"),
            "certificate.pdf",
            ("pdf",),
            f"This file is a PNG image, although its name ends in .pdf. Send {PDF}.",
        ),
        (
            pdf_bytes(),
            "team-photo.png",
            ("image",),
            f"This file is a PDF document, although its name ends in .png. Send {IMAGES}.",
        ),
        (
            HTML_PAGE,
            "innocent.png",
            ("image", "pdf"),
            "This file is not a PNG, JPEG, WebP or GIF image nor a PDF, although its name ends in .png. "
            f"Send {IMAGES} or {PDF}.",
        ),
        (b"", "empty.jpg", ("image", "pdf"), "The file is empty. Choose the file again."),
        (
            image_bytes("PNG")[:60],
            "cut.png",
            ("image",),
            "This PNG image could not be read: it may be damaged or cut short.",
        ),
        (
            pdf_bytes()[:-40],
            "cut.pdf",
            ("pdf",),
            "This PDF document could not be read: it may be damaged or cut short.",
        ),
    ],
    ids=["png-named-pdf", "pdf-named-png", "html-named-png", "zero-bytes", "truncated-png", "truncated-pdf"],
)
def test_a_file_is_judged_by_its_content_and_refused_with_what_it_is(ctx, data, name, families, message):
    with pytest.raises(ValidationFailed) as refused:
        uploads.check_file(data, name, families, "evidence_file")
    assert refused.value.fields == {"evidence_file": [message]}


def test_a_file_over_the_limit_is_refused_naming_the_limit(ctx):
    data = image_bytes("PNG", size=(200, 200), colour=(1, 2, 3)) + b"\0" * 3000
    assert len(data) > 2048
    with pytest.raises(ValidationFailed) as refused:
        uploads.check_file(data, "big.png", ("image",), "evidence_file", limit=2048)
    assert refused.value.fields == {"evidence_file": ["The file is larger than 2 KB; a smaller one, please."]}


def test_an_image_of_more_pixels_than_allowed_is_refused_before_it_is_decoded(ctx):
    from PIL import Image

    out = io.BytesIO()
    Image.new("1", (8000, 6000)).save(out, format="PNG")  # 48 megapixels in a few kilobytes
    with pytest.raises(ValidationFailed) as refused:
        uploads.check_file(out.getvalue(), "huge.png", ("image",), "evidence_file")
    assert refused.value.fields["evidence_file"] == ["The image is larger than 40 megapixels; a smaller one, please."]


@pytest.mark.parametrize(
    ("data", "key"),
    [
        (image_bytes("PNG"), "png"),
        (image_bytes("JPEG"), "jpeg"),
        (image_bytes("WEBP"), "webp"),
        (image_bytes("WEBP", lossless=True), "webp"),
        (image_bytes("GIF"), "gif"),
        (pdf_bytes(), "pdf"),
    ],
)
def test_each_accepted_type_passes_and_is_stored_as_itself(ctx, data, key):
    from PIL import Image

    checked = uploads.check_file(data, f"evidence.{key}", ("image", "pdf"), "evidence_file")
    assert checked.type.key == key
    assert checked.sha256 == hashlib.sha256(checked.data).hexdigest() and checked.size == len(checked.data)
    if key == "pdf":
        assert checked.data == data  # stored as sent
    else:
        with Image.open(io.BytesIO(checked.data)) as again:
            assert again.format == uploads.PILLOW_FORMATS[key] and again.size == (64, 48)


def test_where_both_kinds_are_taken_a_misnamed_png_is_a_png_and_downloads_as_one(ctx):
    checked = uploads.check_file(image_bytes("PNG"), "scan.pdf", ("image", "pdf"), "evidence_file")
    assert checked.type.key == "png" and checked.name == "scan.pdf"
    assert uploads.download_name(checked.name, checked.type) == "scan.png"


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_photos_are_stored_without_their_exif_gps_or_camera(ctx, fmt):
    from PIL import Image

    original = photo_with_gps(fmt)
    with Image.open(io.BytesIO(original)) as before:
        assert before.getexif()[0x0110] == CAMERA  # the sample really carries it
    checked = uploads.check_file(original, "holiday.jpg", ("image",), "evidence_file")
    assert CAMERA.encode() not in checked.data and b"Exif" not in checked.data
    with Image.open(io.BytesIO(checked.data)) as after:
        assert dict(after.getexif()) == {} and "exif" not in after.info and after.size == (80, 60)


def test_anything_hidden_after_an_image_is_not_stored(ctx):
    polyglot = image_bytes("PNG") + HTML_PAGE
    checked = uploads.check_file(polyglot, "x.png", ("image",), "evidence_file")
    assert b"<script" not in checked.data


@pytest.mark.parametrize(
    ("sent_name", "shown"),
    [
        ("C:\\Users\\ada\\Pictures\\team.jpg", "team.jpg"),
        ("../../etc/passwd\u202egpj.png", "passwdgpj.png"),
        ("  \u200b\u200b  ", "evidence.png"),
        (None, "evidence.png"),
        ("a" * 300 + ".png", "a" * 115 + "….png"),
    ],
)
def test_the_senders_file_name_is_cleaned_for_display(sent_name, shown):
    assert uploads.display_name(sent_name, uploads.TYPES["png"]) == shown


# --- challenge definitions -----------------------------------------------------------------------


def test_a_photo_challenge_asks_for_a_file_that_a_manager_reviews(ctx):
    inp = services.clean_challenge({"title": "Team photo", "type": "photo", "points": 50})
    assert (inp.evidence, inp.verification, inp.file_kinds) == (("file",), "manual", ())
    pdf_only = services.clean_challenge(
        {"title": "Certificate", "type": "webinar", "points": 50, "evidence": ["text", "file"], "file_kinds": ["pdf"]}
    )
    assert pdf_only.evidence == ("text", "file") and pdf_only.file_kinds == ("pdf",)


def test_a_file_cannot_be_left_to_an_automatic_check(ctx):
    with pytest.raises(ValidationFailed) as refused:
        services.clean_challenge({"title": "Share", "type": "social_share", "points": 50, "evidence": ["url", "file"]})
    assert "Manual review" in refused.value.fields["verification"][0]


# --- submitting, storing, rolling back -----------------------------------------------------------


def test_a_submitted_file_is_stored_under_a_random_name_once_the_completion_commits(
    make_challenge, make_advocate, evidence_dir
):
    challenge = photo_challenge(make_challenge)
    advocate = make_advocate()
    photo = photo_with_gps()

    completion = services.submit_completion(challenge.id, advocate.id, {}, files=sent(photo, "Ada at the summit.jpg"))
    row = db.session.scalar(select(EvidenceFile).where(EvidenceFile.completion_id == completion.id))
    assert not (evidence_dir / row.storage_key).exists(), "not in place before the commit"
    db.session.commit()

    assert completion.status is CompletionStatus.PENDING_REVIEW
    path = evidence_dir / row.storage_key
    assert stored_files(evidence_dir) == [path]
    stored = path.read_bytes()
    assert row.name == "Ada at the summit.jpg" and "summit" not in str(path)
    assert (row.sha256, row.size_bytes, row.content_type) == (
        hashlib.sha256(stored).hexdigest(),
        len(stored),
        "image/jpeg",
    )
    assert CAMERA.encode() not in stored
    assert path.resolve().is_relative_to(evidence_dir.parent.resolve())


def test_a_rolled_back_submission_leaves_no_file(make_challenge, make_advocate, evidence_dir):
    challenge = photo_challenge(make_challenge)
    advocate = make_advocate()
    services.submit_completion(challenge.id, advocate.id, {}, files=sent(image_bytes("PNG"), "p.png"))
    assert len(stored_files(evidence_dir)) == 1  # the temporary file, waiting for the commit
    db.session.rollback()

    assert stored_files(evidence_dir) == []
    assert db.session.scalar(select(func.count()).select_from(EvidenceFile)) == 0


def test_a_refused_submission_stores_nothing(make_challenge, make_advocate, evidence_dir):
    challenge = photo_challenge(make_challenge)
    advocate = make_advocate()
    services.submit_completion(challenge.id, advocate.id, {}, files=sent(image_bytes("PNG"), "first.png"))
    db.session.commit()
    with pytest.raises(AlreadySubmitted):
        services.submit_completion(challenge.id, advocate.id, {}, files=sent(image_bytes("GIF"), "second.gif"))
    db.session.rollback()
    assert len(stored_files(evidence_dir)) == 1
    assert db.session.scalar(select(func.count()).select_from(EvidenceFile)) == 1


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([], f"Choose a file: {IMAGES} or {PDF}."),
        (sent(image_bytes("PNG"), "a.png") + sent(image_bytes("PNG"), "b.png"), "Send one file only."),
    ],
    ids=["none", "several"],
)
def test_a_file_challenge_takes_exactly_one_file(make_challenge, make_advocate, evidence_dir, files, message):
    challenge = photo_challenge(make_challenge)
    with pytest.raises(ValidationFailed) as refused:
        services.submit_completion(challenge.id, make_advocate().id, {}, files=files)
    assert refused.value.fields == {"evidence_file": [message]}
    assert db.session.scalar(select(func.count()).select_from(Completion)) == 0


def test_a_challenge_without_file_evidence_takes_no_file(make_challenge, make_advocate, evidence_dir):
    challenge = make_challenge(title="Tell us", type="custom")
    with pytest.raises(ValidationFailed) as refused:
        services.submit_completion(
            challenge.id, make_advocate().id, {"evidence_text": "Did it"}, files=sent(image_bytes(), "x.png")
        )
    assert refused.value.fields == {"evidence_file": ["This challenge takes no file."]}


# --- the form ------------------------------------------------------------------------------------


def upload_form(data: bytes, name: str, **fields) -> dict:
    return {"evidence_file": (io.BytesIO(data), name), **fields}


def test_an_advocate_uploads_a_photo_and_sees_it_in_their_history(as_role, make_challenge, evidence_dir):
    challenge = photo_challenge(make_challenge)
    ada = as_role("advocate", name="Ada Upload")
    response = ada.post(
        f"/challenges/{challenge.id}/complete",
        data=upload_form(image_bytes("JPEG"), "summit.jpg"),
        content_type="multipart/form-data",
    )
    assert response.status_code == 302

    page = ada.get(f"/challenges/{challenge.id}").get_data(as_text=True)
    completion = db.session.scalar(select(Completion).where(Completion.challenge_id == challenge.id))
    assert "Pending review" in page
    assert f'href="/completions/{completion.id}/evidence-file"' in page and "summit.jpg" in page

    served = ada.get(f"/completions/{completion.id}/evidence-file")
    assert served.status_code == 200
    assert served.mimetype == "image/jpeg" and served.data == next(iter(stored_files(evidence_dir))).read_bytes()
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Security-Policy"].startswith("sandbox")
    assert (
        served.headers["Content-Disposition"].startswith("inline")
        and "summit.jpg" in served.headers["Content-Disposition"]
    )
    served.close()


def test_the_submit_form_takes_the_file_with_htmx_and_without(as_role, make_challenge, evidence_dir):
    challenge = photo_challenge(make_challenge)
    page = as_role("advocate").get(f"/challenges/{challenge.id}").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'hx-encoding="multipart/form-data"' in page
    assert 'type="file"' in page and 'name="evidence_file"' in page
    assert "Only managers and you can see it" in page
    assert "A photo or image (PNG, JPEG, WebP or GIF) or a PDF document, up to 10 MB." in page
    assert 'accept="image/png,image/jpeg,image/webp,image/gif,application/pdf"' in page


def test_a_refused_file_shows_under_the_file_input_and_nothing_is_stored(as_role, make_challenge, evidence_dir):
    challenge = photo_challenge(make_challenge, file_kinds=["image"])
    ada = as_role("advocate")
    response = ada.post(
        f"/challenges/{challenge.id}/complete",
        data=upload_form(pdf_bytes(), "photo.png"),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "This file is a PDF document, although its name ends in .png." in response.get_data(as_text=True)
    htmx = ada.post(
        f"/challenges/{challenge.id}/complete",
        data=upload_form(HTML_PAGE, "photo.png"),
        content_type="multipart/form-data",
        headers={"HX-Request": "true"},
    )
    assert htmx.status_code == 200 and 'data-testid="evidence-file-error"' in htmx.get_data(as_text=True)
    assert stored_files(evidence_dir) == []
    assert db.session.scalar(select(func.count()).select_from(Completion)) == 0


def test_a_request_far_over_the_limit_is_the_file_fields_error(as_role, make_challenge, evidence_dir, app, monkeypatch):
    monkeypatch.setitem(app.config, "VOUCH_UPLOAD_MAX_BYTES", 1024)
    challenge = photo_challenge(make_challenge)
    ada = as_role("advocate")
    too_big = image_bytes("PNG") + b"\0" * (app.config["MAX_CONTENT_LENGTH"] + uploads.REQUEST_HEADROOM + 10)
    body, content_type = multipart_body("evidence_file", "big.png", too_big)
    response = ada.post(f"/challenges/{challenge.id}/complete", data=body, content_type=content_type)
    assert response.status_code == 422
    assert "The file is larger than 1 KB; a smaller one, please." in response.get_data(as_text=True)
    just_over = ada.post(
        f"/challenges/{challenge.id}/complete",
        data=upload_form(image_bytes("PNG") + b"\0" * 2000, "big.png"),
        content_type="multipart/form-data",
    )
    assert just_over.status_code == 422 and "larger than 1 KB" in just_over.get_data(as_text=True)
    assert stored_files(evidence_dir) == []


# --- who may see it ------------------------------------------------------------------------------


def submitted_photo(make_challenge, owner_client) -> int:
    challenge = photo_challenge(make_challenge)
    response = owner_client.post(
        f"/challenges/{challenge.id}/complete",
        data=upload_form(pdf_bytes(), "certificate.pdf"),
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    return db.session.scalar(select(Completion.id).where(Completion.challenge_id == challenge.id))


@pytest.mark.parametrize(
    ("role", "status"),
    [("owner-advocate", 200), ("advocate", 404), ("manager", 200), ("owner", 200), ("sales", 404), ("anonymous", 302)],
)
def test_only_staff_and_the_completions_advocate_get_the_file(as_role, make_challenge, evidence_dir, role, status):
    ada = as_role("advocate")
    completion_id = submitted_photo(make_challenge, ada)
    viewer = ada if role == "owner-advocate" else as_role(role)
    response = viewer.get(f"/completions/{completion_id}/evidence-file")
    response.get_data()
    response.close()
    assert response.status_code == status
    if status == 200:
        assert response.mimetype == "application/pdf" and response.data == pdf_bytes()
        assert (
            response.headers["Content-Disposition"].startswith("attachment")
            and "certificate.pdf" in (response.headers["Content-Disposition"])
        )
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response.headers["Content-Security-Policy"]
    elif status == 302:
        assert "/login" in response.headers["Location"]
    else:
        assert response.data != pdf_bytes()
    assert as_role("manager").get(f"/completions/{completion_id + 999}/evidence-file").status_code == 404


def test_the_review_queue_shows_the_photo_beside_the_evidence(as_role, make_challenge, evidence_dir):
    challenge = photo_challenge(make_challenge)
    ada = as_role("advocate", name="Ada Photo")
    ada.post(
        f"/challenges/{challenge.id}/complete",
        data=upload_form(image_bytes("WEBP"), "stand.webp"),
        content_type="multipart/form-data",
    )
    completion_id = db.session.scalar(select(Completion.id).where(Completion.challenge_id == challenge.id))
    page = as_role("manager").get("/admin/review").get_data(as_text=True)
    assert 'data-testid="review-thumb"' in page and f'src="/completions/{completion_id}/evidence-file"' in page
    assert "stand.webp" in page


# --- the API -------------------------------------------------------------------------------------


def post_file(client, challenge_id: int, data: bytes, name: str, **fields):
    return client.client.post(
        f"/api/v1/challenges/{challenge_id}/completions",
        data=upload_form(data, name, **fields),
        content_type="multipart/form-data",
        headers=client.headers,
    )


def test_the_api_takes_the_file_as_multipart_and_serves_it_back(
    api, make_advocate, make_user, make_challenge, evidence_dir
):
    challenge = make_challenge(
        title="Certificate", type="webinar", evidence=["text", "file"], file_kinds=["pdf"], points=60
    )
    ada = make_advocate()
    as_ada = api(ada.user)
    created = post_file(as_ada, challenge.id, pdf_bytes(), "cert.pdf", evidence_text="Joined the March session")
    assert created.status_code == 201, created.json
    body = created.json
    assert body["status"] == "pending_review" and body["evidence_text"] == "Joined the March session"
    described = body["evidence_file"]
    assert described["name"] == "cert.pdf" and described["content_type"] == "application/pdf"
    assert described["sha256"] == hashlib.sha256(pdf_bytes()).hexdigest() and described["size_bytes"] == len(
        pdf_bytes()
    )

    assert as_ada.get(f"/completions/{body['id']}/evidence-file").json == described
    raw = as_ada.client.get(described["download_url"], headers=as_ada.headers)
    raw.get_data()
    raw.close()
    assert raw.status_code == 200 and raw.data == pdf_bytes() and raw.mimetype == "application/pdf"
    assert raw.headers["X-Content-Type-Options"] == "nosniff" and "sandbox" in raw.headers["Content-Security-Policy"]
    assert api(make_user("manager")).get(f"/completions/{body['id']}").json["evidence_file"] == described

    for stranger in (api(make_advocate().user), api(make_user("sales"))):
        for path in (f"/completions/{body['id']}/evidence-file", described["download_url"].removeprefix("/api/v1")):
            answer = stranger.get(path)
            assert answer.status_code == 404 and answer.json["error"]["code"] == "not_found"
    assert as_ada.client.get(described["download_url"]).status_code == 401


def test_the_api_refuses_a_wrong_file_with_the_field_error_and_writes_nothing(
    api, make_advocate, make_challenge, evidence_dir
):
    challenge = make_challenge(title="Certificate", type="webinar", evidence=["file"], file_kinds=["pdf"], points=60)
    as_ada = api(make_advocate().user)
    refused = post_file(as_ada, challenge.id, image_bytes("PNG"), "cert.pdf")
    assert refused.status_code == 422
    assert refused.json["error"]["code"] == "invalid"
    assert refused.json["error"]["fields"] == {
        "evidence_file": [f"This file is a PNG image, although its name ends in .pdf. Send {PDF}."]
    }
    missing = as_ada.post(f"/challenges/{challenge.id}/completions", {})
    assert missing.status_code == 422 and missing.json["error"]["fields"]["evidence_file"] == [f"Choose a file: {PDF}."]
    assert stored_files(evidence_dir) == []
    assert db.session.scalar(select(func.count()).select_from(Completion)) == 0


def test_the_api_answers_a_request_far_over_the_limit_as_the_file_fields_error(
    api, make_advocate, make_challenge, evidence_dir, app, monkeypatch
):
    monkeypatch.setitem(app.config, "VOUCH_UPLOAD_MAX_BYTES", 1024)
    challenge = photo_challenge(make_challenge)
    too_big = pdf_bytes() + b" " * (app.config["MAX_CONTENT_LENGTH"] + uploads.REQUEST_HEADROOM)
    body, content_type = multipart_body("evidence_file", "big.pdf", too_big)
    as_ada = api(make_advocate().user)
    refused = as_ada.client.post(
        f"/api/v1/challenges/{challenge.id}/completions", data=body, content_type=content_type, headers=as_ada.headers
    )
    assert refused.status_code == 422
    assert refused.json["error"]["fields"] == {
        "evidence_file": ["The file is larger than 1 KB; a smaller one, please."]
    }


def test_a_multipart_retry_with_the_same_idempotency_key_replays_the_first_answer(
    api, make_advocate, make_challenge, evidence_dir
):
    challenge = photo_challenge(make_challenge)
    as_ada = api(make_advocate().user)
    as_ada.headers = as_ada.headers | {"Idempotency-Key": "upload-1"}
    first = post_file(as_ada, challenge.id, image_bytes("PNG"), "a.png")
    again = post_file(as_ada, challenge.id, image_bytes("PNG"), "a.png")
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json["id"] == first.json["id"]
    assert len(stored_files(evidence_dir)) == 1


# --- the advocate's data -------------------------------------------------------------------------


def test_the_export_lists_the_files_and_erasure_deletes_them(make_challenge, make_advocate, evidence_dir):
    challenge = photo_challenge(make_challenge)
    advocate = make_advocate()
    completion = services.submit_completion(challenge.id, advocate.id, {}, files=sent(pdf_bytes(), "Ada's badge.pdf"))
    db.session.commit()
    [path] = stored_files(evidence_dir)

    document = privacy.export_advocate(advocate.id)
    assert [
        (f["completion_id"], f["name"], f["content_type"], f["size_bytes"], f["sha256"])
        for f in document["evidence_files"]
    ] == [
        (completion.id, "Ada's badge.pdf", "application/pdf", len(pdf_bytes()), hashlib.sha256(pdf_bytes()).hexdigest())
    ]

    assert privacy.erase_advocate(advocate.id, None, "self") is True
    assert path.exists(), "kept until the erasure commits"
    db.session.commit()
    assert stored_files(evidence_dir) == []
    assert db.session.scalar(select(func.count()).select_from(EvidenceFile)) == 0


def test_an_erasure_that_rolls_back_keeps_the_files(make_challenge, make_advocate, evidence_dir):
    challenge = photo_challenge(make_challenge)
    advocate = make_advocate()
    services.submit_completion(challenge.id, advocate.id, {}, files=sent(pdf_bytes(), "keep.pdf"))
    db.session.commit()
    privacy.erase_advocate(advocate.id, None, "self")
    db.session.rollback()
    assert len(stored_files(evidence_dir)) == 1
    assert db.session.scalar(select(func.count()).select_from(EvidenceFile)) == 1


def test_the_sweep_removes_only_temporary_files_left_behind(app, make_challenge, make_advocate, evidence_dir):
    import os
    import time

    challenge = photo_challenge(make_challenge)
    services.submit_completion(challenge.id, make_advocate().id, {}, files=sent(image_bytes(), "kept.png"))
    db.session.commit()
    [kept] = stored_files(evidence_dir)
    left = evidence_dir / uploads.INCOMING / ("0" * 32 + ".part")  # a process died before its commit
    fresh = evidence_dir / uploads.INCOMING / ("1" * 32 + ".part")  # a request still in flight
    left.write_bytes(b"half")
    fresh.write_bytes(b"half")
    two_hours_ago = time.time() - 7200
    os.utime(left, (two_hours_ago, two_hours_ago))

    result = app.test_cli_runner().invoke(args=["challenges", "sweep-uploads"])
    assert result.exit_code == 0 and "Removed 1 temporary upload file(s)." in result.output
    assert stored_files(evidence_dir) == sorted([kept, fresh])
