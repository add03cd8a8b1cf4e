namespace Inference.Tests.Telemetry;

/// <summary>Validates the checked-in Prometheus configuration and rules with Debian's promtool (installed by .ci/run).</summary>
public sealed class PromtoolTests
{
    internal const string Promtool = "/usr/bin/promtool";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task CheckConfig_OnTheRepositoryConfig_Succeeds()
    {
        SkipWithoutPromtool();
        var (code, output) = await ExternalProcess.RunAsync(Promtool, ["check", "config", RepositoryFiles.Monitoring("prometheus", "prometheus.yml")], Ct);
        Assert.True(code == 0, output);
        Assert.Contains("2 rule files found", output);
    }

    [Fact]
    public async Task CheckRules_OnTheRepositoryRules_Succeeds()
    {
        SkipWithoutPromtool();
        var files = Directory.GetFiles(RepositoryFiles.Monitoring("prometheus", "rules"), "*.yml");
        Assert.Equal(2, files.Length);
        var (code, output) = await ExternalProcess.RunAsync(Promtool, ["check", "rules", .. files], Ct);
        Assert.True(code == 0, output);
    }

    [Fact]
    public async Task CheckRules_OnARuleWithAnInvalidExpression_Fails()
    {
        SkipWithoutPromtool();
        var file = Path.Combine(Path.GetTempPath(), $"broken-{Guid.NewGuid():N}.rules.yml");
        await File.WriteAllTextAsync(file, "groups:\n  - name: broken\n    rules:\n      - record: x:y:z\n        expr: sum by (model (rate(nv_inference_count[1m]))\n", Ct);
        try
        {
            var (code, _) = await ExternalProcess.RunAsync(Promtool, ["check", "rules", file], Ct);
            Assert.NotEqual(0, code);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static void SkipWithoutPromtool()
    {
        if (!File.Exists(Promtool))
        {
            Assert.Skip($"{Promtool} is absent: install Debian's prometheus package (.ci/run does)");
        }
    }
}
