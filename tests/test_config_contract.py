"""The config contract: typed backends, one name per knob, every field described, all checked at load."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from cluster.config import ConfigError, load_config
from cluster.run_config import RunConfig
from eval.run.config import EvalConfig, HFBackend, ModelSpec, OpenAIBackend, VLLMBackend
from pipeline.backtranslate.config import BacktranslateConfig
from pipeline.config_rules import RENAMED
from pipeline.generate.config import GenerateConfig
from pipeline.jobs.resources import ActorPoolResources
from pipeline.teachers.config import (
    HFTeacherSpec,
    OpenAITeacherSpec,
    SymbolicTeacherConfig,
    TeacherConfig,
    VLLMOptions,
    VLLMTeacherSpec,
)
from pipeline.teachers.openai import OpenAITeacherConfig
from pipeline.teachers.registry import BUILDERS, build_teacher
from train.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
ROOTS = [RunConfig, GenerateConfig, BacktranslateConfig, TrainConfig, EvalConfig]
STANDALONE = {
    "generate_small.yaml": GenerateConfig,
    "backtranslate_small.yaml": BacktranslateConfig,
    "train_small.yaml": TrainConfig,
    "eval_small.yaml": EvalConfig,
}


def models_in(annotation: object) -> list[type[BaseModel]]:
    """The pydantic models an annotation can hold (through unions, Annotated, lists and dicts)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found += models_in(arg)
    return found


def reachable(roots: list[type[BaseModel]]) -> list[type[BaseModel]]:
    seen: list[type[BaseModel]] = []
    todo = list(roots)
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.append(model)
        for field in model.model_fields.values():
            todo += models_in(field.annotation)
    return seen


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def minimal_run(**extra) -> dict:
    return {"name": "t", "eval": {"benchmarks": [{"name": "gsm8k", "limit": 5}]}, **extra}


# ---------------------------------------------------------------------------- every field described


def test_the_walk_sees_the_union_members():
    models = reachable(ROOTS)
    for member in (SymbolicTeacherConfig, OpenAITeacherSpec, HFTeacherSpec, VLLMTeacherSpec, OpenAITeacherConfig,
                   VLLMOptions, HFBackend, VLLMBackend, OpenAIBackend, ActorPoolResources, ModelSpec):
        assert member in models, member


def test_every_config_field_has_a_description():
    missing = [
        f"{model.__module__}.{model.__qualname__}.{name}"
        for model in reachable(ROOTS)
        for name, field in model.model_fields.items()
        if not (field.description or "").strip()
    ]
    assert not missing, "fields without a description:\n" + "\n".join(missing)


def test_every_config_model_forbids_unknown_keys():
    lenient = [m.__qualname__ for m in reachable(ROOTS) if m.model_config.get("extra") != "forbid"]
    assert not lenient, f"models that accept unknown keys: {lenient}"


# ---------------------------------------------------------------------------- the teacher union


def test_teacher_kind_defaults_to_symbolic():
    adapter = TypeAdapter(TeacherConfig)
    assert isinstance(adapter.validate_python({}), SymbolicTeacherConfig)
    assert isinstance(GenerateConfig().teacher, SymbolicTeacherConfig)
    assert isinstance(GenerateConfig(teacher={"placement": "inline"}).teacher, SymbolicTeacherConfig)


def test_teacher_yaml_shape_picks_the_typed_spec():
    teacher = TypeAdapter(TeacherConfig).validate_python(
        {"kind": "vllm", "replicas": 2, "num_gpus_per_replica": 4,
         "options": {"model": "Qwen/Qwen2.5-72B-Instruct", "tensor_parallel_size": 4}}
    )
    assert isinstance(teacher, VLLMTeacherSpec)
    assert isinstance(teacher.options, VLLMOptions) and teacher.options.tensor_parallel_size == 4
    assert teacher.effective_placement() == "actors"
    hf = TypeAdapter(TeacherConfig).validate_python({"kind": "hf", "options": {"model": "smollm2", "max_tokens": 24}})
    assert isinstance(hf, HFTeacherSpec) and hf.options.max_tokens == 24 and hf.effective_placement() == "inline"


def test_an_unknown_teacher_kind_names_the_choices():
    with pytest.raises(ValidationError, match="symbolic, openai, hf, vllm"):
        GenerateConfig(teacher={"kind": "gpt"})


def test_a_typo_in_teacher_options_fails_at_load(tmp_path):
    path = write(tmp_path, {"teacher": {"kind": "openai", "options": {"model": "m", "max_concurency": 8}}})
    with pytest.raises(ConfigError) as info:
        load_config(path, GenerateConfig)
    assert "teacher.options.max_concurency" in str(info.value)
    assert "Extra inputs are not permitted" in str(info.value)


