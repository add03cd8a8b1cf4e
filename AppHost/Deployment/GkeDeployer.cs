#pragma warning disable ASPIREPIPELINES001, ASPIREPIPELINES002, ASPIREPIPELINES004
using System.Globalization;
using System.Text.Json.Nodes;
using Aspire.Hosting.Pipelines;
using k8s;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AspireInference.AppHost.Deployment;

/// <summary>
/// <c>aspire deploy</c> and <c>aspire destroy</c> against the current kube context. Deploy checks everything it needs
/// first and fails at once with one message naming each missing piece (after <c>publish-gke</c> has written the
/// manifests); then builds both images with the .NET SDK's container publishing (no Docker daemon) and pushes them to
/// Artifact Registry, writes the manifests again with those image references, applies the chosen overlay with
/// server-side apply, waits for the rollout and prints the endpoints. Its state (project, cluster, namespace, overlay,
/// image tag) is kept in Aspire's deployment state for the next deploy and for destroy.
/// </summary>
internal sealed class GkeDeployer(PipelineStepContext context, string repositoryRoot, string monitoringDirectory)
{
    /// <summary>The server image's base: CUDA 13 runtime with cuDNN 9 (what ONNX Runtime 1.31's CUDA provider links
    /// against) on Ubuntu 24.04; the server is published self-contained onto it, so it needs no .NET layer.</summary>
    public const string ServerBaseImage = "nvidia/cuda:13.0.1-cudnn-runtime-ubuntu24.04";

    /// <summary>The load generator's base: Microsoft's .NET runtime image (framework-dependent publish).</summary>
    public const string LoadTestBaseImage = "mcr.microsoft.com/dotnet/runtime:10.0";

    public const string StateSection = "gke";

    private static readonly TimeSpan ReachTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(30);
    private static readonly TimeSpan RolloutTimeout = TimeSpan.FromMinutes(20);

    private CancellationToken Ct => context.CancellationToken;

    public async Task DeployAsync()
    {
        var parameters = await PromptForMissingAsync(GkeParameters.Read(context.Services.GetRequiredService<IConfiguration>())).ConfigureAwait(false);
        var output = context.Services.GetRequiredService<IPipelineOutputService>().GetOutputDirectory();
        var kubectl = await CheckPrerequisitesAsync(parameters, output).ConfigureAwait(false);

        var registry = parameters.Registry.Length > 0 ? parameters.Registry : $"{parameters.Region}-docker.pkg.dev/{parameters.Project}/aspire-inference";
        var tag = DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        var deployed = parameters with { Registry = registry, ImageTag = tag };

        await BuildImageAsync("Inference.Server", GkeWorkload.ServerImageName, deployed, ServerBaseImage, selfContained: true).ConfigureAwait(false);
        await BuildImageAsync("LoadTest", GkeWorkload.LoadTestImageName, deployed, LoadTestBaseImage, selfContained: false).ConfigureAwait(false);

        GkeManifests.Write(output, GkeManifests.Render(deployed, GkeWorkload.From(context.Model), monitoringDirectory));
        var overlay = Path.Combine(output, GkeManifests.OverlaysFolder, deployed.Overlay);
        await KubectlAsync(kubectl, $"Applying {deployed.Overlay} to namespace {deployed.Namespace}",
            ["apply", "--server-side", "--field-manager=aspire-inference", "-k", overlay], TimeSpan.FromMinutes(5)).ConfigureAwait(false);
        await KubectlAsync(kubectl, "Waiting for the inference pods to be ready",
            ["-n", deployed.Namespace, "rollout", "status", $"deployment/{GkeWorkload.InferenceName}", $"--timeout={(int)RolloutTimeout.TotalSeconds}s"],
            RolloutTimeout + TimeSpan.FromMinutes(1)).ConfigureAwait(false);

        var address = await ExternalCommand.RunAsync(kubectl,
            ["-n", deployed.Namespace, "get", "gateway", GkeWorkload.InferenceName, "-o", "jsonpath={.status.addresses[0].value}"],
            _ => { }, TimeSpan.FromMinutes(1), Ct).ConfigureAwait(false);
        var ip = address.Succeeded && address.Output.Trim().Length > 0 ? address.Output.Trim() : null;

        await SaveStateAsync(deployed).ConfigureAwait(false);
        context.Summary.Add("Namespace", deployed.Namespace);
        context.Summary.Add("Images", $"{registry}/{GkeWorkload.ServerImageName}:{tag}, {registry}/{GkeWorkload.LoadTestImageName}:{tag}");
        context.Summary.Add("HTTP endpoint", ip is null ? "the Gateway has no address yet (a few minutes): kubectl -n " + deployed.Namespace + " get gateway inference" : $"http://{ip}/v2/health/ready");
        context.Summary.Add("In the cluster", $"http://{GkeWorkload.InferenceName}.{deployed.Namespace}.svc.cluster.local:8000 (HTTP), :8001 (gRPC)");
        context.Summary.Add("Load test", $"kubectl apply -k {Path.Combine(output, GkeManifests.LoadTestFolder)}");
    }

