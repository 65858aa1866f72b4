"""Addresses of a loaded shared library's private (static) variables, from its ELF symbol table.

Used by the espeak voice to reset one piece of state espeak-ng never resets itself (see
espeak.py). Works only where the library is an unstripped 64-bit little-endian ELF file (the
``espeakng-loader`` wheel's is); anywhere else the lookup answers None and the caller carries on
without it.
"""

from __future__ import annotations

import ctypes
import struct
from pathlib import Path

_SHT_SYMTAB = 2
_SECTION = struct.Struct("<IIQQQQIIQQ")  # Elf64_Shdr
_SYMBOL = struct.Struct("<IBBHQQ")  # Elf64_Sym


def symbol_offsets(
    path: str | Path, names: set[str], prefixes: tuple[str, ...] = ()
) -> dict[str, tuple[int, int]]:
    """{symbol name: (value, size)} from the file's full symbol table (.symtab), for the names
    given and for symbols starting with one of ``prefixes`` (a compiler suffixes a function's
    static variable, e.g. ``Flutter_ix.5965``). Empty where the file is not an unstripped ELF64
    LE, or is cut short or malformed."""
    data = Path(path).read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return {}
    try:
        return _scan(data, names, prefixes)
    except (struct.error, IndexError, ValueError):
        return {}


def _scan(data: bytes, names: set[str], prefixes: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [_SECTION.unpack_from(data, shoff + i * shentsize) for i in range(shnum)]
    out: dict[str, tuple[int, int]] = {}
    for sh in sections:
        if sh[1] != _SHT_SYMTAB:
            continue
        strtab = sections[sh[6]]
        str_off = strtab[4]
        for pos in range(sh[4], sh[4] + sh[5], _SYMBOL.size):
            st_name, _info, _other, _shndx, value, size = _SYMBOL.unpack_from(data, pos)
            if not st_name or not value:
                continue
            end = data.index(b"\0", str_off + st_name)
            name = data[str_off + st_name : end].decode("ascii", "replace")
            if name in names or name.startswith(prefixes):
                out[name] = (value, size)
    return out


def private_int(
    lib: ctypes.CDLL, path: str | Path, anchor: str, prefix: str
) -> ctypes.c_int | None:
    """The C ``int`` variable whose symbol starts with ``prefix`` in the loaded ``lib``, located
    through the exported function ``anchor`` (its address minus its symbol value is the load
    base). None unless exactly one symbol matches and it is an int's size: a wrong guess here
    would write into some other variable."""
    found = symbol_offsets(path, {anchor}, (prefix,))
    matches = [v for k, v in found.items() if k.startswith(prefix)]
    func = getattr(lib, anchor, None)
    if anchor not in found or func is None or len(matches) != 1:
        return None
    value, size = matches[0]
    addr = ctypes.cast(func, ctypes.c_void_p).value
    if addr is None or size != ctypes.sizeof(ctypes.c_int):
        return None
    return ctypes.c_int.from_address(addr - found[anchor][0] + value)
