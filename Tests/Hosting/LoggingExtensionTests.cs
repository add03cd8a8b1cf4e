using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Grpc.Core;
using Inference.Server.ModelTools;
using Inference.Server.Protos;
using Inference.Tests.EndToEnd;
using Inference.Tests.ModelTools;

namespace Inference.Tests.Hosting;

/// <summary>
/// Triton's logging extension over the real server on loopback: <c>/v2/logging</c> and gRPC LogSettings with Triton's
/// reply and errors, log_file fixed at start, and the changes taking effect at once in what the server writes to its
/// --log-file (Triton's line formats, info and error switches, the verbose level's per-request lines).
/// </summary>
public sealed partial class LoggingExtensionTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [GeneratedRegex(@"^I\d{4} \d{2}:\d{2}:\d{2}\.\d{6} \d+ Inference\.Server\.Repository\.ModelManager\] Model alpha ready", RegexOptions.Multiline)]
    private static partial Regex DefaultAlphaReady();

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z I \d+ Inference\.Server\.Repository\.ModelManager\] Model beta ready", RegexOptions.Multiline)]
    private static partial Regex IsoBetaReady();

    private static async Task<JsonObject> LoggingAsync(ServerHost server, JsonObject? update = null)
    {
        using var response = update is null
            ? await server.Http.GetAsync("/v2/logging", Ct)
            : await server.Http.PostAsync("/v2/logging", Kserve.Json(update), Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonNode.Parse(body)!.AsObject();
    }

    private static async Task LoadAsync(ServerHost server, string model, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await server.Http.PostAsync($"/v2/repository/models/{model}/load", null, Ct);
        Assert.Equal(expected, response.StatusCode);
    }

    private static async Task InferAsync(ServerHost server, string model)
    {
        using var response = await server.Http.PostAsync($"/v2/models/{model}/infer",
            Kserve.Json(new JsonObject { ["inputs"] = new JsonArray(Kserve.JsonInput("INPUT0", [1, 4], [1, 2, 3, 4])) }), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static string Read(string file)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return new StreamReader(stream).ReadToEnd();
    }

    [Fact]
    public async Task Http_ReadsAndChangesTheSettings_AndRefusesTheFileAndBadValues()
    {
        using var repository = new TempDirectory();
        IdentityModelBuilder.Write(repository.Path, "alpha", width: 4);
        await using var server = await ServerHost.StartAsync(repository.Path);

        Assert.Equal("""{"log_file":"","log_info":true,"log_warning":true,"log_error":true,"log_verbose_level":0,"log_format":"default"}""",
            (await LoggingAsync(server)).ToJsonString());
        var metadata = JsonNode.Parse(await server.Http.GetStringAsync("/v2", Ct))!;
        Assert.Contains("logging", metadata["extensions"]!.AsArray().Select(e => e!.GetValue<string>()));

        var changed = await LoggingAsync(server, new JsonObject
        {
            ["log_info"] = false, ["log_warning"] = false, ["log_verbose_level"] = 2, ["log_format"] = "ISO8601", ["log_error"] = null,
        });
        Assert.Equal("""{"log_file":"","log_info":false,"log_warning":false,"log_error":true,"log_verbose_level":2,"log_format":"ISO8601"}""",
            changed.ToJsonString());

        var elsewhere = repository.Combine("elsewhere.log");
        await E2E.AssertErrorAsync(await server.Http.PostAsync("/v2/logging", Kserve.Json(new JsonObject { ["log_file"] = elsewhere }), Ct),
            HttpStatusCode.NotImplemented, "log file location can not be updated through network protocol");
        await E2E.AssertErrorAsync(await server.Http.PostAsync("/v2/logging", Kserve.Json(new JsonObject { ["log_info"] = "yes", ["log_error"] = false }), Ct),
            HttpStatusCode.BadRequest, "expect boolean for 'log_info'");
        await E2E.AssertErrorAsync(await server.Http.PostAsync("/v2/logging", Kserve.Json(new JsonObject { ["log_verbose_level"] = -1 }), Ct),
            HttpStatusCode.BadRequest, "'log_verbose_level'");
        await E2E.AssertErrorAsync(await server.Http.PostAsync("/v2/logging", Kserve.Json(new JsonObject { ["log_format"] = "json" }), Ct),
            HttpStatusCode.BadRequest, "invalid argument for log_format, got: json");
        await E2E.AssertErrorAsync(await server.Http.PostAsync("/v2/logging", Kserve.Json(new JsonObject { ["log_level"] = 1 }), Ct),
            HttpStatusCode.BadRequest, "unknown log setting 'log_level'");
        await E2E.AssertErrorAsync(await server.Http.PostAsync("/v2/logging", new StringContent("[1]"), Ct), HttpStatusCode.BadRequest);

        // A refused request changes nothing (log_error stayed on), no file appeared, and the server serves.
        Assert.Equal(changed.ToJsonString(), (await LoggingAsync(server)).ToJsonString());
        Assert.False(File.Exists(elsewhere));
        await InferAsync(server, "alpha");
    }

    [Fact]
    public async Task Grpc_ReadsAndChangesTheSettings_AndRefusesTheFile()
    {
        using var repository = new TempDirectory();
        IdentityModelBuilder.Write(repository.Path, "alpha", width: 4);
        await using var server = await ServerHost.StartAsync(repository.Path, "--log-verbose=1");

        var current = await server.Grpc.LogSettingsAsync(new LogSettingsRequest(), cancellationToken: Ct);
        Assert.Equal(1u, current.Settings["log_verbose_level"].Uint32Param);
        Assert.True(current.Settings["log_info"].BoolParam);
        Assert.Equal("default", current.Settings["log_format"].StringParam);
        Assert.Equal("", current.Settings["log_file"].StringParam);

        var update = new LogSettingsRequest();
        update.Settings["log_error"] = new LogSettingsRequest.Types.SettingValue { BoolParam = false };
        update.Settings["log_verbose_level"] = new LogSettingsRequest.Types.SettingValue { Uint32Param = 0 };
        update.Settings["log_format"] = new LogSettingsRequest.Types.SettingValue { StringParam = "ISO8601" };
        var updated = await server.Grpc.LogSettingsAsync(update, cancellationToken: Ct);
        Assert.False(updated.Settings["log_error"].BoolParam);
        Assert.Equal(0u, updated.Settings["log_verbose_level"].Uint32Param);
        Assert.Equal("ISO8601", updated.Settings["log_format"].StringParam);

        var file = new LogSettingsRequest();
        file.Settings["log_file"] = new LogSettingsRequest.Types.SettingValue { StringParam = repository.Combine("elsewhere.log") };
        await E2E.AssertRpcErrorAsync(() => server.Grpc.LogSettingsAsync(file, cancellationToken: Ct).ResponseAsync,
            StatusCode.Unimplemented, "log file location can not be updated through network protocol");
        var wrongType = new LogSettingsRequest();
        wrongType.Settings["log_info"] = new LogSettingsRequest.Types.SettingValue { StringParam = "true" };
        await E2E.AssertRpcErrorAsync(() => server.Grpc.LogSettingsAsync(wrongType, cancellationToken: Ct).ResponseAsync,
            StatusCode.InvalidArgument, "expect boolean for 'log_info'");
        Assert.True((await server.Grpc.LogSettingsAsync(new LogSettingsRequest(), cancellationToken: Ct)).Settings["log_info"].BoolParam);
    }

    [Fact]
    public async Task Changes_TakeEffectAtOnce_InTheLogFile()
    {
        using var repository = new TempDirectory();
        IdentityModelBuilder.Write(repository.Path, "alpha", width: 4);
        IdentityModelBuilder.Write(repository.Path, "beta", width: 4);
        IdentityModelBuilder.Write(repository.Path, "gamma", width: 4);
        Directory.CreateDirectory(repository.Combine("broken", "1"));
        File.WriteAllText(repository.Combine("broken", "1", "model.onnx"), "not a model");
        var log = repository.Combine("logs", "server.log");
        await using var server = await ServerHost.StartAsync(repository.Path,
            "--model-control-mode=explicit", "--log-file=" + log, "--Logging:LogLevel:Default=Information");
        Assert.Equal(log, (await LoggingAsync(server))["log_file"]!.GetValue<string>());

        // Triton's default format.
        await LoadAsync(server, "alpha");
        await E2E.WaitUntilAsync(() => Task.FromResult(DefaultAlphaReady().IsMatch(Read(log))), "alpha's ready line is in the log file");

        // ISO8601 from the next line on.
        await LoggingAsync(server, new JsonObject { ["log_format"] = "ISO8601" });
        await LoadAsync(server, "beta");
        await E2E.WaitUntilAsync(() => Task.FromResult(IsoBetaReady().IsMatch(Read(log))), "beta's ISO8601 ready line is in the log file");

        // Info and errors off: neither the next model's ready line nor a failed load's error line.
        await LoggingAsync(server, new JsonObject { ["log_info"] = false, ["log_error"] = false });
        await LoadAsync(server, "gamma");
        await LoadAsync(server, "broken", HttpStatusCode.BadRequest);
        // Errors on again: the next failure is written, and the earlier lines are still not.
        await LoggingAsync(server, new JsonObject { ["log_error"] = true });
        await LoadAsync(server, "broken", HttpStatusCode.BadRequest);
        await E2E.WaitUntilAsync(() => Task.FromResult(Read(log).Contains("Model broken failed to load", StringComparison.Ordinal)), "the error line is in the log file");
        var text = Read(log);
        Assert.DoesNotContain("Model gamma ready", text, StringComparison.Ordinal);
        Assert.Single(Regex.Matches(text, "Model broken failed to load"));
        Assert.Matches(new Regex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z E \d+ .*Model broken failed to load", RegexOptions.Multiline), text);

        // Verbose level 1: per-request lines; back to 0: none.
        await LoggingAsync(server, new JsonObject { ["log_info"] = true, ["log_verbose_level"] = 1 });
        await InferAsync(server, "alpha");
        await E2E.WaitUntilAsync(() => Task.FromResult(Read(log).Contains("Request starting", StringComparison.Ordinal)), "a per-request line is in the log file");
        await LoggingAsync(server, new JsonObject { ["log_verbose_level"] = 0 });
        var before = Regex.Matches(Read(log), "Request starting").Count;
        for (var i = 0; i < 5; i++)
        {
            await InferAsync(server, "alpha");
        }
        await LoadAsync(server, "gamma");
        await E2E.WaitUntilAsync(() => Task.FromResult(Read(log).Contains("Model gamma ready", StringComparison.Ordinal)), "gamma's ready line is in the log file");
        Assert.Equal(before, Regex.Matches(Read(log), "Request starting").Count);
    }
}
