"""Issue 10, cold start: what replaced the slow parts gives the answers of what it replaced.

- entry points and versions are importlib.metadata's answer, kept on disk per search path;
- ``@record`` classes behave as ``@dataclass(frozen=True, slots=True)`` classes;
- module plugins' hooks are found as pluggy finds them;
- the guideline cache key changes with kb_core's sources;
- a warm cold start imports none of the modules it no longer needs.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.metadata
import inspect
import os
import pickle
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pluggy
import pytest

import kb_core
from kb_core import _cache, _plugins, _records, hookimpl
from kb_core._records import record

# ---------------------------------------------------------------- entry points and versions


def _dist_info(where: Path, folder: str, name: str, version: str, entry_points: str | None) -> None:
    path = where / folder
    path.mkdir(parents=True)
    (path / "METADATA").write_text(f"Metadata-Version: 2.1\nname: {name}\nVersion: {version}\nSummary: x\n\nName: not-this\n")
    if entry_points is not None:
        (path / "entry_points.txt").write_text(entry_points)


def _seen(points: Any) -> list[tuple[str, str, str, str | None, str | None]]:
    return [(ep.name, ep.value, ep.group, ep.dist.name, ep.dist.version) for ep in points]


@pytest.fixture
def fake_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A sys.path of three directories with awkward but valid installed distributions, and a
    cache directory of the test's own."""
    first, second, third = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    _dist_info(first, "Demo_Plugin-1.0.dist-info", "Demo_Plugin", "1.0", "# comment\n[mtus]\ndemo = demo_mod:plugin [extra]\n\n[console_scripts]\nx = y:z\n")
    _dist_info(first, "other.pkg-2.0.dist-info", "other.pkg", "2.0", "[mtus]\n  other  =  other_mod  \n[mtus.more]\nnot = this\n")
    _dist_info(first, "no_entry_points-1.dist-info", "no-entry-points", "1", None)
    _dist_info(second, "demo.plugin-9.dist-info", "demo.plugin", "9", "[mtus]\nshadowed = gone\n")  # the same name once normalized: not seen
    _dist_info(second, "legacy-0.5.egg-info", "legacy", "0.5", "[mtus]\nlegacy = legacy_mod\n")
    _dist_info(third, "late-3.dist-info", "late", "3", "[mtus]\nlate = late_mod:obj.attr\n[pytest11]\np = q\n")
    paths = [str(first), str(second), str(tmp_path / "missing"), str(third)]
    monkeypatch.setattr(sys, "path", paths)
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    monkeypatch.setenv(_cache.CACHE_ENV, str(cache))
    return paths


def _listings(fake_path: list[str]) -> list[Path]:
    return sorted((Path(fake_path[0]).parent / "cache").glob("installed-*.json"))


