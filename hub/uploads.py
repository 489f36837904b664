"""Uploaded files (issue 19, evidence by upload): what a file truly is, read from its bytes, and
its storage outside the web root in step with the database.

Checks, in order, each refusal a field error (`ValidationFailed`) before anything is stored:
one file, not empty, at most `VOUCH_UPLOAD_MAX_BYTES`, of an accepted type recognised by its
leading bytes (never by its name or the browser's Content-Type), and whole:

- images (PNG, JPEG, WebP, GIF) are decoded by Pillow restricted to the recognised format, and
  written again from their pixels: the stored file holds no EXIF (GPS position, camera, time),
  XMP, comments or text chunks and nothing appended after the image, only the pixels, turned
  upright by the EXIF orientation first, and the colour profile. An animation keeps its first
  frame. Decoding is bounded (MAX_PIXELS) so a small file cannot expand into gigabytes;
- PDFs are checked for their structure (the `%PDF-1.x`/`2.x` header, `startxref` and the `%%EOF`
  trailer at the end) and stored as sent; they are only ever served as downloads.

Storage: a random name (no part of the sender's name is in any path), first written to a
temporary file beside its place, renamed into place once the transaction that records it
commits, and removed when it rolls back (`hub.queue.call_after_commit`/`call_after_rollback`);
deletions wait for the commit too. So a refused or failed request leaves no file, and a
committed row has its file (short of a crash between the commit and the rename, which leaves a
`.part` file for `sweep_incoming` and a row whose file answers 404).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import time
import unicodedata
import warnings
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app, request

from hub.errors import ValidationFailed
from hub.queue import call_after_commit, call_after_rollback

# Decoded pixels an image may have (all frames' first only): 40 million is a 7,300 × 5,500 photo,
# more than phone cameras save; about 160 MB of memory while it is re-written.
MAX_PIXELS = 40_000_000
# What a route that takes a file allows beyond the file itself (the other fields, multipart framing).
REQUEST_HEADROOM = 1024 * 1024
MAX_DISPLAY_NAME = 120
INCOMING = ".incoming"


@dataclass(frozen=True)
class FileType:
    """A type Vouch accepts: `family` is what a challenge asks for ("image" or "pdf")."""

    key: str
    label: str
    content_type: str
    extension: str
    family: str


TYPES: dict[str, FileType] = {
    t.key: t
    for t in (
        FileType("png", "a PNG image", "image/png", "png", "image"),
        FileType("jpeg", "a JPEG photo", "image/jpeg", "jpg", "image"),
        FileType("webp", "a WebP image", "image/webp", "webp", "image"),
        FileType("gif", "a GIF image", "image/gif", "gif", "image"),
        FileType("pdf", "a PDF document", "application/pdf", "pdf", "pdf"),
    )
}
FAMILIES = {"image": "a photo or image (PNG, JPEG, WebP or GIF)", "pdf": "a PDF document"}
# Pillow's names for the image types (Image.open is restricted to the one recognised).
PILLOW_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP", "gif": "GIF"}
_PDF_HEADER = re.compile(rb"%PDF-[12]\.\d")


@dataclass(frozen=True)
class CheckedFile:
    """A file that passed every check: the bytes to store (images re-written), their type,
    the sender's file name cleaned for display, the stored bytes' sha256 (hex) and size."""

    data: bytes
    type: FileType
    name: str
    sha256: str
    size: int


def max_bytes() -> int:
    """The largest file accepted, in bytes (config `VOUCH_UPLOAD_MAX_BYTES`, default 10 MB)."""
    return int(current_app.config["VOUCH_UPLOAD_MAX_BYTES"])


def size_text(size: int) -> str:
    """A size as people read it: "10 MB", "512 KB" (1 MB = 1,048,576 bytes)."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.3g} MB"
    return f"{max(1, size // 1024)} KB"


def accepted_text(families: Collection[str]) -> str:
    """What a challenge takes, in words: "a photo or image (…) or a PDF document"."""
    return " or ".join(FAMILIES[f] for f in FAMILIES if f in families)


def sniff(raw: bytes) -> FileType | None:
    """The type the leading bytes announce (the files' own signatures), or None."""
    if raw.startswith(b"\x89PNG\r\n\x1a\n"):
        return TYPES["png"]
    if raw.startswith(b"\xff\xd8\xff"):
        return TYPES["jpeg"]
    if len(raw) >= 12 and raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        return TYPES["webp"]
    if raw[:6] in (b"GIF87a", b"GIF89a"):
        return TYPES["gif"]
    if _PDF_HEADER.match(raw[:8]):
        return TYPES["pdf"]
    return None


