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
    dist = find_distribution(CORE_DISTRIBUTION)
    version = dist.version if dist is not None else None
    return version if version is not None else "0+unknown"  # a source tree without an install


# ---------------------------------------------------------------- installed distributions
#
# importlib.metadata finds entry points well but costs a cold start ~15-25 ms: importing it
# pulls in the email package (to parse every METADATA file) and more. Below is the same
# search, as importlib.metadata (3.11-3.13) makes it over plain directories: each sys.path
# entry in order; in it, every ``*.dist-info`` / ``*.egg-info``, named by the part of its
# file name before the first "-" and normalized as PEP 503 (plus "-" as "_"); the first
# distribution of a name wins. Where the search could differ (a zip or .egg on sys.path, a
# meta path finder of its own), importlib.metadata itself is asked. tests/test_fast_start.py
# holds both to the same answers.


class InstalledDistribution:
    """What kb_core reads of an installed distribution: name, version and files."""

    __slots__ = ("_path", "_headers", "_entry_points")

    def __init__(self, path: str) -> None:
        self._path = path
        self._headers: dict[str, str] | None = None
        self._entry_points: str | None = None

    def read_text(self, filename: str) -> str | None:
        try:
            with open(os.path.join(self._path, filename), encoding="utf-8") as handle:
                return handle.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError):
            return None

    def _header(self, key: str) -> str | None:
        """The first ``key:`` header of METADATA (PKG-INFO for an egg-info), as the email
        parser importlib.metadata uses reads it."""
        if self._headers is None:
            text = self.read_text("METADATA") or self.read_text("PKG-INFO") or ""
            self._headers = _metadata_headers(text)
        return self._headers.get(key.lower())

    @property
    def name(self) -> str | None:
        return self._header("Name")

    @property
    def version(self) -> str | None:
        return self._header("Version")

    def __repr__(self) -> str:
        return f"InstalledDistribution({self._path!r})"


def _metadata_headers(text: str) -> dict[str, str]:
    """Lower-cased header name -> first value, from the header block of a METADATA text
    (the body, after the first blank line, is not read)."""
    headers: dict[str, str] = {}
    for line in text.partition("\n\n")[0].splitlines():  # (a METADATA file holds the README after them)
        if not line.strip():
            break  # the body (the long description) starts here
        key, colon, value = line.partition(":")
        if colon and line[0] not in " \t":  # (a folded continuation line: Name and Version have none)
            headers.setdefault(key.strip().lower(), value.strip())
    return headers


