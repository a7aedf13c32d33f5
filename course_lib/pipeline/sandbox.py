"""A sandbox for one submission's kernel: bubblewrap namespaces, an unprivileged user and resource limits.

A notebook under grading runs the learner's code. Without a sandbox that code runs as the grader:
it can read the solutions and the gradebook, rewrite other students' files, signal the grader and
leave processes behind. Here the kernel runs under bubblewrap (Debian's ``bubblewrap`` package,
the tool Flatpak uses) and sees:

- its own copy of the submission folder, read-write, as ``/submission`` (its working directory), in a
  memory-backed folder of capped size, as is its ``/tmp``: it cannot fill the grader's disk;
- the system (``/usr``), Python and the course's environment read-only, and nothing else: no
  solutions/, gradebook, submitted/ or autograded/, no home folder, no network;
- its own PID namespace (it cannot see, trace or signal the grader; when the kernel ends, every
  process it started is killed with it), a private /tmp and IPC namespace;
- an unprivileged user: a dedicated uid when the grader runs as root, else the instructor's uid
  inside a user namespace, with no capabilities. A dedicated uid belongs to one kernel at a time on
  the whole machine (``claim_uid``: a lock file per uid), so gradings running at once, in any
  processes, never share a user, its process limit or its files;
- limits on CPU time, address space, processes (counted per sandbox) and file size.

The kernel talks to the grader over Unix sockets in a folder shared with the sandbox (ZeroMQ's
``ipc`` transport), since it has no network. ``sandbox_problem()`` says why the sandbox cannot
run on this machine (no bubblewrap, no namespaces): graders then warn and run kernels unsandboxed.
"""
from __future__ import annotations

import fcntl
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Integer

INSIDE = "/submission"   # the submission copy, as the kernel sees it (a capped tmpfs)
SUBMITTED = "/submitted"  # the files it is copied from, read-only
FIRST_UID = 64000        # sandbox users when grading as root: FIRST_UID + worker slot
UIDS = 1000              # how many: FIRST_UID ... FIRST_UID + UIDS - 1
UID_LOCKS = Path("/run/course-sandbox-uids") if Path("/run").is_dir() else \
    Path(tempfile.gettempdir()) / "course-sandbox-uids"  # one lock file per uid in use
INSTALL_HINT = "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap)"
RISK = ("learner code then runs as the grading user: it can read solutions/ and the gradebook, change other "
        "students' files and leave processes running; grade untrusted submissions only with the sandbox")
