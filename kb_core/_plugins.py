"""Building the plugin manager: hookspecs, kb_core's defaults, then the ``mtus`` entry points.

Every hook call is made one implementation at a time, so a failure is attributed to the
plugin that caused it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from importlib.metadata import version as dist_version
from typing import Any

import pluggy

from kb_core import _defaults, hookspecs
from kb_core.errors import PluginError

ENTRY_POINT_GROUP = hookspecs.PROJECT
DISABLE_ENV = "MTUS_DISABLE_PLUGINS"  # comma-separated plugin names
CORE_PLUGIN = "kb_core"


def package_version() -> str:
    try:
        return dist_version("mtus-kb")
    except Exception:  # running from a source tree without an install
        return "0+unknown"


@dataclass(frozen=True, slots=True)
class PluginRecord:
    name: str
    version: str
    module: str
    distribution: str | None


def disabled_from_env() -> frozenset[str]:
    return frozenset(n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip())


def build_manager(
    disable: Iterable[str] = (), extra_plugins: Iterable[tuple[str, object]] = (), entry_points_too: bool = True
) -> tuple[pluggy.PluginManager, dict[str, PluginRecord]]:
    """Register kb_core's defaults, the installed entry points (minus ``disable``) and
    ``extra_plugins`` (``(name, module_or_object)``, for tests and embedding tools).

    Raises:
        PluginError: a plugin that cannot be imported, has a misspelled ``mtus_`` hook,
            a hook with wrong arguments, or needs another kb_core version.
    """
    blocked = set(disable) | disabled_from_env()
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    records: dict[str, PluginRecord] = {}

    def register(name: str, plugin: object, version: str, dist: str | None) -> None:
        if name in records:
            raise PluginError(name, f"two plugins are named '{name}' ({records[name].module} and {_module_of(plugin)})", "rename one entry point")
        try:
            pm.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(name, f"invalid hook implementation: {exc}", "match the signatures in kb_core/hookspecs.py") from None
        except ValueError as exc:
            raise PluginError(name, str(exc)) from None
        records[name] = PluginRecord(name, version, _module_of(plugin), dist)

    register(CORE_PLUGIN, _defaults, package_version(), "mtus-kb")
    if entry_points_too:
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if ep.name in blocked:
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                raise PluginError(ep.name, f"cannot be imported ({ep.value}): {type(exc).__name__}: {exc}", f"fix the plugin or disable it with {DISABLE_ENV}={ep.name}") from None
            dist = ep.dist
            register(ep.name, plugin, dist.version if dist else "0+unknown", dist.name if dist else None)
    for name, plugin in extra_plugins:
        if name not in blocked:
            register(name, plugin, str(getattr(plugin, "__version__", "0+local")), None)

    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        name = pm.get_name(exc.plugin) or _module_of(exc.plugin)
        raise PluginError(name, str(exc), "rename the function to a hook in kb_core/hookspecs.py (mtus_...)") from None
    _check_core_requirements(pm, records)
    return pm, records


def _check_core_requirements(pm: pluggy.PluginManager, records: dict[str, PluginRecord]) -> None:
    for name, info in call_each(pm, "mtus_plugin_info"):
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


def call_each(pm: pluggy.PluginManager, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
    """Call every implementation of ``hook`` separately: ``[(plugin name, result)]``.

    Order is by plugin name (never registration order), so results are reproducible.
    Exceptions become :class:`PluginError` naming the plugin.
    """
    caller = getattr(pm.hook, hook)
    out = []
    for impl in sorted(caller.get_hookimpls(), key=lambda i: i.plugin_name):
        func: Callable[..., Any] = impl.function
        try:
            out.append((impl.plugin_name, func(**{k: kwargs[k] for k in impl.argnames})))
        except Exception as exc:
            raise PluginError(impl.plugin_name, f"{hook} raised {type(exc).__name__}: {exc}") from exc
    return out


def _module_of(plugin: object) -> str:
    return getattr(plugin, "__name__", type(plugin).__name__)
