"""Reading and writing user files faithfully: same bytes back unless the text changed.

Text is decoded without newline translation, so CRLF and CR files round-trip byte for
byte; the encoding (PEP 263 cookie) and the UTF-8 BOM are remembered and restored.
Writes are atomic and refuse to clobber a file that changed since it was read.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import os
import re
import stat
import tempfile
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

_EOL = re.compile(rb"\r\n?|\n")


class SourceError(Exception):
    """One-line, user-facing: str(err) names the file and the problem."""


@dataclass
class SourceFile:
    path: Path | None  # None for stdin
    display_name: str  # what messages show: the path as given, --stdin-filename, or '-'
    text: str = field(repr=False)  # decoded, BOM removed, original newlines kept
    encoding: str  # codec from the coding cookie; 'utf-8' by default and with a BOM
    bom: bool
    newline: str  # the dominant newline: '\n', '\r\n' or '\r' ('\n' when there is none)
    raw: bytes = field(repr=False)  # the bytes as read
    stat: os.stat_result | None = field(default=None, repr=False)  # as read; None for stdin


def describe_os_error(err: OSError, path: str | os.PathLike[str]) -> str:
    """The problem in err, lower-case and without the path, e.g. 'permission denied'."""
    if err.errno == errno.ELOOP:
        return "symbolic link loop"
    if isinstance(err, FileNotFoundError) and os.path.islink(path):
        return "broken symbolic link"
    reason = err.strerror or str(err)
    return reason[:1].lower() + reason[1:]


def read_source(path: Path, display_name: str | None = None) -> SourceFile:
    """Read and decode a file; every failure is a SourceError naming it."""
    name = str(path) if display_name is None else display_name
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())  # of what was opened, so a symlink's target
            data = f.read()
    except OSError as err:
        if isinstance(err, PermissionError) and os.path.isdir(path):
            problem = "is a directory"  # how Windows reports opening a directory
        else:
            problem = describe_os_error(err, path)
        raise SourceError(f"{name}: {problem}") from err
    return _decode(data, name, path, st)


def source_from_bytes(data: bytes, display_name: str, path: Path | None = None) -> SourceFile:
    """Decode bytes that did not come from disk (stdin), under the same rules as a file."""
    return _decode(data, display_name, path, None)


def encode_text(source: SourceFile, new_text: str) -> bytes:
    """new_text as bytes in the source's encoding, with its BOM if it had one."""
    try:
        data = new_text.encode(source.encoding)
    except UnicodeEncodeError as err:
        bad = err.object[err.start : err.end]
        raise SourceError(
            f"{source.display_name}: {bad!r} (character offset {err.start}) "
            f"cannot be encoded as {source.encoding}"
        ) from err
    return codecs.BOM_UTF8 + data if source.bom else data


def write_source(source: SourceFile, new_text: str) -> None:
    """Replace the file's contents with new_text atomically, or raise SourceError and leave it be.

    On success source is updated to what is now on disk, so it can be written again.
    """
    if source.path is None:
        raise ValueError(f"{source.display_name}: has no file to write to")
    name = source.display_name
    data = encode_text(source, new_text)
    try:
        # Through a symlink, the target is what gets replaced, not the link.
        target = Path(source.path).resolve(strict=True)
        st = os.stat(target)
    except OSError as err:
        problem = describe_os_error(err, source.path)
        raise SourceError(f"{name}: {problem}; fix not written") from err
    # The replace below needs only a writable directory, so honour the file's own
    # permission; a file nobody may write counts as read-only even for root.
    if not os.access(target, os.W_OK) or not st.st_mode & 0o222:
        raise SourceError(f"{name}: read-only; fix not written")
    try:
        # Same directory, so os.replace is an atomic rename on the same filesystem.
        fd, tmp = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".greenlint-tmp", dir=target.parent
        )
    except OSError as err:
        problem = describe_os_error(err, target.parent)
        raise SourceError(
            f"{name}: cannot create a temporary file beside it ({problem}); fix not written"
        ) from err
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        _copy_owner_and_mode(tmp, st)
        if _changed_on_disk(source, target):
            raise SourceError(f"{name}: changed on disk since it was read; not writing")
        os.replace(tmp, target)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, OSError):
            raise SourceError(f"{name}: {describe_os_error(err, target)}; fix not written") from err
        raise
    _sync_directory(target.parent)
    source.raw = data
    source.text = new_text
    source.newline = _dominant_newline(new_text)
    try:
        source.stat = os.stat(target)
    except OSError:
        source.stat = None  # the next write then compares bytes instead