class InstalledEntryPoint:
    """An entry point of an installed distribution: ``name = value`` under ``[group]``."""

    __slots__ = ("name", "value", "group", "dist")
    # The syntax importlib.metadata accepts: module, optional ":attr.attr", optional extras.
    pattern = re.compile(r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$")

    def __init__(self, name: str, value: str, group: str, dist: InstalledDistribution | None = None) -> None:
        self.name, self.value, self.group, self.dist = name, value, group, dist

    def load(self) -> Any:
        """The module, or the object the value names in it (as ``EntryPoint.load``)."""
        match = self.pattern.match(self.value)
        if match is None:
            raise ValueError(f"entry point value {self.value!r} is not 'module' or 'module:attribute'")
        module = import_module(match.group("module"))
        return reduce(getattr, filter(None, (match.group("attr") or "").split(".")), module)

    def __repr__(self) -> str:
        return f"InstalledEntryPoint(name={self.name!r}, value={self.value!r}, group={self.group!r})"


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower().replace("-", "_")


def _plain_search_path() -> bool:
    """True when distributions are found only by the standard path finder over plain
    directories: then :func:`distributions` answers as importlib.metadata does."""
    from importlib.machinery import PathFinder

    for finder in sys.meta_path:
        if finder is not PathFinder and getattr(finder, "find_distributions", None) is not None:
            return False
    for entry in sys.path:
        if not isinstance(entry, str) or entry.lower().endswith(".egg"):
            return False
        if not os.path.isdir(entry or ".") and os.path.exists(entry):
            return False  # a zip file: importlib.metadata reads inside it
    return True


# One listing of a directory's distributions per modification time (importlib.metadata
# keeps its listings the same way): installing or removing one changes the directory.
_listings: dict[str, tuple[float, dict[str, list[InstalledDistribution]]]] = {}


def _listing(entry: str) -> dict[str, list[InstalledDistribution]]:
    """Normalized name -> distributions of that name in ``entry``, in the order found
    (grouped by name at the place of the first, as importlib.metadata groups them)."""
    try:
        mtime = os.stat(entry or ".").st_mtime
    except OSError:
        return {}
    known = _listings.get(entry)
    if known is not None and known[0] == mtime:
        return known[1]
    by_name: dict[str, list[InstalledDistribution]] = {}
    try:
        children = os.listdir(entry or ".")
    except OSError:
        children = []
    for child in children:
        low = child.lower()
        if low.endswith((".dist-info", ".egg-info")):
            found = InstalledDistribution(os.path.join(entry, child))
            by_name.setdefault(_normalized(low.rpartition(".")[0].partition("-")[0]), []).append(found)
    _listings[entry] = (mtime, by_name)
    return by_name


def distributions() -> list[InstalledDistribution]:
    """The installed distributions, first of each name, in sys.path order."""
    seen: set[str] = set()
    found: list[InstalledDistribution] = []
    for entry in sys.path:
        for name, dists in _listing(entry).items():
            if name not in seen:
                seen.add(name)
                found.append(dists[0])
    return found


def find_distribution(name: str) -> InstalledDistribution | Any | None:
    """The installed distribution ``name`` (as ``importlib.metadata.distribution``), or None."""
    if not _plain_search_path():
        from importlib import metadata

        try:
            return metadata.distribution(name)
        except metadata.PackageNotFoundError:
            return None
    wanted = _normalized(name)
    for entry in sys.path:
        dists = _listing(entry).get(wanted)
        if dists:
            return dists[0]
    return None


def entry_points(group: str) -> list[InstalledEntryPoint] | Any:
    """The entry points of ``group`` of every installed distribution (as
    ``importlib.metadata.entry_points(group=group)``)."""
    if not _plain_search_path():
        from importlib.metadata import entry_points as metadata_entry_points

        return metadata_entry_points(group=group)
    found = []
    for dist in distributions():
        if dist._entry_points is None:  # read once per listing, as METADATA
            dist._entry_points = dist.read_text("entry_points.txt") or ""
        text = dist._entry_points
        if text:
            found += [InstalledEntryPoint(name, value, group, dist) for name, value in _entry_point_lines(text, group)]
    return found


def _entry_point_lines(text: str, group: str) -> Iterable[tuple[str, str]]:
    """``(name, value)`` of each entry under ``[group]`` in an entry_points.txt, read as
    importlib.metadata reads it (stripped lines; ``#`` comments; the first ``=`` splits)."""
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line.strip("[]")
            continue
        if section == group:
            name, _, value = line.partition("=")
            yield name.strip(), value.strip()


_dist_metadata: dict[int, tuple[Any, str, str]] = {}


def _dist_name_version(dist: Any) -> tuple[str, str]:
    """A distribution's name and version. ``dist.name`` and ``dist.version`` each parse
    the METADATA file again (~1 ms); an entry point's distribution is read once."""
    entry = _dist_metadata.get(id(dist))
    if entry is None or entry[0] is not dist:
        entry = _dist_metadata[id(dist)] = (dist, dist.name, dist.version)
    return entry[1], entry[2]


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
        if ep.dist is not None and _canonical(_dist_name_version(ep.dist)[0]) == CORE_DISTRIBUTION
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
            dist_name, dist_release = _dist_name_version(dist) if dist is not None else ("", "")
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
