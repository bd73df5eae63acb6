"""Install (or only check) the Debian and PyPI sources. Idempotent."""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

from .config import DEBIAN_PACKAGES, PYPI_IMPORT, PYPI_PACKAGES


def dpkg_installed(pkg: str) -> bool:
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True)
    return r.returncode == 0 and "install ok installed" in r.stdout


def pypi_installed(dist: str) -> bool:
    return importlib.util.find_spec(PYPI_IMPORT.get(dist, dist)) is not None


_KEYWORDS = [("MIT license", "MIT"), ("Expat", "Expat"), ("GNU General Public License", "GPL"), ("GPL", "GPL"),
             ("CC0", "CC0"), ("Creative Commons", "CC"), ("BSD", "BSD"), ("public domain", "public domain")]


def _keyword(txt: str) -> str | None:
    for kw, name in _KEYWORDS:
        if kw.lower() in txt.lower():
            return name
    return None


def package_licence(pkg: str) -> str:
    """License: fields of /usr/share/doc/PKG/copyright (DEP-5); for free-form files, a keyword guess."""
    p = Path("/usr/share/doc") / pkg / "copyright"
    if not p.exists():
        return "unknown"
    txt = p.read_text(errors="replace")
    lic = []
    for m in re.finditer(r"^License:[ \t]*([^\n]*)((?:\n[ \t]+[^\n]*)*)", txt, re.M):
        v = m.group(1).strip()
        if not v or "copyright" in v.lower():
            v = _keyword(m.group(2)[:400]) or ""
        if v and v not in lic:
            lic.append(v)
    if lic:
        return "; ".join(lic[:6])
    return _keyword(txt) or "see copyright"


def ensure_sources(install: bool = True, log=print) -> dict:
    """Returns {'debian': {pkg: bool}, 'pypi': {dist: bool}} after (optionally) installing."""
    deb_missing = [p for p in DEBIAN_PACKAGES if not dpkg_installed(p)]
    py_missing = [p for p in PYPI_PACKAGES if not pypi_installed(p)]
    if install and deb_missing:
        log(f"apt-get install {len(deb_missing)} packages: {' '.join(deb_missing)}")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        apt = ["nice", "-n", "19", "apt-get"]
        if subprocess.run(apt + ["update", "-qq"], env=env).returncode != 0:
            log("apt-get update failed")
        for chunk in [deb_missing]:  # one transaction; fall back per package on failure
            r = subprocess.run(apt + ["install", "-y", "-qq", "--no-install-recommends", *chunk], env=env)
            if r.returncode != 0:
                for p in chunk:
                    subprocess.run(apt + ["install", "-y", "-qq", "--no-install-recommends", p], env=env)
    if install and py_missing:
        log(f"pip install {' '.join(py_missing)}")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", *py_missing])
        importlib.invalidate_caches()
    status = {"debian": {p: dpkg_installed(p) for p in DEBIAN_PACKAGES},
              "pypi": {p: pypi_installed(p) for p in PYPI_PACKAGES}}
    miss = [p for p, ok in {**status["debian"], **status["pypi"]}.items() if not ok]
    log("sources: all present" if not miss else f"sources missing (skipped): {' '.join(miss)}")
    return status
