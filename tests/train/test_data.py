"""SFT data: assistant-only labels (token by token), no silent truncation, packing without cross-attention."""

from __future__ import annotations

import itertools
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from pipeline.runtime.models import load_model_and_tokenizer, smollm2_dir
from train.data import (
    IGNORE_INDEX,
    DropReason,
    ExampleError,
    TokenizedExample,
    collate,
    input_files,
    normalise_messages,
    pack_examples,
    tokenize_conversation,
    tokenize_rows,
)

SYSTEM = "You are a careful mathematician."
CONVERSATION = [
    {"role": "system", "content": SYSTEM},
    {"role": "user", "content": "Solve $x^2 - 5x + 6 = 0$. What is the larger root?"},
    {"role": "assistant", "content": "Factor: $(x-2)(x-3)=0$, so the larger root is \\boxed{3}."},
    {"role": "user", "content": "And the smaller one?"},
    {"role": "assistant", "content": "The smaller root is \\boxed{2}."},
]


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smollm2_dir())


def _segments(messages):
    """SmolLM2's ChatML by hand, each piece flagged with whether the student must write it."""
    out = []
    for m in messages:
        if m["role"] == "assistant":
            out += [("<|im_start|>assistant\n", False), (m["content"] + "<|im_end|>", True), ("\n", False)]
        else:
            out.append((f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n", False))
    return out


def test_labels_are_exactly_the_assistant_tokens(tokenizer):
    example = tokenize_conversation(CONVERSATION, tokenizer, max_seq_len=4096)
    expected_ids, expected_labels = [], []
    for text, supervised in _segments(CONVERSATION):
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        expected_ids += ids
        expected_labels += ids if supervised else [IGNORE_INDEX] * len(ids)
    assert example.input_ids == expected_ids
    for position, (label, want) in enumerate(zip(example.labels, expected_labels, strict=True)):
        assert label == want, f"token {position} {tokenizer.decode([example.input_ids[position]])!r}"
    # Both answers end with the end token in the loss (or the student never stops).
    supervised = [t for t, lab in zip(example.input_ids, example.labels, strict=True) if lab != IGNORE_INDEX]
    assert supervised.count(tokenizer.eos_token_id) == 2 and supervised[-1] == tokenizer.eos_token_id
    assert tokenizer.decode(supervised).startswith("Factor:")


def test_default_system_prompt_is_never_supervised(tokenizer):
    messages = CONVERSATION[1:3]
    example = tokenize_conversation(messages, tokenizer, max_seq_len=4096)
    text = tokenizer.decode(example.input_ids)
    assert "You are a helpful AI assistant named SmolLM" in text  # the template inserted it
    supervised = tokenizer.decode([t for t, lab in zip(example.input_ids, example.labels, strict=True) if lab != IGNORE_INDEX])
    assert supervised == CONVERSATION[2]["content"] + "<|im_end|>"


def test_too_long_is_dropped_never_truncated(tokenizer):
    full = tokenize_conversation(CONVERSATION, tokenizer, max_seq_len=4096)
    assert tokenize_conversation(CONVERSATION, tokenizer, max_seq_len=len(full.input_ids)).input_ids == full.input_ids
    with pytest.raises(ExampleError) as info:
        tokenize_conversation(CONVERSATION, tokenizer, max_seq_len=len(full.input_ids) - 1)
    assert info.value.reason == DropReason.TOO_LONG


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ([], DropReason.INVALID_MESSAGES),
        ("not json", DropReason.INVALID_MESSAGES),
        ([{"role": "robot", "content": "hi"}], DropReason.INVALID_MESSAGES),
        ([{"role": "assistant", "content": None}], DropReason.INVALID_MESSAGES),
        ([{"role": "user", "content": "hi"}], DropReason.NO_ASSISTANT_TURN),
    ],
)
def test_unusable_rows_are_rejected_with_a_reason(tokenizer, raw, reason):
    kept, rejects = tokenize_rows([{"id": "r1", "messages": raw}], tokenizer, max_seq_len=512)
    assert kept == []
    assert [(r["id"], r["stage"], r["reason"]) for r in rejects] == [("r1", "train", reason)]


