import codecs
import os
import stat
from pathlib import Path

import pytest

from greenlint import source as source_module
from greenlint.source import (
    SourceError,
    encode_text,
    read_source,
    source_from_bytes,
    write_source,
)

BOM = codecs.BOM_UTF8


def make(tmp_path: Path, data: bytes, name: str = "x.py") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def others(tmp_path: Path, *keep: str) -> list[str]:
    """Anything in tmp_path besides the named files: leftover temporary files."""
    return sorted(set(os.listdir(tmp_path)) - set(keep))


# Reading


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_newlines_kept_and_round_trip_byte_identical(tmp_path, newline):
    raw = newline.join(["import os", "x = 1", "y = 'é'", ""]).encode()
    path = make(tmp_path, raw)
    src = read_source(path)
    assert src.text == raw.decode()  # no universal-newline translation
    assert src.newline == newline
    assert encode_text(src, src.text) == raw
    write_source(src, src.text)
    assert path.read_bytes() == raw


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_edit_keeps_the_files_newlines(tmp_path, newline):
    path = make(tmp_path, newline.join(["x = 1", "y = 2", ""]).encode())
    src = read_source(path)
    write_source(src, src.text.replace("y = 2", "y = 3"))
    assert path.read_bytes() == newline.join(["x = 1", "y = 3", ""]).encode()


def test_dominant_newline_of_a_mixed_file(tmp_path):
    src = read_source(make(tmp_path, b"a = 1\r\nb = 2\r\nc = 3\nd = 4\r\n"))
    assert src.newline == "\r\n"


def test_file_without_newline_defaults_to_lf(tmp_path):
    assert read_source(make(tmp_path, b"x = 1")).newline == "\n"


def test_bom_removed_from_text_and_written_back(tmp_path):
    path = make(tmp_path, BOM + "x = 'é'\r\n".encode())
    src = read_source(path)
    assert src.bom is True
    assert src.encoding == "utf-8"
    assert src.text == "x = 'é'\r\n"
    write_source(src, "x = 'è'\r\n")
    assert path.read_bytes() == BOM + "x = 'è'\r\n".encode()


def test_latin1_cookie_read_and_written_back_in_latin1(tmp_path):
    path = make(tmp_path, b"# -*- coding: latin-1 -*-\nname = '\xe9'\n")
    src = read_source(path)
    assert codecs.lookup(src.encoding).name == "iso8859-1"
    assert src.text == "# -*- coding: latin-1 -*-\nname = 'é'\n"
    write_source(src, src.text.replace("é", "è"))
    assert path.read_bytes() == b"# -*- coding: latin-1 -*-\nname = '\xe8'\n"


def test_cookie_on_second_line_of_a_cr_file(tmp_path):
    raw = b"#!/usr/bin/env python\r# coding: cp1252\rs = '\x80'\r"
    src = read_source(make(tmp_path, raw))
    assert src.encoding == "cp1252"
    assert src.text == "#!/usr/bin/env python\r# coding: cp1252\rs = '€'\r"
    assert encode_text(src, src.text) == raw


def test_cookie_after_a_blank_first_line(tmp_path):
    src = read_source(make(tmp_path, b"\n# coding: latin-1\nx = '\xe9'\n"))
    assert src.text == "\n# coding: latin-1\nx = 'é'\n"


def test_bom_with_a_utf8_cookie_round_trips(tmp_path):
    raw = BOM + b"# coding: utf-8\nx = '\xc3\xa9'\n"
    src = read_source(make(tmp_path, raw))
    assert (src.bom, src.encoding, src.text) == (True, "utf-8", "# coding: utf-8\nx = 'é'\n")
    assert encode_text(src, src.text) == raw  # one BOM, not two


def test_cookie_after_code_is_not_a_cookie(tmp_path):
    # PEP 263: only a comment or blank first line lets the second line declare one.
    with pytest.raises(SourceError, match=r"not valid UTF-8 \(byte 0xe9"):
        read_source(make(tmp_path, b"x = 1\n# coding: latin-1\ny = '\xe9'\n"))


