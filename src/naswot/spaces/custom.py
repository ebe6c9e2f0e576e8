"""User-defined search spaces, named on the command line as ``--space package.module:attribute``.

The attribute is one of:

* an object with ``sample(rng) -> str`` and ``build(key, *, n_classes) -> nn.Module`` (a
  :class:`UserSpace`); keys are whatever strings ``sample`` returns. Optional members: ``name``
  (the space's name in the store; default, and instead of a built-in space's name: the
  ``module:attribute`` string), ``validate(key)`` (raise ``ValueError`` for a malformed key),
  ``mutate(key, rng) -> str`` and ``keys() -> Iterable[str]`` (makes the space enumerable);
* a pair ``(space, builder)``: a full :class:`~naswot.spaces.SearchSpace` and its
  :class:`~naswot.networks.NetworkBuilder`;
* a function (or class) without arguments that returns either of the above.

Stored scores are keyed by the space's ``revision``: the ``revision`` attribute of the user's
object when it has one (bump it whenever the networks change), else a fingerprint of the source
files of the modules that define the space and its builder, so that scores of an edited builder
are computed again rather than served from the store.

``build`` runs under a seeded torch RNG (one seed per architecture), so it must not reseed torch.
A module that is not importable is also looked up as a file relative to the working directory
(``examples.my_space`` -> ``./examples/my_space.py``). Spaces pickle by their ``module:attribute``
string, so parallel workers load the module again.

The command line resolves names with ``naswot.cli._common.resolve_space`` (registered names
first, then ``module:attribute``); this module knows nothing of the registries of networks.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from naswot._io import quote, shorten
from naswot.exceptions import ArchParseError, InvalidParameterError, NaswotError, UnknownNameError
from naswot.spaces._base import EnumerableSpace, MutableSpace, SearchSpace

if TYPE_CHECKING:
    from torch import nn

    from naswot.networks import NetworkBuilder

__all__ = [
    "CustomBuilder",
    "CustomSpace",
    "EnumerableCustomSpace",
    "UserSpace",
    "is_custom_spec",
    "load_custom_space",
    "source_fingerprint",
]

_MUTATE_ATTEMPTS = 1000


@runtime_checkable
class UserSpace(Protocol):
    """The least a user's space provides: a sampler of string keys and a network builder."""

    def sample(self, rng: np.random.Generator, /) -> str:
        """A random architecture key."""
        ...

    def build(self, key: str, /, *, n_classes: int) -> nn.Module:
        """A freshly initialised network for ``key`` with ``n_classes`` outputs."""
        ...


class _StringSpace:
    """Adapts a :class:`UserSpace` to the SearchSpace protocol over its string keys."""

    def __init__(self, user: UserSpace, name: str) -> None:
        self.user = user
        self.name = str(getattr(user, "name", name))

    def sample(self, rng: np.random.Generator) -> str:
        return self._checked(self.user.sample(rng), "sample")

    def _checked(self, key: object, method: str) -> str:
        if not isinstance(key, str) or not key or key != key.strip():
            raise InvalidParameterError(
                f"The {method} method of space {self.name!r} must return a non-empty str without "
                f"surrounding spaces. Got {quote(key)} instead."
            )
        return key

    def key(self, arch: str) -> str:
        return arch

    def parse(self, key: str) -> str:
        text = key.strip() if isinstance(key, str) else ""
        if not text:
            raise ArchParseError(str(key), 0, f"an architecture key of space {self.name!r}", "")
        validate: Callable[[str], object] | None = getattr(self.user, "validate", None)
        if validate is not None:
            try:
                validate(text)
            except ValueError as e:
                raise ArchParseError(
                    text, 0, f"a valid key of space {self.name!r} ({e})", repr(text)
                ) from e
        return text

    def mutate(self, arch: str, rng: np.random.Generator) -> str:
        mutate: Callable[[str, np.random.Generator], str] | None = getattr(
            self.user, "mutate", None
        )
        if mutate is not None:
            return self._checked(mutate(arch, rng), "mutate")
        return self._checked(_resample(self, arch, rng), "sample")

    def build(self, arch: str, *, n_classes: int) -> nn.Module:
        return self.user.build(arch, n_classes=n_classes)


def _resample(space: SearchSpace[Any], arch: Any, rng: np.random.Generator) -> Any:
    """A fresh sample that differs from ``arch``: the mutation of spaces that define none."""
    for _ in range(_MUTATE_ATTEMPTS):
        child = space.sample(rng)
        if space.key(child) != space.key(arch):
            return child
    raise NaswotError(
        f"Space {space.name!r} has no mutate method and {_MUTATE_ATTEMPTS} samples all equalled "
        f"{space.key(arch)!r}."
    )


