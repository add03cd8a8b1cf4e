using System.Net;
using System.Text.Json.Nodes;
using Grpc.Core;
using Inference.Server.ModelTools;
using Inference.Server.Protos;
using Inference.Tests.EndToEnd;
using Inference.Tests.ModelTools;

namespace Inference.Tests.Tracing;

/// <summary>
/// Triton's trace extension over the real server on loopback: the settings over HTTP and gRPC (global and per model,
/// Triton's reply shape and errors), sampling by rate and count, and the trace files (Triton's JSON, indexed per
/// log_frequency, the plain file closed at shutdown) with every request's timestamps in order.
/// </summary>
public sealed class TraceExtensionTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly string[] TimestampOrder =
        ["REQUEST_START", "QUEUE_START", "COMPUTE_START", "COMPUTE_INPUT_END", "COMPUTE_OUTPUT_START", "COMPUTE_END", "REQUEST_END"];

    private static async Task InferAsync(ServerHost server, string model, string id)
    {
        using var response = await server.Http.PostAsync($"/v2/models/{model}/infer", Kserve.Json(new JsonObject
        {
            ["id"] = id,
            ["inputs"] = new JsonArray(Kserve.JsonInput("INPUT0", [1, 4], [1, 2, 3, 4])),
        }), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static async Task<JsonObject> SettingAsync(ServerHost server, string path, JsonObject? update = null)
    {
        using var response = update is null
            ? await server.Http.GetAsync(path, Ct)
            : await server.Http.PostAsync(path, Kserve.Json(update), Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonNode.Parse(body)!.AsObject();
    }

    /// <summary>The traces of a Triton trace file: per id, the model object and the timestamps in file order.</summary>
    private static Dictionary<long, (JsonObject Model, List<(string Name, long Ns)> Timestamps)> ReadTraces(string file)
    {
        var traces = new Dictionary<long, (JsonObject, List<(string, long)>)>();
        foreach (var element in JsonNode.Parse(File.ReadAllText(file))!.AsArray())
        {
            var o = element!.AsObject();
            var id = o["id"]!.GetValue<long>();
            if (o["model_name"] is not null)
            {
                Assert.False(traces.ContainsKey(id), $"trace {id} has two model objects in {file}");
                traces[id] = (o, []);
            }
            else
            {
                Assert.True(traces.ContainsKey(id), $"trace {id}: a timestamp before its model object in {file}");
                foreach (var t in o["timestamps"]!.AsArray())
                {
                    traces[id].Item2.Add((t!["name"]!.GetValue<string>(), t["ns"]!.GetValue<long>()));
                }
            }
        }
        return traces;
    }

    private static void AssertComplete(List<(string Name, long Ns)> timestamps)
    {
        Assert.Equal(TimestampOrder, timestamps.Select(t => t.Name));
        for (var i = 1; i < timestamps.Count; i++)
        {
            Assert.True(timestamps[i].Ns >= timestamps[i - 1].Ns, $"{timestamps[i].Name} before {timestamps[i - 1].Name}");
        }
        Assert.True(timestamps[0].Ns > 0);
    }

    [Fact]
    public async Task Defaults_AreTritons_AndTraceFileCannotBeChangedRemotely()
    {
        using var repository = new TempDirectory();
        IdentityModelBuilder.Write(repository.Path, "traced", width: 4);
        var file = repository.Combine("trace.json");
        await using var server = await ServerHost.StartAsync(repository.Path, "--trace-config", "triton,file=" + file);

        var setting = await SettingAsync(server, "/v2/trace/setting");
        Assert.Equal("""{"trace_level":["OFF"],"trace_rate":"1000","trace_count":"-1","log_frequency":"0","trace_file":"FILE","trace_mode":"triton"}""",
            setting.ToJsonString().Replace(System.Text.Json.JsonEncodedText.Encode(file).ToString(), "FILE", StringComparison.Ordinal));
        var metadata = JsonNode.Parse(await server.Http.GetStringAsync("/v2", Ct))!;
        Assert.Contains("trace", metadata["extensions"]!.AsArray().Select(e => e!.GetValue<string>()));

        var elsewhere = repository.Combine("elsewhere.json");
        await E2E.AssertErrorAsync(await server.Http.PostAsync("/v2/trace/setting", Kserve.Json(new JsonObject { ["trace_file"] = elsewhere }), Ct),
            HttpStatusCode.NotImplemented, "trace file location can not be updated through network protocol");
        await E2E.AssertErrorAsync(await server.Http.PostAsync("/v2/trace/setting", Kserve.Json(new JsonObject { ["trace_rate"] = "fast" }), Ct),
            HttpStatusCode.BadRequest, "Unable to parse 'trace_rate', got: fast");
        await E2E.AssertErrorAsync(await server.Http.PostAsync("/v2/trace/setting", Kserve.Json(new JsonObject { ["trace_rate"] = "-1" }), Ct),
            HttpStatusCode.BadRequest, "Unable to parse 'trace_rate', value is out of range [ 0, 4294967295 ], got: -1");
        await E2E.AssertErrorAsync(await server.Http.PostAsync("/v2/trace/setting", Kserve.Json(new JsonObject { ["trace_count"] = "-2" }), Ct),
            HttpStatusCode.BadRequest, "Unable to parse 'trace_count'. Expecting value >= -1, got: -2");
        await E2E.AssertErrorAsync(await server.Http.PostAsync("/v2/trace/setting", Kserve.Json(new JsonObject { ["trace_level"] = new JsonArray("OFF", "TIMESTAMPS") }), Ct),
            HttpStatusCode.BadRequest, "Expect only one trace level 'OFF' is specified");
        await E2E.AssertErrorAsync(await server.Http.PostAsync("/v2/trace/setting", Kserve.Json(new JsonObject { ["trace_level"] = new JsonArray("TENSORS") }), Ct),
            HttpStatusCode.BadRequest, "'TENSORS' is not supported");
        await E2E.AssertErrorAsync(await server.Http.PostAsync("/v2/trace/setting", Kserve.Json(new JsonObject { ["trace_rat"] = "1" }), Ct),
            HttpStatusCode.BadRequest, "unknown trace setting 'trace_rat'");
        await E2E.AssertErrorAsync(await server.Http.PostAsync("/v2/trace/setting", new StringContent("{\"trace_rate\":"), Ct),
            HttpStatusCode.BadRequest);
        await E2E.AssertErrorAsync(await server.Http.GetAsync("/v2/models/nope/trace/setting", Ct),
            HttpStatusCode.BadRequest, "Request for unknown model : nope");

        // Nothing changed, nothing was written, and the server still serves.
        Assert.Equal("1000", (await SettingAsync(server, "/v2/trace/setting"))["trace_rate"]!.GetValue<string>());
        await InferAsync(server, "traced", "after");
        Assert.False(File.Exists(elsewhere));
        Assert.False(File.Exists(file + ".0"));
    }

    [Fact]
    public async Task LogFrequency_WritesIndexedFiles_WithEveryTimestampInOrder()
    {
        using var repository = new TempDirectory();
        IdentityModelBuilder.Write(repository.Path, "traced", width: 4);
        var file = repository.Combine("trace.json");
        await using var server = await ServerHost.StartAsync(repository.Path,
            "--trace-config", "triton,file=" + file, "--trace-config", "level=TIMESTAMPS", "--trace-config", "rate=1",
            "--trace-config", "triton,log-frequency=2");

        for (var i = 0; i < 4; i++)
        {
            await InferAsync(server, "traced", $"r{i}");
        }
        await E2E.WaitUntilAsync(() => Task.FromResult(File.Exists(file + ".1")), "the second indexed trace file exists");

        var all = new Dictionary<long, (JsonObject Model, List<(string Name, long Ns)> Timestamps)>();
        foreach (var index in new[] { 0, 1 })
        {
            var traces = ReadTraces($"{file}.{index}");
            Assert.Equal(2, traces.Count);
            foreach (var (id, trace) in traces)
            {
                all[id] = trace;
            }
        }
        Assert.False(File.Exists(file + ".2"));
        Assert.Equal(["r0", "r1", "r2", "r3"], all.Values.Select(t => t.Model["request_id"]!.GetValue<string>()).Order());
        foreach (var (_, (model, timestamps)) in all)
        {
            Assert.Equal("traced", model["model_name"]!.GetValue<string>());
            Assert.Equal(1, model["model_version"]!.GetValue<long>());
            AssertComplete(timestamps);
        }
    }

    [Fact]
    public async Task RateAndCount_SampleEveryNthRequestUntilTheCountRunsOut_ThenWriteThem()
    {
        using var repository = new TempDirectory();
        IdentityModelBuilder.Write(repository.Path, "traced", width: 4);
        var file = repository.Combine("trace.json");
        await using var server = await ServerHost.StartAsync(repository.Path, "--trace-config", "triton,file=" + file);

        var setting = await SettingAsync(server, "/v2/trace/setting", new JsonObject
        {
            ["trace_level"] = new JsonArray("TIMESTAMPS"), ["trace_rate"] = "2", ["trace_count"] = "2",
        });
        Assert.Equal(["TIMESTAMPS"], setting["trace_level"]!.AsArray().Select(l => l!.GetValue<string>()));
        Assert.Equal("2", setting["trace_rate"]!.GetValue<string>());
        Assert.Equal("2", setting["trace_count"]!.GetValue<string>());

        for (var i = 1; i <= 7; i++)
        {
            await InferAsync(server, "traced", $"r{i}");
        }
        // The count ran out at the 4th request: both traces went to the first indexed file.
        Assert.Equal("0", (await SettingAsync(server, "/v2/trace/setting"))["trace_count"]!.GetValue<string>());
        await E2E.WaitUntilAsync(() => Task.FromResult(File.Exists(file + ".0")), "the indexed trace file exists");
        var traces = ReadTraces(file + ".0");
        Assert.Equal(["r2", "r4"], traces.Values.Select(t => t.Model["request_id"]!.GetValue<string>()).Order());
        foreach (var trace in traces.Values)
        {
            AssertComplete(trace.Timestamps);
        }

        // Clearing the count goes back to the default (-1, unlimited).
        Assert.Equal("-1", (await SettingAsync(server, "/v2/trace/setting", new JsonObject { ["trace_count"] = null }))["trace_count"]!.GetValue<string>());
    }

    [Fact]
    public async Task ModelSetting_TracesOnlyThatModel_AndFollowsTheGlobalFieldsItDoesNotSet()
    {
        using var repository = new TempDirectory();
        IdentityModelBuilder.Write(repository.Path, "alpha", width: 4);
        IdentityModelBuilder.Write(repository.Path, "beta", width: 4);
        var file = repository.Combine("trace.json");
        var server = await ServerHost.StartAsync(repository.Path, "--trace-config", "triton,file=" + file, "--trace-config", "rate=1");
        await using (server)
        {
            var alpha = await SettingAsync(server, "/v2/models/alpha/trace/setting", new JsonObject { ["trace_level"] = new JsonArray("TIMESTAMPS") });
            Assert.Equal("TIMESTAMPS", alpha["trace_level"]![0]!.GetValue<string>());
            Assert.Equal("OFF", (await SettingAsync(server, "/v2/trace/setting"))["trace_level"]![0]!.GetValue<string>());
            Assert.Equal("OFF", (await SettingAsync(server, "/v2/models/beta/trace/setting"))["trace_level"]![0]!.GetValue<string>());

            // A global field the model does not set reaches it.
            await SettingAsync(server, "/v2/trace/setting", new JsonObject { ["log_frequency"] = "50" });
            Assert.Equal("50", (await SettingAsync(server, "/v2/models/alpha/trace/setting"))["log_frequency"]!.GetValue<string>());
            await SettingAsync(server, "/v2/trace/setting", new JsonObject { ["log_frequency"] = "0" });

            await InferAsync(server, "alpha", "a1");
            await InferAsync(server, "beta", "b1");
            await InferAsync(server, "alpha", "a2");
        }

        // log_frequency 0: the traces went to the trace file itself, a JSON array closed at shutdown.
        var traces = ReadTraces(file);
        Assert.Equal(["a1", "a2"], traces.Values.Select(t => t.Model["request_id"]!.GetValue<string>()).Order());
        Assert.All(traces.Values, t => Assert.Equal("alpha", t.Model["model_name"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Grpc_TraceSetting_UpdatesAndTracesGrpcRequests()
    {
        using var repository = new TempDirectory();
        IdentityModelBuilder.Write(repository.Path, "traced", width: 4);
        var file = repository.Combine("trace.json");
        await using var server = await ServerHost.StartAsync(repository.Path, "--trace-config", "triton,file=" + file);

        var current = await server.Grpc.TraceSettingAsync(new TraceSettingRequest(), cancellationToken: Ct);
        Assert.Equal(["OFF"], current.Settings["trace_level"].Value);
        Assert.Equal(["1000"], current.Settings["trace_rate"].Value);
        Assert.Equal(["triton"], current.Settings["trace_mode"].Value);

        var update = new TraceSettingRequest { ModelName = "traced" };
        update.Settings["trace_level"] = new TraceSettingRequest.Types.SettingValue { Value = { "TIMESTAMPS" } };
        update.Settings["trace_rate"] = new TraceSettingRequest.Types.SettingValue { Value = { "1" } };
        update.Settings["log_frequency"] = new TraceSettingRequest.Types.SettingValue { Value = { "1" } };
        var updated = await server.Grpc.TraceSettingAsync(update, cancellationToken: Ct);
        Assert.Equal(["TIMESTAMPS"], updated.Settings["trace_level"].Value);
        Assert.Equal(["1"], updated.Settings["log_frequency"].Value);

        var moveFile = new TraceSettingRequest();
        moveFile.Settings["trace_file"] = new TraceSettingRequest.Types.SettingValue { Value = { repository.Combine("elsewhere.json") } };
        await E2E.AssertRpcErrorAsync(() => server.Grpc.TraceSettingAsync(moveFile, cancellationToken: Ct).ResponseAsync,
            StatusCode.Unimplemented, "trace file location can not be updated through network protocol");
        var twoRates = new TraceSettingRequest();
        twoRates.Settings["trace_rate"] = new TraceSettingRequest.Types.SettingValue { Value = { "1", "2" } };
        await E2E.AssertRpcErrorAsync(() => server.Grpc.TraceSettingAsync(twoRates, cancellationToken: Ct).ResponseAsync,
            StatusCode.InvalidArgument, "expect only 1 value for 'trace_rate'");
        await E2E.AssertRpcErrorAsync(() => server.Grpc.TraceSettingAsync(new TraceSettingRequest { ModelName = "nope" }, cancellationToken: Ct).ResponseAsync,
            StatusCode.InvalidArgument, "Request for unknown model : nope");

        var reply = await server.Grpc.ModelInferAsync(E2E.RawRequest("traced", "INPUT0", [1, 4], [1, 2, 3, 4], id: "g1"), cancellationToken: Ct);
        Assert.Equal("g1", reply.Id);
        await E2E.WaitUntilAsync(() => Task.FromResult(File.Exists(file + ".0")), "the gRPC request's trace file exists");
        var trace = Assert.Single(ReadTraces(file + ".0").Values);
        Assert.Equal("g1", trace.Model["request_id"]!.GetValue<string>());
        AssertComplete(trace.Timestamps);

        // Clearing every field of the model's own setting puts it back on the global setting.
        var clear = new TraceSettingRequest { ModelName = "traced" };
        foreach (var name in new[] { "trace_level", "trace_rate", "log_frequency" })
        {
            clear.Settings[name] = new TraceSettingRequest.Types.SettingValue();
        }
        Assert.Equal(["OFF"], (await server.Grpc.TraceSettingAsync(clear, cancellationToken: Ct)).Settings["trace_level"].Value);
    }

    [Fact]
    public async Task RestrictedTraceGroup_RefusesWithoutTheHeader()
    {
        using var repository = new TempDirectory();
        IdentityModelBuilder.Write(repository.Path, "traced", width: 4);
        await using var server = await ServerHost.StartAsync(repository.Path,
            "--http-restricted-api=trace:admin-key=secret", "--grpc-restricted-protocol=trace:admin-key=secret");

        await E2E.AssertErrorAsync(await server.Http.GetAsync("/v2/trace/setting", Ct), HttpStatusCode.Forbidden, "expecting header 'admin-key'");
        using var allowed = new HttpRequestMessage(HttpMethod.Get, "/v2/models/traced/trace/setting") { Headers = { { "admin-key", "secret" } } };
        using var ok = await server.Http.SendAsync(allowed, Ct);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        await E2E.AssertRpcErrorAsync(() => server.Grpc.TraceSettingAsync(new TraceSettingRequest(), cancellationToken: Ct).ResponseAsync,
            StatusCode.Unavailable, "triton-grpc-protocol-admin-key");
    }
}
