"""NVIDIA's own Python tritonclient against the server: one line per case, PASS or FAIL with what happened.

Run through bench/tritonclient/run.sh, which stages the client, writes the repository and starts the server. The
server runs in explicit model control mode over a repository holding `identity` (FP32 [batch,16], INPUT0 -> OUTPUT0),
`resnet_tiny`, and for the scheduling cases `accumulator` (sequence batcher with an implicit state), `identity_ensemble`
(one step over identity) and `identity_cached` (identity with the response cache). Cases that need a feature the server does not have fail with the client's own error text.
"""

import argparse
import asyncio
import base64
import json
import os
import queue
import sys
import traceback
import uuid
from functools import partial

import numpy as np

import tritonclient.grpc as grpcclient
import tritonclient.grpc.aio as grpcaio
import tritonclient.http as httpclient
import tritonclient.http.aio as httpaio
import tritonclient.utils.shared_memory as shm
from tritonclient.utils import InferenceServerException, np_to_triton_dtype

RESULTS = []


def case(area, name):
    def wrap(fn):
        def run(*args):
            try:
                detail = fn(*args)
                RESULTS.append((area, name, "PASS", detail or ""))
            except Exception as e:  # noqa: BLE001 - every failure is a result
                text = str(e).strip().replace("\n", " ")
                if not text:
                    text = "".join(traceback.format_exception_only(type(e), e)).strip()
                RESULTS.append((area, name, "FAIL", f"{type(e).__name__}: {text[:300]}"))

        run.area, run.name = area, name
        return run

    return wrap


def expect(cond, message):
    if not cond:
        raise AssertionError(message)


def identity_input(module, rows=1, binary=True):
    data = np.arange(16 * rows, dtype=np.float32).reshape(rows, 16)
    i = module.InferInput("INPUT0", [rows, 16], "FP32")
    if module is httpclient or module is httpaio:
        i.set_data_from_numpy(data, binary_data=binary)
    else:
        i.set_data_from_numpy(data)
    return i, data


def expect_error(fn, *fragments):
    try:
        fn()
    except InferenceServerException as e:
        text = str(e)
        for f in fragments:
            expect(f.lower() in text.lower(), f"error '{text}' lacks '{f}'")
        return text[:160]
    raise AssertionError("no error")


# ---------------------------------------------------------------- HTTP


@case("http", "health, server metadata")
def http_health(c):
    expect(c.is_server_live() and c.is_server_ready(), "not live/ready")
    md = c.get_server_metadata()
    return "extensions: " + " ".join(md.get("extensions", []))


@case("http", "model metadata, config, ready")
def http_model(c):
    expect(c.is_model_ready("identity"), "identity not ready")
    md = c.get_model_metadata("identity")
    cfg = c.get_model_config("identity")
    expect(md["inputs"][0]["name"] == "INPUT0", str(md))
    return f"max_batch_size {cfg.get('max_batch_size')}"


@case("http", "infer, JSON tensors")
def http_infer_json(c):
    i, data = identity_input(httpclient, 2, binary=False)
    r = c.infer("identity", [i], outputs=[httpclient.InferRequestedOutput("OUTPUT0", binary_data=False)])
    expect(np.array_equal(r.as_numpy("OUTPUT0"), data), "output differs")


@case("http", "infer, binary tensor extension")
def http_infer_binary(c):
    i, data = identity_input(httpclient, 3)
    r = c.infer("identity", [i], outputs=[httpclient.InferRequestedOutput("OUTPUT0", binary_data=True)])
    expect(np.array_equal(r.as_numpy("OUTPUT0"), data), "output differs")


@case("http", "infer, BYTES classification output")
def http_classification(c):
    md = c.get_model_metadata("resnet_tiny")
    inp = md["inputs"][0]
    shape = [1] + [d for d in inp["shape"][1:]]
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    i = httpclient.InferInput(inp["name"], shape, "FP32")
    i.set_data_from_numpy(x)
    out = md["outputs"][0]["name"]
    r = c.infer("resnet_tiny", [i], outputs=[httpclient.InferRequestedOutput(out, class_count=3)])
    top = r.as_numpy(out)
    expect(top.shape[-1] == 3, f"shape {top.shape}")
    return top.reshape(-1)[0].decode()


