"""Building the plugin manager: hookspecs, kb_core's defaults, then the ``mtus`` entry points.

Every hook call is made one implementation at a time, so a failure is attributed to the
plugin that caused it.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from functools import cache, reduce
from importlib import import_module
from types import FunctionType, MethodType, ModuleType
from typing import Any

import pluggy

from kb_core import _defaults, hookspecs
from kb_core._records import record
from kb_core.errors import PluginError

ENTRY_POINT_GROUP = hookspecs.PROJECT
DISABLE_ENV = "MTUS_DISABLE_PLUGINS"  # comma-separated plugin names
CORE_PLUGIN = "kb_core"
CORE_DISTRIBUTION = "mtus-kb"
LOAD_TIMEOUT_ENV = "MTUS_PLUGIN_LOAD_TIMEOUT"  # seconds one plugin may take to import or answer a load hook
DEFAULT_LOAD_TIMEOUT = 20.0


@cache
def package_version() -> str:
    version = core_version()
    return version if version is not None else "0+unknown"  # a source tree without an install


# ---------------------------------------------------------------- installed distributions
#
# importlib.metadata is the source of truth for what is installed, but importing it costs a
# cold start ~25 ms (it pulls in the email package and more). So its answer (the entry points
# of the ``mtus`` group, their distributions' names and versions, and mtus-kb's version) is
# kept in the cache directory, keyed by the search path and each entry's modification time:
# installing or removing a distribution changes its directory (importlib.metadata's own
# lookup cache relies on the same). A meta path finder of its own that finds distributions,
# the cache turned off, or a file that is absent, unreadable or not ours: importlib.metadata
# is asked.

_INSTALLED_FORMAT = "mtus-kb installed 1"


@record
class InstalledDistribution:
    """The name and version of the distribution an entry point comes from."""

    name: str
    version: str


@record
class InstalledEntryPoint:
    """An entry point of an installed distribution: ``name = value`` under ``[group]``."""

    name: str
    value: str
    group: str
    dist: InstalledDistribution | None = None

    # The syntax importlib.metadata's EntryPoint accepts: module, optional ":attr.attr", extras.
    pattern = re.compile(r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$")

    def load(self) -> Any:
        """The module, or the object the value names in it (as ``EntryPoint.load``)."""
        match = self.pattern.match(self.value)
        if match is None:
            raise ValueError(f"entry point value {self.value!r} is not 'module' or 'module:attribute'")
        module = import_module(match.group("module"))
        return reduce(getattr, filter(None, (match.group("attr") or "").split(".")), module)


_Installed = tuple[tuple[InstalledEntryPoint, ...], "str | None"]  # the group's entry points, mtus-kb's version
_installed_seen: dict[tuple[Any, ...], _Installed] = {}  # in this process, by search-path key


def _search_path_key() -> tuple[Any, ...] | None:
    """What importlib.metadata's answer depends on: each sys.path entry and its modification
    time; None when a finder of its own may find distributions (then it is always asked)."""
    from importlib.machinery import PathFinder

    if any(finder is not PathFinder and hasattr(finder, "find_distributions") for finder in sys.meta_path):
        return None
    stamps: list[Any] = [_INSTALLED_FORMAT, sys.version, ENTRY_POINT_GROUP]
    for entry in sys.path:
        shown = entry if isinstance(entry, str) else repr(entry)  # the key is written as JSON
        try:
            stamps.append((shown, os.stat(entry or ".").st_mtime_ns))
        except (OSError, TypeError, ValueError):
            stamps.append((shown, None))
    return tuple(stamps)


def _from_metadata() -> _Installed:
    from importlib import metadata

    points = []
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        found = None if dist is None else InstalledDistribution(str(dist.name or ""), str(dist.version or ""))
        points.append(InstalledEntryPoint(ep.name, ep.value, ep.group, found))
    try:
        core: str | None = metadata.version(CORE_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        core = None
    return tuple(points), core


def _installed() -> _Installed:
    """This group's entry points and mtus-kb's version, as importlib.metadata finds them."""
    key = _search_path_key()
    if key is None:
        return _from_metadata()
    known = _installed_seen.get(key)
    if known is None:
        known = _installed_seen[key] = _cached_installed(key)
    return known


def _cached_installed(key: tuple[Any, ...]) -> _Installed:
    import hashlib
    import json

    from kb_core._cache import cache_dir, trusted, write_atomically

    where = cache_dir()
    if where is None:  # the cache is turned off
        return _from_metadata()
    text = json.dumps(key)
    stored_key = json.loads(text)  # the key as JSON gives it back (tuples as lists)
    path = where / f"installed-{hashlib.sha256(text.encode()).hexdigest()[:32]}.json"
    try:
        if trusted(path):
            stored = json.loads(path.read_text(encoding="utf-8"))
            if stored["key"] == stored_key:
                points = tuple(
                    InstalledEntryPoint(name, value, ENTRY_POINT_GROUP, None if dist is None else InstalledDistribution(*dist))
                    for name, value, dist in stored["points"]
                )
                return points, stored["core_version"]
    except Exception:  # absent, corrupt, from another format: ask importlib.metadata
        pass
    points, core = _from_metadata()
    stored = {"key": stored_key, "core_version": core,
              "points": [[ep.name, ep.value, None if ep.dist is None else [ep.dist.name, ep.dist.version]] for ep in points]}
    write_atomically(path, json.dumps(stored).encode(), keep="installed-*.json")
    return points, core


def entry_points(group: str) -> tuple[InstalledEntryPoint, ...]:
    """The entry points of ``group`` (kb_core reads only the ``mtus`` group), as
    ``importlib.metadata.entry_points(group=group)`` finds them."""
    if group != ENTRY_POINT_GROUP:
        from importlib import metadata

        return tuple(InstalledEntryPoint(ep.name, ep.value, ep.group) for ep in metadata.entry_points(group=group))
    return _installed()[0]


def core_version() -> str | None:
    """mtus-kb's installed version, or None (a source tree without an install)."""
    return _installed()[1]