def _decode(data: bytes, name: str, path: Path | None, st: os.stat_result | None) -> SourceFile:
    nul = data.find(b"\0")
    if nul != -1:
        raise SourceError(f"{name}: binary file (NUL byte at offset {nul})")
    bom = data.startswith(codecs.BOM_UTF8)
    cookie = _coding_cookie(data, name)
    encoding = "utf-8" if cookie is None else cookie
    start = len(codecs.BOM_UTF8) if bom else 0
    try:
        text = data[start:].decode(encoding)  # bytes.decode never translates newlines
    except UnicodeDecodeError as err:
        where = f"byte 0x{err.object[err.start]:02x} at offset {err.start + start}"
        if cookie is None:
            problem = f"not valid UTF-8 ({where}) and no coding cookie"
        else:
            problem = f"not valid {'UTF-8' if encoding == 'utf-8' else encoding} ({where})"
        raise SourceError(f"{name}: {problem}") from err
    except LookupError as err:  # a cookie naming a bytes-to-bytes codec such as 'hex'
        problem = f"bad coding cookie ({encoding!r} is not a text encoding)"
        raise SourceError(f"{name}: {problem}") from err
    return SourceFile(
        path=path,
        display_name=name,
        text=text,
        encoding=encoding,
        bom=bom,
        newline=_dominant_newline(text),
        raw=data,
        stat=st,
    )


def _coding_cookie(data: bytes, name: str) -> str | None:
    """The encoding a PEP 263 cookie (or BOM) declares; None when there can be no cookie."""
    # Split here, on any newline: tokenize's readline would see a CR-only file as one line.
    lines = []
    pos = 0
    for _ in range(2):  # a cookie may only be on the first two lines
        match = _EOL.search(data, pos)
        end = len(data) if match is None else match.end()
        lines.append(data[pos:end])
        if match is None:
            break
        pos = end
    if not any(b"coding" in line for line in lines):
        # The common case: skip tokenize; a BOM alone means UTF-8, the default anyway.
        return None
    try:
        encoding, _ = tokenize.detect_encoding(iter(lines).__next__)
    except SyntaxError as err:
        raise SourceError(f"{name}: bad coding cookie ({err.msg})") from err
    # The BOM is kept apart (SourceFile.bom), so 'utf-8-sig' is plain UTF-8 here.
    return "utf-8" if encoding == "utf-8-sig" else encoding


def _dominant_newline(text: str) -> str:
    if "\r" not in text:
        return "\n"
    crlf = text.count("\r\n")
    counts = {"\n": text.count("\n") - crlf, "\r\n": crlf, "\r": text.count("\r") - crlf}
    return max(counts, key=counts.__getitem__)  # ties go to the earlier, more usual one


def _copy_owner_and_mode(tmp: str, st: os.stat_result) -> None:
    if hasattr(os, "chown"):
        # Keeps a file owned by its user when root (say, in a container) fixes it;
        # anyone else may not give files away, which is fine: the file is theirs.
        with contextlib.suppress(PermissionError):
            os.chown(tmp, st.st_uid, st.st_gid)
    os.chmod(tmp, stat.S_IMODE(st.st_mode))  # after chown, which may clear setuid bits


def _changed_on_disk(source: SourceFile, target: Path) -> bool:
    try:
        st = os.stat(target)
        if source.stat is not None:
            if st.st_size != source.stat.st_size:
                return True
            if st.st_mtime_ns == source.stat.st_mtime_ns:
                return False
        # Same size, new mtime (or no stat to compare): only the bytes can tell.
        with open(target, "rb") as f:
            return f.read() != source.raw
    except FileNotFoundError:
        return True


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable; best effort, and only POSIX can open a directory."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
