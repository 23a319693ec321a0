"""What `sam build` of a stack folder reads, as one fingerprint, and the record of the build it
made: a build whose inputs did not change since the last one in that folder, and whose output
is still that build's, can be skipped (`scripts.stacks.built`).

The inputs:
- the folder's template.yaml and samconfig.toml;
- every file or folder the template names by a relative path (CodeUri, ContentUri, a nested
  application's Location, ...): any plain string in it that names an existing path is taken,
  and a named template (a nested application's) is read the same way, recursively;
- the SAM CLI's version, the python3.13 its builds run pip with, and the SAM_* and PIP_*
  settings of the environment (less the deploy-only ones).

Files count by their content (not their times: a checkout or a copy changes those), minus
what is never built from: `.aws-sam/` and bytecode caches. The layer's pinned requirements
are part of that content; what pip would fetch for them does not change under a pin.

Where that list could miss an input, there is no fingerprint and the build always runs
(`NoFingerprint` says why): a path property given by an intrinsic (`CodeUri: !Sub ...`), a
requirements file that includes others or local paths (`-r`, `-c`, `-e`, `./pkg`), a
`BuildMethod: makefile` (its Makefile may read anything), a symlinked folder, a path outside
the repository or above the template's own folder, a file that cannot be read.
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
DEPLOY_ONLY_SETTINGS = frozenset({"SAM_CLI_POLL_DELAY", "SAM_CLI_TELEMETRY"})
# SAM's properties that name local code or templates: given by an intrinsic, they are no
# literal this module can follow.
PATH_PROPERTIES = frozenset({"CodeUri", "ContentUri", "Location", "DefinitionUri"})
# Lines of a requirements file that name other files or local folders.
REQUIREMENT_INCLUDES = ("-r", "-c", "-e", "--requirement", "--constraint", "--editable", ".", "/")
RECORD = "built-from.json"  # in .aws-sam/: what the last build there was made from


class NoFingerprint(Exception):
    """The build's inputs cannot all be named: it has to run."""


class _Intrinsic:
    """A tagged YAML value (!Ref, !Sub, ...): CloudFormation resolves it, not a literal path."""

    def __init__(self, value: Any) -> None:
        self.value = value


