"""The one way a job owns its output folder: a lock held while it writes, and the settings key
that says which run the folder holds.

Every job that writes a folder (atlas, exemplars, activation atlas, concepts, trust) opens it
as ``with JobFolder(out, key, ...) as folder:``. The policy is the same for all of them:

- the folder is locked with an advisory ``fcntl`` lock for as long as the job writes; a second
  writer is refused with one line naming the holder's process id and command, or waits for it
  (``wait=True``). The operating system drops the lock when its holder dies, so a killed job
  never blocks the next one;
- the folder's settings key (``key_file``) must equal this run's: then the job continues where
  an earlier run stopped; else it is refused with one line that names each differing setting's
  value in the folder and now (or, with ``replace``, the earlier run's files are removed).

Files are written whole by ``convscope.io.files.atomic_path``, which gives each the mode the
umask gives, whichever writer made its bytes.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import sys
from pathlib import Path
from typing import IO, Callable, Sequence

from convscope.errors import ConvscopeError
from convscope.io.files import check_output_folder, write_json

LOCK_FILE = ".convscope.lock"
KEY_FILE = "job.json"
WAIT_HELP = "when another run is writing the output folder, wait for it to finish instead of stopping at once"


class JobFolderError(ConvscopeError):
    """An output folder that another run is writing, or that holds a run of other settings."""


def _short(value: object) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def describe_change(stored: dict, new: dict) -> str:
    """'batch: 16 in the folder, 32 now; ...' for every setting that differs (a nested dict,
    such as a recipe, field by field)."""
    parts = []
    for key in sorted(set(stored) | set(new)):
        old, now = stored.get(key), new.get(key)
        if old == now:
            continue
        if isinstance(old, dict) and isinstance(now, dict):
            parts += [f"{key} {field}: {_short(old.get(field))} in the folder, {_short(now.get(field))} now"
                      for field in sorted(set(old) | set(now)) if old.get(field) != now.get(field)]
        else:
            parts.append(f"{key}: {_short(old)} in the folder, {_short(now)} now")
    return "; ".join(parts)


def this_command() -> str:
    """How this process was started, for the lock's holder line: 'convscope exemplars ...'."""
    program = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path("python")
    name = program.parent.name if program.name == "__main__.py" else program.name  # python -m convscope
    words = [name, *sys.argv[1:]]
    text = " ".join(words)
    return text if len(text) <= 200 else text[:197] + "..."


class JobFolder:
    """A job's output folder, owned for one run (a context manager).

    Args:
        out: the folder (created if missing).
        key: the settings that identify what the folder holds (JSON values).
        key_file: the file in ``out`` that stores ``key``.
        wait: wait for another run that holds the folder, instead of refusing at once.
        replace: remove ``generated`` (the files of a run of other settings) instead of refusing.
        generated: the names in ``out`` that the job writes, for a job that can replace a run
            (empty: it cannot, and a refusal does not offer it).
        hint: given the stored key, a sentence added to the refusal (what to rerun with).
    Raises (on entering):
        JobFolderError: ``out`` is a file or cannot be written, another run holds it (without
            ``wait``), or it holds a run of other settings (without ``replace``).
    """

    def __init__(self, out: str | Path, key: dict, *, key_file: str = KEY_FILE, wait: bool = False,
                 replace: bool = False, generated: Sequence[str] = (), hint: Callable[[dict], str] | None = None) -> None:
        self.root = Path(out)
        self.key = key
        self.key_file = key_file
        self.wait = wait
        self.replace = replace
        self.generated = tuple(generated)
        self.hint = hint
        self._lock: IO[str] | None = None
        self._created = self._wrote_key = False

    def __enter__(self) -> "JobFolder":
        self._created = not self.root.exists()
        self._take_lock()
        try:
            self._check_key()
        except BaseException:
            self._leave(failed=True)
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, *_rest: object) -> None:
        self._leave(failed=kind is not None)

    def _leave(self, failed: bool) -> None:
        """Lets the lock go; a run that failed before writing anything of its own leaves no trace
        (no key file, and no folder where there was none)."""
        bare = failed and {p.name for p in self.root.iterdir()} <= {LOCK_FILE, self.key_file}
        if bare and self._wrote_key:
            (self.root / self.key_file).unlink(missing_ok=True)
        self.close()
        if bare and self._created:
            (self.root / LOCK_FILE).unlink(missing_ok=True)
            if not any(self.root.iterdir()):
                self.root.rmdir()

    def path(self, name: str) -> Path:
        """The path of ``name`` in the folder."""
        return self.root / name

    def close(self) -> None:
        """Lets the lock go; the lock file stays, emptied (it names its holder only while held)."""
        if self._lock is not None:
            self._lock.seek(0)
            self._lock.truncate()
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def _take_lock(self) -> None:
        if self.root.exists() and not self.root.is_dir():
            raise JobFolderError(f"{self.root} is a file: give a folder for the output")
        check_output_folder(self.root / LOCK_FILE)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            lock = open(self.root / LOCK_FILE, "a+")
        except OSError as e:
            raise JobFolderError(f"cannot write to {self.root}: {e.strerror}") from e
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not self.wait:
                lock.seek(0)
                holder = lock.read().strip() or "another process"
                lock.close()
                raise JobFolderError(f"{self.root} is being written by {holder}; wait for it to finish (or stop it), "
                                     "give another folder, or {wait} for it", options=["wait"]) from None
            fcntl.flock(lock, fcntl.LOCK_EX)
        lock.seek(0)
        lock.truncate()
        lock.write(f"process {os.getpid()} ({this_command()})\n")
        lock.flush()
        self._lock = lock

    def _check_key(self) -> None:
        stored = self._stored_key()
        if stored is not None and stored.get("job") != self.key.get("job"):
            raise JobFolderError(f"{self.root} holds the output of {stored.get('job') or 'another command'}, not of "
                                 f"{self.key.get('job') or 'this command'}: give another folder")
        if stored is not None and stored != self.key:
            if not self.replace:
                extra = self.hint(stored) if self.hint is not None else ""
                raise JobFolderError(f"{self.root} holds a run of other settings: {describe_change(stored, self.key)}"
                                     f"{'; ' + extra if extra else ''}; use the same settings to continue it, or "
                                     "give another folder" + (", or {force} to replace it" if self.generated else ""),
                                     options=["force", "batch"])
            self._clear()
        if stored != self.key:
            write_json(self.root / self.key_file, self.key)
            self._wrote_key = True

    def _stored_key(self) -> dict | None:
        path = self.root / self.key_file
        if not path.is_file():
            return None
        try:
            stored = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        return stored if isinstance(stored, dict) else None

    def _clear(self) -> None:
        for name in (*self.generated, self.key_file):
            path = self.root / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
