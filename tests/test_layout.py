"""The package's shape: one-way imports, light packages, one arm catalogue, no private reach.

These guard the layout ``docs/design.md`` describes; each fails on the flat layout this
replaced (six import cycles, seven arm lists, private helpers imported across modules).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from advisor.catalog import CATALOG, arms_of_kind, workflow_pairs

PACKAGE = Path(__file__).resolve().parents[1] / "advisor"
SUBPACKAGES = sorted(
    p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()
)


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _runtime_imports(tree: ast.AST):
    """Import nodes that run (module level or inside functions), not ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if _is_type_checking(node):
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def import_graph() -> dict[str, set[str]]:
    """Module -> the advisor modules it imports (a package's ``__init__`` counts as the
    package; the implicit parent-package import Python adds is not an edge)."""
    mods = _modules()

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        for node in _runtime_imports(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [resolve(a.name) for a in node.names if a.name.startswith("advisor")]
            elif node.level == 0 and node.module and node.module.startswith("advisor"):
                targets = [
                    f"{node.module}.{a.name}"
                    if f"{node.module}.{a.name}" in mods
                    else resolve(node.module)
                    for a in node.names
                ]
            else:
                targets = []
            graph[mod].update(t for t in targets if t and t != mod)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_cycle_finder_finds_a_cycle():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_anywhere_in_the_package():
    assert find_cycles(import_graph()) == []


def test_each_part_of_the_mission_has_a_subpackage():
    assert set(SUBPACKAGES) >= {
        "decide", "memory", "data", "retrieval", "models", "finetune", "evaluation", "pilot",
        "report", "cli", "ui",
    }  # fmt: skip


@pytest.mark.parametrize("package", [p for p in SUBPACKAGES if p != "ui"])
def test_every_subpackage_imports_without_torch(package):
    code = f"import advisor.{package}, sys; assert 'torch' not in sys.modules, 'torch'"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("package", ["decide", "memory"])
def test_decision_and_memory_math_import_neither_the_pilot_nor_generators(package):
    code = (
        f"import advisor.{package}, sys; "
        "bad = [m for m in sys.modules if m.startswith(('advisor.pilot', 'advisor.finetune', "
        "'advisor.retrieval', 'transformers', 'peft'))]; assert not bad, bad"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_no_private_name_is_imported_from_another_module():
    offenders = []
    for mod, path in _modules().items():
        for node in _runtime_imports(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("advisor"):
                offenders += [
                    f"{mod} imports {node.module}.{a.name}"
                    for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")
                ]
    assert offenders == []


def test_every_catalogued_arm_is_registered_and_nothing_else():
    from advisor.pilot.arms import ARMS

    assert list(ARMS) == list(CATALOG)
    assert all(ARMS[n].kind == CATALOG[n].kind for n in ARMS)


def test_every_arm_list_in_the_product_names_catalogued_arms_only():
    from advisor.decide.costs import OPTIONS
    from advisor.decide.evidence import COMBINED_ARMS, FINETUNE_ARMS, PROMPTING_ARMS, RAG_ARMS
    from advisor.evaluation.failure_analysis import RAG_ARMS as RETRIEVAL_ARMS
    from advisor.finetune.export import promptfoo
    from advisor.pilot.results import WORKFLOW_PAIRS
    from advisor.report.charts import ARM_KIND
    from advisor.report.formatting import ARM_LABELS

    named = set(ARM_LABELS) | set(ARM_KIND) | set(RETRIEVAL_ARMS)
    named |= {a for o in OPTIONS for a in o.arms}
    named |= set(PROMPTING_ARMS + RAG_ARMS + FINETUNE_ARMS + COMBINED_ARMS)
    named |= {a for pair in WORKFLOW_PAIRS for a in pair}
    named |= set(promptfoo.PROMPT_ARMS + promptfoo.RAG_ARMS + promptfoo.LORA_ARMS)
    assert named <= set(CATALOG)
    assert set(ARM_LABELS) == set(CATALOG)


def test_workflow_comparisons_point_back_along_the_workflow():
    order = list(CATALOG)
    pairs = workflow_pairs()
    assert ("lora_rag", "lora") in pairs and ("bm25_rag", "few_shot") in pairs
    assert all(order.index(later) > order.index(earlier) for later, earlier in pairs)
    assert arms_of_kind("prompting") == ("zero_shot", "few_shot")
    with pytest.raises(ValueError, match="unknown arm kind"):
        arms_of_kind("hybrid")


def test_an_arm_outside_the_catalogue_cannot_be_registered():
    from advisor.pilot.arms import register_arm

    with pytest.raises(ValueError, match="not in advisor.catalog"):
        register_arm("hybrid_rag")


def test_no_module_is_over_the_400_line_guide():
    long = {
        str(p.relative_to(PACKAGE.parent)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert long == {}


def test_every_app_page_path_exists_and_is_routed():
    from advisor.ui import page_paths

    root = PACKAGE.parent
    assert [path for path, _, _ in page_paths.PAGES] == [
        page_paths.QUESTIONNAIRE,
        page_paths.DATA,
        page_paths.PILOT,
        page_paths.REPORT,
    ]
    assert all((root / path).is_file() for path, _, _ in page_paths.PAGES)
    assert "page_paths" in (root / "app.py").read_text()


def test_the_pilot_flags_default_to_the_settings_dataclass():
    """``advisor pilot`` with no options runs exactly ``PilotSettings(data, out)``."""
    from dataclasses import asdict

    from advisor.cli import build_parser
    from advisor.cli.pilot import settings_from_args
    from advisor.pilot.context import PilotSettings

    args = build_parser().parse_args(["pilot", "--data", "d.jsonl", "--out", "run"])
    from_flags = asdict(settings_from_args(args, "d.jsonl", "run", None))
    assert from_flags == asdict(PilotSettings(data="d.jsonl", out="run"))


def _documented(cls) -> list[str]:
    from dataclasses import fields

    return [f.name for f in fields(cls) if f.metadata.get("help")]


def test_the_pilot_flags_take_their_help_from_the_settings_dataclasses():
    """Each documented setting's flag shows the dataclass's own text and default."""
    from advisor.cli import build_parser
    from advisor.finetune.settings import LoraSettings
    from advisor.pilot.context import PilotSettings
    from advisor.settings_help import help_for

    parser = build_parser()
    pilot = parser._subparsers._group_actions[0].choices["pilot"]  # noqa: SLF001
    helps = {a.dest: a.help for a in pilot._actions}  # noqa: SLF001
    lora_flags = {"rank": "lora_rank", "epochs": "lora_epochs", "learning_rate": "lora_lr"}
    lora_flags |= {"max_steps": "lora_max_steps", "batch_size": "lora_batch_size"}
    lora_flags |= {"prompt_loss_weight": "prompt_loss_weight"}
    renamed = {"api_timeout_s": "api_timeout"}
    for name in _documented(PilotSettings):
        assert helps[renamed.get(name, name)] == help_for(PilotSettings, name), name
    for name, dest in lora_flags.items():
        assert helps[dest] == help_for(LoraSettings, name), name
    assert "(default 0.2)" in helps["test_size"]
    assert set(lora_flags) | {"alpha", "target_modules"} == set(_documented(LoraSettings))


def test_help_for_names_an_undocumented_setting():
    import pytest

    from advisor.pilot.context import PilotSettings
    from advisor.settings_help import help_for

    with pytest.raises(KeyError, match="has no help text"):
        help_for(PilotSettings, "chunk_words")
    with pytest.raises(KeyError, match="no setting"):
        help_for(PilotSettings, "nope")