def check_file(
    raw: bytes, filename: str | None, families: Collection[str], field: str, limit: int | None = None
) -> CheckedFile:
    """Check one uploaded file against the accepted `families` ("image", "pdf") and the size
    `limit` (bytes; default `max_bytes()`), by its content. Raises ValidationFailed on `field`
    with a message saying what is wrong and what is accepted."""
    limit = max_bytes() if limit is None else limit
    wanted = accepted_text(families)
    if not raw:
        raise ValidationFailed({field: "The file is empty. Choose the file again."})
    if len(raw) > limit:
        raise ValidationFailed({field: f"The file is larger than {size_text(limit)}; a smaller one, please."})
    found = sniff(raw)
    named = _extension(filename)
    if found is None or found.family not in families:
        what = found.label if found is not None else "not a PNG, JPEG, WebP or GIF image nor a PDF"
        despite = (
            f", although its name ends in .{named}" if named and (found is None or named != found.extension) else ""
        )
        raise ValidationFailed({field: f"This file is {what}{despite}. Send {wanted}."})
    data = _rewrite_image(raw, found, field) if found.family == "image" else _check_pdf(raw, field)
    return CheckedFile(data, found, display_name(filename, found), hashlib.sha256(data).hexdigest(), len(data))


def _extension(filename: str | None) -> str | None:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or not ext:
        return None
    ext = ext.lower()
    return "jpg" if ext == "jpeg" else ext


def _unreadable(found: FileType, field: str) -> ValidationFailed:
    label = found.label.split(" ", 1)[1]
    return ValidationFailed({field: f"This {label} could not be read: it may be damaged or cut short."})


def _rewrite_image(raw: bytes, found: FileType, field: str) -> bytes:
    """The image written again from its decoded pixels (module docstring): no metadata, nothing
    trailing, upright. Refuses what Pillow cannot decode as the recognised format, and images
    over MAX_PIXELS."""
    from PIL import Image, ImageOps

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw), formats=[PILLOW_FORMATS[found.key]]) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    megapixels = MAX_PIXELS // 1_000_000
                    raise ValidationFailed(
                        {field: f"The image is larger than {megapixels} megapixels; a smaller one, please."}
                    )
                image.seek(0)
                image.load()
                icc = image.info.get("icc_profile")
                frame = ImageOps.exif_transpose(image)
                return _encode(frame, found, raw, icc)
    except ValidationFailed:
        raise
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError, Warning):
        raise _unreadable(found, field) from None


def _encode(frame: Any, found: FileType, raw: bytes, icc: bytes | None) -> bytes:
    """Pixels → bytes of the same type. `frame.info` is emptied so nothing the sender's file
    carried (EXIF, XMP, comments, text chunks) is written again; only what the pixels need."""
    options: dict[str, Any] = {}
    if found.key == "gif":
        transparency = frame.info.get("transparency")
        if frame.mode not in ("P", "L"):
            frame = frame.convert("RGBA" if frame.mode in ("RGBA", "LA", "PA") else "RGB")
        if isinstance(transparency, int) and frame.mode in ("P", "L"):
            options["transparency"] = transparency
    elif frame.mode == "P" or frame.mode == "PA":
        frame = frame.convert("RGBA" if "transparency" in frame.info or frame.mode == "PA" else "RGB")
    if found.key == "jpeg" and frame.mode not in ("L", "RGB", "CMYK"):
        frame = frame.convert("RGB")
    if found.key == "jpeg":
        options |= {"quality": 90}
    elif found.key == "webp":
        # a lossless WebP (its first chunk VP8L) stays lossless; a lossy one is written at quality 90
        options |= {"lossless": True} if raw[12:16] == b"VP8L" else {"quality": 90}
    if icc and found.key != "gif":
        options["icc_profile"] = icc
    frame.info = {}
    out = io.BytesIO()
    frame.save(out, format=PILLOW_FORMATS[found.key], **options)
    return out.getvalue()


def _check_pdf(raw: bytes, field: str) -> bytes:
    """A PDF's structure: the header (sniffed), and `startxref` and `%%EOF` at its end."""
    if b"%%EOF" not in raw[-2048:] or b"startxref" not in raw[-4096:]:
        raise _unreadable(TYPES["pdf"], field)
    return raw