@contextmanager
def _user_code(spec: str, what: str) -> Iterator[None]:
    """Turns an exception raised by the user's code into one NaswotError naming the space."""
    try:
        yield
    except NaswotError:
        raise
    except (Exception, SystemExit) as e:
        hint = (
            " (a package it imports is not installed?)"
            if isinstance(e, ModuleNotFoundError)
            else ""
        )
        raise NaswotError(
            f"The space {quote(spec)}: {what} failed: {type(e).__name__}: {shorten(e)}{hint}."
        ) from e


def source_fingerprint(*objects: object) -> str:
    """A SHA-256 prefix of the source files of the modules that define ``objects``.

    Functions, classes, methods, ``functools.partial`` objects and instances count by their
    module's file (helpers in the same file are covered too); an object without a source file
    (defined interactively) counts by its source text if Python has it, else by its name.
    """
    parts: dict[str, bytes] = {}
    for obj in objects:
        while isinstance(obj, functools.partial):
            obj = obj.func
        target: Any = getattr(obj, "__func__", obj)  # a bound method: its function
        module = inspect.getmodule(target if callable(target) else type(target))
        path = getattr(module, "__file__", None) if module is not None else None
        if path is not None and module is not None:
            try:
                parts[module.__name__] = Path(path).read_bytes()
                continue
            except OSError:
                pass
        name = getattr(target, "__qualname__", type(target).__qualname__)
        try:
            parts[name] = inspect.getsource(target if callable(target) else type(target)).encode()
        except (OSError, TypeError):
            parts[name] = name.encode()
    h = hashlib.sha256()
    for name in sorted(parts):
        h.update(name.encode() + b"\0" + parts[name] + b"\0")
    return h.hexdigest()[:16]


class CustomSpace:
    """A user's space loaded from ``module:attribute``; delegates to it (see the module doc).

    Always mutable: without a user ``mutate``, a mutation is a fresh sample that differs.
    Pickles as its ``spec`` string, so worker processes import the module again.

    Attributes:
        revision: ``rev:R`` for a user's ``revision = R`` attribute, else ``src:`` and the
            :func:`source_fingerprint` of the user's space and builder (part of the store key).
    """

    def __init__(self, spec: str, space: SearchSpace[Any], builder: NetworkBuilder) -> None:
        self.spec = spec
        self.name = _store_name(spec, space.name)
        self._space = space
        self._builder = builder
        user: object = space.user if isinstance(space, _StringSpace) else space
        declared = getattr(user, "revision", None)
        if declared is not None:
            self.revision = f"rev:{declared}"
        else:
            sources = (user,) if isinstance(space, _StringSpace) else (user, builder)
            self.revision = "src:" + source_fingerprint(*sources)

    def sample(self, rng: np.random.Generator) -> Any:
        """One architecture drawn by the user's sampler."""
        with _user_code(self.spec, "sample()"):
            return self._space.sample(rng)

    def key(self, arch: Any) -> str:
        """The user's key of ``arch``."""
        with _user_code(self.spec, "key()"):
            return self._space.key(arch)

    def parse(self, key: str) -> Any:
        """The architecture of ``key``; raises ArchParseError if the user's space rejects it."""
        return self._space.parse(key)

    def mutate(self, arch: Any, rng: np.random.Generator) -> Any:
        """The user's mutation, or a fresh different sample when the space has none."""
        with _user_code(self.spec, "mutate()"):
            if isinstance(self._space, MutableSpace):
                return self._space.mutate(arch, rng)
            return _resample(self._space, arch, rng)

    def build(self, arch: Any, /, *, n_classes: int) -> nn.Module:
        """A new network for ``arch`` from the user's builder."""
        return self._builder(arch, n_classes=n_classes)

    def __reduce__(self) -> tuple[Callable[[str], CustomSpace], tuple[str]]:
        return _load_space_only, (self.spec,)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec!r})"


class EnumerableCustomSpace(CustomSpace):
    """A :class:`CustomSpace` whose user space lists its architectures."""

    def __len__(self) -> int:
        with _user_code(self.spec, "keys()"):
            return len(self._keys())

    def __iter__(self) -> Iterator[Any]:
        space = self._space
        if isinstance(space, EnumerableSpace):
            yield from space
        else:
            for key in self._keys():
                yield space.parse(key)

    def _keys(self) -> list[str]:
        space = self._space
        if isinstance(space, EnumerableSpace):
            return [space.key(a) for a in space]
        assert isinstance(space, _StringSpace)
        keys: Iterable[str] = space.user.keys()  # type: ignore[attr-defined]
        return list(dict.fromkeys(keys))


