"""SFT data: chat template → token ids with labels on assistant tokens only → (packs) → batches.

    messages ──render with the student's chat template──▶ text ──encode──▶ input_ids
    labels = input_ids on the tokens each assistant turn writes (its content and its end
             token <|im_end|>, so the student learns to stop), -100 everywhere else
             (system prompt, user turns, the `<|im_start|>assistant\\n` header, the
             newline after the end token)

Labels are set by *position*: for each assistant turn the conversation up to that turn
is rendered with `add_generation_prompt=True` (the prompt) and with the turn (the
prompt + answer); the answer's tokens are the ones between the two lengths. The prompt's
tokens must be an exact prefix of the conversation's, which is checked (a template that
re-renders earlier turns differently would otherwise shift every label). Masking by token
id would be wrong for SmolLM2, whose pad token *is* `<|im_end|>`.

Truncation never cuts an answer off: a conversation longer than `max_seq_len` is dropped
and counted (reason `too_long`), like every other unusable row, in the rejects table.

Packing concatenates conversations into rows of ≤ `max_seq_len` tokens with position ids
that restart at 0 for each one. Given no 2-D attention mask, transformers (≥ 5) derives
a block-diagonal causal mask from restarting position ids (`find_packed_sequence_indices`),
so no token attends across conversations on the eager/SDPA/flex paths, provided the forward
pass runs with `use_cache=False` (as training does: with a KV cache the detection is off);
padding at the end of a pack is its own segment with labels -100.

The functions here are pure (testable without Ray); `TokenizeBatch` and `PackBatch` are
the thin Ray Data `map_batches` wrappers and `read_messages` opens the input.
"""

from __future__ import annotations

import hashlib
import json
import logging
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

log = logging.getLogger(__name__)

IGNORE_INDEX = -100
ROLES = frozenset({"system", "user", "assistant", "tool"})


class DropReason:
    """Why a row is not trained on (the `reason` of its reject)."""

    INVALID_MESSAGES = "invalid_messages"
    NO_ASSISTANT_TURN = "no_assistant_turn"
    TOO_LONG = "too_long"
    TEMPLATE_MISMATCH = "template_mismatch"


class ExampleError(ValueError):
    """A conversation that cannot be trained on; `reason` is a DropReason."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass
class TokenizedExample:
    input_ids: list[int]
    labels: list[int]

    @property
    def num_supervised(self) -> int:
        return sum(label != IGNORE_INDEX for label in self.labels)


@dataclass
class Pack:
    """Several examples in one row; `position_ids` restart at 0 at each example's start."""

    input_ids: list[int]
    labels: list[int]
    position_ids: list[int]
    num_examples: int


# ----------------------------------------------------------------------- row logic


