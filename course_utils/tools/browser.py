"""A headless Chromium for the browser tests, the site check and the browser benchmark.

Uses the system's Chromium (Debian's package ``chromium``) through Playwright for Python;
Playwright never downloads a browser here.  ``launch(playwright)`` returns a Browser, or
raises ``BrowserMissing`` with the command that installs what is missing.
"""

from __future__ import annotations

import os
import shutil

#: Flags that keep Chromium off the network (this machine's network is closed: without them
#: it retries Google's hosts at every start) and working as root in a container.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


class BrowserMissing(RuntimeError):
    """No Chromium or no Playwright on this machine."""


def chromium_path() -> str:
    """The Chromium executable: ``$COURSE_CHROMIUM`` if set, else the first on ``PATH``."""
    env = os.environ.get("COURSE_CHROMIUM")
    if env:
        if not (os.path.isfile(env) and os.access(env, os.X_OK)):
            raise BrowserMissing(f"COURSE_CHROMIUM={env!r} is not an executable file")
        return env
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise BrowserMissing("no Chromium found: install it with the system's package manager "
                         "(Debian/Ubuntu: sudo apt-get install chromium; macOS: brew install "
                         "--cask chromium) or set COURSE_CHROMIUM to its path")


def launch(playwright, headless: bool = True):
    """A Chromium Browser from a started ``sync_playwright()`` object."""
    return playwright.chromium.launch(executable_path=chromium_path(), headless=headless,
                                      args=CHROMIUM_ARGS)


def sync_playwright():
    """``playwright.sync_api.sync_playwright()``, or BrowserMissing naming the install."""
    try:
        from playwright.sync_api import sync_playwright as sp
    except ImportError as e:
        raise BrowserMissing("Playwright for Python is missing: make browser-venv "
                             "(pip install -r requirements-browser.txt)") from e
    return sp()
