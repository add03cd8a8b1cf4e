using System.Diagnostics;

namespace Inference.Tests.AppHost.Deployment;

/// <summary>
/// The built AppHost run as its own process, as a user runs a pipeline step from a script
/// (<c>dotnet run --project AppHost -- --operation publish --step ...</c>), with a home folder of its own so that
/// neither this machine's kubeconfig nor its Aspire deployment state is read or written.
/// </summary>
internal static class AppHostProcess
{
    public sealed record Result(int ExitCode, string Output, TimeSpan Elapsed);

    /// <summary>AppHost.dll of the same configuration as this test assembly (bin/&lt;configuration&gt;/net10.0).</summary>
    private static string AppHostDll
    {
        get
        {
            var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var configuration = framework.Parent!.Name;
            var dll = Path.Combine(AppHostModelTests.AppHostDirectory, "bin", configuration, framework.Name, "AppHost.dll");
            Assert.True(File.Exists(dll), $"{dll} is not built");
            return dll;
        }
    }

    public static async Task<Result> RunAsync(string home, IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken, params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppHostModelTests.AppHostDirectory,
        };
        info.ArgumentList.Add(AppHostDll);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        info.Environment["HOME"] = home;
        info.Environment["DOTNET_CLI_HOME"] = home;
        info.Environment["ASPIRE_ALLOW_UNSECURED_TRANSPORT"] = "true";
        info.Environment.Remove("KUBECONFIG");
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("the AppHost did not exit within 3 minutes: " + await stdout);
        }
        return new Result(process.ExitCode, await stdout + await stderr, watch.Elapsed);
    }
}
