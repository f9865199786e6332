"""The manual pages: clean under mandoc's linter, and complete against SPEC.md."""
import os
import re
import subprocess

import pytest

from conftest import ROOT

PAGES = ["man/tend.8", "man/tendctl.1", "man/tend.ini.5"]
SPEC = os.path.join(ROOT, "..", "shared", "SPEC.md")


@pytest.mark.parametrize("page", PAGES)
def test_mandoc_lint_is_clean(page):
    r = subprocess.run(["mandoc", "-T", "lint", os.path.join(ROOT, page)], capture_output=True,
                       text=True)
    # pages of other packages may not be installed here; nothing else may be said
    said = [line for line in (r.stdout + r.stderr).splitlines()
            if "referenced manual not found" not in line and "mandoc.db" not in line]
    assert said == []


def spec_keys():
    """Every word in backquotes in SPEC.md's config section: keys, and their values."""
    text = open(SPEC).read()
    part = text[text.index("## 2. Config format"):text.index("## 3. Behaviour")]
    words = set(re.findall(r"`([a-z_]+)`", part))
    return {w for w in words if not w.startswith("_") and w not in ("ms", "s", "m", "h")}


def test_every_spec_key_is_in_the_manual():
    if not os.path.exists(SPEC):
        pytest.skip("no ../shared/SPEC.md next to this checkout (tests/unit/test_manual covers "
                    "every key tend knows)")
    page = open(os.path.join(ROOT, "man", "tend.ini.5")).read()
    keys = spec_keys()
    assert len(keys) > 40
    missing = sorted(k for k in keys if not re.search(rf"\b{k}\b", page))
    assert missing == []