def test_every_row_is_kept_or_rejected(tokenizer):
    rows = [
        {"id": "a", "messages": CONVERSATION},
        {"id": "b", "messages": json.dumps(CONVERSATION[1:3])},  # JSON text is accepted too
        {"id": "c", "messages": [*CONVERSATION, {"role": "user", "content": "x " * 600}, {"role": "assistant", "content": "y"}]},
        {"messages": [{"role": "user", "content": "no answer"}]},
    ]
    kept, rejects = tokenize_rows(rows, tokenizer, max_seq_len=256)
    assert [r["id"] for r in kept] == ["a", "b"]
    assert {r["id"]: r["reason"] for r in rejects} == {"c": "too_long", "row-3": "no_assistant_turn"}
    assert all(r["num_tokens"] == len(r["input_ids"]) == len(r["labels"]) for r in kept)
    assert normalise_messages(rows[1]["messages"]) == CONVERSATION[1:3]


def test_packing_keeps_every_example_whole():
    examples = [TokenizedExample(list(range(n)), [IGNORE_INDEX] * (n - 1) + [n]) for n in (5, 9, 3, 7, 6)]
    packs = pack_examples(examples, max_seq_len=12)
    assert all(len(p.input_ids) <= 12 for p in packs)
    assert sum(p.num_examples for p in packs) == 5 and len(packs) == 3
    segments = []  # cut every pack where its position ids restart at 0
    for p in packs:
        starts = [i for i, pos in enumerate(p.position_ids) if pos == 0] + [len(p.input_ids)]
        segments += [(p.input_ids[s:e], p.labels[s:e]) for s, e in itertools.pairwise(starts)]
    assert sorted(segments) == sorted((e.input_ids, e.labels) for e in examples)
    with pytest.raises(ValueError, match="does not fit"):
        pack_examples([TokenizedExample([1] * 20, [1] * 20)], max_seq_len=12)


def test_packed_logits_equal_separate_logits(tokenizer):
    """No attention across packed examples: each one's logits are as if it were alone."""
    model, _ = load_model_and_tokenizer("smollm2")
    conversations = [CONVERSATION[1:3], CONVERSATION, [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "\\boxed{4}"}]]
    examples = [tokenize_conversation(c, tokenizer, 512) for c in conversations]
    packs = pack_examples(examples, max_seq_len=512)
    assert len(packs) == 1 and packs[0].num_examples == 3
    # A second, shorter pack makes the batch pad the first one's neighbour.
    other = pack_examples(examples[2:], max_seq_len=512)[0]
    rows = [{"input_ids": p.input_ids, "labels": p.labels, "position_ids": p.position_ids} for p in (packs[0], other)]
    batch = collate(rows, tokenizer.pad_token_id)
    assert "attention_mask" not in batch and batch["labels"][1, len(other.input_ids):].eq(IGNORE_INDEX).all()
    with torch.inference_mode():
        # use_cache=False as in training: with a KV cache transformers does not look for packs.
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits
        offset = 0
        for example in examples:  # pack order is input order
            n = len(example.input_ids)
            alone = model(input_ids=torch.tensor([example.input_ids])).logits[0]
            torch.testing.assert_close(packed[0, offset: offset + n], alone, atol=2e-4, rtol=1e-4)
            offset += n
        alone = model(input_ids=torch.tensor([other.input_ids])).logits[0]
        torch.testing.assert_close(packed[1, : len(other.input_ids)], alone, atol=2e-4, rtol=1e-4)