class _TemplateLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !Sub, ...) read as _Intrinsic values."""


def _tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> _Intrinsic:
    if isinstance(node, yaml.ScalarNode):
        return _Intrinsic(loader.construct_scalar(node))
    if isinstance(node, yaml.SequenceNode):
        return _Intrinsic(loader.construct_sequence(node, deep=True))
    return _Intrinsic(loader.construct_mapping(node, deep=True))  # type: ignore[arg-type]


_TemplateLoader.add_multi_constructor("!", _tagged)


def fingerprint(folder: Path, root: Path, environ: Mapping[str, str], python313: Path) -> str:
    """The fingerprint of a build of `folder` in the repository at `root`. Raises
    NoFingerprint, saying why, when an input could be missed."""
    template = folder / "template.yaml"
    try:
        paths = sorted(set(_inputs(template, root.resolve(), set())))
        digest = hashlib.sha256()
        settings = {
            "sam": importlib.metadata.version("aws-sam-cli"),
            "python313": str(python313),
            "environment": {
                name: value
                for name, value in sorted(environ.items())
                if name.startswith(ENVIRONMENT_PREFIXES) and name not in DEPLOY_ONLY_SETTINGS
            },
        }
        digest.update(json.dumps(settings, sort_keys=True).encode())
        for path in [folder / "samconfig.toml", *paths]:
            for file in _files(path):
                digest.update(f"\0{file}\0".encode())
                digest.update(hashlib.sha256(file.read_bytes()).digest())
    except (OSError, yaml.YAMLError) as error:
        raise NoFingerprint(f"cannot read every input ({error})") from error
    return digest.hexdigest()


def record_build(work: Path, inputs: str) -> None:
    """Note in `work` (a folder's .aws-sam) that its build/ was just made from `inputs`."""
    (work / RECORD).write_text(json.dumps({"inputs": inputs, "output": _output_identity(work)}))


def forget_build(work: Path) -> None:
    (work / RECORD).unlink(missing_ok=True)


def built_from(work: Path) -> str | None:
    """The inputs the build in `work` was made from, if its output is still the one that
    build wrote: `sam build` deletes and writes build/ again, so another build since (by
    hand, say) leaves a different identity, even with the same template."""
    try:
        record = json.loads((work / RECORD).read_text())
        output = _output_identity(work)
    except (OSError, ValueError):
        return None
    return record.get("inputs") if record.get("output") == output else None


def _output_identity(work: Path) -> list[Any]:
    """Content and file identity (inode, modification time, size) of what `sam build` writes
    into `work`: its build folder, the built template and its build.toml."""
    template = work / "build" / "template.yaml"
    identity: list[Any] = [hashlib.sha256(template.read_bytes()).hexdigest()]
    for path in (work / "build", template, work / "build.toml"):
        if path.exists():
            status = path.stat()
            identity.append([status.st_ino, status.st_mtime_ns, status.st_size])
        else:
            identity.append(None)
    return identity


def _inputs(template: Path, root: Path, seen: set[Path]) -> Iterator[Path]:
    """The template and every existing path it names, recursively through named templates."""
    template = template.resolve()
    if template in seen:
        return
    seen.add(template)
    yield template
    document = yaml.load(template.read_text(), Loader=_TemplateLoader)  # noqa: S506 - safe loader
    _refuse_what_cannot_be_followed(document)
    for text in _strings(document):
        if not text or "\n" in text or len(text) > 1024 or "://" in text:
            continue
        try:
            path = (template.parent / text).resolve()
            exists = path.exists()
        except OSError:  # a description, too long for a file name
            continue
        if not exists or path == Path(path.anchor) or path == template:
            # Words that are no path here ("python3.13", "Ref", "arm64"), "/": a delimiter
            # (!Split ["/", ...]), never a code folder; the template naming itself.
            continue
        above = path.is_dir() and path != template.parent and template.is_relative_to(path)
        if above or not path.is_relative_to(root):
            raise NoFingerprint(f"{template.name} names {text!r}, beyond the stack's own inputs")
        if path.is_file() and path.suffix in TEMPLATE_SUFFIXES:
            yield from _inputs(path, root, seen)
        else:
            yield path


def _refuse_what_cannot_be_followed(node: Any) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in PATH_PROPERTIES and not isinstance(value, (str, dict)):
                raise NoFingerprint(f"{key} is computed ({type(value).__name__})")
            if key in PATH_PROPERTIES and isinstance(value, dict) and _has_intrinsic(value):
                raise NoFingerprint(f"{key} is computed")
            if key == "BuildMethod" and value == "makefile":
                raise NoFingerprint("BuildMethod makefile: its Makefile may read anything")
            _refuse_what_cannot_be_followed(value)
    elif isinstance(node, list):
        for value in node:
            _refuse_what_cannot_be_followed(value)


def _has_intrinsic(node: Any) -> bool:
    if isinstance(node, _Intrinsic):
        return True
    if isinstance(node, dict):
        return any(k == "Ref" or k.startswith("Fn::") or _has_intrinsic(v) for k, v in node.items())
    if isinstance(node, list):
        return any(_has_intrinsic(value) for value in node)
    return False


def _strings(node: Any) -> Iterator[str]:
    """The plain strings of a template (what an intrinsic computes is CloudFormation's)."""
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
        _refuse_includes(path)
        yield path
        return
    if not path.is_dir():
        return  # samconfig.toml may be absent
    for folder, folders, files in os.walk(path):
        for name in folders:
            if (Path(folder) / name).is_symlink():
                raise NoFingerprint(f"{Path(folder) / name} is a symlinked folder")
        folders[:] = sorted(name for name in folders if name not in SKIPPED_NAMES)
        for name in sorted(files):
            file = Path(folder) / name
            _refuse_includes(file)
            yield file


def _refuse_includes(file: Path) -> None:
    """A requirements file that pulls in other files or local folders reads beyond itself."""
    if not (file.name.startswith("requirements") and file.suffix == ".txt"):
        return
    for line in file.read_text(errors="replace").splitlines():
        words = line.split("#", 1)[0].split()
        if words and (words[0].startswith(REQUIREMENT_INCLUDES) or "file:" in words[0]):
            raise NoFingerprint(f"{file.name} includes {words[0]!r}: what it names is not read")
