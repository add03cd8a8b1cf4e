/// <summary>
/// The seed's Locust test as the load generator runs it: users sending 224x224 images to ResNet-50 over gRPC with a
/// think time, for ten minutes, failing (exit code 1) when more than 1 % of requests fail. One definition for the
/// AppHost's <c>loadtest</c> resource and the cluster's LoadTest Job.
/// </summary>
internal static class LoadTestScenario
{
    public const string Model = "resnet50";

    /// <summary>The arguments with <paramref name="url"/> (a string, or an endpoint reference locally) as the target.</summary>
    public static object[] Arguments(object url) =>
        ["scenario", "--url", url, "-m", Model, "--users", "10", "--spawn-rate", "1",
         "--think", "0.8:1.2", "--duration", "600", "--max-error-rate", "0.01"];
}