    public async Task DestroyAsync()
    {
        var state = await context.Services.GetRequiredService<IDeploymentStateManager>().AcquireSectionAsync(StateSection, Ct).ConfigureAwait(false);
        var ns = state.Data["namespace"]?.GetValue<string>();
        if (ns is null)
        {
            throw new DistributedApplicationException("Nothing to destroy: no GKE deployment was recorded by `aspire deploy` of this AppHost.");
        }
        var kubectl = ExternalCommand.Find("kubectl")
            ?? throw new DistributedApplicationException("kubectl is not on PATH (install it with `gcloud components install kubectl`).");
        await KubectlAsync(kubectl, $"Deleting namespace {ns} (the deployment, the load balancer, the monitoring)",
            ["delete", "namespace", ns, "--ignore-not-found", "--wait=true", "--timeout=10m"], TimeSpan.FromMinutes(11)).ConfigureAwait(false);
        await context.Services.GetRequiredService<IDeploymentStateManager>().DeleteSectionAsync(state, Ct).ConfigureAwait(false);
        context.Summary.Add("Removed", $"namespace {ns}");
    }

    /// <summary>Asks for the project when the Aspire CLI is attached to answer (it sets ASPIRE_BACKCHANNEL_PATH; the
    /// interaction service says it is available without it too, and a prompt nobody sees would wait forever);
    /// otherwise the check below names it.</summary>
    private async Task<GkeParameters> PromptForMissingAsync(GkeParameters parameters)
    {
        var interaction = context.Services.GetRequiredService<IInteractionService>();
        var cliAttached = !string.IsNullOrEmpty(context.Services.GetRequiredService<IConfiguration>()["ASPIRE_BACKCHANNEL_PATH"]);
        if (parameters.Project.Length > 0 || !interaction.IsAvailable || !cliAttached)
        {
            return parameters;
        }
        var answer = await interaction.PromptInputAsync("GKE deployment", "The Google Cloud project to deploy into.",
            "Project id", "my-project", cancellationToken: Ct).ConfigureAwait(false);
        return answer.Canceled ? parameters : parameters with { Project = answer.Data?.Value?.Trim() ?? "" };
    }

    /// <summary>Every prerequisite, checked before anything slow runs; one failure lists all that are missing.</summary>
    private async Task<string> CheckPrerequisitesAsync(GkeParameters parameters, string output)
    {
        var task = await context.ReportingStep.CreateTaskAsync("Checking the project, kubectl and the cluster", Ct).ConfigureAwait(false);
        var missing = new List<string>();
        if (parameters.Project.Length == 0)
        {
            missing.Add($"the Google Cloud project: set Parameters:{GkeParameters.ProjectName} (--Parameters:{GkeParameters.ProjectName}=MY_PROJECT or Parameters__{GkeParameters.ProjectName}=MY_PROJECT)");
        }
        var kubectl = ExternalCommand.Find("kubectl");
        if (kubectl is null)
        {
            missing.Add("kubectl on PATH (gcloud components install kubectl)");
        }
        var credentials = $"gcloud container clusters get-credentials {parameters.Cluster} --region {parameters.Region}" +
            (parameters.Project.Length > 0 ? $" --project {parameters.Project}" : "");
        var kubeconfig = KubeconfigPath(context.Services.GetRequiredService<IConfiguration>()["KUBECONFIG"]);
        if (!File.Exists(kubeconfig))
        {
            missing.Add($"a Kubernetes context: no kubeconfig at {kubeconfig} (run `{credentials}`)");
        }
        else if (await ReachClusterAsync(kubeconfig).ConfigureAwait(false) is { } unreachable)
        {
            missing.Add($"a reachable cluster: {unreachable} (run `{credentials}`)");
        }
        if (missing.Count > 0)
        {
            var message = "Cannot deploy to GKE; missing: " + string.Join("; ", missing) +
                $". The manifests were written to {output} (apply them by hand with `kubectl apply -k {Path.Combine(output, GkeManifests.OverlaysFolder, parameters.Overlay)}`).";
            await task.CompleteAsync(message, CompletionState.CompletedWithError, Ct).ConfigureAwait(false);
            throw new DistributedApplicationException(message);
        }
        await task.CompleteAsync("kubectl, the kube context and the cluster answer", CompletionState.Completed, Ct).ConfigureAwait(false);
        return kubectl!;
    }

