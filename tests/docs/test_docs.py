"""The documentation says what the repository has: the README's links lead to files that exist
(and to nothing outside the repository), the pages name only paths the repository holds, the
configuration reference lists exactly the variables certdesk reads, and every screenshot shown
is one the screenshot test takes. The site itself builds strictly (`make docs`)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import unicodedata
from pathlib import Path

import pytest

from tests.docs.guide_screens import DOCS, GUIDE_SCREENSHOTS, GUIDE_SCREENSHOTS_DIR, ROOT
from tests.support.availability import missing_service

README = ROOT / "README.md"
PAGES = sorted(DOCS.rglob("*.md"))
# [text](target) and ![alt](target), the target up to a space or the closing parenthesis.
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?")
CODE_SPAN = re.compile(r"`([^`\n]+)`")
# Folders of the repository from which a page names files, as paths from the root.
ROOT_FOLDERS = {".ci", "bench", "certificates", "config", "docker", "docs", "drill", "static"}
ROOT_FOLDERS |= {"templates", "tests"}
ROOT_FILE = re.compile(r"^(?:[\w.-]+\.(?:toml|yml|yaml|example|cfg|ini)|Makefile|Dockerfile)$")


def _without_code(text: str) -> str:
    """Markdown without its fenced and indented code blocks (a link there is only text)."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    return "\n".join(line for line in text.splitlines() if not line.startswith("    "))


def _slug(heading: str) -> str:
    """The anchor MkDocs (Python-Markdown's toc) gives a heading."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.replace("`", "").replace("*", ""))
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def _anchors(page: Path) -> set[str]:
    headings = re.findall(r"^#{1,6}\s+(.+?)\s*$", _without_code(page.read_text()), flags=re.M)
    return {_slug(heading) for heading in headings}


def _local_targets(page: Path, pattern: re.Pattern[str] = LINK) -> list[str]:
    targets = pattern.findall(_without_code(page.read_text()))
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]


def test_slug_matches_what_mkdocs_makes() -> None:
    """The anchors below are checked against MkDocs' own rule (its build agrees: test_site)."""
    assert _slug("Rotating `SECRET_KEY`") == "rotating-secret_key"
    assert _slug("Lifecycle: which certificate is in service") == (
        "lifecycle-which-certificate-is-in-service"
    )
    assert _slug('Where "sent" is shown, it is true') == "where-sent-is-shown-it-is-true"


def test_readme_links_lead_to_files_of_the_repository() -> None:
    """Every link and image of the README opens a file of this repository (and a heading of it
    when it names one); the links into docs/ lead to pages of the site."""
    targets = _local_targets(README)
    assert any(t.startswith("docs/") for t in targets), "the README links to no page of docs/"
    nav = (ROOT / "mkdocs.yml").read_text()
    for target in targets:
        path, _, anchor = target.partition("#")
        assert not path.startswith(("/", "..")), f"README: {target} leaves the repository"
        resolved = (ROOT / path).resolve()
        assert resolved.is_relative_to(ROOT), f"README: {target} leaves the repository"
        assert resolved.exists(), f"README links to {target}, which the repository does not have"
        if path.startswith("docs/") and path.endswith(".md"):
            assert path.removeprefix("docs/") in nav, f"{path} is not in mkdocs.yml's nav"
        if anchor:
            assert anchor in _anchors(resolved), f"README: {path} has no heading #{anchor}"


def test_readme_points_at_nothing_outside_the_repository() -> None:
    """No path above the checkout (a ../shared folder a reader would not have)."""
    text = README.read_text()
    assert "../" not in text
    assert "shared/" not in text


def test_readme_starts_with_the_two_commands() -> None:
    """`make run` and `make test` come before the first section, as set up has always read."""
    first_section = README.read_text().split("\n## ", 1)[0]
    assert "    make run     # creates .venv" in first_section
    assert "    make test    # installs the dev tools" in first_section


def test_pages_link_only_to_headings_that_exist() -> None:
    """Links between pages (and the README's) name headings the target page has; the strict
    build checks it too, this says which link in a second."""
    for page in [README, *PAGES]:
        for target in _local_targets(page):
            path, _, anchor = target.partition("#")
            if not anchor or (path and not path.endswith(".md")):
                continue
            resolved = (page.parent / path).resolve() if path else page
            assert anchor in _anchors(resolved), f"{page.name}: {target} has no such heading"


def test_pages_name_only_files_the_repository_has() -> None:
    """A path written from the repository's root in backquotes (`config/gunicorn_conf.py`,
    `tests/oidc/package-lock.json`, `pyproject.toml`) is a file or folder the repository has.
    var/ is made at run time; placeholders (`<company>`, `…`) are not paths."""
    missing = []
    for page in [README, *PAGES]:
        for span in CODE_SPAN.findall(page.read_text()):
            token = span.strip().rstrip(".,:;")
            if re.search(r"[<>*…\s$]|\.\.", token) or token.startswith("/"):
                continue
            first = token.split("/", 1)[0]
            named = ("/" in token and first in ROOT_FOLDERS) or ROOT_FILE.match(token)
            if named and not (ROOT / token).exists():
                missing.append(f"{page.relative_to(ROOT)}: {token}")
    assert missing == []


