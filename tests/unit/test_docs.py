"""The README and docs/ stay short, linked and runnable as written.

* The README stays a five-minute read: under 300 lines, with a contents list.
* Every relative Markdown link in README.md and docs/*.md reaches an existing file, and every
  ``#anchor`` an existing heading (GitHub's slugs).
* Every ``task-watts <command>`` they mention exists, and every ``--flag`` written after it is
  one that command accepts (read from its real ``--help``); every ``make <target>`` they
  mention is a target of the Makefile.

Commands are looked for in code only (fenced blocks and inline code spans), so prose never
counts as a command. The BI commands are also run word for word, in test_bi_access.
"""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MAX_README_LINES = 300

FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)
INLINE_CODE = re.compile(r"`([^`]+)`")
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
COMMAND_CALL = re.compile(r"task-watts ([a-z][a-z-]*)")
FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")
MAKE_CALL = re.compile(r"(?<![\w/-])make\s+([a-z][\w-]*)")
#: Where a command written in a code line ends: a comment, a pipe, a chain, a separator.
COMMAND_END = re.compile(r"\s#|&&|\|\||\||;")


def doc_files() -> list[Path]:
    return [README, *sorted((ROOT / "docs").glob("*.md"))]


def doc_ids() -> list[str]:
    return [str(p.relative_to(ROOT)) for p in doc_files()]


def split_code(text: str) -> tuple[str, list[str]]:
    """The prose (code removed) and the code pieces: fenced blocks, then inline spans."""
    blocks = FENCE.findall(text)
    prose = FENCE.sub("", text)
    spans = [" ".join(span.split()) for span in INLINE_CODE.findall(prose)]
    return INLINE_CODE.sub("", prose), blocks + spans


def code_lines(text: str) -> list[str]:
    """Every line of code in a document, shell continuations (`\\` + newline) joined."""
    lines: list[str] = []
    for piece in split_code(text)[1]:
        lines.extend(piece.replace("\\\n", " ").splitlines())
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    prose = FENCE.sub("", path.read_text(encoding="utf-8"))
    return {slug(h) for h in HEADING.findall(prose)}


# --------------------------------------------------------------------------------------------
# 1. The README is a five-minute read.
# --------------------------------------------------------------------------------------------


def test_readme_is_under_300_lines() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) < MAX_README_LINES, (
        f"README.md has {len(lines)} lines (limit {MAX_README_LINES - 1}): move detail to docs/"
    )


def test_readme_contents_list_every_section() -> None:
    text = README.read_text(encoding="utf-8")
    prose = FENCE.sub("", text)
    sections = [h for h in re.findall(r"^## (.+)$", prose, re.MULTILINE) if h != "Contents"]
    assert "## Contents" in prose, "README.md has no contents list"
    contents = prose.split("## Contents", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"\]\(#([^)]+)\)", contents))
    missing = [s for s in sections if slug(s) not in listed]
    assert not missing, f"README sections missing from its contents list: {missing}"


# --------------------------------------------------------------------------------------------
# 2. Every relative link resolves to a file, and every anchor to a heading.
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("doc", doc_files(), ids=doc_ids())
def test_relative_links_resolve(doc: Path) -> None:
    prose, _ = split_code(doc.read_text(encoding="utf-8"))
    broken = []
    for target in LINK.findall(prose):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, ...
            continue
        path_part, _, anchor = target.partition("#")
        dest = (doc.parent / path_part).resolve() if path_part else doc
        if not dest.exists():
            broken.append(f"{target}: no file {dest}")
        elif anchor and (dest.suffix != ".md" or anchor not in anchors(dest)):
            broken.append(f"{target}: no heading #{anchor} in {dest.relative_to(ROOT)}")
    assert not broken, f"{doc.relative_to(ROOT)}: broken links:\n" + "\n".join(broken)


def test_docs_are_linked_from_the_docs_index() -> None:
    index = (ROOT / "docs" / "README.md").read_text(encoding="utf-8")
    linked = set(LINK.findall(index))
    pages = [p.name for p in (ROOT / "docs").glob("*.md") if p.name != "README.md"]
    unlisted = [name for name in pages if name not in linked]
    assert not unlisted, f"docs/README.md does not list: {unlisted}"


# --------------------------------------------------------------------------------------------
# 3 and 4. Every module, flag and make target mentioned exists.
# --------------------------------------------------------------------------------------------


def command_calls() -> dict[str, dict[str, set[str]]]:
    """command -> flag -> the documents that pass that flag to it (flag '' = command only)."""
    calls: dict[str, dict[str, set[str]]] = {}
    for doc in doc_files():
        name = str(doc.relative_to(ROOT))
        for line in code_lines(doc.read_text(encoding="utf-8")):
            for match in COMMAND_CALL.finditer(line):
                rest = COMMAND_END.split(line[match.end() :], maxsplit=1)[0]
                flags = calls.setdefault(match.group(1), {})
                flags.setdefault("", set()).add(name)
                for flag in FLAG.findall(rest):
                    flags.setdefault(flag, set()).add(name)
    return calls


@cache
def help_text(command: str) -> tuple[int, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "python_helpers", command, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr


def test_the_docs_mention_commands() -> None:
    """The checks below must have something to check (a parsing regression would pass them)."""
    calls = command_calls()
    assert {"preflight", "ingest-otlp", "daily", "scorecard"} <= set(calls)
    assert "--outcome-event" in calls["ingest-otlp"]


def test_every_documented_command_runs_and_accepts_its_flags() -> None:
    calls = command_calls()
    with ThreadPoolExecutor(max_workers=4) as pool:
        helps = dict(zip(calls, pool.map(help_text, calls), strict=True))
    problems = []
    for command, flags in sorted(calls.items()):
        returncode, text = helps[command]
        if returncode != 0:
            problems.append(f"task-watts {command} --help failed ({flags['']}):\n{text[-1500:]}")
            continue
        accepted = set(FLAG.findall(text))
        for flag, where in sorted(flags.items()):
            if flag and flag not in accepted:
                problems.append(f"task-watts {command} does not accept {flag} (in {sorted(where)})")
    assert not problems, "\n".join(problems)


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Za-z][\w-]*)\s*:(?!=)", text, re.MULTILINE))


def test_every_documented_make_target_exists() -> None:
    targets = makefile_targets()
    assert {"demo", "test"} <= targets
    missing = []
    for doc in doc_files():
        for line in code_lines(doc.read_text(encoding="utf-8")):
            for target in MAKE_CALL.findall(line):
                if target not in targets:
                    missing.append(f"make {target} ({doc.relative_to(ROOT)})")
    assert not missing, "no such Makefile target: " + ", ".join(sorted(set(missing)))
