#pragma warning disable ASPIREPIPELINES001, ASPIREPIPELINES002, ASPIREPIPELINES004
using Aspire.Hosting.Pipelines;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AspireInference.AppHost.Deployment;

/// <summary>
/// The AppHost's deployment to GKE as three pipeline steps (Aspire.Hosting.Kubernetes is not used: it is not in our
/// registry and its placement labels are AKS's):
/// <list type="bullet">
/// <item><c>publish-gke</c> (required by <c>publish</c>): writes <see cref="GkeManifests"/> to the output path.</item>
/// <item><c>deploy-gke</c> (required by <c>deploy</c>, after <c>publish-gke</c>): <see cref="GkeDeployer.DeployAsync"/>.</item>
/// <item><c>destroy-gke</c> (required by <c>destroy</c>): <see cref="GkeDeployer.DestroyAsync"/>.</item>
/// </list>
/// <c>aspire publish -o deploy/gke</c> regenerates the checked-in layout; <c>aspire deploy</c> builds, pushes, applies
/// and waits; <c>aspire destroy</c> removes what deploy made. Without the CLI:
/// <c>dotnet run --project AppHost -- --operation publish --step publish-gke --output-path ../deploy/gke</c>.
/// </summary>
internal static class GkePipelineSteps
{
    public const string PublishStep = "publish-gke";
    public const string DeployStep = "deploy-gke";
    public const string DestroyStep = "destroy-gke";

    /// <summary>Declares the <c>gke-*</c> parameters (publish mode only: a local run needs none of them) and the steps.</summary>
    public static IDistributedApplicationBuilder AddGkeDeployment(this IDistributedApplicationBuilder builder)
    {
        if (!builder.ExecutionContext.IsPublishMode)
        {
            return builder;
        }
        foreach (var (name, value) in GkeParameters.Defaults)
        {
            // The default is what the manifest shows; the steps read the configured value (Parameters:<name>).
            builder.AddParameter(name, value, publishValueAsDefault: true);
        }
        var monitoring = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, "..", "monitoring"));
        var repository = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, ".."));

        builder.Pipeline.AddStep(PublishStep, context => ExitNonZeroOnFailure(async () =>
        {
            var parameters = GkeParameters.Read(context.Services.GetRequiredService<IConfiguration>());
            var output = context.Services.GetRequiredService<IPipelineOutputService>().GetOutputDirectory();
            var task = await context.ReportingStep.CreateTaskAsync($"Writing the GKE manifests to {output}", context.CancellationToken).ConfigureAwait(false);
            var files = GkeManifests.Write(output, GkeManifests.Render(parameters, GkeWorkload.From(context.Model), monitoring));
            await task.CompleteAsync($"{files.Count} files: base/, overlays/ ({string.Join(", ", GkeTargets.All.Select(t => t.Name))}), loadtest/",
                CompletionState.Completed, context.CancellationToken).ConfigureAwait(false);
            context.Summary.Add("GKE manifests", output);
        }), dependsOn: WellKnownPipelineSteps.PublishPrereq, requiredBy: WellKnownPipelineSteps.Publish);

        builder.Pipeline.AddStep(DeployStep, context => ExitNonZeroOnFailure(new GkeDeployer(context, repository, monitoring).DeployAsync),
            dependsOn: new[] { PublishStep, WellKnownPipelineSteps.DeployPrereq }, requiredBy: WellKnownPipelineSteps.Deploy);

        builder.Pipeline.AddStep(DestroyStep, context => ExitNonZeroOnFailure(new GkeDeployer(context, repository, monitoring).DestroyAsync),
            dependsOn: WellKnownPipelineSteps.DestroyPrereq, requiredBy: WellKnownPipelineSteps.Destroy);
        return builder;
    }

    /// <summary>Aspire logs a failed step and stops, but the AppHost process still exits 0; a script running
    /// <c>dotnet run --project AppHost -- --operation publish --step deploy-gke</c> must see the failure.</summary>
    private static async Task ExitNonZeroOnFailure(Func<Task> step)
    {
        try
        {
            await step().ConfigureAwait(false);
        }
        catch
        {
            ProcessExit.Fail();
            throw;
        }
    }
}