def test_empty_file(tmp_path):
    src = read_source(make(tmp_path, b""))
    assert (src.text, src.encoding, src.bom, src.newline) == ("", "utf-8", False, "\n")
    assert src.raw == b""


def test_stat_and_names_recorded(tmp_path):
    path = make(tmp_path, b"x = 1\n")
    src = read_source(path, display_name="shown.py")
    assert src.path == path
    assert src.display_name == "shown.py"
    assert src.stat is not None and src.stat.st_size == 6
    assert read_source(path).display_name == str(path)


def test_source_from_bytes_decodes_like_a_file():
    src = source_from_bytes(BOM + b"x = 1\r\n", "-")
    assert (src.path, src.display_name, src.text, src.bom, src.newline, src.stat) == (
        None, "-", "x = 1\r\n", True, "\r\n", None,
    )


def test_stdin_source_cannot_be_written():
    with pytest.raises(ValueError):
        write_source(source_from_bytes(b"x = 1\n", "-"), "x = 2\n")


# Read errors: one line, naming the file


def assert_one_line(err: pytest.ExceptionInfo, message: str) -> None:
    assert str(err.value) == message
    assert "\n" not in str(err.value)


def test_nul_bytes_are_a_binary_file(tmp_path):
    with pytest.raises(SourceError) as err:
        read_source(make(tmp_path, b"x = 1\n\0\x01\x02"))
    assert_one_line(err, f"{tmp_path / 'x.py'}: binary file (NUL byte at offset 6)")


def test_invalid_utf8_names_the_file_and_the_byte(tmp_path):
    with pytest.raises(SourceError) as err:
        read_source(make(tmp_path, b"x = 'abc\xff'\n"), display_name="x.py")
    assert_one_line(err, "x.py: not valid UTF-8 (byte 0xff at offset 8) and no coding cookie")


def test_invalid_utf8_after_bom_gives_the_file_offset(tmp_path):
    with pytest.raises(SourceError, match=r"byte 0xff at offset 3\)"):
        read_source(make(tmp_path, BOM + b"\xff"), display_name="x.py")


def test_bytes_invalid_for_the_declared_encoding(tmp_path):
    with pytest.raises(SourceError) as err:
        read_source(make(tmp_path, b"# coding: ascii\nx = '\xe9'\n"), display_name="x.py")
    assert_one_line(err, "x.py: not valid ascii (byte 0xe9 at offset 21)")


def test_unknown_encoding_in_cookie(tmp_path):
    with pytest.raises(SourceError) as err:
        read_source(make(tmp_path, b"# coding: klingon\nx = 1\n"), display_name="x.py")
    assert_one_line(err, "x.py: bad coding cookie (unknown encoding: klingon)")


def test_cookie_naming_a_non_text_codec(tmp_path):
    with pytest.raises(SourceError) as err:
        read_source(make(tmp_path, b"# coding: hex\nx = 1\n"), display_name="x.py")
    assert_one_line(err, "x.py: bad coding cookie ('hex' is not a text encoding)")


def test_bom_contradicting_the_cookie(tmp_path):
    with pytest.raises(SourceError, match=r"^x\.py: bad coding cookie"):
        read_source(make(tmp_path, BOM + b"# coding: latin-1\n"), display_name="x.py")


def test_missing_file(tmp_path):
    with pytest.raises(SourceError) as err:
        read_source(tmp_path / "nope.py", display_name="nope.py")
    assert_one_line(err, "nope.py: no such file or directory")


def test_directory(tmp_path):
    with pytest.raises(SourceError) as err:
        read_source(tmp_path, display_name="pkg")
    assert_one_line(err, "pkg: is a directory")


def test_broken_symlink(tmp_path):
    (tmp_path / "link.py").symlink_to(tmp_path / "gone.py")
    with pytest.raises(SourceError) as err:
        read_source(tmp_path / "link.py", display_name="link.py")
    assert_one_line(err, "link.py: broken symbolic link")


