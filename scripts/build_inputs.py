"""What `sam build` of a stack folder reads, as one fingerprint: a build whose inputs did not
change since the last one in that folder can be skipped (`scripts.stacks.built`).

The inputs:
- the folder's template.yaml and samconfig.toml;
- every file or folder the template names by a relative path (CodeUri, ContentUri, a nested
  application's Location, ...): any string in it that names an existing path is taken, so a
  path property SAM adds later is covered without a list to keep; a named template (a nested
  application's) is read the same way, recursively. A string naming a path outside the
  repository, or a folder that holds the template's own folder, gives no fingerprint: such a
  build always runs, rather than hash half a disk or miss an input;
- the SAM CLI's version, the python3.13 its builds run pip with, and the SAM_* and PIP_*
  settings of the environment.

Files count by their content (not their times: a checkout or a copy changes those), minus
what is never built from: `.aws-sam/` and bytecode caches. The layer's pinned requirements
are part of that content; what pip would fetch for them does not change under a pin.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

SKIPPED_NAMES = frozenset({".aws-sam", "__pycache__", ".pytest_cache", ".hypothesis"})
TEMPLATE_SUFFIXES = (".yaml", ".yml", ".json", ".template")
ENVIRONMENT_PREFIXES = ("SAM_", "PIP_")


class _Unbounded(Exception):
    """The template names a path whose inputs are not bounded by the repository."""


class _TemplateLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !Sub, ...) read as plain values."""


def _untagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]


_TemplateLoader.add_multi_constructor("!", _untagged)


def fingerprint(
    folder: Path, root: Path, environ: Mapping[str, str], python313: Path
) -> str | None:
    """The fingerprint of a build of `folder` in the repository at `root`; None when it has
    no template.yaml, one that does not parse (SAM then says what is wrong) or one naming a
    path beyond the repository: such a folder is always built."""
    template = folder / "template.yaml"
    try:
        paths = sorted(set(_inputs(template, root.resolve(), set())))
    except (OSError, yaml.YAMLError, _Unbounded):
        return None
    digest = hashlib.sha256()
    settings = {
        "sam": importlib.metadata.version("aws-sam-cli"),
        "python313": str(python313),
        "environment": {
            name: value
            for name, value in sorted(environ.items())
            if name.startswith(ENVIRONMENT_PREFIXES)
        },
    }
    digest.update(json.dumps(settings, sort_keys=True).encode())
    for path in [folder / "samconfig.toml", *paths]:
        for file in _files(path):
            digest.update(f"\0{file}\0".encode())
            digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def _inputs(template: Path, root: Path, seen: set[Path]) -> Iterator[Path]:
    """The template and every existing path it names, recursively through named templates."""
    template = template.resolve()
    if template in seen:
        return
    seen.add(template)
    yield template
    document = yaml.load(template.read_text(), Loader=_TemplateLoader)  # noqa: S506 - safe loader
    for text in _strings(document):
        if not text or "\n" in text or len(text) > 1024 or "://" in text:
            continue
        try:
            path = (template.parent / text).resolve()
            exists = path.exists()
        except OSError:  # a description, too long for a file name
            continue
        if not exists or path == Path(path.anchor):
            # Words that are no path here ("python3.13", "Ref", "arm64"), and "/": a
            # delimiter (!Split ["/", ...]), never a code folder.
            continue
        holds_the_folder = path != template.parent and template.is_relative_to(path)
        if holds_the_folder or not path.is_relative_to(root):
            raise _Unbounded(text)
        if path.is_file() and path.suffix in TEMPLATE_SUFFIXES:
            yield from _inputs(path, root, seen)
        else:
            yield path


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def _files(path: Path) -> Iterator[Path]:
    """The file itself, or every file under the folder (sorted, skipped names left out)."""
    if path.is_file():
        yield path
        return
    if not path.is_dir():
        return  # samconfig.toml may be absent
    for root, folders, files in os.walk(path):
        folders[:] = sorted(name for name in folders if name not in SKIPPED_NAMES)
        for name in sorted(files):
            yield Path(root) / name