def test_a_typo_in_a_nested_teacher_fails_a_run_at_load(tmp_path):
    run = minimal_run(backtranslate={"translator": {"kind": "llm", "teacher": {"kind": "vllm", "options": {"model": "m", "tensor_paralel_size": 2}}}})
    with pytest.raises(ConfigError, match=r"backtranslate\.translator\.teacher\.options\.tensor_paralel_size"):
        load_config(write(tmp_path, run), RunConfig)
    symbolic = minimal_run(generate={"teacher": {"options": {"temperature": 0.5}}})
    with pytest.raises(ConfigError, match=r"generate\.teacher\.options\.temperature"):
        load_config(write(tmp_path, symbolic), RunConfig)


def test_missing_required_teacher_options_are_named(tmp_path):
    with pytest.raises(ConfigError, match=r"teacher\.options\.model: Field required"):
        load_config(write(tmp_path, {"teacher": {"kind": "vllm", "options": {}}}), GenerateConfig)


def test_vllm_engine_kwargs_cannot_repeat_an_option():
    with pytest.raises(ValidationError, match="max_model_len"):
        VLLMOptions(model="m", engine_kwargs={"max_model_len": 4096})
    assert VLLMOptions(model="m", engine_kwargs={"max_num_seqs": 64}).engine_kwargs == {"max_num_seqs": 64}


# ---------------------------------------------------------------------------- the registry


def test_the_registry_has_one_builder_per_kind():
    kinds = {typing.get_args(m.model_fields["kind"].annotation)[0] for m in models_in(TeacherConfig)}
    assert kinds == set(BUILDERS) == {"symbolic", "openai", "hf", "vllm"}


def test_build_teacher_symbolic_and_hf():
    symbolic = build_teacher(SymbolicTeacherConfig())
    assert symbolic.name
    hf = build_teacher(TypeAdapter(TeacherConfig).validate_python({"kind": "hf", "options": {"num_threads": 1, "max_tokens": 7}}))
    assert hf.defaults.max_tokens == 7 and hf.num_threads == 1  # not loaded: nothing heavy happens here


async def test_build_teacher_splits_openai_rate_limits_among_copies():
    spec = OpenAITeacherSpec(options=OpenAITeacherConfig(model="m", requests_per_minute=100, tokens_per_minute=1000, max_concurrency=64))
    teacher = build_teacher(spec, share=4)
    assert (teacher.config.requests_per_minute, teacher.config.tokens_per_minute, teacher.config.max_concurrency) == (25, 250, 16)
    assert spec.options.max_concurrency == 64  # the config itself is left alone
    await teacher.close()


# ---------------------------------------------------------------------------- eval backends


def test_model_spec_backend_shapes():
    assert isinstance(ModelSpec(name="a").backend, HFBackend)
    assert isinstance(ModelSpec(name="a", backend="vllm").backend, VLLMBackend)
    spec = ModelSpec(name="a", model="Qwen/Q", adapter="x", backend={"kind": "vllm", "num_gpus": 2, "max_model_len": 8192})
    assert isinstance(spec.backend, VLLMOptions)  # the teacher's vLLM options, one code path
    assert (spec.backend.model, spec.backend.num_gpus, spec.backend.max_model_len) == ("Qwen/Q", 2, 8192)
    hf = ModelSpec(name="a", backend={"batch_size": 20, "num_threads": 2})
    assert isinstance(hf.backend, HFBackend) and hf.backend.batch_size == 20
    openai = ModelSpec(name="a", model="served", backend={"kind": "openai", "base_url": "http://127.0.0.1:1/v1"})
    assert isinstance(openai.backend, OpenAITeacherConfig) and openai.backend.model == "served"
    assert ModelSpec.model_validate_json(spec.model_dump_json()) == spec


def test_model_spec_rejects_what_cannot_run():
    with pytest.raises(ValidationError, match="cannot load adapters"):
        ModelSpec(name="a", adapter="x", backend="openai")
    with pytest.raises(ValidationError, match="name the model once"):
        ModelSpec(name="a", model="m1", backend={"kind": "vllm", "model": "m2"})
    with pytest.raises(ValidationError, match="batch_sise"):
        ModelSpec(name="a", backend={"kind": "hf", "batch_sise": 3})
    with pytest.raises(ValidationError, match="hf, vllm, openai"):
        ModelSpec(name="a", backend="tgi")


def test_eval_resources_keep_the_eval_defaults():
    config = EvalConfig(output_dir="o", models=[{"name": "m"}], benchmarks=[{"name": "gsm8k"}], resources={"batch_size": 8})
    assert isinstance(config.resources, ActorPoolResources)
    assert (config.resources.batch_size, config.resources.num_cpus_per_actor) == (8, 1.0)


def test_job_resource_defaults_survive_a_partial_section():
    generate = GenerateConfig(resources={"batch_size": 8})
    assert (generate.resources.num_actors, generate.resources.concurrency_per_actor, generate.resources.batch_size) == (2, 32, 8)
    assert (GenerateConfig().resources.num_actors, GenerateConfig().resources.concurrency_per_actor) == (2, 32)
    back = BacktranslateConfig(traces_dir="t", output_dir="o", resources={"num_actors": 3})
    assert (back.resources.batch_size, back.resources.concurrency_per_actor, back.resources.num_actors) == (32, 8, 3)


