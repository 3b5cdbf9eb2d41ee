"""The chat page in headless Chromium (Debian's ``chromium``, installed by ``make setup``).

Skipped, with the reason, where ``/usr/bin/chromium`` is missing: the test installs nothing.
"""

from __future__ import annotations

import html
import io
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest
from gateway_support import Gateway
from PIL import Image, ImageStat

from trainer.artifacts import adapter_hash

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
WIDTH, HEIGHT = 1024, 768

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).is_file(),
    reason="/usr/bin/chromium is missing: `make setup` installs Debian's chromium (as root).",
)


def _chromium(tmp_path: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--window-size={WIDTH},{HEIGHT}",
        "--virtual-time-budget=10000",  # let the page's fetches finish before the capture
    ]
    return subprocess.run(
        [CHROMIUM, *flags, *args, url], capture_output=True, text=True, timeout=90, check=False
    )


def test_chat_page_screenshot_shows_the_models(
    gateway: Gateway, adapter_file: Path, tmp_path: Path
) -> None:
    url = f"{gateway.url}/#key={gateway.key}"
    shot = tmp_path / "chat.png"
    done = _chromium(tmp_path, url, f"--screenshot={shot}")
    assert done.returncode == 0, done.stderr[-2000:]
    image = Image.open(io.BytesIO(shot.read_bytes()))
    assert image.format == "PNG"
    assert image.size == (WIDTH, HEIGHT)
    stddev = ImageStat.Stat(image.convert("L")).stddev[0]
    assert stddev > 10, f"the screenshot looks blank (grey-level stddev {stddev:.1f})"
    dom = _chromium(tmp_path, url, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    with gateway.client() as client:
        listed = client.get("/v1/models").json()["data"]
    assert f'<span id="status" role="status">{len(listed)} models</span>' in dom.stdout
    assert adapter_hash(adapter_file) in dom.stdout
    assert '<option value="arith">arith (adapter on tiny)</option>' in dom.stdout


def test_chat_page_answers_with_the_chosen_adapter(gateway: Gateway, tmp_path: Path) -> None:
    # Headless Chromium's virtual time does not wait for a streamed body, so the page is told
    # (stream=0) to ask for the whole answer; the streaming path is covered over HTTP.
    url = f"{gateway.url}/#key={gateway.key}&model=arith&stream=0&prompt={quote('12+30=')}"
    dom = _chromium(tmp_path, url, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    text = html.unescape(dom.stdout)
    assert '<div class="msg user">12+30=</div>' in text
    assert '<div class="msg assistant">' in text
    assert '<div class="meta">served by local (reward x1.5)</div>' in text
