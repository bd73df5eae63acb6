"""Minimal reader for Qt binary resource files (.rcc, format versions 1-3)."""
from __future__ import annotations

import struct
import zlib


def read_rcc(path):
    """-> {resource path: bytes}"""
    d = open(path, "rb").read()
    if d[:4] != b"qres":
        raise ValueError("not an rcc file")
    version, tree, data, names = struct.unpack(">IIII", d[4:20])
    node_size = 14 if version == 1 else 22
    out = {}

    def name_at(off):
        n = struct.unpack(">H", d[names + off: names + off + 2])[0]
        return d[names + off + 6: names + off + 6 + 2 * n].decode("utf-16-be")

    def walk(idx, prefix):
        base = tree + idx * node_size
        name_off, flags = struct.unpack(">IH", d[base: base + 6])
        name = name_at(name_off) if idx else ""
        p = f"{prefix}/{name}" if name else prefix
        if flags & 0x02:  # directory
            count, first = struct.unpack(">II", d[base + 6: base + 14])
            for c in range(first, first + count):
                walk(c, p)
        else:
            doff = struct.unpack(">I", d[base + 10: base + 14])[0]
            size = struct.unpack(">I", d[data + doff: data + doff + 4])[0]
            blob = d[data + doff + 4: data + doff + 4 + size]
            if flags & 0x01:  # zlib, 4-byte length prefix
                blob = zlib.decompress(blob[4:])
            elif flags & 0x04:
                return  # zstd: not needed for audio resources
            out[p] = blob

    walk(0, "")
    return out
