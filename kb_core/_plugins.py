"""Building the plugin manager: hookspecs, kb_core's defaults, then the ``mtus`` entry points.

Every hook call is made one implementation at a time, so a failure is attributed to the
plugin that caused it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from importlib.metadata import version as dist_version
from typing import Any

import pluggy

from kb_core import _defaults, hookspecs
from kb_core.errors import PluginError

ENTRY_POINT_GROUP = hookspecs.PROJECT
DISABLE_ENV = "MTUS_DISABLE_PLUGINS"  # comma-separated plugin names
CORE_PLUGIN = "kb_core"
CORE_DISTRIBUTION = "mtus-kb"
LOAD_TIMEOUT_ENV = "MTUS_PLUGIN_LOAD_TIMEOUT"  # seconds one plugin may take to import or answer a load hook
DEFAULT_LOAD_TIMEOUT = 20.0


@cache
def package_version() -> str:
    try:
        return dist_version("mtus-kb")
    except Exception:  # running from a source tree without an install
        return "0+unknown"


_dist_metadata: dict[int, tuple[Any, str, str]] = {}


def _dist_name_version(dist: Any) -> tuple[str, str]:
    """A distribution's name and version. ``dist.name`` and ``dist.version`` each parse
    the METADATA file again (~1 ms); an entry point's distribution is read once."""
    entry = _dist_metadata.get(id(dist))
    if entry is None or entry[0] is not dist:
        entry = _dist_metadata[id(dist)] = (dist, dist.name, dist.version)
    return entry[1], entry[2]


@dataclass(frozen=True, slots=True)
class PluginRecord:
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
    pm = pluggy.PluginManager(hookspecs.PROJECT)
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
