using Aspire.Hosting;
using Aspire.Hosting.Testing;

namespace Inference.Tests.AppHost;

/// <summary>The Aspire manifest the AppHost publishes, against the checked-in aspire-manifest/aspire-manifest.json.</summary>
public sealed class AppHostManifestTests : IDisposable
{
    private const string RegenerateCommand =
        "dotnet run --project AppHost -- --publisher manifest --output-path ../aspire-manifest/aspire-manifest.json";

    private readonly DirectoryInfo _output = Directory.CreateTempSubdirectory("aspire-manifest-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _output.Delete(recursive: true);

    [Fact]
    public async Task PublishedManifest_IsTheCheckedInOne()
    {
        var path = Path.Combine(_output.FullName, "aspire-manifest.json");
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            ["--publisher", "manifest", "--output-path", path], Ct);
        await using var app = await builder.BuildAsync(Ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(2));
        await app.RunAsync(timeout.Token);

        // The manifest's paths are relative to its own folder: from this temporary folder they climb to the
        // repository ("../../work/.../monitoring"), from aspire-manifest/ they are "../monitoring".
        var fromOutputToRepository = Path.GetRelativePath(_output.FullName, AppHostModelTests.RepositoryRoot).Replace('\\', '/') + "/";
        var published = (await File.ReadAllTextAsync(path, Ct)).Replace("\"" + fromOutputToRepository, "\"../", StringComparison.Ordinal);
        var checkedIn = await File.ReadAllTextAsync(Path.Combine(AppHostModelTests.RepositoryRoot, "aspire-manifest", "aspire-manifest.json"), Ct);

        Assert.True(checkedIn == published,
            $"aspire-manifest/aspire-manifest.json is not what the AppHost publishes; regenerate it with `{RegenerateCommand}`. Published:\n{published}");
    }

    [Fact]
    public async Task CheckedInManifest_HoldsNoPathOfTheMachineThatWroteIt()
    {
        var manifest = await File.ReadAllTextAsync(Path.Combine(AppHostModelTests.RepositoryRoot, "aspire-manifest", "aspire-manifest.json"), Ct);

        string[] machinePaths =
        [
            AppHostModelTests.RepositoryRoot, "/work/", "/home/", "/root/", "/tmp/", "/usr/", "/usr/bin/prometheus",
            Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), Path.GetTempPath(),
        ];
        Assert.All(machinePaths.Where(p => p.Length > 1), p => Assert.DoesNotContain(p, manifest, StringComparison.Ordinal));
        // Relative paths stay inside the repository: one level up from aspire-manifest/, no further.
        Assert.DoesNotContain("\"../../", manifest, StringComparison.Ordinal);
    }
}
