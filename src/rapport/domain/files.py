"""Rules for attached files (DESIGN §3): what a file is, from its first bytes, and whether we take it.

The type is decided by the bytes, never by the name or the client's word: a renamed
executable stays an executable. The name may only refine a type within the family the bytes
already showed (a ZIP named `.docx` is served as a Word document; a ZIP named `.exe` is not
an executable, but its name is: see `is_dangerous_name`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from rapport.domain.errors import DomainError, Invalid, Unsupported

SNIFF_BYTES = 8192
"""How much of a file's beginning the sniffer looks at."""

UPLOAD_GRACE = timedelta(hours=24)
"""An upload never attached to a message is removed after this long."""

NAME_MAX = 200

FAMILIES = ("document", "image", "audio", "video", "archive")

_EXECUTABLE_MAGIC = (
    b"\x7fELF",  # Linux and most Unix
    b"MZ",  # Windows PE / DOS
    b"\xfe\xed\xfa\xce",  # Mach-O, both word sizes and byte orders
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",  # Mach-O universal binary and Java class files
    b"\x00asm",  # WebAssembly
    b"dex\n",  # Android
    b"#!",  # scripts
)

# Names Windows (or a desktop) would run when opened, whatever the bytes inside.
_DANGEROUS_EXTENSIONS = frozenset(
    [
        "exe",
        "com",
        "scr",
        "pif",
        "bat",
        "cmd",
        "msi",
        "msp",
        "dll",
        "cpl",
        "sys",
        "drv",
        "ps1",
        "psm1",
        "vbs",
        "vbe",
        "js",
        "jse",
        "wsf",
        "wsh",
        "hta",
        "jar",
        "lnk",
        "reg",
        "inf",
        "sh",
        "bash",
        "zsh",
        "csh",
        "ksh",
        "command",
        "app",
        "apk",
        "deb",
        "rpm",
        "dmg",
        "pkg",
        "run",
        "bin",
        "elf",
        "so",
    ]
)
REFUSED_EXTENSIONS = _DANGEROUS_EXTENSIONS
"""Extensions refused whatever the bytes: clients may refuse them before uploading."""

_SIMPLE_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"ID3", "audio/mpeg"),
    (b"OggS", "audio/ogg"),
    (b"fLaC", "audio/flac"),
    (b"MThd", "audio/midi"),
    (b"\x1f\x8b", "application/gzip"),
    (b"BZh", "application/x-bzip2"),
    (b"\xfd7zXZ\x00", "application/x-xz"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", "application/vnd.rar"),
    (b"\x28\xb5\x2f\xfd", "application/zstd"),
    (b"{\\rtf", "application/rtf"),
)

_RIFF = {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}

_ZIP_BY_EXTENSION = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation",
    "epub": "application/epub+zip",
}

_OLE_BY_EXTENSION = {
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "ppt": "application/vnd.ms-powerpoint",
    "msg": "application/vnd.ms-outlook",
}

_TEXT_BY_EXTENSION = {"csv": "text/csv", "md": "text/markdown", "tsv": "text/tab-separated-values"}

_ALLOWED_CONTROLS = frozenset(b"\t\n\r\f\b\x1b")


@dataclass(frozen=True, slots=True)
class FileType:
    content_type: str
    family: str


def family_of(content_type: str) -> str:
    """The family a sniffed type belongs to."""
    major = content_type.split("/", 1)[0]
    if major in ("image", "audio", "video"):
        return major
    if content_type in _ARCHIVES:
        return "archive"
    return "document"


_ARCHIVES = frozenset(
    {
        "application/zip",
        "application/gzip",
        "application/x-bzip2",
        "application/x-xz",
        "application/x-7z-compressed",
        "application/vnd.rar",
        "application/zstd",
        "application/x-tar",
    }
)


def extension(name: str) -> str:
    """The lower-cased part after the last dot, or ''."""
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def is_dangerous_name(name: str) -> bool:
    """A name a desktop would run when opened (`run.bat`, `setup.exe`), whatever the bytes."""
    return extension(name) in _DANGEROUS_EXTENSIONS


def safe_name(name: str) -> str:
    """A file name fit to store and to offer back: no path, no control characters, not too long."""
    name = unicodedata.normalize("NFC", name)
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = name.strip().lstrip(".").strip()
    if len(name) > NAME_MAX:
        ext = extension(name)
        keep = NAME_MAX - len(ext) - 1 if ext and len(ext) < 20 else NAME_MAX
        name = name[:keep].rstrip() + ("." + ext if keep < NAME_MAX else "")
    return name or "file"