@case("http", "request gzip, response gzip")
def http_gzip(c):
    i, data = identity_input(httpclient, 2)
    r = c.infer("identity", [i], request_compression_algorithm="gzip", response_compression_algorithm="gzip")
    expect(np.array_equal(r.as_numpy("OUTPUT0"), data), "output differs")


@case("http", "request deflate, response deflate")
def http_deflate(c):
    i, data = identity_input(httpclient, 2)
    r = c.infer("identity", [i], request_compression_algorithm="deflate", response_compression_algorithm="deflate")
    expect(np.array_equal(r.as_numpy("OUTPUT0"), data), "output differs")


@case("http", "async_infer x16")
def http_async(c):
    futures = []
    for k in range(16):
        i, _ = identity_input(httpclient, 1)
        futures.append(c.async_infer("identity", [i], request_id=str(k)))
    for f in futures:
        expect(f.get_result().as_numpy("OUTPUT0").shape == (1, 16), "bad shape")


@case("http", "statistics")
def http_stats(c):
    s = c.get_inference_statistics("identity")
    st = s["model_stats"][0]
    expect(st["inference_count"] > 0, str(st))
    return f"inference_count {st['inference_count']}, execution_count {st['execution_count']}"


@case("http", "repository index, unload, load")
def http_repository(c):
    names = {m["name"] for m in c.get_model_repository_index()}
    expect({"identity", "resnet_tiny"} <= names, str(names))
    c.unload_model("resnet_tiny")
    expect(not c.is_model_ready("resnet_tiny"), "still ready after unload")
    c.load_model("resnet_tiny")
    expect(c.is_model_ready("resnet_tiny"), "not ready after load")


@case("http", "load with config override")
def http_load_config(c):
    cfg = c.get_model_config("identity")
    cfg["max_batch_size"] = 4
    c.load_model("identity", config=json.dumps(cfg))
    expect(c.get_model_config("identity")["max_batch_size"] == 4, "override not applied")
    cfg["max_batch_size"] = 8
    c.load_model("identity", config=json.dumps(cfg))


@case("http", "load with files (model from the request)")
def http_load_files(c, repo):
    with open(os.path.join(repo, "identity", "1", "model.onnx"), "rb") as f:
        onnx = f.read()
    cfg = c.get_model_config("identity")
    cfg["name"] = "identity_files"
    c.load_model("identity_files", config=json.dumps(cfg), files={"file:1/model.onnx": onnx})
    expect(c.is_model_ready("identity_files"), "not ready")
    i, data = identity_input(httpclient, 1)
    expect(np.array_equal(c.infer("identity_files", [i]).as_numpy("OUTPUT0"), data), "output differs")
    c.unload_model("identity_files")
    expect(not c.is_model_ready("identity_files"), "still ready after unload")


@case("http", "system shared memory: input and output in regions")
def http_shm(c):
    key = "/tc_" + uuid.uuid4().hex[:8]
    c.unregister_system_shared_memory()
    data = np.arange(32, dtype=np.float32).reshape(2, 16)
    nbytes = data.nbytes
    region = shm.create_shared_memory_region("tc_data", key, nbytes * 2)
    try:
        shm.set_shared_memory_region(region, [data])
        c.register_system_shared_memory("tc_data", key, nbytes * 2)
        status = c.get_system_shared_memory_status()
        expect(any(s["name"] == "tc_data" for s in status), str(status))
        i = httpclient.InferInput("INPUT0", [2, 16], "FP32")
        i.set_shared_memory("tc_data", nbytes)
        o = httpclient.InferRequestedOutput("OUTPUT0", binary_data=True)
        o.set_shared_memory("tc_data", nbytes, offset=nbytes)
        r = c.infer("identity", [i], outputs=[o])
        expect(r.get_output("OUTPUT0") is not None, "no output entry")
        out = shm.get_contents_as_numpy(region, np.float32, [2, 16], offset=nbytes)
        expect(np.array_equal(out, data), "region output differs")
        c.unregister_system_shared_memory("tc_data")
        expect(not any(s["name"] == "tc_data" for s in c.get_system_shared_memory_status()), "still registered")
    finally:
        shm.destroy_shared_memory_region(region)


