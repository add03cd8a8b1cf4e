namespace Inference.Tests.Telemetry;

/// <summary>Paths of checked-in files (monitoring configs), found by walking up from the test binaries to the solution.</summary>
internal static class RepositoryFiles
{
    public static string Root { get; } = FindRoot();

    public static string Monitoring(params string[] parts) => Path.Combine([Root, "monitoring", .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AspireInference.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"no AspireInference.sln above {AppContext.BaseDirectory}");
    }
}