@record
class PluginRecord:
    """A registered plugin: its name, version, module and distribution."""

    name: str
    version: str
    module: str
    distribution: str | None
    first_party: bool = False  # shipped with mtus-kb: owns its treatments, name reserved


def _canonical(dist_name: str) -> str:
    return dist_name.lower().replace("_", "-").replace(".", "-")


@cache
def first_party_plugins() -> Mapping[str, str]:
    """Plugin name -> module of the treatment plugins shipped in mtus-kb's own distribution."""
    return {
        ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)
        if ep.dist is not None and _canonical(ep.dist.name) == CORE_DISTRIBUTION
    }


def reserved_names() -> frozenset[str]:
    """Names no third-party plugin may take: kb_core's and the first-party plugins'."""
    return frozenset({CORE_PLUGIN, *first_party_plugins()})


def load_timeout() -> float | None:
    """Seconds a plugin may take to import or to answer one load-time hook (env override)."""
    text = os.environ.get(LOAD_TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_LOAD_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        raise PluginError(CORE_PLUGIN, f"{LOAD_TIMEOUT_ENV}={text!r} is not a number of seconds", "set it to e.g. 20, or 0 for no limit") from None
    return value if value > 0 else None


def run_bounded(func: Callable[[], Any], timeout: float | None, plugin: str, what: str) -> Any:
    """Run plugin code at load time in a watchdog thread: a hang, or a BaseException such
    as SystemExit, becomes a PluginError naming the plugin. (Load time only: never on the
    evaluate path. A thread that never returns is left behind as a daemon.)"""
    outcome: list[Any] = []

    def target() -> None:
        try:
            outcome.append((True, func()))
        except BaseException as exc:  # noqa: BLE001 - plugin code must not end the host process
            outcome.append((False, exc))

    if plugin in reserved_names():
        # kb_core's own plugins, shipped and tested with it, are not watched for hangs: a
        # thread per call costs ~1.5 ms of hand-over (~35 ms of a cold load). Their
        # errors are still reported as below.
        target()
    else:
        import threading  # third-party plugins only

        worker = threading.Thread(target=target, name=f"mtus-load-{plugin}", daemon=True)
        worker.start()
        worker.join(timeout)
    if not outcome:
        raise PluginError(plugin, f"{what} did not finish within {timeout} s", f"fix the plugin, disable it with {DISABLE_ENV}={plugin}, or raise {LOAD_TIMEOUT_ENV}")
    ok, value = outcome[0]
    if ok:
        return value
    raise PluginError(plugin, f"{what} raised {type(value).__name__}: {describe(value)}") from (value if isinstance(value, Exception) else None)


def describe(value: object, limit: int = 300) -> str:
    """str(value), cut to ``limit`` characters; never raises (plugin objects may be hostile)."""
    try:
        text = str(value)
    except BaseException:  # noqa: BLE001
        text = f"<unprintable {type(value).__name__}>"
    return text if len(text) <= limit else text[:limit] + "..."


class _PluginManager(pluggy.PluginManager):
    """pluggy's manager, finding the hooks of a module plugin faster.

    pluggy looks at every attribute of a plugin with ``inspect.getattr_static`` (~5 µs
    each, ~400 attributes over the first-party plugins). A module's attributes are its
    ``__dict__``: a plain function there is read directly, as pluggy would read it;
    anything else that pluggy could bind (a staticmethod, classmethod or bound method)
    or any other kind of plugin goes to pluggy's own lookup.
    """

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        if type(plugin) is ModuleType:
            value = plugin.__dict__.get(name, _ABSENT)
            if type(value) is FunctionType:
                opts = getattr(value, self.project_name + "_impl", None)
                return opts if isinstance(opts, dict) else None
            if value is not _ABSENT and not isinstance(value, (staticmethod, classmethod, MethodType)):
                return None  # not a function: pluggy skips it too
        return super().parse_hookimpl_opts(plugin, name)


_ABSENT = object()


def disabled_from_env() -> frozenset[str]:
    return frozenset(n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip())


def build_manager(
    disable: Iterable[str] = (), extra_plugins: Iterable[tuple[str, object]] = (), entry_points_too: bool = True,
    refused: dict[str, str] | None = None, strict: bool = False,
) -> tuple[pluggy.PluginManager, dict[str, PluginRecord]]:
    """Register kb_core's defaults, the installed entry points (minus ``disable``) and
    ``extra_plugins`` (``(name, module_or_object)``, for tests and embedding tools).

    A third-party entry point under a reserved name (``kb_core``, a first-party plugin's)
    is never registered: it is recorded in ``refused`` (or raised when ``strict``).

    Raises:
        PluginError: a plugin that cannot be imported, has a misspelled ``mtus_`` hook,
            a hook with wrong arguments, or needs another kb_core version.
    """
    first_party = first_party_plugins()
    timeout = load_timeout()
    blocked = set(disable) | disabled_from_env()
    pm = _PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    records: dict[str, PluginRecord] = {}

    def register(name: str, plugin: object, version: str, dist: str | None, is_first_party: bool = False) -> None:
        if name in records:
            raise PluginError(name, f"two plugins are named '{name}' ({records[name].module} and {_module_of(plugin)})", "rename one entry point")
        try:
            pm.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(name, f"invalid hook implementation: {exc}", "match the signatures in kb_core/hookspecs.py") from None
        except ValueError as exc:
            raise PluginError(name, str(exc)) from None
        records[name] = PluginRecord(name, version, _module_of(plugin), dist, is_first_party)

    register(CORE_PLUGIN, _defaults, package_version(), CORE_DISTRIBUTION, True)
    if entry_points_too:
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            dist = ep.dist
            dist_name, dist_release = (dist.name, dist.version) if dist is not None else ("", "")
            ours = dist is not None and _canonical(dist_name) == CORE_DISTRIBUTION and first_party.get(ep.name) == ep.value
            if ep.name in reserved_names() and not ours:
                # Refused before import: a third party cannot replace kb_core or a first-party plugin.
                label = f"{ep.name} ({dist_name if dist else ep.value})"
                problem = f"the name '{ep.name}' is reserved for mtus-kb's own plugin; entry point {ep.value} from {dist_name if dist else 'an unknown distribution'} is not loaded"
                if strict:
                    raise PluginError(label, problem, "rename the entry point in the plugin's pyproject.toml")
                if refused is not None:
                    refused[label] = f"plugin '{label}': {problem}. Fix: rename the entry point in the plugin's pyproject.toml"
                continue
            if ep.name in blocked:
                continue
            try:
                plugin = run_bounded(ep.load, timeout, ep.name, f"import of {ep.value}")
            except PluginError as exc:
                raise PluginError(ep.name, f"cannot be imported ({ep.value}): {exc.problem.split(' raised ', 1)[-1]}", f"fix the plugin or disable it with {DISABLE_ENV}={ep.name}") from None
            register(ep.name, plugin, dist_release if dist else "0+unknown", dist_name if dist else None, ours)
    for name, plugin in extra_plugins:
        if name in blocked:
            continue
        ours = first_party.get(name) == _module_of(plugin)
        if name in reserved_names() and not ours:
            raise PluginError(name, f"the name '{name}' is reserved for mtus-kb's own plugin", "register the plugin under another name")
        register(name, plugin, str(getattr(plugin, "__version__", "0+local")), None, ours)

    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        name = pm.get_name(exc.plugin) or _module_of(exc.plugin)
        raise PluginError(name, str(exc), "rename the function to a hook in kb_core/hookspecs.py (mtus_...)") from None
    _check_core_requirements(pm, records)
    return pm, records


def _check_core_requirements(pm: pluggy.PluginManager, records: dict[str, PluginRecord]) -> None:
    for name, info in call_each(pm, "mtus_plugin_info", timeout=load_timeout()):
        if info is None:
            continue
        if not isinstance(info, Mapping):
            raise PluginError(name, f"mtus_plugin_info returned {type(info).__name__}, not a mapping")
        wanted = info.get("requires_core")
        if wanted is None:
            continue
        from packaging.specifiers import InvalidSpecifier, SpecifierSet  # only when asked: slow to import
        from packaging.version import Version

        core = Version(records[CORE_PLUGIN].version.replace("+unknown", ""))
        try:
            spec = SpecifierSet(str(wanted))
        except InvalidSpecifier:
            raise PluginError(name, f"requires_core '{wanted}' is not a version specifier", "write e.g. '>=0.1,<1'") from None
        if core not in spec:
            raise PluginError(
                name, f"needs kb_core {wanted}, but kb_core {core} is installed",
                f"install a kb_core matching {wanted} or a release of the plugin built for {core}",
            )


def call_each(pm: pluggy.PluginManager, hook: str, *, timeout: float | None = None, **kwargs: Any) -> list[tuple[str, Any]]:
    """Call every implementation of ``hook`` separately: ``[(plugin name, result)]``.

    Order is by plugin name (never registration order), so results are reproducible.
    Exceptions (SystemExit and KeyboardInterrupt too) become :class:`PluginError` naming the
    plugin; with ``timeout``, each call runs under a watchdog (load-time hooks only).
    """
    caller = getattr(pm.hook, hook)
    out = []
    for impl in sorted(caller.get_hookimpls(), key=lambda i: i.plugin_name):
        func: Callable[..., Any] = impl.function
        arguments = {k: kwargs[k] for k in impl.argnames}
        if timeout is not None:
            out.append((impl.plugin_name, run_bounded(lambda: func(**arguments), timeout, impl.plugin_name, hook)))
            continue
        try:
            out.append((impl.plugin_name, func(**arguments)))
        except (Exception, SystemExit) as exc:  # a plugin's sys.exit() must not end the host
            raise PluginError(impl.plugin_name, f"{hook} raised {type(exc).__name__}: {describe(exc)}") from (exc if isinstance(exc, Exception) else None)
    return out


def _module_of(plugin: object) -> str:
    return getattr(plugin, "__name__", type(plugin).__name__)
