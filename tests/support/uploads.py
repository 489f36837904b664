"""Files for the upload tests, made here (Pillow for images, a PDF written by hand): a photo with
GPS in its EXIF, images of each accepted type, a minimal PDF, and things that only pretend."""

from __future__ import annotations

import io

GPS_LATITUDE = (52.0, 31.0, 12.0)
CAMERA = "Pocket Camera 3000"


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (64, 48), colour=(200, 40, 40), **save) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format=fmt, **save)
    return out.getvalue()


def photo_with_gps(fmt: str = "JPEG") -> bytes:
    """A photo whose EXIF names a camera and a GPS position (what must not be stored)."""
    from PIL import ExifTags, Image

    exif = Image.Exif()
    exif[ExifTags.Base.Model] = CAMERA
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = GPS_LATITUDE
    out = io.BytesIO()
    Image.new("RGB", (80, 60), (30, 120, 200)).save(out, format=fmt, exif=exif.tobytes())
    return out.getvalue()


def pdf_bytes(text: str = "Certificate of attendance") -> bytes:
    """A small, well-formed one-page PDF (header, objects, cross-reference table, trailer)."""
    stream = f"BT /F1 18 Tf 40 100 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 400 200] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


HTML_PAGE = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


def multipart_body(name: str, filename: str, payload: bytes) -> tuple[bytes, str]:
    """One file as a multipart body built in memory (the test client spools a large one to a
    temporary file it never closes); returns (body, content type)."""
    boundary = "vouchupload7"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return head + payload + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"