    /// <summary>kubectl's rule: the first file of $KUBECONFIG, else ~/.kube/config.</summary>
    private static string KubeconfigPath(string? fromEnvironment) =>
        string.IsNullOrEmpty(fromEnvironment)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".kube", "config")
            : fromEnvironment.Split(Path.PathSeparator)[0];

    /// <summary>Null when the current context's API server answers <c>/version</c> within <see cref="ReachTimeout"/>.</summary>
    private async Task<string?> ReachClusterAsync(string kubeconfig)
    {
        try
        {
            var config = KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig);
            using var client = new Kubernetes(config);
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            limit.CancelAfter(ReachTimeout);
            var version = await client.Version.GetCodeAsync(limit.Token).ConfigureAwait(false);
            context.Logger.LogInformation("Cluster {Host} answers, Kubernetes {Version}", config.Host, version.GitVersion);
            return null;
        }
        catch (Exception e) when (e is not OperationCanceledException || !Ct.IsCancellationRequested)
        {
            return $"the current context of {kubeconfig} does not answer ({e.GetType().Name}: {e.Message})";
        }
    }

    private async Task BuildImageAsync(string project, string repository, GkeParameters parameters, string baseImage, bool selfContained)
    {
        var task = await context.ReportingStep.CreateTaskAsync($"Building and pushing {parameters.Registry}/{repository}:{parameters.ImageTag}", Ct).ConfigureAwait(false);
        var registryHost = parameters.Registry.Split('/')[0];
        var path = parameters.Registry.Length > registryHost.Length ? parameters.Registry[(registryHost.Length + 1)..] + "/" : "";
        var result = await ExternalCommand.RunAsync("dotnet",
        [
            "publish", Path.Combine(repositoryRoot, project), "-c", "Release", "-r", "linux-x64",
            selfContained ? "--self-contained" : "--no-self-contained", "-t:PublishContainer",
            $"-p:ContainerRegistry={registryHost}", $"-p:ContainerRepository={path}{repository}",
            $"-p:ContainerImageTag={parameters.ImageTag}", $"-p:ContainerBaseImage={baseImage}", "-p:ContainerUser=1654",
        ], line => context.Logger.LogDebug("{Line}", line), BuildTimeout, Ct).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            var message = $"Building {repository} failed (dotnet publish exit code {result.ExitCode}). For Artifact Registry run `gcloud auth configure-docker {registryHost}` first. Last output: {Tail(result.Output)}";
            await task.CompleteAsync(message, CompletionState.CompletedWithError, Ct).ConfigureAwait(false);
            throw new DistributedApplicationException(message);
        }
        await task.CompleteAsync($"Pushed {parameters.Registry}/{repository}:{parameters.ImageTag}", CompletionState.Completed, Ct).ConfigureAwait(false);
    }

    private async Task KubectlAsync(string kubectl, string title, string[] arguments, TimeSpan timeout)
    {
        var task = await context.ReportingStep.CreateTaskAsync(title, Ct).ConfigureAwait(false);
        var result = await ExternalCommand.RunAsync(kubectl, arguments, line => context.Logger.LogInformation("{Line}", line), timeout, Ct).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            var message = $"`kubectl {string.Join(' ', arguments)}` failed (exit code {result.ExitCode}): {Tail(result.Output)}";
            await task.CompleteAsync(message, CompletionState.CompletedWithError, Ct).ConfigureAwait(false);
            throw new DistributedApplicationException(message);
        }
        await task.CompleteAsync(title + ": done", CompletionState.Completed, Ct).ConfigureAwait(false);
    }

    private async Task SaveStateAsync(GkeParameters deployed)
    {
        var manager = context.Services.GetRequiredService<IDeploymentStateManager>();
        var section = await manager.AcquireSectionAsync(StateSection, Ct).ConfigureAwait(false);
        section.Data["project"] = deployed.Project;
        section.Data["region"] = deployed.Region;
        section.Data["cluster"] = deployed.Cluster;
        section.Data["namespace"] = deployed.Namespace;
        section.Data["overlay"] = deployed.Overlay;
        section.Data["registry"] = deployed.Registry;
        section.Data["imageTag"] = deployed.ImageTag;
        await manager.SaveSectionAsync(section, Ct).ConfigureAwait(false);
    }

    private static string Tail(string output)
    {
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return string.Join(" | ", lines.TakeLast(5));
    }
}
