using System.Text;
using System.Text.RegularExpressions;
using Inference.Server.ModelTools;
using Inference.Tests.EndToEnd;
using Inference.Tests.ModelTools;
using LoadTest.Reliability;

namespace Inference.Tests.Reliability;

/// <summary>
/// The reliability suite's short form (docs/reliability.md), every category including the SIGTERM drain, against the
/// real server started as a child process on loopback over a repository like bench/reliability/run.sh's: an identity
/// model and the small ResNet with a queue of 8. Every check must pass.
/// </summary>
/// <remarks>
/// Some checks were written against defects that are fixed now (<see cref="FixedDefects"/>: reported before the suite
/// existed; <see cref="FoundBySuite"/>: found by it). Should one come back, the message names the defect its failing
/// checks belong to, and lists anything else as unexpected.
/// </remarks>
public sealed class ReliabilitySuiteTests
{
    /// <summary>Fixed defects and the checks that pin them: (defect, the checks it failed).</summary>
    public static readonly IReadOnlyList<(string Defect, Regex Checks)> FixedDefects =
    [
        ("HTTP 500 (not 400) on invalid UTF-8 in JSON string fields", new(@"^(http/utf8/|fuzz/http-5xx/invalid-utf8/)")),
        ("gRPC UNKNOWN (not INVALID_ARGUMENT) on unreadable protobuf for the methods other than ModelInfer and ModelStreamInfer",
            new(@"^grpc/(unreadable/(?!ModelInfer/|ModelStreamInfer/)|utf8/(?!infer-))")),
        ("config overrides load files outside the repository; load errors are an oracle and carry absolute paths",
            new(@"^security/(override-|.*no-absolute-path$)")),
        ("a failed load of an unknown name makes the server unready", new(@"^security/readiness-after-failed-load$")),
        ("the model index grows with failed loads (and unloading such a name then answers 200)",
            new(@"^security/(index-stable-after-failed-loads|name-escape/http-unload/)")),
        ("SIGTERM does not drain: open streams keep the server up for the host's 30 s shutdown timeout", new(@"^drain/")),
    ];

    /// <summary>Defects this suite found, fixed since, and the checks that pin them.</summary>
    public static readonly IReadOnlyList<(string Defect, Regex Checks)> FoundBySuite =
    [
        ("a gRPC frame header declaring more than 2 GiB gets UNKNOWN (not RESOURCE_EXHAUSTED)", new(@"^grpc/size/frame-declares-[24]gib$")),
    ];

    [Fact]
    public async Task ShortForm_AgainstTheRealServer_EveryCheckPasses()
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(6));
        var ct = timeout.Token;
        using var repository = new TempDirectory();
        IdentityModelBuilder.Write(repository.Path, "identity", width: 16, maxBatchSize: 8, maxQueueDelayMicroseconds: 0);
        var overload = DefaultModelRepository.WriteSmallModel(repository.Path, "overload");
        var config = Path.Combine(overload, "config.pbtxt");
        var text = await File.ReadAllTextAsync(config, ct);
        var bounded = Regex.Replace(text, @"(max_queue_delay_microseconds: \d+\n)", "$1  default_queue_policy { max_queue_size: 8 }\n");
        Assert.NotEqual(text, bounded);
        await File.WriteAllTextAsync(config, bounded, ct);
        // A child process: the suite reads the server's /proc entries and ends it with SIGTERM.
        await using var server = await ServerProcess.StartAsync(
            repository.Path, "--model-control-mode=explicit", "--load-model=*", "--max-request-body-bytes=4194304");
        var options = new ReliabilityOptions
        {
            HttpUrl = server.HttpAddress,
            GrpcUrl = server.GrpcAddress,
            ServerPid = server.Pid,
            Repository = repository.Path,
            MaxBodyBytes = 4 * 1024 * 1024,
            Categories = ReliabilityOptions.AllCategories,
        };
        using var output = new StringWriter();
        using var log = new StringWriter();

        var result = await ReliabilitySuite.RunAsync(options, output, log, ct);

        TestContext.Current.TestOutputHelper?.WriteLine(output.ToString());
        foreach (var name in ReliabilityOptions.AllCategories)
        {
            Assert.True(result[name] is { Total: > 0 }, $"category {name} ran no check:\n{output}\n{log}");
        }
        Assert.DoesNotContain(result.Categories.SelectMany(c => c.Skips), s => s.Check is "soak/slopes" or "overload/rss-bounded" or "drain");
        Assert.True(result.AllPassed, Explain(result));
    }

    /// <summary>The failures sorted into the defects being fixed, the ones found by the suite, and the unexpected.</summary>
    private static string Explain(SuiteResult result)
    {
        var failures = result.Categories.SelectMany(c => c.Failures).ToList();
        var sb = new StringBuilder();
        sb.AppendLine(result.Summary).AppendLine(string.Join("\n", result.Categories.Select(c => c.Line())));
        var unexpected = failures.Where(f => !FixedDefects.Concat(FoundBySuite).Any(d => d.Checks.IsMatch(f.Check))).ToList();
        sb.AppendLine($"unexpected failures ({unexpected.Count}, must be none):");
        foreach (var f in unexpected.Take(50))
        {
            sb.AppendLine($"  {f.Check}: {f.Detail}");
        }
        foreach (var (title, defects) in new[] { ("regressions of fixed defects", FixedDefects), ("regressions of defects the suite found", FoundBySuite) })
        {
            sb.AppendLine(title + ":");
            foreach (var (defect, checks) in defects)
            {
                var hit = failures.Where(f => checks.IsMatch(f.Check)).ToList();
                sb.AppendLine($"  {defect}: {hit.Count} failed checks{(hit.Count > 0 ? $", e.g. {hit[0].Check}: {hit[0].Detail}" : "")}");
            }
        }
        return sb.ToString();
    }
}