# /etc entries Python, the dynamic linker and getpwuid need; nothing else of /etc is shown.
ETC = ["ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "passwd", "group", "nsswitch.conf", "alternatives"]


@dataclass(frozen=True)
class Limits:
    """Per-submission resource limits (setrlimit), applied to the kernel and everything it starts."""
    cpu_seconds: int = 1800
    memory_bytes: int = 4 * 2**30      # address space of each process
    processes: int = 512               # processes and threads of the sandbox's user
    file_bytes: int = 256 * 2**20      # largest file it may write
    threads: int = 1                   # OMP_NUM_THREADS / torch threads
    disk_bytes: int = 512 * 2**20      # all it may write in /submission, and again in /tmp (memory-backed)

    def prlimit(self) -> list[str]:
        return ["prlimit", f"--cpu={self.cpu_seconds}", f"--as={self.memory_bytes}",
                f"--nproc={self.processes}", f"--fsize={self.file_bytes}", "--core=0", "--"]


def _read_only_paths() -> list[Path]:
    """What the kernel needs to read: the system, Python, the environment and the course library."""
    import course_lib

    paths = {Path(p).resolve() for p in ("/usr", sys.base_prefix, sys.prefix, Path(course_lib.__file__).parent)}
    paths |= {Path("/etc") / name for name in ETC if (Path("/etc") / name).exists()}  # links bound as they read
    kept: list[Path] = []
    for path in sorted(paths):
        if not any(path.is_relative_to(k) for k in kept):  # /usr covers /usr/local/...
            kept.append(path)
    return kept


def sandbox_command(argv: list[str], work: Path, limits: Limits, uid: int | None = None,
                    shared: list[Path] = (), env: dict[str, str] | None = None) -> list[str]:
    """The command line that runs ``argv`` in a sandbox whose working directory is ``work``.

    ``uid``: the unprivileged user to become (grader running as root); None keeps the caller's uid
    inside a user namespace. ``shared``: extra folders bound read-write at the same path (the
    kernel's sockets). ``env``: the whole environment inside (nothing else leaks in).
    """
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise RuntimeError(f"no sandbox: {INSTALL_HINT}")
    command = [bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
               "--hostname", "sandbox", "--die-with-parent", "--new-session", "--clearenv"]
    if os.getuid() == 0:  # bwrap runs privileged: keep only what setpriv needs to drop to `uid`
        command += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        command += ["--unshare-user", "--disable-userns"]
    for name in ("bin", "lib", "lib64", "sbin"):  # merged-/usr systems: links into /usr
        host = Path("/") / name
        if host.is_symlink():
            command += ["--symlink", os.readlink(host), f"/{name}"]
        elif host.is_dir():
            command += ["--ro-bind", str(host), f"/{name}"]
    size = ["--size", str(limits.disk_bytes), "--perms", "1777", "--tmpfs"]   # a capped, memory-backed folder
    command += ["--proc", "/proc", "--dev", "/dev", *size, "/dev/shm", *size, "/tmp"]
    made: set[Path] = set()
    for path in [*_read_only_paths(), *shared]:
        for parent in reversed(path.parents):  # bwrap would create missing parents as 0700
            if parent != Path("/") and parent not in made and parent != Path("/tmp"):
                command += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
        made.add(path)
        command += ["--bind" if path in shared else "--ro-bind", str(path), str(path)]
    # The submission is copied into a capped tmpfs when the sandbox starts: however much the notebook
    # writes, it cannot fill the grader's disk.
    command += ["--ro-bind", str(work), SUBMITTED, *size, INSIDE, "--chdir", INSIDE]
    inside_env = {"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp",
                  "LANG": "C.UTF-8", "TMPDIR": "/tmp", "MPLCONFIGDIR": "/tmp/matplotlib", "PYTHONSAFEPATH": "1",
                  "PYTHONNOUSERSITE": "1", "OMP_NUM_THREADS": str(limits.threads),
                  "MKL_NUM_THREADS": str(limits.threads), **(env or {})}
    for key, value in inside_env.items():
        command += ["--setenv", key, value]
    command.append("--")
    if os.getuid() == 0:
        uid = FIRST_UID if uid is None else uid
        command += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
                    "--bounding-set=-all", "--no-new-privs"]
    copy_in = ["/bin/sh", "-c", f'find {SUBMITTED} -mindepth 1 -maxdepth 1 -exec cp -a -t {INSIDE} {{}} + '
               '&& exec "$0" "$@"']
    return command + limits.prlimit() + copy_in + list(argv)


@functools.lru_cache(maxsize=1)
def sandbox_problem() -> str | None:
    """Why kernels cannot be sandboxed on this machine (one sentence), or None when they can."""
    if not sys.platform.startswith("linux"):
        return f"the sandbox needs Linux namespaces, and this is {sys.platform}"
    if shutil.which("bwrap") is None:
        return f"bubblewrap (bwrap) is not installed: {INSTALL_HINT}"
    with tempfile.TemporaryDirectory(prefix="sandbox-probe-") as work:
        os.chmod(work, 0o777)
        command = sandbox_command([sys.executable, "-c", "import ipykernel, course_lib.grading"], Path(work),
                                  Limits(cpu_seconds=60))
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"bubblewrap could not start: {error}"
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no message"])[-1]
        return f"bubblewrap cannot create the sandbox here (user namespaces disabled?): {last[:200]}"
    return None