def _variables_read() -> set[str]:
    """Every variable certdesk's configuration reads: the settings and the rest of config/
    (django-environ and os.environ), the container's entry point and docker-compose.yml."""
    names: set[str] = set()
    for source in sorted((ROOT / "config").glob("*.py")):
        text = source.read_text()
        names |= set(re.findall(r"\benv(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]+)\"", text))
        names |= set(re.findall(r"os\.environ\.get\(\s*\"([A-Z][A-Z0-9_]+)\"", text))
        names |= set(re.findall(r"os\.environ\[\s*\"([A-Z][A-Z0-9_]+)\"\s*\]", text))
        names |= set(re.findall(r"os\.getenv\(\s*\"([A-Z][A-Z0-9_]+)\"", text))
    for shell in [ROOT / "docker-compose.yml", ROOT / "docker" / "entrypoint.sh"]:
        names |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]+)", shell.read_text()))
    return names


def _variables_documented() -> set[str]:
    """The variables of the configuration page's tables (the first cell of each row)."""
    page = (DOCS / "configuration.md").read_text()
    names: set[str] = set()
    for row in re.findall(r"^\|([^|\n]+)\|", page, flags=re.M):
        names |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`", row))
    return names


def test_configuration_page_lists_every_variable_read_and_no_other() -> None:
    """An operator finds each variable certdesk reads on the configuration page, and the page
    documents no variable that nothing reads any more."""
    read, documented = _variables_read(), _variables_documented()
    assert {"SECRET_KEY", "PORT", "WEB_CONCURRENCY", "POSTGRES_PASSWORD"} <= read, (
        "the patterns missed variables: the test would prove nothing"
    )
    assert read - documented == set(), "read but not on docs/configuration.md"
    assert documented - read == set(), "on docs/configuration.md but read by nothing"


def test_images_shown_are_screenshots_the_test_takes() -> None:
    """Every image a page (or the README) shows exists; those of docs/assets/screenshots/ are
    named in tests/docs/guide_screens.py, so the screenshot test keeps them current."""
    for page in [README, *PAGES]:
        for target in _local_targets(page, IMAGE):
            resolved = (page.parent / target).resolve()
            assert resolved.exists(), f"{page.name} shows {target}, which does not exist"
            if resolved.parent == GUIDE_SCREENSHOTS_DIR.resolve():
                assert resolved.stem in GUIDE_SCREENSHOTS, (
                    f"{page.name} shows {target}, which no test takes "
                    "(add it to tests/docs/guide_screens.py and take it)"
                )


def test_every_screenshot_the_test_takes_is_committed_and_no_other() -> None:
    """The folder holds exactly the screenshots the test takes: none missing, none stale."""
    committed = {path.stem for path in GUIDE_SCREENSHOTS_DIR.glob("*.png")}
    assert committed == set(GUIDE_SCREENSHOTS)


@pytest.mark.slow
def test_site_builds_strictly(tmp_path: Path) -> None:
    """`make docs`' build: MkDocs in strict mode, where a link to a missing page or heading, or
    a page left out of the navigation, is an error."""
    beside = Path(sys.executable).with_name("mkdocs")
    mkdocs = str(beside) if beside.exists() else shutil.which("mkdocs")
    if mkdocs is None:
        missing_service("mkdocs is not installed (the dev extras of pyproject.toml)")
    result = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "site" / "index.html").exists()
    assert (tmp_path / "site" / "assets" / "screenshots" / "dashboard.png").exists()


def _layer_table_names() -> set[str]:
    """The modules of docs/architecture.md's layer table (`vault.py`, `crypto/`)."""
    page = (DOCS / "architecture.md").read_text()
    rows = [line for line in page.splitlines() if line.startswith("| ")]
    cells = [row.split("|")[2] for row in rows if row.count("|") > 3]
    return {name for cell in cells for name in re.findall(r"`([\w]+(?:\.py|/))`", cell)}


def test_architecture_names_every_layered_module_and_only_modules_that_exist() -> None:
    """The layer table of docs/architecture.md names every module of the layers contract
    (pyproject.toml, what lint-imports checks), and each module it names exists."""
    contract = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(c for c in contract["contracts"] if c["type"] == "layers")["layers"]
    modules = {
        name.strip().removeprefix("certificates.") for layer in layers for name in layer.split("|")
    }
    named = _layer_table_names()
    stems = {name.removesuffix(".py").removesuffix("/") for name in named}
    assert modules - stems == set(), "in the layers contract but not in docs/architecture.md"
    package = ROOT / "certificates"
    assert [name for name in sorted(named) if not (package / name).exists()] == []