def test_collate_pads_right_with_a_mask(tokenizer):
    rows = [{"input_ids": [5, 6, 7], "labels": [IGNORE_INDEX, 6, 7]}, {"input_ids": [8], "labels": [8]}]
    batch = collate(rows, pad_id=tokenizer.pad_token_id)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 2, 2]]
    assert batch["labels"].tolist() == [[IGNORE_INDEX, 6, 7], [8, IGNORE_INDEX, IGNORE_INDEX]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["num_tokens"] == 4


def test_input_files_prefers_parquet(tmp_path):
    table = pa.table({"messages": [json.dumps(CONVERSATION)]})
    pq.write_table(table, tmp_path / "part-0.parquet")
    (tmp_path / "sft.jsonl").write_text(json.dumps({"messages": CONVERSATION}) + "\n")
    assert input_files(str(tmp_path)) == ("parquet", [str(tmp_path / "part-0.parquet")])
    assert input_files(str(tmp_path / "sft.jsonl")) == ("json", [str(tmp_path / "sft.jsonl")])
    with pytest.raises(FileNotFoundError):
        input_files(str(tmp_path / "missing"))


@pytest.mark.slow
def test_prepare_data_on_ray_writes_rejects_and_packs(ray_local, tmp_path):
    """jsonl in, through Ray Data: every row is trained on (in a pack) or in rejects.parquet."""
    from train.config import TrainConfig
    from train.sft import prepare_data

    lines = [{"id": f"ok-{i}", "messages": CONVERSATION[1:3]} for i in range(6)]
    lines += [{"id": "long", "messages": [*CONVERSATION, {"role": "user", "content": "x " * 400}, {"role": "assistant", "content": "y"}]},
              {"id": "bad", "messages": [{"role": "user", "content": "no answer"}]}]
    (tmp_path / "sft.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    config = TrainConfig(data=str(tmp_path), output_dir=str(tmp_path / "out"), max_seq_len=256, packing=True)
    prepared = prepare_data(config, str(smollm2_dir()), tmp_path / "rejects.parquet")
    assert (prepared.input_rows, prepared.examples) == (8, 6)
    assert prepared.rejected_by_reason == {"too_long": 1, "no_assistant_turn": 1}
    rejects = pq.read_table(tmp_path / "rejects.parquet").to_pylist()
    assert sorted((r["id"], r["reason"]) for r in rejects) == [("bad", "no_assistant_turn"), ("long", "too_long")]
    rows = prepared.dataset.take_all()
    assert len(rows) == prepared.rows < 6  # several conversations share a pack
    assert sum(r["num_examples"] for r in rows) == 6
    for row in rows:
        assert len(row["input_ids"]) == len(row["labels"]) == len(row["position_ids"]) <= 256
        assert list(row["position_ids"]).count(0) == row["num_examples"]


def test_order_key_is_the_seed_and_the_content():
    from train.data import order_key, with_order_key

    assert order_key(0, "a", [1, 2, 3]) == order_key(0, "a", [1, 2, 3]) >= 0
    assert len({order_key(0, "a", [1, 2, 3]), order_key(1, "a", [1, 2, 3]), order_key(0, "b", [1, 2, 3]), order_key(0, "a", [1, 2, 4])}) == 4
    table = with_order_key(pa.table({"id": ["a", "b"], "input_ids": [[1, 2, 3], [5]]}), seed=0)
    assert table["order_key"].to_pylist() == [order_key(0, "a", [1, 2, 3]), order_key(0, "b", [5])]


@pytest.mark.slow
def test_training_order_does_not_depend_on_the_files(ray_local, tmp_path):
    """The same rows, split into differently named files in another order, come out of
    prepare_data in one order: the seed's (back-translation names its parts at random)."""
    from train.config import TrainConfig
    from train.data import order_key
    from train.sft import prepare_data

    rows = [{"id": f"r{i:03d}", "messages": [{"role": "user", "content": f"What is {i} + {i}?"},
                                             {"role": "assistant", "content": f"\\boxed{{{2 * i}}}"}]} for i in range(40)]
    one, three = tmp_path / "one", tmp_path / "three"
    one.mkdir()
    three.mkdir()
    pq.write_table(pa.Table.from_pylist(rows), one / "part-b.parquet")
    for name, part in zip(["part-a", "part-z", "part-m"], [rows[25:], rows[:10], rows[10:25]], strict=True):
        pq.write_table(pa.Table.from_pylist(part), three / f"{name}.parquet")

    def order(data, seed):
        config = TrainConfig(data=str(data), output_dir=str(tmp_path / "out"), max_seq_len=128, seed=seed)
        prepared = prepare_data(config, str(smollm2_dir()), tmp_path / f"rejects-{seed}.parquet")
        return [(r["id"], list(r["input_ids"])) for r in prepared.dataset.take_all()]

    first = order(one, seed=0)
    assert first == order(three, seed=0)
    assert [rid for rid, _ in first] == sorted((r[0] for r in first), key=lambda rid: order_key(0, rid, dict(first)[rid]))
    assert [rid for rid, _ in order(three, seed=1)] != [rid for rid, _ in first]  # another seed, another order
