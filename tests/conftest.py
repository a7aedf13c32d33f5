"""Shared fixtures: a JupyterLab server on loopback for the browser tests.

`make test` runs the suite on two pytest-xdist workers. Each worker is its own process with its
own temporary folders, its own JupyterLab server (on a free port, started by the first test that
needs it) and its own kernels; gradings take distinct sandbox users (sandbox.claim_uid).
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Headless Debian chromium as root, with no background traffic on a closed network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts"  # screenshots from browser tests


@pytest.fixture(scope="module")
def one_thread():
    """torch on one thread for a test module (or one test) of tiny tensors.

    A second thread gains nothing on tiny matrices, and on a busy 2-core machine the threads
    mostly wait on each other (steps several times slower). Use it with
    ``pytestmark = pytest.mark.usefixtures("one_thread")`` or as a test's argument.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGTERM)  # stop the server by its own process id
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _start_lab(home: Path, token: str, log, attempts: int = 5) -> tuple[subprocess.Popen, str]:
    """A jupyter-lab serving ``home``/workspace, and its base URL, once it answers.

    A port found free can be taken before the server binds it (kernels, started meanwhile by
    another test worker, pick their ports the same way): then it tries another port.
    """
    env = dict(os.environ, HOME=str(home), JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    for _ in range(attempts):
        port = _free_port()
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "jupyter-lab"), "--no-browser", "--ip=127.0.0.1", f"--port={port}",
             f"--IdentityProvider.token={token}", f"--notebook-dir={home / 'workspace'}", "--ServerApp.port_retries=0",
             *(["--allow-root"] if os.getuid() == 0 else [])],
            cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                return server, base
            except OSError:
                if server.poll() is not None:
                    break
                time.sleep(0.5)
        else:
            _stop(server)
            pytest.fail("jupyter-lab did not answer within 60 s")
        said = (home / "jupyter-lab.log").read_text()
        if f"port {port} is not available" not in said:
            pytest.fail("jupyter-lab exited during start-up:\n" + said[-3000:])
    pytest.fail(f"jupyter-lab found no free port in {attempts} attempts")


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """(base URL, token) of a jupyter-lab serving a copy of notebooks/; stopped by its process id."""
    home = tmp_path_factory.mktemp("home")
    shutil.copytree(ROOT / "notebooks", home / "workspace")  # what `make lab` serves
    token = secrets.token_hex(16)
    with open(home / "jupyter-lab.log", "w") as log:
        server, base = _start_lab(home, token, log)
        try:
            yield base, token
        finally:
            _stop(server)


def shut_down_sessions(base: str, token: str) -> None:
    """Shut down every notebook session of the server (and so its kernel): a lesson's kernel holds its memory."""
    sessions = json.load(urllib.request.urlopen(f"{base}/api/sessions?token={token}", timeout=30))
    for session in sessions:
        request = urllib.request.Request(f"{base}/api/sessions/{session['id']}?token={token}", method="DELETE")
        urllib.request.urlopen(request, timeout=60)


@pytest.fixture
def browser_page(lab):
    """A page of headless Debian chromium (via Playwright), closed after the test with the kernels it
    started; skips without chromium."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    playwright = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": 1500, "height": 1100})
        finally:
            browser.close()
            shut_down_sessions(*lab)


def open_notebook(page, base: str, token: str, path: str, timeout_ms: int = 180_000) -> None:
    """Open ``path`` in JupyterLab and wait until its kernel reports Idle."""
    # ?reset: a clean layout, not the tabs an earlier test left open on the same server
    page.goto(f"{base}/lab/tree/{path}?reset&token={token}", timeout=timeout_ms)
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=timeout_ms)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-StatusBar-Widget, .jp-Notebook-ExecutionIndicator')]"
        ".some(e => /Idle/i.test(e.innerText) || e.getAttribute('data-status') === 'idle')", timeout=timeout_ms)


def accept_dialogs(page) -> None:
    """Accept any JupyterLab dialog in the way (e.g. a kernel picker while the kernel starts)."""
    dialogs = page.locator(".jp-Dialog")
    for i in range(dialogs.count()):
        print("JupyterLab dialog:", dialogs.nth(i).inner_text()[:200])
        dialogs.nth(i).locator(".jp-mod-accept").first.click(timeout=5_000)


def run_cell_until(page, cell_index: int, text: str, timeout_ms: int = 160_000, attempts: int = 4) -> str:
    """Run code cell ``cell_index`` (Shift+Enter) until its output contains ``text``; return the output.

    It tries again because key presses sent before the kernel is connected are lost, and a dialog
    JupyterLab opens while it starts takes the clicks.
    """
    cell = page.locator(".jp-Notebook .jp-CodeCell").nth(cell_index)
    for attempt in range(attempts):
        accept_dialogs(page)
        try:
            cell.locator(".jp-InputArea-editor").click(timeout=5_000)
            page.keyboard.press("Shift+Enter")
            cell.locator(".jp-OutputArea-output", has_text=text).first.wait_for(timeout=timeout_ms // attempts)
            return cell.locator(".jp-OutputArea").inner_text()
        except Exception:
            if attempt == attempts - 1:
                page.screenshot(path=str(ARTIFACTS / f"cell-{cell_index}-never-said-{text.strip(':')}.png"))
                raise
    raise AssertionError("unreachable")
