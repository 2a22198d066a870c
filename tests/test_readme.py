"""The README's two set-up commands stay true: CI runs the test one, and the commands exist."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_commands():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)\n```", section, re.S)


def test_exactly_two_setup_commands():
    commands = setup_commands()
    assert len(commands) == 2
    assert commands[0].endswith("minizf tour") and commands[1].endswith("python -m pytest -q")


def test_ci_installs_like_the_readme_and_runs_its_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    install, test = setup_commands()[1].split(" && ")[-2:]
    assert install in ci and test in ci


def test_the_ten_line_example_runs(capsys):
    readme = (ROOT / "README.md").read_text()
    code = re.search(r"## Ten lines\n\n```python\n(.*?)\n```", readme, re.S).group(1)
    assert len(code.splitlines()) <= 12
    exec(compile(code, "README example", "exec"), {})
    assert "conv1.W" in capsys.readouterr().out


def pages():
    """The README and the pages under docs/ it links to."""
    return [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))


def test_every_other_python_example_in_the_readme_and_docs_runs(capsys):
    blocks = [b for page in pages() for b in re.findall(r"```python\n(.*?)\n```", page.read_text(), re.S)]
    assert len(blocks) >= 2
    for n, code in enumerate(blocks[1:], start=1):         # block 0 is the ten lines above
        exec(compile(code, f"README example {n}", "exec"), {})


def _anchor(heading):
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_link_between_the_pages_arrives():
    for page in pages():
        for target in re.findall(r"\]\(([^)#\s]*)(#[^)\s]*)?\)", page.read_text()):
            path, anchor = target
            if path.startswith(("http:", "https:")):
                continue
            where = (page.parent / path).resolve() if path else page
            assert where.exists(), (page.name, path)
            if anchor and where.suffix == ".md":
                headings = re.findall(r"(?m)^#+ (.*)$", where.read_text())
                assert anchor[1:] in {_anchor(h) for h in headings}, (page.name, path, anchor)


def test_the_first_screen_says_what_minizf_is_and_how_to_start():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 90
    first = readme.split("## Ten lines")[0]
    assert "deconvnet" in first and "minizf tour" in first and "pytest" in first and "docs/top9_conv5.jpg" in first
