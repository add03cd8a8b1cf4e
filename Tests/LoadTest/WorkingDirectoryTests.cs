using System.Diagnostics;
using Inference.Tests.AppHost;
using Inference.Tests.ModelTools;

namespace Inference.Tests.LoadTest;

/// <summary><c>--output-dir out/</c> means out/ under the directory the command was run from, also under
/// <c>dotnet run --project LoadTest</c> (the Web SDK would otherwise run it in the project folder).</summary>
public sealed class WorkingDirectoryTests
{
    [Fact]
    public async Task DotnetRun_RunsLoadTestInTheCallersDirectory()
    {
        using var caller = new TempDirectory();
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = caller.Path,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "msbuild", Path.Combine(AppHostModelTests.RepositoryRoot, "LoadTest", "LoadTest.csproj"), "-getProperty:RunWorkingDirectory", "-p:Configuration=Release" })
        {
            info.ArgumentList.Add(a);
        }
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);

        Assert.True(process.ExitCode == 0, await stderr);
        Assert.Equal(Path.TrimEndingDirectorySeparator(caller.Path), Path.TrimEndingDirectorySeparator((await stdout).Trim()));
    }
}