def test_symlink_loop(tmp_path):
    (tmp_path / "a.py").symlink_to(tmp_path / "b.py")
    (tmp_path / "b.py").symlink_to(tmp_path / "a.py")
    with pytest.raises(SourceError) as err:
        read_source(tmp_path / "a.py", display_name="a.py")
    assert_one_line(err, "a.py: symbolic link loop")


def test_unreadable_file(tmp_path):
    path = make(tmp_path, b"x = 1\n")
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("this user can read any file (root)")
        with pytest.raises(SourceError) as err:
            read_source(path, display_name="x.py")
        assert_one_line(err, "x.py: permission denied")
    finally:
        path.chmod(0o644)


def test_permission_denied_reported_even_when_simulated(tmp_path, monkeypatch):
    # Runs as root too, where chmod cannot make a file unreadable.
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(source_module, "open", denied, raising=False)
    with pytest.raises(SourceError) as err:
        read_source(make(tmp_path, b"x = 1\n"), display_name="x.py")
    assert_one_line(err, "x.py: permission denied")


# Writing


def test_write_replaces_contents_and_leaves_no_temporary_file(tmp_path):
    path = make(tmp_path, b"x = 1\n")
    src = read_source(path)
    write_source(src, "x = 2\n")
    assert path.read_bytes() == b"x = 2\n"
    assert others(tmp_path, "x.py") == []


def test_write_updates_the_source_so_it_can_be_written_again(tmp_path):
    path = make(tmp_path, b"x = 1\n")
    src = read_source(path)
    write_source(src, "x = 22\r\n")
    assert (src.text, src.raw, src.newline) == ("x = 22\r\n", b"x = 22\r\n", "\r\n")
    write_source(src, "x = 333\n")  # would be 'changed on disk' had src gone stale
    assert path.read_bytes() == b"x = 333\n"