@case("http", "system shared memory: out-of-range offset is an error")
def http_shm_bounds(c):
    key = "/tc_" + uuid.uuid4().hex[:8]
    region = shm.create_shared_memory_region("tc_small", key, 64)
    try:
        c.register_system_shared_memory("tc_small", key, 64)
        i = httpclient.InferInput("INPUT0", [1, 16], "FP32")
        i.set_shared_memory("tc_small", 64, offset=32)
        text = expect_error(lambda: c.infer("identity", [i]))
        c.unregister_system_shared_memory("tc_small")
        return text
    finally:
        shm.destroy_shared_memory_region(region)


@case("http", "CUDA shared memory without CUDA: clear error")
def http_cuda_shm(c):
    return expect_error(lambda: c.register_cuda_shared_memory("tc_cuda", base64.b64encode(b"\0" * 64), 0, 64))


@case("http", "trace settings: get, update, per model")
def http_trace(c):
    s = c.get_trace_settings()
    expect("trace_level" in s, str(s))
    c.update_trace_settings(model_name="identity", settings={"trace_rate": "1", "trace_level": ["TIMESTAMPS"]})
    m = c.get_trace_settings(model_name="identity")
    expect(m["trace_rate"] == "1", str(m))
    c.update_trace_settings(model_name="identity", settings={"trace_level": None, "trace_rate": None})
    return f"global level {s['trace_level']}"


@case("http", "log settings: get, update")
def http_log(c):
    s = c.get_log_settings()
    c.update_log_settings({"log_verbose_level": 1})
    expect(c.get_log_settings()["log_verbose_level"] == 1, "not updated")
    c.update_log_settings({"log_verbose_level": s.get("log_verbose_level", 0)})


@case("http", "unknown model: NOT_FOUND-style error")
def http_unknown(c):
    i, _ = identity_input(httpclient, 1)
    return expect_error(lambda: c.infer("no_such_model", [i]), "no_such_model")


@case("http", "wrong shape: clear error, server keeps serving")
def http_bad_shape(c):
    i = httpclient.InferInput("INPUT0", [1, 15], "FP32")
    i.set_data_from_numpy(np.zeros((1, 15), np.float32))
    text = expect_error(lambda: c.infer("identity", [i]))
    expect(c.is_server_ready(), "not ready after a bad request")
    return text


# ---------------------------------------------------------------- gRPC


@case("grpc", "health, server metadata")
def grpc_health(c):
    expect(c.is_server_live() and c.is_server_ready(), "not live/ready")
    return "extensions: " + " ".join(c.get_server_metadata().extensions)


@case("grpc", "model metadata, config")
def grpc_model(c):
    md = c.get_model_metadata("identity")
    cfg = c.get_model_config("identity")
    expect(md.inputs[0].name == "INPUT0", str(md))
    return f"max_batch_size {cfg.config.max_batch_size}"


@case("grpc", "infer")
def grpc_infer(c):
    i, data = identity_input(grpcclient, 4)
    r = c.infer("identity", [i], outputs=[grpcclient.InferRequestedOutput("OUTPUT0")])
    expect(np.array_equal(r.as_numpy("OUTPUT0"), data), "output differs")


@case("grpc", "infer, gzip compression")
def grpc_gzip(c):
    i, data = identity_input(grpcclient, 2)
    r = c.infer("identity", [i], compression_algorithm="gzip")
    expect(np.array_equal(r.as_numpy("OUTPUT0"), data), "output differs")


def _collect(results, result, error):
    results.put((result, error))