def normalise_messages(raw: Any) -> list[dict[str, str]]:
    """A `messages` cell (list of {role, content}, or its JSON text) → [{role, content}, ...]."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ExampleError(DropReason.INVALID_MESSAGES, f"messages is not JSON: {exc}") from None
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes) or not raw:
        raise ExampleError(DropReason.INVALID_MESSAGES, "messages must be a non-empty list")
    out = []
    for i, message in enumerate(raw):
        if not isinstance(message, dict):
            raise ExampleError(DropReason.INVALID_MESSAGES, f"message {i} is not an object")
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            raise ExampleError(DropReason.INVALID_MESSAGES, f"message {i} has role {role!r}")
        if not isinstance(content, str):
            raise ExampleError(DropReason.INVALID_MESSAGES, f"message {i} ({role}) has no text content")
        out.append({"role": role, "content": content})
    return out


def _encode(tokenizer: Any, text: str) -> list[int]:
    # The template already wrote every special token; add_special_tokens would add a BOS twice
    # for models that have one.
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def _render(tokenizer: Any, messages: list[dict[str, str]], generation_prompt: bool) -> str:
    # Render text and encode it ourselves: transformers 5's apply_chat_template(tokenize=True)
    # returns a BatchEncoding, and we need the same encoding path for prompt and conversation.
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)


def tokenize_conversation(messages: list[dict[str, str]], tokenizer: Any, max_seq_len: int) -> TokenizedExample:
    """Token ids and labels (-100 outside assistant turns) for one conversation.

    Raises ExampleError with reason `no_assistant_turn`, `template_mismatch` or `too_long`.
    """
    if not any(m["role"] == "assistant" for m in messages):
        raise ExampleError(DropReason.NO_ASSISTANT_TURN, "no assistant message to learn from")
    input_ids = _encode(tokenizer, _render(tokenizer, messages, generation_prompt=False))
    if len(input_ids) > max_seq_len:
        raise ExampleError(DropReason.TOO_LONG, f"{len(input_ids)} tokens > max_seq_len {max_seq_len}")
    labels = [IGNORE_INDEX] * len(input_ids)
    end_id = tokenizer.eos_token_id
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        prompt = _encode(tokenizer, _render(tokenizer, messages[:i], generation_prompt=True)) if i else []
        upto = _encode(tokenizer, _render(tokenizer, messages[: i + 1], generation_prompt=False))
        if input_ids[: len(prompt)] != prompt or input_ids[: len(upto)] != upto:
            raise ExampleError(
                DropReason.TEMPLATE_MISMATCH,
                f"the tokenised prompt of assistant turn {i} is not a prefix of the tokenised conversation",
            )
        start, end = len(prompt), len(upto)
        span = input_ids[start:end]
        # Supervise up to and including the turn's end token; what the template writes after it
        # (a newline) is formatting the model never has to produce.
        if end_id is not None and end_id in span:
            end = start + len(span) - span[::-1].index(end_id)
        labels[start:end] = input_ids[start:end]
    example = TokenizedExample(input_ids=input_ids, labels=labels)
    if example.num_supervised == 0:
        raise ExampleError(DropReason.NO_ASSISTANT_TURN, "the assistant turns render to no tokens")
    return example


def pack_examples(examples: Sequence[TokenizedExample], max_seq_len: int) -> list[Pack]:
    """Greedy first-fit-decreasing packing into rows of at most `max_seq_len` tokens.

    Every example lands whole in exactly one pack (none is split: examples are at most
    max_seq_len long by construction of `tokenize_conversation`).
    """
    order = sorted(range(len(examples)), key=lambda i: -len(examples[i].input_ids))
    bins: list[list[int]] = []
    room: list[int] = []
    for i in order:
        n = len(examples[i].input_ids)
        if n > max_seq_len:
            raise ValueError(f"example of {n} tokens does not fit max_seq_len {max_seq_len}")
        for b, free in enumerate(room):
            if n <= free:
                bins[b].append(i)
                room[b] -= n
                break
        else:
            bins.append([i])
            room.append(max_seq_len - n)
    packs = []
    for members in bins:
        ids: list[int] = []
        labels: list[int] = []
        positions: list[int] = []
        for i in sorted(members):  # keep the input order inside a pack: stable and readable
            ids += examples[i].input_ids
            labels += examples[i].labels
            positions += range(len(examples[i].input_ids))
        packs.append(Pack(input_ids=ids, labels=labels, position_ids=positions, num_examples=len(members)))
    return packs


def collate(rows: Sequence[dict[str, Any]], pad_id: int) -> dict[str, Any]:
    """Right-pad a micro-batch into tensors.

    Unpacked rows get a 2-D `attention_mask`. Packed rows (with `position_ids`) get none:
    the model derives the block-diagonal mask from the position ids, and the padding
    continues as one more segment (positions from 0) whose labels are -100.
    """
    import torch

    width = max(len(r["input_ids"]) for r in rows)
    packed = "position_ids" in rows[0] and rows[0]["position_ids"] is not None
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    positions = torch.zeros((len(rows), width), dtype=torch.long)
    for b, row in enumerate(rows):
        n = len(row["input_ids"])
        input_ids[b, :n] = torch.as_tensor(row["input_ids"], dtype=torch.long)
        labels[b, :n] = torch.as_tensor(row["labels"], dtype=torch.long)
        mask[b, :n] = 1
        if packed:
            positions[b, :n] = torch.as_tensor(row["position_ids"], dtype=torch.long)
            positions[b, n:] = torch.arange(width - n)
    batch = {"input_ids": input_ids, "labels": labels, "num_tokens": int(mask.sum())}
    if packed:
        batch["position_ids"] = positions
    else:
        batch["attention_mask"] = mask
    return batch


# ----------------------------------------------------------------------- Ray Data


def _row_id(row: dict[str, Any], fallback: int) -> str:
    value = row.get("id")
    return str(value) if value not in (None, "") else f"row-{fallback}"


def tokenize_rows(rows: list[dict[str, Any]], tokenizer: Any, max_seq_len: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Input rows → (tokenised rows, reject rows in REJECT_SCHEMA's columns)."""
    kept, rejects = [], []
    for n, row in enumerate(rows):
        rid = _row_id(row, n)
        try:
            messages = normalise_messages(row.get("messages"))
            example = tokenize_conversation(messages, tokenizer, max_seq_len)
        except ExampleError as exc:
            first_user = ""
            raw = row.get("messages")
            if isinstance(raw, list):
                first_user = next((str(m.get("content") or "") for m in raw if isinstance(m, dict) and m.get("role") == "user"), "")
            rejects.append({
                "id": rid, "stage": "train", "reason": exc.reason, "detail": exc.detail,
                "problem": first_user, "answer": "", "source": str(row.get("source") or ""),
                "trace": json.dumps(raw, default=str),
            })
            continue
        kept.append({
            "id": rid, "input_ids": example.input_ids, "labels": example.labels,
            "num_tokens": len(example.input_ids), "num_supervised": example.num_supervised,
        })
    return kept, rejects


TOKENIZED_SCHEMA = pa.schema([
    ("id", pa.string()),
    ("input_ids", pa.list_(pa.int32())),
    ("labels", pa.list_(pa.int32())),
    ("position_ids", pa.list_(pa.int32())),
    ("num_tokens", pa.int64()),
    ("num_supervised", pa.int64()),
    ("num_examples", pa.int64()),
    ("reject", pa.string()),  # JSON of a reject row, or null for a row to train on
])


