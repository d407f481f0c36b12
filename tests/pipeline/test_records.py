"""Records survive parquet and jsonl unchanged."""

from __future__ import annotations

import json

import pyarrow.json as pajson
import pyarrow.parquet as pq

from pipeline.records import (
    PROBLEM_SCHEMA,
    REJECT_SCHEMA,
    TRACE_SCHEMA,
    Problem,
    Reject,
    ToolCall,
    Trace,
    problem_from_row,
    problem_to_row,
    reject_from_row,
    reject_to_row,
    to_table,
    trace_from_row,
    trace_to_row,
)
from tests.pipeline.chat_messages import calling


def sample_trace() -> Trace:
    return Trace(
        id="p-1",
        problem="Solve $x^2 - 5x + 6 = 0$ and give the larger root.",
        answer="3",
        source="synthetic",
        meta={"family": "quadratic", "params": {"roots": [2, 3]}, "ünïcode": "∑"},
        teacher="symbolic",
        plan="1. solve_equation",
        messages=[
            {"role": "system", "content": "sys"},
            {"role": "user", "content": "Problem"},
            calling(("call_1", "solve_equation", '{"equation": "x^2-5x+6=0"}')),
            {"role": "tool", "tool_call_id": "call_1", "name": "solve_equation", "content": '{"result": [2, 3]}'},
            {"role": "assistant", "content": "The larger root is \\boxed{3}."},
        ],
        tool_calls=[
            ToolCall(name="solve_equation", arguments='{"equation": "x^2-5x+6=0"}', result='{"result": [2, 3]}', latency_s=0.01, call_id="call_1", turn=1),
            ToolCall(name="bad", arguments="{not json", error='{"type": "parse_error"}', call_id="call_2", turn=2),
        ],
        final_answer="3",
        correct=True,
        num_turns=2,
        prompt_tokens=120,
        completion_tokens=30,
        wall_time_s=0.5,
    )


def test_trace_parquet_round_trip(tmp_path):
    trace = sample_trace()
    pq.write_table(to_table([trace_to_row(trace)], TRACE_SCHEMA), tmp_path / "t.parquet")
    back = trace_from_row(pq.read_table(tmp_path / "t.parquet").to_pylist()[0])
    assert back == trace
    assert back.num_tool_errors == 1 and back.num_tool_calls == 2


def test_trace_jsonl_round_trip(tmp_path):
    trace = sample_trace()
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(trace_to_row(trace), ensure_ascii=False) + "\n", encoding="utf-8")
    assert trace_from_row(json.loads(path.read_text(encoding="utf-8"))) == trace
    # and through Arrow's own JSON reader with the schema
    table = pajson.read_json(path, parse_options=pajson.ParseOptions(explicit_schema=TRACE_SCHEMA))
    assert trace_from_row(table.to_pylist()[0]) == trace


def test_problem_and_reject_round_trips(tmp_path):
    problem = Problem(id="x", problem="1+1?", answer="2", source="s", meta={"level": 3})
    pq.write_table(to_table([problem_to_row(problem)], PROBLEM_SCHEMA), tmp_path / "p.parquet")
    assert problem_from_row(pq.read_table(tmp_path / "p.parquet").to_pylist()[0]) == problem
    reject = Reject(id="x", stage="clean", reason="duplicate", detail="same as y", problem="1+1?", answer="2", source="s")
    pq.write_table(to_table([reject_to_row(reject)], REJECT_SCHEMA), tmp_path / "r.parquet")
    assert reject_from_row(pq.read_table(tmp_path / "r.parquet").to_pylist()[0]) == reject
