using Inference.Tests.ModelTools;

namespace Inference.Tests.LoadTest;

/// <summary>Command-line mistakes end in one line naming the option, and exit code 2, not a .NET exception.</summary>
public sealed class CliErrorTests(LoadTestServerFixture fixture) : IClassFixture<LoadTestServerFixture>
{
    [Theory]
    [InlineData("scenario")]
    [InlineData("sweep")]
    public async Task MissingImagesFolder_OneLineErrorNamingTheOptionAndPath_ExitsTwo(string command)
    {
        var ct = TestContext.Current.CancellationToken;
        using var caller = new TempDirectory();
        string[] common = ["--url", fixture.Server.GrpcAddress.ToString(), "-m", "resnet_224", "--images", "no-such-folder", "--duration", "1", "-q"];
        using var process = LoadTestProcess.Start(command == "scenario" ? ["scenario", .. common] : common, caller.Path);
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);

        var error = (await stderr).Trim();
        Assert.Equal(2, process.ExitCode);
        Assert.Equal($"error: --images {Path.Combine(caller.Path, "no-such-folder")}: no such folder", error);
        Assert.DoesNotContain("Exception", error + await stdout);
    }
}