def display_name(filename: str | None, found: FileType) -> str:
    """The sender's file name as display text only: its last path part, NFC, without control,
    invisible or direction-override characters, at most MAX_DISPLAY_NAME characters (the
    extension kept); "evidence.<ext>" when nothing visible is left."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"))
    name = " ".join(name.split()).strip(" .")
    if not any(c.isalnum() for c in name):
        return f"evidence.{found.extension}"
    if len(name) > MAX_DISPLAY_NAME:
        stem, dot, ext = name.rpartition(".")
        keep = ext if dot and len(ext) <= 10 else ""
        name = (
            (stem if keep else name)[: MAX_DISPLAY_NAME - len(keep) - 2].rstrip() + "…" + (f".{keep}" if keep else "")
        )
    return name


def download_name(name: str, found: FileType) -> str:
    """The name a download is saved under: the display name with the stored type's extension
    (a PNG sent as "scan.pdf" downloads as "scan.png", so it opens in the right program)."""
    stem, dot, _ext = name.rpartition(".")
    base = stem if dot and stem else name
    return f"{base}.{found.extension}"


# --- storage -----------------------------------------------------------------------------------


def area_dir(area: str) -> Path:
    """The folder of one kind of upload (`evidence`) under `VOUCH_UPLOAD_DIR`."""
    return Path(current_app.config["VOUCH_UPLOAD_DIR"]) / area


def _is_key(key: str) -> bool:
    return len(key) == 32 and all(c in "0123456789abcdef" for c in key)


def stage(data: bytes, area: str) -> str:
    """Write `data` to a temporary file, to be renamed into place when the current transaction
    commits and removed when it rolls back; returns the random storage key (32 hex digits)."""
    folder = area_dir(area)
    incoming = folder / INCOMING
    incoming.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(16)
    temporary = incoming / f"{key}.part"
    with open(temporary, "xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    final = folder / key
    call_after_commit(lambda: os.replace(temporary, final))
    call_after_rollback(lambda: temporary.unlink(missing_ok=True))
    return key


def discard(keys: Collection[str], area: str) -> None:
    """Delete stored files once the current transaction commits (kept if it rolls back)."""
    folder = area_dir(area)
    paths = [folder / key for key in keys if _is_key(key)]

    def remove() -> None:
        for path in paths:
            path.unlink(missing_ok=True)

    if paths:
        call_after_commit(remove)


def stored_path(key: str, area: str) -> Path | None:
    """The stored file of `key`, or None when the key is not one of ours or its file is missing."""
    if not _is_key(key):
        return None
    path = area_dir(area) / key
    return path if path.is_file() else None


def sweep_incoming(area: str, older_than_seconds: int = 3600) -> int:
    """Remove temporary files left by a process that died between writing and its commit or
    rollback (no row names them). Returns how many were removed."""
    incoming = area_dir(area) / INCOMING
    if not incoming.is_dir():
        return 0
    cutoff = time.time() - older_than_seconds
    removed = 0
    for path in incoming.glob("*.part"):
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


# --- serving ------------------------------------------------------------------------------------

# The Content-Security-Policy of a served upload: a sandbox (a unique origin, no script, no
# forms, no plugins), nothing loaded from anywhere but the image itself.
SANDBOX_CSP = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"


def sandboxed(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view that serves uploaded files: its responses carry SANDBOX_CSP in place of the
    pages' policy (flask-talisman reads the view's options). Place it under the route decorator."""
    view.talisman_view_options = {"content_security_policy": SANDBOX_CSP}  # type: ignore[attr-defined]
    return view


def file_response(path: Path, found: FileType, name: str, etag: str) -> Any:
    """A stored file answered as its stored type: images inline, PDFs as a download named after
    the display name (with the stored type's extension); never sniffed (nosniff), sandboxed
    (`sandboxed` on the view), kept in no shared cache."""
    from flask import send_file

    # Read whole (at most VOUCH_UPLOAD_MAX_BYTES): no file handle outlives the request, however
    # the client ends it.
    response = send_file(
        io.BytesIO(path.read_bytes()),
        mimetype=found.content_type,
        as_attachment=found.family == "pdf",
        download_name=download_name(name, found),
        max_age=0,
        etag=etag,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


# --- requests that carry a file -----------------------------------------------------------------


def accepts_upload(field: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a view that takes a file in `field`: its requests may be `VOUCH_UPLOAD_MAX_BYTES`
    plus REQUEST_HEADROOM long (others keep MAX_CONTENT_LENGTH), and a request larger still is
    answered as that field's error (hub.errors) rather than a bare 413. Place it under the route
    decorator."""

    def mark(view: Callable[..., Any]) -> Callable[..., Any]:
        view.upload_field = field  # type: ignore[attr-defined]
        return view

    return mark


def upload_field() -> str | None:
    """The file field of the current request's view, when it takes one (accepts_upload)."""
    rule = request.url_rule
    view = current_app.view_functions.get(rule.endpoint) if rule is not None else None
    return getattr(view, "upload_field", None)


def allow_upload_size(_endpoint: str | None, _values: dict[str, Any] | None) -> None:
    """Before anything reads the body (CSRF checks included): a route that takes a file allows
    the larger request. Registered as a URL value preprocessor, which Flask runs first."""
    if upload_field() is not None:
        request.max_content_length = max(int(current_app.config["MAX_CONTENT_LENGTH"] or 0), max_bytes()) + (
            REQUEST_HEADROOM
        )


def too_large_message() -> str:
    return f"The file is larger than {size_text(max_bytes())}; a smaller one, please."


def one_file(files: list[Any], field: str) -> Any | None:
    """The single file sent in `field` (a werkzeug FileStorage), None when none was chosen;
    ValidationFailed when several were."""
    chosen = [f for f in files if f is not None and (f.filename or f.content_length)]
    if len(chosen) > 1:
        raise ValidationFailed({field: "Send one file only."})
    return chosen[0] if chosen else None


def read_upload(storage: Any, limit: int | None = None) -> bytes:
    """The bytes of an uploaded file, reading at most one byte past `limit` (the size check
    then refuses it without holding more)."""
    limit = max_bytes() if limit is None else limit
    data: bytes = storage.stream.read(limit + 1)
    return data
