using AspireInference.AppHost.Deployment;

namespace Inference.Tests.AppHost.Deployment;

/// <summary><c>aspire deploy</c> / <c>aspire destroy</c> where no cluster can be reached (as on CI), run as a user runs
/// them: the AppHost process fails at once with exit code 1 and a message naming what is missing, and the manifests
/// it wrote stay.</summary>
public sealed class GkeDeployStepTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("gke-deploy-");

    private string Home => Directory.CreateDirectory(Path.Combine(_root.FullName, "home")).FullName;

    private string Output => Path.Combine(_root.FullName, "out");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _root.Delete(recursive: true);

    [Fact]
    public async Task Deploy_WithoutAKubeconfig_ExitsOneNamingTheContextAndLeavesTheManifests()
    {
        var result = await AppHostProcess.RunAsync(Home, new Dictionary<string, string>(), Ct,
            "--operation", "publish", "--step", "deploy", "--output-path", Output, "--Parameters:gke-project=my-project");

        Assert.True(result.ExitCode == 1, $"exit code {result.ExitCode}: {result.Output}");
        Assert.Contains("Cannot deploy to GKE; missing:", result.Output, StringComparison.Ordinal);
        Assert.Contains($"no kubeconfig at {Path.Combine(Home, ".kube", "config")}", result.Output, StringComparison.Ordinal);
        Assert.Contains("gcloud container clusters get-credentials aspire-inference --region us-central1 --project my-project", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("set Parameters:gke-project", result.Output, StringComparison.Ordinal);
        Assert.True(result.Elapsed < TimeSpan.FromSeconds(90), $"the deploy step must fail fast (took {result.Elapsed})");
        Assert.True(File.Exists(Path.Combine(Output, "overlays", "standard-t4", "deployment.yaml")));
        Assert.True(File.Exists(Path.Combine(Output, "base", "kustomization.yaml")));
    }

    [Fact]
    public async Task Deploy_WithAnUnreachableClusterAndNoProject_NamesBoth()
    {
        // A kubeconfig whose server refuses connections (nothing listens on port 1 of loopback).
        var kubeconfig = Path.Combine(_root.FullName, "kubeconfig");
        await File.WriteAllTextAsync(kubeconfig, """
            apiVersion: v1
            kind: Config
            clusters:
            - name: nowhere
              cluster:
                server: https://127.0.0.1:1
                insecure-skip-tls-verify: true
            contexts:
            - name: nowhere
              context:
                cluster: nowhere
                user: nobody
            current-context: nowhere
            users:
            - name: nobody
              user:
                token: none
            """, Ct);

        var result = await AppHostProcess.RunAsync(Home, new Dictionary<string, string> { ["KUBECONFIG"] = kubeconfig }, Ct,
            "--operation", "publish", "--step", GkePipelineSteps.DeployStep, "--output-path", Output);

        Assert.True(result.ExitCode == 1, $"exit code {result.ExitCode}: {result.Output}");
        Assert.Contains("the Google Cloud project: set Parameters:gke-project", result.Output, StringComparison.Ordinal);
        Assert.Contains($"a reachable cluster: the current context of {kubeconfig} does not answer", result.Output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(Output, "loadtest", "job.yaml")));
    }

    [Fact]
    public async Task Destroy_WithNothingDeployed_ExitsOneSayingSo()
    {
        var result = await AppHostProcess.RunAsync(Home, new Dictionary<string, string>(), Ct,
            "--operation", "publish", "--step", "destroy", "--output-path", Output);

        Assert.True(result.ExitCode == 1, $"exit code {result.ExitCode}: {result.Output}");
        Assert.Contains("Nothing to destroy: no GKE deployment was recorded", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Publish_Succeeds_WithExitCodeZero()
    {
        var result = await AppHostProcess.RunAsync(Home, new Dictionary<string, string>(), Ct,
            "--operation", "publish", "--step", GkePipelineSteps.PublishStep, "--output-path", Output);

        Assert.True(result.ExitCode == 0, $"exit code {result.ExitCode}: {result.Output}");
        Assert.Equal(GkePublish.Files(GkePublish.CheckedInFolder), GkePublish.Files(Output));
    }
}
