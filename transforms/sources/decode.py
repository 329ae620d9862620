"""Bytes to text, as every source reads them: sizes capped, gzip read here (every member,
corrupt or cut-off files refused), UTF-8 first, else the best-fitting legacy charset."""

from __future__ import annotations

import codecs
import io
import re
import zlib
from typing import Any

import charset_normalizer

from transforms.core.failures import BadInput

_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
# As browsers read them (WHATWG Encoding): a page labelled latin-1 is windows-1252.
_WEB_ALIASES = {"iso-8859-1": "cp1252", "latin-1": "cp1252", "latin1": "cp1252",
                "us-ascii": "cp1252", "ascii": "cp1252", "iso8859-1": "cp1252"}


def charset_of(content_type: str | None) -> str | None:
    """The codec a Content-Type header declares ("text/html; charset=Shift_JIS"), if Python
    knows it."""
    match = _CHARSET.search(content_type or "")
    if not match:
        return None
    name = _WEB_ALIASES.get(match.group(1).lower(), match.group(1))
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_text(data: bytes, declared: str | None = None) -> str:
    """Bytes to text: the charset the HTTP headers declare when the bytes are valid in it, else
    UTF-8 (with or without BOM), else the best-fitting legacy charset."""
    if not data.strip():
        raise BadInput("input is empty")
    if declared and not declared.startswith("utf"):
        try:
            return data.decode(declared)
        except UnicodeDecodeError:
            pass  # mislabelled: read as if unlabelled
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as utf8_error:
        best = _best_legacy_match(data)
        if best is None or "\x00" in str(best):
            raise BadInput(f"cannot decode: not UTF-8 ({utf8_error.reason}) nor any other text "
                           "encoding; is this a binary file?") from None
        return str(best)


def _best_legacy_match(data: bytes) -> Any:
    """charset_normalizer's best match; among equally good ones, windows-1252, which the web
    uses for every page labelled latin-1."""
    matches = list(charset_normalizer.from_bytes(data))
    if not matches:
        return None
    best = matches[0]
    ties = [m for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
    return next((m for m in ties if m.encoding == "cp1252"), best)


def read_capped(stream: Any, max_bytes: int, gzipped: bool = False) -> bytes:
    """Read at most max_bytes (decompressed); refuse anything larger instead of holding it all."""
    data = gunzip_capped(stream, max_bytes + 1) if gzipped else stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise BadInput(f"larger than limits.max_input_bytes={max_bytes}; raise it in the config "
                       "to accept bigger inputs")
    return data


_CHUNK_BYTES = 1 << 20


class Gunzip(io.RawIOBase):
    """A gzip stream read as its content, every member (as `gzip -d` gives it), a chunk at a
    time. Decompressed here rather than by the filesystem, which returns a truncated file's
    first part as if it were whole: a corrupt or cut-off file raises BadInput, never reads as
    a shorter one; what came before the damage is read first."""

    def __init__(self, stream: Any) -> None:
        super().__init__()
        self.stream = stream
        self.member, self.fed, self.pending = zlib.decompressobj(wbits=31), False, b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._next(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def _next(self, size: int) -> bytes:
        while True:
            self.pending = self.pending or self.stream.read(_CHUNK_BYTES)
            if not self.pending:
                if self.fed and not self.member.eof:
                    raise BadInput("gzip file ends before its compressed data does: truncated "
                                   "(an interrupted copy or download?)")
                return b""
            if not self.fed and not self.pending.strip(b"\0"):  # zero bytes padding the end
                self.pending = b""
                continue
            try:
                out = self.member.decompress(self.pending, size)
            except zlib.error as error:
                raise BadInput(f"not a readable gzip file ({error}); is it really "
                               "gzip-compressed?") from None
            self.fed, self.pending = True, self.member.unconsumed_tail
            if self.member.eof:  # another member may follow
                self.pending = self.member.unused_data
                self.member, self.fed = zlib.decompressobj(wbits=31), False
            if out:
                return out


def gunzip_capped(stream: Any, limit: int) -> bytes:
    """A gzip stream's content (see Gunzip), at most `limit` bytes."""
    reader, out = Gunzip(stream), bytearray()
    while len(out) < limit and (chunk := reader.read(min(_CHUNK_BYTES, limit - len(out)))):
        out += chunk
    return bytes(out)
