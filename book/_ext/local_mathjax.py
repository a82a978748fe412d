"""Serve MathJax with the book, so that its formulas render without a network (a
laptop offline, a cluster behind a firewall). The copy (MathJax's es5 build) comes from
the pinned PyPI package django-static-mathjax (`requirements.txt`)."""

import importlib.util
import shutil
from pathlib import Path

TARGET = (
    "mathjax"  # under the built book's _static/, as _config.yml's mathjax_path says
)


def _source() -> Path:
    spec = importlib.util.find_spec("mathjax")
    if spec is None:
        raise RuntimeError(
            "the MathJax package is missing: pip install -r requirements.txt "
            "(django-static-mathjax)"
        )
    return Path(spec.submodule_search_locations[0]) / "static" / "mathjax" / "es5"


def _copy(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        target = Path(app.outdir) / "_static" / TARGET
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(_source(), target)


def setup(app):
    _source()  # fail early, naming the package, when it is not installed
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