def test_file_mode_preserved(tmp_path):
    path = make(tmp_path, b"x = 1\n")
    path.chmod(0o751)
    write_source(read_source(path), "x = 2\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o751


def test_owner_preserved_when_root_writes(tmp_path):
    path = make(tmp_path, b"x = 1\n")
    try:
        os.chown(path, 4321, 4321)
    except (AttributeError, PermissionError):
        pytest.skip("only root can give files away")
    if not os.access(path, os.W_OK):
        pytest.skip("root without the power to write others' files")
    write_source(read_source(path), "x = 2\n")
    assert (path.stat().st_uid, path.stat().st_gid) == (4321, 4321)


def test_write_through_symlink_replaces_the_target(tmp_path):
    target = make(tmp_path, b"x = 1\n", "real.py")
    link = tmp_path / "link.py"
    link.symlink_to("real.py")
    write_source(read_source(link), "x = 2\n")
    assert link.is_symlink()
    assert os.readlink(link) == "real.py"
    assert target.read_bytes() == b"x = 2\n"
    assert others(tmp_path, "real.py", "link.py") == []


def test_read_only_file_refused_and_untouched(tmp_path):
    path = make(tmp_path, b"x = 1\n")
    src = read_source(path)
    path.chmod(0o444)
    try:
        with pytest.raises(SourceError) as err:
            write_source(src, "x = 2\n")
        assert_one_line(err, f"{path}: read-only; fix not written")
        assert path.read_bytes() == b"x = 1\n"
        assert stat.S_IMODE(path.stat().st_mode) == 0o444
        assert others(tmp_path, "x.py") == []
    finally:
        path.chmod(0o644)


def test_file_changed_on_disk_refused(tmp_path):
    path = make(tmp_path, b"x = 1\n")
    src = read_source(path, display_name="x.py")
    path.write_bytes(b"x = 1  # edited meanwhile\n")
    with pytest.raises(SourceError) as err:
        write_source(src, "x = 2\n")
    assert_one_line(err, "x.py: changed on disk since it was read; not writing")
    assert path.read_bytes() == b"x = 1  # edited meanwhile\n"
    assert others(tmp_path, "x.py") == []


def test_same_size_change_with_new_mtime_refused(tmp_path):
    path = make(tmp_path, b"x = 1\n")
    src = read_source(path)
    path.write_bytes(b"x = 9\n")
    os.utime(path, ns=(src.stat.st_atime_ns, src.stat.st_mtime_ns + 5_000_000_000))
    with pytest.raises(SourceError, match="changed on disk"):
        write_source(src, "x = 2\n")
    assert path.read_bytes() == b"x = 9\n"


def test_size_change_refused_even_with_the_old_mtime(tmp_path):
    # Coarse or restored timestamps: the size alone must give the change away.
    path = make(tmp_path, b"x = 1\n")
    src = read_source(path)
    path.write_bytes(b"x = 1\ny = 2\n")
    os.utime(path, ns=(src.stat.st_atime_ns, src.stat.st_mtime_ns))
    with pytest.raises(SourceError, match="changed on disk"):
        write_source(src, "x = 2\n")
    assert path.read_bytes() == b"x = 1\ny = 2\n"


def test_file_deleted_during_the_write_refused_not_recreated(tmp_path, monkeypatch):
    path = make(tmp_path, b"x = 1\n")
    src = read_source(path, display_name="x.py")
    real_fsync = os.fsync

    def fsync_then_delete(fd):
        real_fsync(fd)
        path.unlink()  # after the checks up front, before the replace

    monkeypatch.setattr(source_module.os, "fsync", fsync_then_delete)
    with pytest.raises(SourceError) as err:
        write_source(src, "x = 2\n")
    assert_one_line(err, "x.py: changed on disk since it was read; not writing")
    assert not path.exists()
    assert others(tmp_path) == []


def test_deleted_file_refused_not_recreated(tmp_path):
    path = make(tmp_path, b"x = 1\n")
    src = read_source(path)
    path.unlink()
    with pytest.raises(SourceError):
        write_source(src, "x = 2\n")
    assert not path.exists()


def test_touched_but_unchanged_file_is_written(tmp_path):
    path = make(tmp_path, b"x = 1\n")
    src = read_source(path)
    os.utime(path, ns=(src.stat.st_atime_ns, src.stat.st_mtime_ns + 5_000_000_000))
    write_source(src, "x = 2\n")
    assert path.read_bytes() == b"x = 2\n"


def test_unencodable_text_refused_and_file_untouched(tmp_path):
    path = make(tmp_path, b"# coding: latin-1\nx = '\xe9'\n")
    src = read_source(path, display_name="x.py")
    with pytest.raises(SourceError) as err:
        write_source(src, "# coding: latin-1\nx = '€'\n")
    assert_one_line(err, "x.py: '€' (character offset 23) cannot be encoded as iso-8859-1")
    assert path.read_bytes() == b"# coding: latin-1\nx = '\xe9'\n"
    assert others(tmp_path, "x.py") == []


def test_failed_replace_keeps_original_and_removes_temporary_file(tmp_path, monkeypatch):
    path = make(tmp_path, b"x = 1\n")
    src = read_source(path, display_name="x.py")

    def broken_replace(src_path, dst_path):
        assert Path(src_path).read_bytes() == b"x = 2\n"  # the temp file was complete
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(source_module.os, "replace", broken_replace)
    with pytest.raises(SourceError) as err:
        write_source(src, "x = 2\n")
    assert_one_line(err, "x.py: no space left on device; fix not written")
    assert path.read_bytes() == b"x = 1\n"
    assert others(tmp_path, "x.py") == []


def test_interrupted_write_removes_temporary_file(tmp_path, monkeypatch):
    path = make(tmp_path, b"x = 1\n")
    src = read_source(path)

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(source_module.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_source(src, "x = 2\n")
    assert path.read_bytes() == b"x = 1\n"
    assert others(tmp_path, "x.py") == []


def test_uncreatable_temporary_file_reported(tmp_path, monkeypatch):
    path = make(tmp_path, b"x = 1\n")
    src = read_source(path, display_name="x.py")

    def denied(**kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(source_module.tempfile, "mkstemp", denied)
    with pytest.raises(SourceError) as err:
        write_source(src, "x = 2\n")
    assert_one_line(
        err, "x.py: cannot create a temporary file beside it (permission denied); fix not written"
    )
    assert path.read_bytes() == b"x = 1\n"
