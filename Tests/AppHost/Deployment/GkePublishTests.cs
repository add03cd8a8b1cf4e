using AspireInference.AppHost.Deployment;
using AspireInference.AppHost.Deployment.Manifests;
using k8s.Models;

namespace Inference.Tests.AppHost.Deployment;

/// <summary>What <c>aspire publish</c> writes for GKE, against the checked-in deploy/gke/.</summary>
public sealed class GkePublishTests : IDisposable
{
    private const string RegenerateCommand =
        "dotnet run --project AppHost -- --operation publish --step publish-gke --output-path ../deploy/gke";

    private readonly DirectoryInfo _output = Directory.CreateTempSubdirectory("gke-publish-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _output.Delete(recursive: true);

    [Fact]
    public async Task PublishedLayout_IsTheCheckedInOne()
    {
        await GkePublish.RunStepAsync(GkePipelineSteps.PublishStep, _output.FullName, [], Ct);

        var published = GkePublish.Files(_output.FullName);
        var checkedIn = GkePublish.Files(GkePublish.CheckedInFolder);
        Assert.True(published.Keys.SequenceEqual(checkedIn.Keys),
            $"deploy/gke has other files than the AppHost publishes; regenerate it with `{RegenerateCommand}`. Published: {string.Join(", ", published.Keys)}");
        foreach (var (path, text) in published)
        {
            Assert.True(checkedIn[path] == text, $"deploy/gke/{path} is not what the AppHost publishes; regenerate it with `{RegenerateCommand}`.");
        }
    }

    [Fact]
    public async Task PublishingTwice_WritesTheSameBytes()
    {
        var second = Directory.CreateTempSubdirectory("gke-publish-again-");
        try
        {
            await GkePublish.RunStepAsync(GkePipelineSteps.PublishStep, _output.FullName, [], Ct);
            await GkePublish.RunStepAsync(GkePipelineSteps.PublishStep, second.FullName, [], Ct);
            Assert.Equal(GkePublish.Files(_output.FullName), GkePublish.Files(second.FullName));
        }
        finally
        {
            second.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task WithABucket_TheRepositoryIsMountedReadOnlyThroughGcsFuse()
    {
        await GkePublish.RunStepAsync(GkePipelineSteps.PublishStep, _output.FullName,
            ["--Parameters:gke-model-bucket=my-models", "--Parameters:gke-namespace=serving", "--Parameters:gke-registry=us-docker.pkg.dev/p/r", "--Parameters:gke-image-tag=v7"], Ct);

        foreach (var target in GkeTargets.All)
        {
            var objects = GkePublish.Render(Path.Combine(_output.FullName, GkeManifests.OverlaysFolder, target.Name));
            var deployment = objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == GkeWorkload.InferenceName);
            Assert.All(objects.Select(o => ((k8s.IKubernetesObject<V1ObjectMeta>)o).Metadata).Where(m => m.Name != "serving"),
                m => Assert.Equal("serving", m.NamespaceProperty));
            var pod = deployment.Spec.Template;
            Assert.Equal("true", pod.Metadata.Annotations["gke-gcsfuse/volumes"]);
            var volume = Assert.Single(pod.Spec.Volumes, v => v.Csi is not null);
            Assert.Equal("gcsfuse.csi.storage.gke.io", volume.Csi.Driver);
            Assert.True(volume.Csi.ReadOnlyProperty);
            Assert.Equal("my-models", volume.Csi.VolumeAttributes["bucketName"]);
            var container = Assert.Single(pod.Spec.Containers);
            var mount = Assert.Single(container.VolumeMounts, m => m.Name == volume.Name);
            Assert.True(mount.ReadOnlyProperty);
            Assert.Contains($"--model-repository={mount.MountPath}", container.Args);
            Assert.DoesNotContain(container.Env, e => e.Name == "ASPIRE_INFERENCE_CACHE");
            Assert.Equal("us-docker.pkg.dev/p/r/inference-server:v7", container.Image);
        }
        var job = GkePublish.Render(Path.Combine(_output.FullName, GkeManifests.LoadTestFolder)).OfType<V1Job>().Single();
        Assert.Equal("us-docker.pkg.dev/p/r/loadtest:v7", job.Spec.Template.Spec.Containers[0].Image);
        Assert.Contains("http://inference.serving.svc.cluster.local:8001", job.Spec.Template.Spec.Containers[0].Args);
    }

    [Fact]
    public async Task WithATlsSecret_TheGatewayAlsoListensForHttpsWithThatCertificate()
    {
        await GkePublish.RunStepAsync(GkePipelineSteps.PublishStep, _output.FullName, ["--Parameters:gke-tls-secret=inference-tls"], Ct);

        var gateway = GkePublish.Render(Path.Combine(_output.FullName, GkeManifests.BaseFolder)).OfType<AspireInference.AppHost.Deployment.Resources.Gateway>().Single();
        Assert.Equal(["http", "https"], gateway.Spec.Listeners.Select(l => l.Name));
        var https = gateway.Spec.Listeners[1];
        Assert.Equal(("HTTPS", 443, "Terminate"), (https.Protocol, https.Port, https.Tls!.Mode));
        Assert.Equal(("Secret", "inference-tls"), (https.Tls.CertificateRefs[0].Kind, https.Tls.CertificateRefs[0].Name));
    }

    [Fact]
    public async Task WithoutABucket_TheServerGeneratesItsDefaultRepositoryIntoAnEmptyDir()
    {
        await GkePublish.RunStepAsync(GkePipelineSteps.PublishStep, _output.FullName, [], Ct);

        var deployment = GkePublish.Render(Path.Combine(_output.FullName, GkeManifests.OverlaysFolder, GkeTargets.Cpu.Name))
            .OfType<V1Deployment>().Single(d => d.Metadata.Name == GkeWorkload.InferenceName);
        var container = deployment.Spec.Template.Spec.Containers[0];
        var cache = Assert.Single(container.Env, e => e.Name == "ASPIRE_INFERENCE_CACHE").Value;
        var mount = Assert.Single(container.VolumeMounts, m => m.MountPath == cache);
        Assert.NotNull(Assert.Single(deployment.Spec.Template.Spec.Volumes, v => v.Name == mount.Name).EmptyDir);
        Assert.DoesNotContain(container.Args, a => a.StartsWith("--model-repository", StringComparison.Ordinal));
        Assert.Null(deployment.Spec.Template.Metadata.Annotations);
    }

    [Fact]
    public void CheckedInLayout_HoldsNoPathOfTheMachineThatWroteIt()
    {
        string[] machinePaths = [AppHostModelTests.RepositoryRoot, "/work/", "/home/", "/root/", "/tmp/gke", Path.GetTempPath()];
        foreach (var (path, text) in GkePublish.Files(GkePublish.CheckedInFolder))
        {
            Assert.All(machinePaths.Where(p => p.Length > 1), p => Assert.False(text.Contains(p, StringComparison.Ordinal), $"{path} contains {p}"));
        }
    }
}