class CustomBuilder:
    """The network builder of a :class:`CustomSpace`; pickles as the space's ``spec`` string."""

    def __init__(self, space: CustomSpace) -> None:
        self.space = space

    def __call__(self, arch: Any, /, *, n_classes: int) -> nn.Module:
        """A new network for ``arch`` with ``n_classes`` outputs."""
        return self.space.build(arch, n_classes=n_classes)

    def __repr__(self) -> str:
        return f"CustomBuilder({self.space.spec!r})"


def _store_name(spec: str, declared: str) -> str:
    """The user's name for the space, or ``spec`` if it would collide with a registered space.

    Scores are stored under the space's name; a user's builder must not share a built-in's rows
    (or its fast scorer).
    """
    from naswot.spaces import SPACES  # lazily: naswot.spaces/__init__ may import this module

    return spec if not declared or declared in SPACES else declared


def _load_space_only(spec: str) -> CustomSpace:
    return load_custom_space(spec)[0]


def _import_module(module_name: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        missing = e.name or ""
        if module_name != missing and not module_name.startswith(missing + "."):
            raise  # the module exists but one of its own imports is missing
        first_error = e
    path = Path.cwd() / (module_name.replace(".", "/") + ".py")
    if not path.is_file():
        raise UnknownNameError(
            f"Cannot import the space module {quote(module_name)} ({shorten(first_error)}), and "
            f"{path} does not exist. Give an importable module or a file path relative to the "
            "working directory, as in 'examples.my_space:space'."
        ) from None
    if module_name in sys.modules:  # loaded from this file earlier
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise UnknownNameError(f"Cannot load {path} as a Python module.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look modules up there
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def _target(spec: str) -> Any:  # Any: whatever the user's module holds
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise InvalidParameterError(
            f"A custom space is named 'package.module:attribute'. Got {quote(spec)} instead."
        )
    if module_name.endswith(".py"):
        module_name = module_name[:-3].replace("/", ".")
    with _user_code(spec, f"importing the module {quote(module_name)}"):
        target: Any = _import_module(module_name)
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise UnknownNameError(
                f"The module {quote(module_name)} has no attribute {quote(attribute)}."
            )
        target = getattr(target, part)
    return target


def _adapt(spec: str, target: Any) -> tuple[SearchSpace[Any], NetworkBuilder] | None:
    if isinstance(target, type):  # a class: the caller instantiates it
        return None
    if isinstance(target, UserSpace):
        space = _StringSpace(target, spec)
        return space, space.build
    if isinstance(target, tuple) and len(target) == 2:
        space_part, builder = target
        if isinstance(space_part, SearchSpace) and callable(builder):
            return space_part, builder
    return None


def is_custom_spec(name: str) -> bool:
    """Whether ``name`` names a user space (``module:attribute``) rather than a registered one."""
    return ":" in name


def load_custom_space(spec: str) -> tuple[CustomSpace, CustomBuilder]:
    """Loads the user space named by ``spec`` (``package.module:attribute``).

    Args:
        spec: the module (importable, or a ``.py`` file relative to the working directory) and
            the attribute holding the space, a ``(space, builder)`` pair, or a function without
            arguments returning one of them.

    Returns:
        The space (enumerable when the user's space is) and its network builder.

    Raises:
        InvalidParameterError: if ``spec`` is malformed or the attribute is none of the above.
        UnknownNameError: if the module or the attribute does not exist.

    Example:
        >>> space, build = load_custom_space("examples.my_space:space")  # doctest: +SKIP
    """
    if not isinstance(spec, str):
        raise InvalidParameterError(
            f"The 'spec' parameter of load_custom_space must be a str. Got {spec!r} instead."
        )
    target = _target(spec)
    adapted = _adapt(spec, target)
    if adapted is None and callable(target):
        with _user_code(spec, f"calling {spec.partition(':')[2]}()"):
            made = target()
        adapted = _adapt(spec, made)
    if adapted is None:
        raise InvalidParameterError(
            f"{quote(spec)} must name an object with sample(rng) and build(key, *, n_classes) "
            "methods, a (space, builder) pair, or a function without arguments returning one. "
            f"Got {type(target).__name__} instead."
        )
    space, builder = adapted
    enumerable = isinstance(space, EnumerableSpace) or (
        isinstance(space, _StringSpace) and callable(getattr(space.user, "keys", None))
    )
    cls = EnumerableCustomSpace if enumerable else CustomSpace
    custom = cls(spec, space, builder)
    return custom, CustomBuilder(custom)
