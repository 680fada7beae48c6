"""RAR test fixtures that shared/corpus/rar5.py does not make.

No free tool writes RAR, so these are written by hand from the public format
notes (rarlab's RAR 5.0 technote, unrar's unpack50.cpp / unpack30.cpp layout):

* `write_rar4_stored`: a RAR 2.9 (RAR4) archive with stored members.
* `write_rar5_compressed` / `write_rar4_compressed`: real *compressed* members
  (method 1, LZ), so reading them needs unrar/unar/7z. The encoder is the
  simplest valid one: a Huffman table giving each of the 256 byte values an
  8-bit code, and no matches, so the output is barely bigger than the input. It
  is still a genuine LZ bit stream that the decoder has to parse.
"""

from __future__ import annotations

import importlib.util
import struct
import zlib
from pathlib import Path

from tests.corpus import shared_dir

_spec = importlib.util.spec_from_file_location("rar5", shared_dir() / "corpus" / "rar5.py")
assert _spec is not None and _spec.loader is not None
rar5 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rar5)

RAR4_SIGNATURE = b"Rar!\x1a\x07\x00"
_DOS_TIME = 0x58210000  # 2024-01-01 00:00


def _canonical(lengths: list[int]) -> dict[int, str]:
    """Canonical Huffman codes (shorter first, then by symbol), as RAR's decoders build them."""
    codes: dict[int, str] = {}
    code = 0
    for length in range(1, 16):
        for symbol, symbol_length in enumerate(lengths):
            if symbol_length == length:
                codes[symbol] = format(code, f"0{length}b")
                code += 1
        code <<= 1
    return codes


def _tables(lengths: list[int]) -> str:
    """The bit-length table, then the main table encoded with it, as bits.

    Only the length values in use, symbol 0 (one zero) and symbol 19 (a run of
    11-138 zeros) get codes, all of one width.
    """
    used = {0, 19} | set(lengths)
    width = (len(used) - 1).bit_length()
    bd_lengths = [width if symbol in used else 0 for symbol in range(20)]
    bd = _canonical(bd_lengths)
    out = [format(n, "04b") for n in bd_lengths]
    i = 0
    while i < len(lengths):
        run = 0
        while i + run < len(lengths) and lengths[i + run] == 0 and run < 138:
            run += 1
        if run >= 11:
            out.append(bd[19] + format(run - 11, "07b"))
            i += run
        else:
            out.append(bd[lengths[i]])
            i += 1
    return "".join(out)


def _pack_bits(bits: str) -> bytes:
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b""


def _rar5_packed(data: bytes) -> bytes:
    lengths = [8] * 256 + [0] * (306 - 256 + 64 + 16 + 44)  # every byte an 8-bit code, no matches
    codes = _canonical(lengths)
    bits = _tables(lengths) + "".join(codes[b] for b in data)
    payload = _pack_bits(bits)
    size = len(payload)
    used_in_last = (len(bits) - 1) % 8 + 1
    nbytes = 1 if size < 1 << 8 else 2 if size < 1 << 16 else 3
    flags = 0x80 | 0x40 | (nbytes - 1) << 3 | (used_in_last - 1)  # tables, last block
    check = (0x5A ^ flags ^ size ^ size >> 8 ^ size >> 16) & 0xFF
    return bytes([flags, check]) + size.to_bytes(nbytes, "little") + payload


def write_rar5_compressed(path: Path, members: list[tuple[str, bytes]]) -> None:
    """A RAR5 archive whose members are LZ-compressed (method 1, 128 KiB dictionary)."""
    vint, block = rar5.vint, rar5.block
    out = bytearray(rar5.SIGNATURE)
    out += block(rar5.HEAD_MAIN, 0, vint(0))
    for name, data in members:
        packed = _rar5_packed(data)
        encoded = name.encode("utf-8")
        fields = (
            vint(rar5.FHFL_MTIME | rar5.FHFL_CRC32)
            + vint(len(data))
            + vint(0o100644)
            + struct.pack("<I", 1704067200)
            + struct.pack("<I", zlib.crc32(data))
            + vint(1 << 7)  # version 0, method 1, dictionary 128 KiB
            + vint(rar5.HOST_UNIX)
            + vint(len(encoded))
            + encoded
        )
        out += block(rar5.HEAD_FILE, rar5.HFL_DATA, fields, data_size=len(packed))
        out += packed
    out += block(rar5.HEAD_END, 0, vint(0))
    path.write_bytes(bytes(out))


def _rar4_block(head_type: int, flags: int, body: bytes) -> bytes:
    header = struct.pack("<BHH", head_type, flags, 7 + len(body)) + body
    return struct.pack("<H", zlib.crc32(header) & 0xFFFF) + header


def _rar4_file(name: str, data: bytes, packed: bytes, method: int) -> bytes:
    encoded = name.encode("utf-8")
    flags = 0x8000 | (0x0200 if not name.isascii() else 0)  # long block; UTF-8 name
    body = struct.pack(
        "<IIBIIBBHI", len(packed), len(data), 3, zlib.crc32(data), _DOS_TIME, 29, method, len(encoded), 0o100644
    )
    return _rar4_block(0x74, flags, body + encoded) + packed


def _write_rar4(path: Path, entries: list[bytes]) -> None:
    out = RAR4_SIGNATURE + _rar4_block(0x73, 0, b"\0" * 6) + b"".join(entries) + _rar4_block(0x7B, 0x4000, b"")
    path.write_bytes(out)


def write_rar4_stored(path: Path, members: list[tuple[str, bytes]]) -> None:
    """A RAR4 (2.9) archive with stored members."""
    _write_rar4(path, [_rar4_file(name, data, data, 0x30) for name, data in members])


def _rar4_packed(data: bytes) -> bytes:
    # RAR 2.9 streams end with symbol 256 ("end of block") and a 0 bit ("end of file"),
    # so 256 needs a code: bytes 0-254 get 8 bits, byte 255 and symbol 256 get 9.
    lengths = [8] * 255 + [9, 9] + [0] * (299 - 257 + 60 + 17 + 28)
    codes = _canonical(lengths)
    bits = "00" + _tables(lengths) + "".join(codes[b] for b in data) + codes[256] + "0"  # LZ, fresh tables
    return _pack_bits(bits)


def write_rar4_compressed(path: Path, members: list[tuple[str, bytes]]) -> None:
    """A RAR4 (2.9) archive whose members are LZ-compressed (method "fastest")."""
    _write_rar4(path, [_rar4_file(name, data, _rar4_packed(data), 0x31) for name, data in members])