ORDER_KEY = "order_key"


def order_key(seed: int, row_id: str, input_ids: Sequence[int]) -> int:
    """Where a row falls in the seeded training order: a hash of the seed and the row's content.

    Training reads the rows sorted by this key, so the order (and which rank trains on which
    row) depends on neither how the input is split into files (back-translation names its
    parts at random) nor which Ray task finished first: the same data and seed train the
    same model, and a resumed run skips exactly the micro-batches it had done.
    """
    payload = f"{seed}\0{row_id}\0".encode() + array("i", input_ids).tobytes()
    return int.from_bytes(hashlib.blake2b(payload, digest_size=8).digest(), "big") >> 1  # fits an int64


def with_order_key(batch: pa.Table, seed: int) -> pa.Table:
    """Ray Data UDF: the `order_key` column of tokenised rows."""
    keys = [order_key(seed, rid, ids) for rid, ids in zip(batch["id"].to_pylist(), batch["input_ids"].to_pylist(), strict=True)]
    return batch.append_column(ORDER_KEY, pa.array(keys, pa.int64()))


class TokenizeBatch:
    """Ray Data UDF: tokenise a batch of conversations; rejects travel in the `reject` column."""

    def __init__(self, model_path: str, max_seq_len: int):
        from transformers import AutoTokenizer

        from pipeline.runtime.models import resolve_model

        # Resolved here, on the actor's node: a URI or the offline SmolLM2 lands in its own cache.
        self.tokenizer = AutoTokenizer.from_pretrained(resolve_model(model_path))
        self.max_seq_len = max_seq_len

    def __call__(self, batch: pa.Table) -> pa.Table:
        kept, rejects = tokenize_rows(batch.to_pylist(), self.tokenizer, self.max_seq_len)
        rows = [{**r, "position_ids": None, "num_examples": 1, "reject": None} for r in kept]
        rows += [{"id": r["id"], "input_ids": None, "labels": None, "position_ids": None, "num_tokens": 0,
                  "num_supervised": 0, "num_examples": 0, "reject": json.dumps(r)} for r in rejects]
        return pa.Table.from_pylist(rows, schema=TOKENIZED_SCHEMA)


class PackBatch:
    """Ray Data UDF: pack the tokenised rows of one batch (packing is local to a batch)."""

    def __init__(self, max_seq_len: int):
        self.max_seq_len = max_seq_len

    def __call__(self, batch: pa.Table) -> pa.Table:
        rows = batch.to_pylist()
        examples = [TokenizedExample(r["input_ids"], r["labels"]) for r in rows]
        packs = pack_examples(examples, self.max_seq_len)
        out = [{
            "id": f"pack-{rows[0]['id']}-{k}", "input_ids": p.input_ids, "labels": p.labels,
            "position_ids": p.position_ids, "num_tokens": len(p.input_ids),
            "num_supervised": sum(lab != IGNORE_INDEX for lab in p.labels), "num_examples": p.num_examples,
            "reject": None,
        } for k, p in enumerate(packs)]
        return pa.Table.from_pylist(out, schema=TOKENIZED_SCHEMA)


def input_files(uri: str) -> tuple[str, list[str]]:
    """("parquet" | "json", files) for a file or folder of training data (local or URI)."""
    import pyarrow.fs as pafs

    from pipeline.runtime import storage

    fs, path = storage.resolve(uri)
    info = fs.get_file_info(path)
    if info.type == pafs.FileType.NotFound:
        raise FileNotFoundError(f"training data {uri} does not exist")
    if info.type == pafs.FileType.File:
        files = [path]
    else:
        files = sorted(
            f.path for f in fs.get_file_info(pafs.FileSelector(path, recursive=True))
            if f.type == pafs.FileType.File and not f.base_name.startswith((".", "_"))
        )
    parquet = [f for f in files if f.endswith(".parquet")]
    jsonl = [f for f in files if f.endswith((".jsonl", ".json"))]
    # A back-translation folder holds the same rows as parquet and jsonl: read one format.
    if parquet:
        chosen, kind = parquet, "parquet"
    elif jsonl:
        chosen, kind = jsonl, "json"
    else:
        raise FileNotFoundError(f"no .parquet or .jsonl files in {uri}")
    if "://" in uri:
        scheme = uri.split("://", 1)[0]
        chosen = [f"{scheme}://{f}" for f in chosen]
    return kind, chosen


def read_messages(uri: str):
    """A Ray Dataset of the training rows (all columns; `messages` is required)."""
    import ray.data

    kind, files = input_files(uri)
    ds = ray.data.read_parquet(files) if kind == "parquet" else ray.data.read_json(files, lines=True)
    if "messages" not in ds.schema().names:
        raise ValueError(f"training data {uri} has no `messages` column (columns: {ds.schema().names})")
    return ds
