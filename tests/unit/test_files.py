"""What a file is, from its first bytes, and whether we take it (domain/files.py)."""

from __future__ import annotations

import pytest

from rapport.domain.errors import Invalid, Unsupported
from rapport.domain.files import (
    RangeNotSatisfiable,
    classify,
    extension,
    is_dangerous_name,
    is_inline,
    may_download,
    parse_range,
    safe_name,
    sniff,
)


@pytest.mark.parametrize(
    ("head", "content_type"),
    [
        (b"%PDF-1.7", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n....", "image/png"),
        (b"\xff\xd8\xff\xe0", "image/jpeg"),
        (b"GIF89a", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "audio/wav"),
        (b"RIFF\x00\x00\x00\x00AVI LIST", "video/x-msvideo"),
        (b"FORM\x00\x00\x00\x00AIFF", "audio/aiff"),
        (b"\x00\x00\x00\x18ftypheic", "image/heic"),
        (b"\x00\x00\x00\x18ftypavif", "image/avif"),
        (b"\x00\x00\x00\x18ftypM4A ", "audio/mp4"),
        (b"\x00\x00\x00\x18ftypqt  ", "video/quicktime"),
        (b"\x00\x00\x00\x18ftypisom", "video/mp4"),
        (b"\x1a\x45\xdf\xa3\x01\x00webm", "video/webm"),
        (b"\x1a\x45\xdf\xa3\x01\x00matroska", "video/x-matroska"),
        (b"PK\x03\x04", "application/zip"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),
        (b"\xff\xfb\x90\x00", "audio/mpeg"),
        (b"\xff\xf1\x50\x80", "audio/aac"),
        (b"x" * 257 + b"ustar\x0000", "application/x-tar"),
        (b"hello\tworld\r\n", "text/plain"),
        ("Grüße".encode(), "text/plain"),
        (b"\xff\xfeh\x00i\x00", "text/plain"),
        (b"\xff\xfeh\x00i", None),
        (b"\x00\x01\x02", None),
        (b"text with \x7f delete", None),
    ],
)
def test_sniff_knows_common_kinds_by_their_first_bytes(head: bytes, content_type: str | None) -> None:
    assert sniff(head) == content_type


def test_a_long_utf16_head_is_text_even_when_cut_at_an_odd_byte() -> None:
    assert sniff(b"\xff\xfe" + b"a\x00" * 4096 + b"b") == "text/plain"


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(Invalid) as caught:
        classify(b"", name="empty.txt", complete=True)
    assert caught.value.code == "empty_file"


@pytest.mark.parametrize(
    ("head", "name"),
    [
        (b"\x7fELF\x02", "photo.jpg"),
        (b"MZ\x90\x00", "report.pdf"),
        (b"\xca\xfe\xba\xbe", "Main.class.txt"),
        (b"#!/bin/sh", "notes.txt"),
        (b"plain text", "run.bat"),
        (b"%PDF-1.4", "invoice.pdf.exe"),
        (b"\x00\x00binary", "data.dat"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "setup.cab"),
    ],
)
def test_executables_dangerous_names_and_unknown_kinds_are_refused(head: bytes, name: str) -> None:
    with pytest.raises(Unsupported) as caught:
        classify(head, name=name, complete=True)
    assert caught.value.code == "unsupported_file_type"


@pytest.mark.parametrize(
    ("head", "name", "content_type", "family"),
    [
        (
            b"PK\x03\x04",
            "cv.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "document",
        ),
        (b"PK\x03\x04", "photos.zip", "application/zip", "archive"),
        (b"PK\x03\x04", "photos", "application/zip", "archive"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "old.xls", "application/vnd.ms-excel", "document"),
        (b"a,b\n1,2\n", "table.csv", "text/csv", "document"),
        (b"hello", "notes.txt", "text/plain", "document"),
        (b"\x89PNG\r\n\x1a\n", "picture.txt", "image/png", "image"),
        (b"ID3\x04", "song.mp3", "audio/mpeg", "audio"),
        (b"\x00\x00\x00\x18ftypisom", "clip.mp4", "video/mp4", "video"),
        (b"\x1f\x8b\x08", "logs.tar.gz", "application/gzip", "archive"),
    ],
)
def test_the_name_refines_a_type_only_within_its_family(head: bytes, name: str, content_type: str, family: str) -> None:
    kind = classify(head, name=name, complete=False)
    assert (kind.content_type, kind.family) == (content_type, family)


def test_names_lose_paths_control_characters_and_excess_length() -> None:
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("C:\\Users\\me\\cv.pdf") == "cv.pdf"
    assert safe_name("bad\x00\r\nname.txt") == "badname.txt"
    assert safe_name("...hidden") == "hidden"
    assert safe_name("   ") == "file"
    assert safe_name("") == "file"
    long = safe_name("a" * 300 + ".pdf")
    assert (len(long), long[-4:]) == (200, ".pdf")
    assert len(safe_name("b" * 300)) == 200
    assert len(safe_name("c" * 300 + "." + "d" * 30)) == 200


def test_extension_and_dangerous_names() -> None:
    assert extension("Report.PDF") == "pdf"
    assert extension(".bashrc") == ""
    assert extension("noext") == ""
    assert is_dangerous_name("Setup.EXE")
    assert not is_dangerous_name("notes.txt")


def test_media_is_shown_inline_and_everything_else_downloads() -> None:
    assert is_inline("image/png") and is_inline("video/mp4") and is_inline("audio/ogg")
    assert not is_inline("application/pdf") and not is_inline("text/plain")


@pytest.mark.parametrize(
    ("header", "span"),
    [
        (None, None),
        ("", None),
        ("bytes=0-9", (0, 9)),
        ("bytes=10-", (10, 99)),
        ("bytes=-5", (95, 99)),
        ("bytes=-500", (0, 99)),
        ("bytes=90-500", (90, 99)),
        ("bytes=9-3", None),
        ("bytes=-", None),
        ("bytes=0-1,5-6", None),
        ("lines=1-2", None),
        # thousands of digits: never converted (Python refuses over 4,300), never a 500
        ("bytes=0-" + "9" * 5000, (0, 99)),
        ("bytes=-" + "9" * 5000, (0, 99)),
        ("bytes=" + "0" * 5000 + "5-9", (5, 9)),
    ],
)
def test_a_single_byte_range_is_honoured_and_others_ignored(header: str | None, span: tuple[int, int] | None) -> None:
    assert parse_range(header, 100) == span


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=150-200", "bytes=-0", "bytes=" + "9" * 5000 + "-"])
def test_a_range_past_the_end_is_not_satisfiable(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 100)


def test_the_uploader_and_participants_who_still_see_the_message_may_download() -> None:
    base = {"message_id": 10, "is_participant": True, "cleared_through": 0, "message_deleted": False}
    assert may_download(is_uploader=True, **{**base, "message_id": None})
    assert may_download(is_uploader=False, **base)
    assert not may_download(is_uploader=False, **{**base, "message_id": None})
    assert not may_download(is_uploader=False, **{**base, "is_participant": False})
    assert not may_download(is_uploader=False, **{**base, "cleared_through": 10})
    assert not may_download(is_uploader=False, **{**base, "message_deleted": True})
