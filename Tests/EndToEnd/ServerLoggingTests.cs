using System.Net;
using System.Text.Json.Nodes;
using Inference.Server.ModelTools;
using Inference.Tests.ModelTools;

namespace Inference.Tests.EndToEnd;

/// <summary>Production-quiet logs: requests write nothing at the default level; Triton's --log-verbose turns ASP.NET
/// Core's request lines on. The real server as its own process, its console read back.</summary>
public sealed class ServerLoggingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<string> LogOfTenRequestsAsync(params string[] args)
    {
        using var repository = new TempDirectory();
        IdentityModelBuilder.Write(repository.Path, "quiet", width: 4);
        await using var server = await ServerProcess.StartAsync(repository.Path, args);
        for (var i = 0; i < 10; i++)
        {
            using var response = await server.Http.PostAsync("/v2/models/quiet/infer",
                Kserve.Json(new JsonObject { ["inputs"] = new JsonArray(Kserve.JsonInput("INPUT0", [1, 4], [1, 2, 3, 4])) }), Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var health = await server.Http.GetAsync("/v2/health/ready", Ct);
        }
        server.Terminate();
        Assert.True(await server.WaitForExitAsync(TimeSpan.FromSeconds(60)), server.Output);
        return server.Output;
    }

    [Fact]
    public async Task ByDefault_RequestsLogNothing_AndNoKestrelWarningAtStart()
    {
        var log = await LogOfTenRequestsAsync();

        Assert.Contains("Model quiet ready", log, StringComparison.Ordinal);
        Assert.DoesNotContain("Request starting", log, StringComparison.Ordinal);
        Assert.DoesNotContain("Executing endpoint", log, StringComparison.Ordinal);
        Assert.DoesNotContain("Execution attempt", log, StringComparison.Ordinal);
        Assert.DoesNotContain("HTTP/2 is not enabled", log, StringComparison.Ordinal);
        // No warning line at all, in Triton's format (W<MMDD> ... or <ISO8601>Z W ...).
        Assert.DoesNotMatch(new System.Text.RegularExpressions.Regex(@"^(W\d{4} |\S+Z W )", System.Text.RegularExpressions.RegexOptions.Multiline), log);
    }

    [Fact]
    public async Task LogVerbose_LogsEachRequest()
    {
        var log = await LogOfTenRequestsAsync("--log-verbose=1");

        Assert.True(log.Split("Request starting").Length - 1 >= 20, log);
    }
}