# ---------------------------------------------------------------------------- renamed keys


OLD_KEYS = [
    # (config, section at the top of a run, old key as --set, new path in the message)
    (GenerateConfig, "generate", "resources.grader_timeout_s=5", "grader_timeout_s"),
    (GenerateConfig, "generate", "problems.allow_hub=true", "allow_hub"),
    (GenerateConfig, "generate", "clean.allow_hub=true", "allow_hub"),
    (BacktranslateConfig, "backtranslate", "filter_mode=relaxed", "filter.mode"),
    (BacktranslateConfig, "backtranslate", "judge.timeout_s=5", "grader_timeout_s"),
    (BacktranslateConfig, "backtranslate", "resources.concurrency=4", "resources.concurrency_per_actor"),
    (BacktranslateConfig, "backtranslate", "system_prompt=Be careful.", "prompt.system"),
    (EvalConfig, "eval", "resources.grader_timeout_s=5", "grader_timeout_s"),
    (EvalConfig, "eval", "resources.torch_threads=2", "models[].backend.num_threads"),
]


def test_the_cases_cover_the_rename_table():
    covered = {(section, setting.partition("=")[0]) for _, section, setting, _ in OLD_KEYS} | {("eval", "models[].options")}
    assert covered == {(section, old) for section, table in RENAMED.items() for old in table}


@pytest.mark.parametrize(("model", "section", "setting", "new"), OLD_KEYS)
def test_an_old_key_names_its_new_name_in_a_run(tmp_path, model, section, setting, new):
    path = write(tmp_path, minimal_run())
    old = setting.partition("=")[0]
    with pytest.raises(ConfigError) as info:
        load_config(path, RunConfig, [f"{section}.{setting}"])
    assert f"{section}.{old} was renamed: use {section}.{new}" in str(info.value)


@pytest.mark.parametrize(("model", "section", "setting", "new"), OLD_KEYS)
def test_an_old_key_names_its_new_name_in_a_stage_config(tmp_path, model, section, setting, new):
    base = {
        GenerateConfig: {},
        BacktranslateConfig: {"traces_dir": "t", "output_dir": "o"},
        EvalConfig: {"output_dir": "o", "models": [{"name": "m"}], "benchmarks": [{"name": "gsm8k"}]},
    }[model]
    old = setting.partition("=")[0]
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, base), model, [setting])
    assert f"{old} was renamed: use {new}" in str(info.value)
    with pytest.raises(ValidationError, match="was renamed"):  # without the loader too
        model.model_validate(yaml.safe_load(write(tmp_path, base).read_text()) | _nested(setting))


def _nested(setting: str) -> dict:
    key, _, raw = setting.partition("=")
    data: dict = {}
    node = data
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = yaml.safe_load(raw)
    return data


def test_old_model_options_name_the_backend(tmp_path):
    run = minimal_run(eval={"benchmarks": [{"name": "gsm8k"}],
                            "models": [{"name": "a"}, {"name": "b", "backend": "hf", "options": {"batch_size": 40}}]})
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, run), RunConfig)
    assert "eval.models[1].options was renamed: use eval.models[1].backend" in str(info.value)


# ---------------------------------------------------------------------------- shipped configs


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "configs").glob("*.yaml")))
def test_shipped_configs_validate(name):
    model = STANDALONE.get(name, RunConfig)
    load_config(ROOT / "configs" / name, model)


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "tests" / "cluster").glob("*.yaml")))
def test_test_run_configs_validate(name):
    load_config(ROOT / "tests" / "cluster" / name, RunConfig)


def test_shipped_configs_keep_their_settings():
    paper = load_config(ROOT / "configs" / "paper.yaml", RunConfig)
    assert paper.generate.allow_hub and paper.eval.allow_hub
    assert paper.backtranslate.resources.concurrency_per_actor == 32 and paper.backtranslate.filter.mode == "strict"
    student = {m.name: m for m in paper.eval.models}["student"]
    assert isinstance(student.backend, VLLMBackend) and student.backend.max_model_len == 4096 and student.backend.num_gpus == 1
    demo = load_config(ROOT / "configs" / "demo.yaml", RunConfig)
    assert [m.backend.num_threads for m in demo.eval.models] == [2, 2]
    assert {m.name: m.adapter for m in demo.eval.models} == {"base": None, "student": "runs/demo/train/adapter"}
    small = load_config(ROOT / "configs" / "backtranslate_small.yaml", BacktranslateConfig)
    assert (small.grader_timeout_s, small.resources.concurrency_per_actor, small.resources.batch_size) == (10, 8, 32)


def test_readme_snippets_use_current_names():
    readme = (ROOT / "README.md").read_text()
    for section, table in RENAMED.items():
        for old in table:
            if "[" in old:
                continue
            assert f"{old}=" not in readme, f"README still sets {section}.{old} with --set"
            if "." not in old:
                assert f"{old}:" not in readme, f"README still uses {section}.{old}"
