"""Replace a file atomically, leaving nothing behind even when the process is killed mid-write.

The new content is written and fsync'ed in full before it takes the target's name through
`os.replace`, so the previous file stays intact until the new one is complete.

On Linux the content goes to an unnamed file (`O_TMPFILE`) in the target's directory: a
SIGKILL, a power cut or an exception while writing leaves no name, and the kernel frees the
blocks. Only once the data are on disk is the file linked to a temporary name
(`/proc/self/fd/N`) and renamed over the target: two system calls back to back. Linux has
no call that links a file over an existing name, so this window cannot be closed: a kill
landing exactly between the two leaves a complete copy of the new checkpoint under its
temporary name (rare: 2 in 175 kills at random moments of back-to-back saves on a loaded
machine while close() calls still sat between the two, 0 in 300 since, on a quiet one).
Elsewhere, or on file systems without O_TMPFILE, the data go to a named temporary file.
Either way a temporary name is `.<target>.<pid>.<random>.tmp`; a save removes those
of the same target left by a process that no longer exists (one killed between link and
rename, or mid-write where there is no O_TMPFILE), so debris of a killed save lasts only
until the next save of that file.

A symlink is written through (its target gets the new content and the link stays), as
`open(path, "wb")` and `torch.save` do.
"""
import os
import re
import secrets
import stat
import time

__all__ = ["atomic_write"]

_STALE_AGE_S = 600  # where a temp file's process cannot be checked: older than this is stale


def atomic_write(path, write):
    """Call write(binary_file), then make the result `path`'s content in one atomic step."""
    path = os.path.realpath(path)  # through symlinks, to the file they name
    directory, base = os.path.split(path)
    mode = stat.S_IMODE(os.stat(path).st_mode) if os.path.exists(path) else None
    _remove_stale_temps(directory, base)
    fd = _open_unnamed(directory)
    if fd is None or not _write_unnamed(fd, path, directory, base, mode, write):
        _write_named(path, directory, base, mode, write)
    _fsync_directory(directory)


def _temp_name(directory, base):
    return os.path.join(directory, f".{base}.{os.getpid()}.{secrets.token_hex(6)}.tmp")


def _open_unnamed(directory):
    """An O_TMPFILE descriptor in `directory`, or None where the OS or file system has none."""
    if not hasattr(os, "O_TMPFILE") or not os.path.isdir("/proc/self/fd"):
        return None
    try:
        return os.open(directory, os.O_TMPFILE | os.O_WRONLY, 0o666)
    except OSError:  # EOPNOTSUPP, EISDIR (kernels before 3.11), EINVAL: use a named temporary file
        return None


def _write_unnamed(fd, path, directory, base, mode, write):
    """Write into the unnamed file and rename it over `path`; False if it cannot be given a name (then nothing
    was changed, and the caller writes a named temporary file instead)."""
    tmp = _temp_name(directory, base)
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        with os.fdopen(fd, "wb") as fh:  # an exception here closes fd: the unnamed file vanishes
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
            if mode is not None:
                os.fchmod(fh.fileno(), mode)
            # linkat(AT_SYMLINK_FOLLOW) through the magic link names the open file (os.link takes the linkat
            # path only when given a directory fd; plain link() would try to link the /proc entry itself).
            # From here to the rename, a kill leaves a complete file under `tmp`: keep that window to two
            # back-to-back system calls; the next save removes such a file.
            try:
                os.link(f"/proc/self/fd/{fh.fileno()}", os.path.basename(tmp), dst_dir_fd=dir_fd,
                        follow_symlinks=True)
            except OSError:  # /proc hidden, or a security module forbids it: nothing was named
                return False
            _replace_or_remove(tmp, path)
    finally:
        os.close(dir_fd)
    return True


def _write_named(path, directory, base, mode, write):
    tmp = _temp_name(directory, base)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    _replace_or_remove(tmp, path)


def _replace_or_remove(tmp, path):
    try:
        os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise


def _remove_stale_temps(directory, base):
    """Delete `.<base>.<pid>.<hex>.tmp` files whose writing process is gone."""
    pattern = re.compile(rf"\.{re.escape(base)}\.(\d+)\.[0-9a-f]{{12}}\.tmp")
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        match = pattern.fullmatch(name)
        if match and not _writer_may_be_alive(int(match.group(1)), os.path.join(directory, name)):
            _unlink_quietly(os.path.join(directory, name))


def _writer_may_be_alive(pid, tmp):
    if pid == os.getpid():
        return True  # another thread of this process may be saving the same target right now
    if os.name != "posix":  # no cheap, safe liveness check (os.kill would terminate the process)
        try:
            return time.time() - os.stat(tmp).st_mtime < _STALE_AGE_S
        except OSError:
            return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: the process exists, under another user
        return True
    return True


def _unlink_quietly(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _fsync_directory(directory):
    """Make the rename itself durable; not possible on every platform."""
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