def sniff(head: bytes) -> str | None:
    """The content type the first bytes show, or None when they show nothing we know."""
    for magic, content_type in _SIMPLE_MAGIC:
        if head.startswith(magic):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] in _RIFF:
        return _RIFF[head[8:12]]
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "audio/aiff"
    if head[4:8] == b"ftyp":
        return _iso_media(head[8:12])
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm" if b"webm" in head[:64] else "video/x-matroska"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "application/zip"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "application/x-ole-storage"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 text with its byte order mark
        return "text/plain" if len(head) % 2 == 0 or len(head) >= SNIFF_BYTES else None
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "audio/aac" if head[1] & 0x06 == 0 else "audio/mpeg"
    if head[257:262] == b"ustar":
        return "application/x-tar"
    if _is_text(head):
        return "text/plain"
    return None


def _iso_media(brand: bytes) -> str:
    if brand in (b"heic", b"heix", b"mif1", b"msf1"):
        return "image/heic"
    if brand in (b"avif", b"avis"):
        return "image/avif"
    if brand in (b"M4A ", b"M4B "):
        return "audio/mp4"
    if brand == b"qt  ":
        return "video/quicktime"
    return "video/mp4"


def _is_text(head: bytes) -> bool:
    """No NUL bytes and no control characters beyond the usual whitespace: UTF-8 or a legacy 8-bit text."""
    return all(b >= 0x20 or b in _ALLOWED_CONTROLS for b in head) and 0x7F not in head


def classify(head: bytes, *, name: str, complete: bool) -> FileType:
    """Decide what an upload is from its first bytes; refuse executables and unknown kinds.

    - An empty file is refused: it has no type to sniff and carries nothing.
    - Executables (ELF, PE, Mach-O, scripts with #!) are refused whatever their name.
    - A name that a desktop would run (`.exe`, `.bat`, ...) is refused whatever the bytes.
    - Everything else must sniff as a document, image, audio, video or archive.
    - The name refines a sniffed type only within its family (ZIP → .docx, OLE → .doc, text → .csv).
    """
    if complete and not head:
        raise Invalid("The file is empty.", code="empty_file")
    if head.startswith(_EXECUTABLE_MAGIC) or is_dangerous_name(name):
        raise Unsupported("Executable files and scripts cannot be attached.", code="unsupported_file_type")
    content_type = sniff(head)
    ext = extension(name)
    if content_type == "application/x-ole-storage":
        content_type = _OLE_BY_EXTENSION.get(ext)  # other OLE files are installers (.msi) and the like
    elif content_type == "application/zip":
        content_type = _ZIP_BY_EXTENSION.get(ext, content_type)
    elif content_type == "text/plain":
        content_type = _TEXT_BY_EXTENSION.get(ext, content_type)
    if content_type is None:
        raise Unsupported(
            "Attach documents, images, audio, video or archives; this file is none of them.",
            code="unsupported_file_type",
        )
    return FileType(content_type, family_of(content_type))


def is_inline(content_type: str) -> bool:
    """Media a browser may show in the page (<img>, <audio>, <video>); everything else downloads."""
    return family_of(content_type) in ("image", "audio", "video")


class RangeNotSatisfiable(DomainError):
    """A byte range that starts beyond the end of the file."""

    code = "range_not_satisfiable"


_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)")
_BEYOND_ANY_FILE = 10**18
"""What a position of more than 18 digits stands for: past the end of every file. Python
refuses to convert strings of over 4,300 digits, so they are never converted."""


def _position(digits: str) -> int:
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= 18 else _BEYOND_ANY_FILE


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (first, last) byte of a single-range `Range` header, or None to send it all.

    Malformed or multi-range headers are ignored (RFC 9110 allows it); a range that starts
    at or past the end is refused.
    """
    if not header:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":
        suffix = _position(last)
        if suffix == 0:
            raise RangeNotSatisfiable("An empty suffix range selects nothing.")
        return max(size - suffix, 0), size - 1
    start = _position(first)
    end = _position(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable("The range starts past the end of the file.")
    return start, min(end, size - 1)


def may_download(
    *, is_uploader: bool, message_id: int | None, is_participant: bool, cleared_through: int, message_deleted: bool
) -> bool:
    """Who may fetch a file; everyone else is told it does not exist (404).

    - The uploader, as long as the file exists (a deleted message takes its files with it).
    - A participant of the conversation whose message carries the file, while that message
      is in their view: not deleted, and not in history they cleared for themselves.
    - Nobody else: not other members, not a former upload's would-be recipients.
    """
    if is_uploader:
        return True
    return message_id is not None and is_participant and message_id > cleared_through and not message_deleted
