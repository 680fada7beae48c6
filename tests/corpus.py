"""Build the shared test corpus (../shared/corpus/make_corpus.py) once and reuse it.

Plain functions, no pytest or Django, so any conftest or script can call them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def shared_dir() -> Path:
    """The read-only shared folder: $HONDANA_SHARED, else ../shared beside the project."""
    override = os.environ.get("HONDANA_SHARED")
    return Path(override) if override else ROOT.parent / "shared"


def ensure_corpus(
    dest: Path,
    evil: bool,
    *,
    width: int = 320,
    height: int = 452,
    pages_min: int = 3,
    pages_max: int = 8,
) -> Path:
    """Return `dest` holding a corpus with its manifest.json, building it if missing.

    The cache is keyed by the folder only: use one `dest` per set of parameters.
    The corpus is built in a sibling temp folder and renamed into place, so an
    interrupted build or two test processes racing never leave a half corpus.
    """
    if _complete(dest, evil):
        return dest
    script = shared_dir() / "corpus" / "make_corpus.py"
    if not script.is_file():
        raise FileNotFoundError(f"{script} not found; set HONDANA_SHARED to the shared folder")
    dest.parent.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=dest.name + ".", dir=dest.parent))
    try:
        args = [
            sys.executable,
            str(script),
            str(build),
            f"--width={width}",
            f"--height={height}",
            f"--pages-min={pages_min}",
            f"--pages-max={pages_max}",
        ]
        if evil:
            args.append("--evil")
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)  # stderr stays visible on failure
        if _complete(dest, evil):
            return dest  # another process finished first; keep the corpus it may be reading
        if dest.exists():
            shutil.rmtree(dest)  # a corpus without the evil files, or a partial copy
        try:
            build.rename(dest)
        except OSError:
            if not _complete(dest, evil):  # another process won the race with a good corpus
                raise
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return dest


def _complete(dest: Path, evil: bool) -> bool:
    return (dest / "manifest.json").is_file() and (not evil or (dest / "evil" / "cases.json").is_file())