@case("grpc", "async_infer x16")
def grpc_async(c):
    results = queue.Queue()
    for k in range(16):
        i, _ = identity_input(grpcclient, 1)
        c.async_infer("identity", [i], partial(_collect, results), request_id=str(k))
    for _ in range(16):
        r, e = results.get(timeout=30)
        expect(e is None, str(e))


@case("grpc", "stream infer x8, final-response flag")
def grpc_stream(c):
    results = queue.Queue()
    c.start_stream(callback=partial(_collect, results))
    try:
        for k in range(8):
            i, _ = identity_input(grpcclient, 1)
            c.async_stream_infer("identity", [i], request_id=str(k), enable_empty_final_response=True)
        got, finals, empties = 0, 0, 0
        while got < 8:
            r, e = results.get(timeout=30)
            expect(e is None, str(e))
            resp = r.get_response()
            final = resp.parameters.get("triton_final_response")
            finals += 1 if final is not None and final.bool_param else 0
            if len(resp.outputs) == 0:
                empties += 1
            else:
                got += 1
        return f"{got} responses, {finals} marked final, {empties} empty finals"
    finally:
        c.stop_stream()


@case("grpc", "statistics")
def grpc_stats(c):
    s = c.get_inference_statistics("identity")
    expect(s.model_stats[0].inference_count > 0, str(s))


@case("grpc", "repository index, unload, load")
def grpc_repository(c):
    names = {m.name for m in c.get_model_repository_index().models}
    expect({"identity", "resnet_tiny"} <= names, str(names))
    c.unload_model("resnet_tiny")
    expect(not c.is_model_ready("resnet_tiny"), "still ready")
    c.load_model("resnet_tiny")
    expect(c.is_model_ready("resnet_tiny"), "not ready")


@case("grpc", "load with files (model from the request, version 3)")
def grpc_load_files(c, repo):
    with open(os.path.join(repo, "identity", "1", "model.onnx"), "rb") as f:
        onnx = f.read()
    cfg = c.get_model_config("identity", as_json=True)["config"]
    cfg["name"] = "identity_files_grpc"
    c.load_model("identity_files_grpc", config=json.dumps(cfg), files={"file:3/model.onnx": onnx})
    expect(c.is_model_ready("identity_files_grpc", "3"), "version 3 not ready")
    i, data = identity_input(grpcclient, 1)
    expect(np.array_equal(c.infer("identity_files_grpc", [i]).as_numpy("OUTPUT0"), data), "output differs")
    c.unload_model("identity_files_grpc")
    expect(not c.is_model_ready("identity_files_grpc"), "still ready after unload")


@case("grpc", "system shared memory: input and output in regions")
def grpc_shm(c):
    key = "/tc_" + uuid.uuid4().hex[:8]
    data = np.arange(32, dtype=np.float32).reshape(2, 16) * 3
    nbytes = data.nbytes
    region = shm.create_shared_memory_region("tc_grpc", key, nbytes * 2)
    try:
        shm.set_shared_memory_region(region, [data])
        c.register_system_shared_memory("tc_grpc", key, nbytes * 2)
        i = grpcclient.InferInput("INPUT0", [2, 16], "FP32")
        i.set_shared_memory("tc_grpc", nbytes)
        o = grpcclient.InferRequestedOutput("OUTPUT0")
        o.set_shared_memory("tc_grpc", nbytes, offset=nbytes)
        c.infer("identity", [i], outputs=[o])
        out = shm.get_contents_as_numpy(region, np.float32, [2, 16], offset=nbytes)
        expect(np.array_equal(out, data), "region output differs")
        expect(len(c.get_system_shared_memory_status().regions) >= 1, "no status")
        c.unregister_system_shared_memory("tc_grpc")
    finally:
        shm.destroy_shared_memory_region(region)


@case("grpc", "trace settings")
def grpc_trace(c):
    s = c.get_trace_settings(as_json=True)
    c.update_trace_settings(model_name="identity", settings={"trace_rate": "2"})
    m = c.get_trace_settings(model_name="identity", as_json=True)
    c.update_trace_settings(model_name="identity", settings={"trace_rate": None})
    return json.dumps(m["settings"].get("trace_rate"))


