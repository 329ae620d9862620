"""Bytes to text, as every source reads them: sizes capped, gzip read here (every member,
corrupt or cut-off files refused), UTF-8 first, else the best-fitting legacy charset."""

from __future__ import annotations

import zlib
from typing import Any

import charset_normalizer

from transforms.core.failures import BadInput


def decode_text(data: bytes) -> str:
    """Bytes to text: UTF-8 (with or without BOM) first, else the best-fitting legacy charset."""
    if not data.strip():
        raise BadInput("input is empty")
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


def gunzip_capped(stream: Any, limit: int) -> bytes:
    """A gzip stream's content, every member (as `gzip -d` gives it), at most `limit` bytes.
    Decompressed here rather than by the filesystem, which returns a truncated file's first
    part as if it were whole: a corrupt or cut-off file is bad input, never a shorter text."""
    out = bytearray()
    member, fed, pending = zlib.decompressobj(wbits=31), False, b""
    while len(out) < limit:
        pending = pending or stream.read(_CHUNK_BYTES)
        if not pending:
            break
        if not fed and not pending.strip(b"\0"):  # zero bytes padding the file's end
            pending = b""
            continue
        try:
            out += member.decompress(pending, limit - len(out))
        except zlib.error as error:
            raise BadInput(f"not a readable gzip file ({error}); is it really gzip-compressed?"
                           ) from None
        fed, pending = True, member.unconsumed_tail
        if member.eof:  # another member may follow
            member, fed, pending = zlib.decompressobj(wbits=31), False, member.unused_data
    if fed and not member.eof and len(out) < limit:
        raise BadInput("gzip file ends before its compressed data does: truncated (an "
                       "interrupted copy or download?)")
    return bytes(out)