def test_entry_points_are_those_importlib_metadata_finds_and_are_kept_on_disk(fake_path: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _seen(importlib.metadata.entry_points(group="mtus"))
    assert len(expected) == 4 and _seen(_plugins.entry_points(group="mtus")) == expected
    for group in ("console_scripts", "pytest11", "mtus.more", "nothing"):  # other groups: asked directly
        assert [(ep.name, ep.value) for ep in _plugins.entry_points(group=group)] == [(ep.name, ep.value) for ep in importlib.metadata.entry_points(group=group)]
    assert len(_listings(fake_path)) == 1
    # A new process (the in-process memo forgotten) reads the file, not importlib.metadata.
    monkeypatch.setattr(_plugins, "_installed_seen", {})
    monkeypatch.setattr(_plugins, "_from_metadata", lambda: pytest.fail("importlib.metadata asked although the listing is on disk"))
    assert _seen(_plugins.entry_points(group="mtus")) == expected


def test_installing_a_distribution_gives_a_new_listing(fake_path: list[str]) -> None:
    assert len(_plugins.entry_points(group="mtus")) == 4
    _dist_info(Path(fake_path[3]), "newer-1.dist-info", "newer", "1", "[mtus]\nnewer = newer_mod\n")
    assert ("newer", "newer_mod") in [(ep.name, ep.value) for ep in _plugins.entry_points(group="mtus")]
    assert len(_listings(fake_path)) == 2


def test_a_corrupt_or_foreign_listing_is_not_believed(fake_path: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _seen(_plugins.entry_points(group="mtus"))
    (listing,) = _listings(fake_path)
    for text in ("{not json", '{"key": ["another"], "core_version": null, "points": [["evil", "os:system", null]]}'):
        listing.write_text(text)
        monkeypatch.setattr(_plugins, "_installed_seen", {})
        assert _seen(_plugins.entry_points(group="mtus")) == expected
    if hasattr(os, "getuid"):  # a listing others may write could name any module to import
        listing.write_text(listing.read_text().replace("demo_mod", "evil_mod"))
        listing.chmod(0o666)
        monkeypatch.setattr(_plugins, "_installed_seen", {})
        assert _seen(_plugins.entry_points(group="mtus")) == expected


def test_the_cache_turned_off_or_a_finder_of_its_own_asks_importlib_metadata(fake_path: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_cache.CACHE_ENV, "off")
    expected = _seen(importlib.metadata.entry_points(group="mtus"))
    assert _seen(_plugins.entry_points(group="mtus")) == expected and not _listings(fake_path)

    class Finder:
        @staticmethod
        def find_distributions(context: Any = None) -> list[Any]:
            return []

    monkeypatch.setenv(_cache.CACHE_ENV, str(Path(fake_path[0]).parent / "cache"))
    monkeypatch.setattr(sys, "meta_path", [*sys.meta_path, Finder])
    assert _plugins._search_path_key() is None
    assert _seen(_plugins.entry_points(group="mtus")) == expected and not _listings(fake_path)


def test_a_search_path_entry_that_is_not_text_is_keyed_by_its_repr(fake_path: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", [*fake_path, Path(fake_path[0])])  # a Path: importlib.metadata accepts it
    expected = [(ep.name, ep.value) for ep in importlib.metadata.entry_points(group="mtus")]
    assert [(ep.name, ep.value) for ep in _plugins.entry_points(group="mtus")] == expected
    assert len(_listings(fake_path)) == 1


def test_entry_points_of_this_environment_are_those_importlib_metadata_finds() -> None:
    ours = sorted(_seen(_plugins.entry_points(group="mtus")))
    assert ours == sorted(_seen(importlib.metadata.entry_points(group="mtus")))
    assert kb_core.__version__ == importlib.metadata.version("mtus-kb")


def test_an_entry_point_loads_what_importlib_metadata_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ep_target_mod.py").write_text("class obj:\n    attr = 'found'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for value in ("ep_target_mod", "ep_target_mod:obj.attr", "ep_target_mod : obj [extra]"):
        ours = _plugins.InstalledEntryPoint("x", value, "mtus").load()
        assert ours is importlib.metadata.EntryPoint("x", value, "mtus").load(), value
    with pytest.raises(ValueError, match="not 'module'"):
        _plugins.InstalledEntryPoint("x", "not a module", "mtus").load()


# ---------------------------------------------------------------- records behave as frozen dataclasses


def _record_classes() -> list[type]:
    import kb_core._case
    import kb_core._kb
    import kb_core._loader
    import kb_core._model
    import kb_core._yaml

    modules = [kb_core._case, kb_core._kb, kb_core._loader, kb_core._model, kb_core._plugins, kb_core._yaml]
    found = {value for module in modules for value in vars(module).values() if isinstance(value, type) and issubclass(value, _records.Record) and value is not _records.Record}
    return sorted(found, key=lambda c: (c.__module__, c.__qualname__))


def _twin(cls: type) -> type:
    """The same class as ``@dataclass(frozen=True, slots=True)`` would make it."""
    body: dict[str, Any] = {"__annotations__": dict(cls.__annotations__), "__module__": cls.__module__, "__qualname__": cls.__qualname__}
    if cls.__doc__ and not cls.__doc__.startswith(cls.__name__ + "("):
        body["__doc__"] = cls.__doc__
    for f in dataclasses.fields(cls):
        body[f.name] = dataclasses.field(default=f.default, default_factory=f.default_factory, init=f.init, repr=f.repr, compare=f.compare, hash=f.hash)
    return dataclasses.dataclass(frozen=True, slots=True)(type(cls.__name__, (), body))


def _outcome(action: Any) -> Any:
    try:
        return ("value", action())
    except Exception as exc:  # the same error, with the same words
        return (type(exc).__name__, str(exc))


def test_there_are_records_to_compare() -> None:
    names = {c.__name__ for c in _record_classes()}
    assert {"Criterion", "Citation", "Receipt", "Determination", "Case", "Findings", "PluginRecord", "GuidelineFile", "Limits"} <= names


@pytest.mark.parametrize("cls", _record_classes(), ids=lambda c: c.__qualname__)
def test_a_record_behaves_as_a_frozen_dataclass(cls: type) -> None:
    twin = _twin(cls)
    assert dataclasses.is_dataclass(cls) and cls.__slots__ == twin.__slots__ and cls.__match_args__ == twin.__match_args__
    assert str(inspect.signature(cls)) == str(inspect.signature(twin))
    assert cls.__doc__ == twin.__doc__
    every = dataclasses.fields(cls)
    required = [f for f in every if f.init and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    args = [f"value {i}" for i, _ in enumerate(required)]
    ours, theirs = cls(*args), twin(*args)
    shown = repr(theirs).replace(twin.__qualname__, cls.__qualname__, 1)
    assert repr(ours) == shown
    for f in every:
        assert getattr(ours, f.name) == getattr(theirs, f.name), f.name
    assert ours == cls(*args) and ours != object() and (ours == theirs) is False
    assert _outcome(lambda: hash(ours)) == _outcome(lambda: hash(theirs))
    name = every[0].name
    assert _outcome(lambda: setattr(ours, name, 1)) == _outcome(lambda: setattr(theirs, name, 1))
    assert _outcome(lambda: delattr(ours, name)) == _outcome(lambda: delattr(theirs, name))
    changed = dataclasses.replace(ours, **{name: "changed"}) if every[0].init else ours
    assert repr(changed) == repr(dataclasses.replace(theirs, **{name: "changed"}) if every[0].init else theirs).replace(twin.__qualname__, cls.__qualname__, 1)
    for again in (pickle.loads(pickle.dumps(ours)), copy.copy(ours), copy.deepcopy(ours)):
        assert type(again) is cls and again == ours
        assert [getattr(again, f.name) for f in every] == [getattr(ours, f.name) for f in every]
    assert _outcome(lambda: cls(*args, "too many", *(["x"] * len(every))))[0] == "TypeError"
    if required:  # the same complaint, naming the class's own __init__
        assert _outcome(lambda: cls()) == _outcome(lambda: twin())


def test_a_record_keeps_fields_set_outside_init_when_copied() -> None:
    case = kb_core.load_case(Path(__file__).parent.parent / "examples" / "seed-work-conditioning.yaml")
    assert case._checked  # set by parse_case, not by __init__
    again = copy.copy(case)
    assert again == case and again._checked and again._prior_memo is case._prior_memo  # as a dataclass's copy
    assert not dataclasses.replace(case)._checked  # made by __init__: checked again before evaluation


def test_record_rejects_what_a_dataclass_rejects() -> None:
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):

        @record
        class Bad:
            a: int = 1
            b: int


# ---------------------------------------------------------------- hooks found as pluggy finds them


def test_module_plugins_hooks_are_found_as_pluggy_finds_them() -> None:
    kb = kb_core.load()
    ours = _plugins._PluginManager("mtus")
    theirs = pluggy.PluginManager("mtus")
    odd = types.ModuleType("odd_plugin")

    class Holder:
        @staticmethod
        @hookimpl
        def mtus_plugin_info() -> None:
            return None

        @hookimpl
        def mtus_guideline_files(self) -> list[Any]:
            return []

    odd.static = Holder.__dict__["mtus_plugin_info"]  # type: ignore[attr-defined]
    odd.bound = Holder().mtus_guideline_files  # type: ignore[attr-defined]
    odd.plain = hookimpl(lambda: None)  # type: ignore[attr-defined]
    odd.number = 3  # type: ignore[attr-defined]
    modules = [kb._manager.get_plugin(name) for name in kb.plugins] + [odd, Holder, Holder()]
    compared = 0
    for module in modules:
        for name in dir(module):
            assert ours.parse_hookimpl_opts(module, name) == theirs.parse_hookimpl_opts(module, name), (module, name)
            compared += 1
    assert compared > 300


# ---------------------------------------------------------------- cache key and what a cold start imports


def test_cache_key_changes_with_kb_core_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    core = tmp_path / "kb_core"
    (core / "schemas").mkdir(parents=True)
    (core / "_loader.py").write_text("x = 1\n")
    (core / "schemas" / "case.schema.json").write_text("{}")
    monkeypatch.setattr(_cache, "_CORE", str(core))
    contents = [("kb_core", "kb_guidelines/common.yaml", b"sources: {}\n")]
    first = _cache.cache_key(contents, {"kb_core": "0.1.0"})
    assert _cache.cache_key(contents, {"kb_core": "0.1.0"}) == first
    (core / "_loader.py").write_text("x = 22\n")  # another size
    second = _cache.cache_key(contents, {"kb_core": "0.1.0"})
    os.utime(core / "_loader.py", ns=(1, 1))  # same size, another modification time
    third = _cache.cache_key(contents, {"kb_core": "0.1.0"})
    (core / "schemas" / "case.schema.json").write_text("{ }")
    fourth = _cache.cache_key(contents, {"kb_core": "0.1.0"})
    (core / "new_module.py").write_text("")
    fifth = _cache.cache_key(contents, {"kb_core": "0.1.0"})
    assert len({first, second, third, fourth, fifth}) == 5
    assert _cache.cache_key([*contents[:0], ("kb_core", "kb_guidelines/common.yaml", b"sources: {} \n")], {"kb_core": "0.1.0"}) != fifth


def test_a_warm_cold_start_imports_only_what_it_needs(tmp_path: Path) -> None:
    env = {**os.environ, _cache.CACHE_ENV: str(tmp_path / "cache")}
    env.pop("MTUS_DISABLE_PLUGINS", None)
    code = "import kb_core, sys; kb_core.load(); print(' '.join(sorted(sys.modules)))"
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=tmp_path, capture_output=True)  # builds the cache
    loaded = set(subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=tmp_path, capture_output=True, text=True).stdout.split())
    assert "kb_plugins.work_conditioning" in loaded
    needless = {
        "importlib.metadata", "importlib.resources", "email", "zipfile", "tempfile", "textwrap", "difflib", "yaml",
        "jsonschema", "networkx", "threading", "packaging", "kb_core._render", "kb_core.graph",
    }
    assert loaded & needless == set()


def test_the_guideline_set_behaves_as_the_dataclass_it_was() -> None:
    from kb_core._loader import GuidelineSet

    body: dict[str, Any] = {"__annotations__": dict(GuidelineSet.__annotations__), "__module__": GuidelineSet.__module__, "__qualname__": "GuidelineSet"}
    for f in dataclasses.fields(GuidelineSet):
        body[f.name] = dataclasses.field(default=f.default, default_factory=f.default_factory)
    twin = dataclasses.dataclass(type("GuidelineSet", (), body))
    names = [f.name for f in dataclasses.fields(GuidelineSet)]
    assert list(inspect.signature(GuidelineSet).parameters) == names == list(inspect.signature(twin).parameters)
    ours, theirs = GuidelineSet(), twin()
    assert repr(ours) == repr(theirs) and [getattr(ours, n) for n in names] == [getattr(theirs, n) for n in names]
    assert GuidelineSet() == ours and GuidelineSet().files is not ours.files  # a new container each time
    ours.kb_version = "1.0"
    assert ours != GuidelineSet() and _outcome(lambda: hash(ours))[0] == _outcome(lambda: hash(theirs))[0] == "TypeError"
    full = {n: getattr(kb_core.load().guidelines, n) for n in names}
    assert GuidelineSet(**full) == kb_core.load().guidelines