@case("grpc", "log settings")
def grpc_log(c):
    s = c.get_log_settings(as_json=True)
    expect("settings" in s, str(s))
    c.update_log_settings({"log_info": True})


@case("grpc", "unknown model: error")
def grpc_unknown(c):
    i, _ = identity_input(grpcclient, 1)
    return expect_error(lambda: c.infer("no_such_model", [i]), "no_such_model")


# ---------------------------------------------------------------- asyncio clients


def aio_cases(http_url, grpc_url):
    async def http_aio():
        async with httpaio.InferenceServerClient(http_url) as c:
            expect(await c.is_server_ready(), "not ready")
            i, data = identity_input(httpaio, 2)
            r = await c.infer("identity", [i])
            expect(np.array_equal(r.as_numpy("OUTPUT0"), data), "output differs")

    async def grpc_aio():
        async with grpcaio.InferenceServerClient(grpc_url) as c:
            expect(await c.is_server_ready(), "not ready")
            i, data = identity_input(grpcaio, 2)
            r = await c.infer("identity", [i])
            expect(np.array_equal(r.as_numpy("OUTPUT0"), data), "output differs")

            async def requests():
                for k in range(4):
                    j, _ = identity_input(grpcaio, 1)
                    yield {"model_name": "identity", "inputs": [j], "request_id": str(k)}

            n = 0
            async for result, error in c.stream_infer(requests()):
                expect(error is None, str(error))
                n += 1
                if n == 4:
                    break
            expect(n == 4, f"{n} stream replies")

    for area, name, fn in (("http.aio", "ready, infer", http_aio), ("grpc.aio", "ready, infer, stream_infer", grpc_aio)):
        try:
            asyncio.run(fn())
            RESULTS.append((area, name, "PASS", ""))
        except Exception as e:  # noqa: BLE001
            RESULTS.append((area, name, "FAIL", f"{type(e).__name__}: {str(e)[:300]}"))


# ---------------------------------------------------------------- scheduling (sequence batcher, ensemble, cache)


def _accumulate(module, c, sequence_id, values, **kw):
    outs = []
    for k, v in enumerate(values):
        i = module.InferInput("INPUT", [1, 1], "FP32")
        i.set_data_from_numpy(np.array([[v]], dtype=np.float32))
        r = c.infer("accumulator", [i], sequence_id=sequence_id, sequence_start=(k == 0),
                    sequence_end=(k == len(values) - 1), **kw)
        outs.append(float(r.as_numpy("OUTPUT").reshape(-1)[0]))
    return outs


@case("http", "sequence batcher: accumulator, sequence_start/end")
def http_sequence(c):
    outs = _accumulate(httpclient, c, 4242, [1.0, 2.0, 3.0])
    expect(outs == [1.0, 3.0, 6.0], f"running sums {outs}")
    return f"sums {outs}"


@case("grpc", "sequence batcher: two interleaved sequences")
def grpc_sequence(c):
    def step(sequence_id, v, start, end):
        i = grpcclient.InferInput("INPUT", [1, 1], "FP32")
        i.set_data_from_numpy(np.array([[v]], dtype=np.float32))
        r = c.infer("accumulator", [i], sequence_id=sequence_id, sequence_start=start, sequence_end=end)
        return float(r.as_numpy("OUTPUT").reshape(-1)[0])

    got = [step(7, 1.0, True, False), step(8, 10.0, True, False), step(7, 1.0, False, False),
           step(8, 5.0, False, True), step(7, 1.0, False, True)]
    expect(got == [1.0, 10.0, 2.0, 15.0, 3.0], f"sums {got}")
    return f"sums {got}"


