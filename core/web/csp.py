"""The strict Content-Security-Policy of the pages that are ours (print layouts, kiosk).

The admin needs 'unsafe-eval' and inline styles because of unfold (settings.py, STACK-NOTES.md).
Our own pages load only our static files: no 'unsafe-eval', no inline script and no inline
style at all. A page that needs an inline script adds ``NONCE`` to its script-src with
``csp_update({"script-src": [NONCE]})`` on top of ``csp_strict``.
"""

from csp.constants import NONE, SELF
from csp.decorators import csp

STRICT_PAGE_POLICY: dict[str, list[str]] = {
    "default-src": [SELF],
    "script-src": [SELF],
    "style-src": [SELF],
    "img-src": [SELF, "data:"],
    "font-src": [SELF],
    "connect-src": [SELF],
    "object-src": [NONE],
    "base-uri": [SELF],
    "frame-ancestors": [NONE],
    "form-action": [SELF],
}

# The response carries this whole policy instead of the admin one from settings.
csp_strict = csp(STRICT_PAGE_POLICY)