def claim_uid(preferred: int = FIRST_UID, folder: Path = UID_LOCKS) -> tuple[int, object]:
    """A sandbox uid that no other kernel on this machine holds, and the open lock file that holds it.

    ``preferred`` is tried first, then FIRST_UID, FIRST_UID + 1, ... Each uid has a lock file in
    ``folder``; an exclusive ``flock`` on it marks the uid as taken until the file is closed (its
    holder releases it, or ends, even killed). Raises RuntimeError when every uid is taken.
    """
    folder = Path(folder)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(folder)
    if not os.path.isdir(folder) or os.path.islink(folder) or info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise RuntimeError(f"{folder}: expected a folder of the grading user's own that no one else can write, "
                           f"to hold the sandbox users' locks; remove it and grade again")
    for uid in dict.fromkeys([preferred, *range(FIRST_UID, FIRST_UID + UIDS)]):
        fd = os.open(folder / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        lock = os.fdopen(fd, "r+b")  # closed (and so released) even if its holder forgets it
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        return uid, lock
    raise RuntimeError(f"all {UIDS} sandbox users ({FIRST_UID}-{FIRST_UID + UIDS - 1}) are in use by other "
                       f"gradings on this machine (locks in {folder}); wait for them or grade with fewer workers")


def _copy_for(work: Path, source: Path, uid: int | None) -> None:
    """Copy the submission folder ``source`` into ``work`` (links stay links), owned by the sandbox's user."""
    if source.is_dir():
        shutil.copytree(source, work, symlinks=True, dirs_exist_ok=True)
    if os.getuid() == 0:
        for folder, dirs, files in os.walk(work):
            for name in [folder, *(os.path.join(folder, f) for f in dirs + files)]:
                os.lchown(name, uid, uid)


def remove_tree(path: Path) -> None:
    """Remove what a sandbox left, even folders it made unreadable."""
    def unlock(function, name, _):
        os.chmod(os.path.dirname(name), 0o700)
        os.chmod(name, 0o700) if os.path.isdir(name) and not os.path.islink(name) else None
        function(name)
    shutil.rmtree(path, onerror=unlock)


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel runs in a sandbox, in a copy of the folder it is started in.

    Whatever kernel a notebook names, the kernel is this Python's ipykernel; interrupts are sent
    as messages (a signal could not cross the PID namespace).
    """
    uid = Integer(FIRST_UID, help="the sandbox's user when grading as root: tried first, another free one "
                                  "if a kernel elsewhere holds it (claim_uid)").tag(config=True)
    cpu_seconds = Integer(Limits.cpu_seconds).tag(config=True)
    memory_bytes = Integer(Limits.memory_bytes).tag(config=True)
    processes = Integer(Limits.processes).tag(config=True)
    file_bytes = Integer(Limits.file_bytes).tag(config=True)
    disk_bytes = Integer(Limits.disk_bytes).tag(config=True)
    threads = Integer(Limits.threads).tag(config=True)

    def __init__(self, **kwargs):
        kwargs["kernel_name"] = "python3"  # a notebook cannot choose an unsandboxed kernel
        super().__init__(**kwargs)
        self._scratch: Path | None = None
        self._uid_lock = None  # held while the kernel lives (restarts included), when grading as root

    async def _async_pre_start_kernel(self, **kw):
        if os.getuid() == 0 and self._uid_lock is None:
            self.uid, self._uid_lock = claim_uid(self.uid)
        self._scratch = Path(tempfile.mkdtemp(prefix="sandbox-"))
        sockets, work = self._scratch / "k", self._scratch / "w"
        sockets.mkdir()
        work.mkdir()
        _copy_for(work, Path(kw.get("cwd") or os.getcwd()), self.uid)
        if os.getuid() == 0:
            os.chown(sockets, self.uid, self.uid)
        sockets.chmod(0o700)
        self.transport, self.ip = "ipc", str(sockets / "s")
        self.connection_file = str(sockets / "connection.json")
        self.kernel_spec.interrupt_mode = "message"
        kw["cwd"] = str(self._scratch)
        kw["env"] = {}
        return await super()._async_pre_start_kernel(**kw)

    def write_connection_file(self, **kwargs) -> None:
        super().write_connection_file(**kwargs)
        if os.getuid() == 0:  # the kernel, as the sandbox's user, must read its ports and key
            os.chown(self.connection_file, self.uid, self.uid)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", self.connection_file, *(extra_arguments or [])]
        limits = Limits(self.cpu_seconds, self.memory_bytes, self.processes, self.file_bytes, self.threads,
                        self.disk_bytes)
        env = {"NBGRADER_EXECUTION": os.environ["NBGRADER_EXECUTION"]} if os.environ.get("NBGRADER_EXECUTION") else {}
        return sandbox_command(kernel, self._scratch / "w", limits, uid=self.uid,
                               shared=[self._scratch / "k"], env=env)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if self._scratch is not None and not restart:
            remove_tree(self._scratch)
            self._scratch = None
        if self._uid_lock is not None and not restart:
            self._uid_lock.close()  # after the kernel and its files are gone: the uid is free again
            self._uid_lock = None

    cleanup_resources = _async_cleanup_resources