@case("grpc", "sequence batcher: stream with sequence ids")
def grpc_sequence_stream(c):
    results = queue.Queue()
    c.start_stream(callback=partial(_collect, results))
    try:
        for k, v in enumerate([2.0, 4.0, 6.0]):
            i = grpcclient.InferInput("INPUT", [1, 1], "FP32")
            i.set_data_from_numpy(np.array([[v]], dtype=np.float32))
            c.async_stream_infer("accumulator", [i], request_id=str(k), sequence_id=99, sequence_start=(k == 0),
                                 sequence_end=(k == 2))
        sums = {}
        while len(sums) < 3:
            r, e = results.get(timeout=30)
            expect(e is None, str(e))
            sums[r.get_response().id] = float(r.as_numpy("OUTPUT").reshape(-1)[0])
        got = [sums[str(k)] for k in range(3)]
        expect(got == [2.0, 6.0, 12.0], f"sums {got}")
    finally:
        c.stop_stream()


@case("http", "ensemble: infer, metadata, composing statistics")
def http_ensemble(c):
    expect(c.is_model_ready("identity_ensemble"), "ensemble not ready")
    meta = c.get_model_metadata("identity_ensemble")
    expect(meta["platform"] == "ensemble", str(meta))
    before = c.get_inference_statistics("identity")["model_stats"][0]["inference_count"]
    i, data = identity_input(httpclient, 2)
    r = c.infer("identity_ensemble", [i])
    expect(np.array_equal(r.as_numpy("OUTPUT0"), data), "output differs")
    after = c.get_inference_statistics("identity")["model_stats"][0]["inference_count"]
    expect(after >= before + 2, f"identity inference_count {before} -> {after}")


@case("grpc", "ensemble: infer")
def grpc_ensemble(c):
    i, data = identity_input(grpcclient, 1)
    r = c.infer("identity_ensemble", [i])
    expect(np.array_equal(r.as_numpy("OUTPUT0"), data), "output differs")


@case("http", "response cache: a repeated request is a hit")
def http_cache(c):
    for _ in range(3):
        i, data = identity_input(httpclient, 1)
        r = c.infer("identity_cached", [i])
        expect(np.array_equal(r.as_numpy("OUTPUT0"), data), "output differs")
    s = c.get_inference_statistics("identity_cached")["model_stats"][0]["inference_stats"]
    hits, misses = s.get("cache_hit", {}).get("count", 0), s.get("cache_miss", {}).get("count", 0)
    expect(hits >= 2 and misses >= 1, f"hits {hits}, misses {misses}")
    return f"hits {hits}, misses {misses}"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--http", default="127.0.0.1:8000")
    p.add_argument("--grpc", default="127.0.0.1:8001")
    p.add_argument("--repository", required=True)
    p.add_argument("--markdown", help="write the table here too")
    a = p.parse_args()

    with httpclient.InferenceServerClient(a.http, concurrency=4) as c:
        for fn in (http_health, http_model, http_infer_json, http_infer_binary, http_classification, http_gzip,
                   http_deflate, http_async, http_stats, http_repository, http_load_config):
            fn(c)
        http_load_files(c, a.repository)
        for fn in (http_shm, http_shm_bounds, http_cuda_shm, http_trace, http_log, http_unknown, http_bad_shape):
            fn(c)
    with grpcclient.InferenceServerClient(a.grpc) as c:
        for fn in (grpc_health, grpc_model, grpc_infer, grpc_gzip, grpc_async, grpc_stream, grpc_stats,
                   grpc_repository, grpc_shm, grpc_trace, grpc_log, grpc_unknown):
            fn(c)
        grpc_load_files(c, a.repository)
        for fn in (grpc_sequence, grpc_sequence_stream, grpc_ensemble):
            fn(c)
    with httpclient.InferenceServerClient(a.http, concurrency=4) as c:
        for fn in (http_sequence, http_ensemble, http_cache):
            fn(c)
    aio_cases(a.http, a.grpc)

    lines = ["| client | case | result | detail |", "|---|---|---|---|"]
    for area, name, result, detail in RESULTS:
        lines.append(f"| {area} | {name} | {result} | {detail.replace('|', '/')} |")
    passed = sum(1 for r in RESULTS if r[2] == "PASS")
    lines.append("")
    lines.append(f"{passed} passed, {len(RESULTS) - passed} failed")
    text = "\n".join(lines)
    print(text)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text + "\n")
    return 0 if passed == len(RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
