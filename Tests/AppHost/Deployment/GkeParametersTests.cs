using Aspire.Hosting;
using AspireInference.AppHost.Deployment;

namespace Inference.Tests.AppHost.Deployment;

public sealed class GkeParametersTests
{
    private static GkeParameters Read(params (string Name, string Value)[] values) =>
        GkeParameters.Read(name => values.FirstOrDefault(v => v.Name == name).Value);

    [Fact]
    public void Defaults_AreTheSeedsShape()
    {
        var p = Read();
        Assert.Equal(("aspire-inference", "standard-t4", 1, 4, ""), (p.Namespace, p.Overlay, p.MinReplicas, p.MaxReplicas, p.ModelBucket));
        Assert.Equal("inference-server:latest", p.Image("inference-server"));
    }

    [Theory]
    [InlineData("gke-overlay", "standard-a100", "Parameters:gke-overlay must be one of standard-t4, standard-l4, standard-h100, autopilot-l4, cpu")]
    [InlineData("gke-min-replicas", "0", "Parameters:gke-min-replicas must be a whole number of at least 1 (got '0')")]
    [InlineData("gke-max-replicas", "x", "Parameters:gke-max-replicas must be a whole number of at least 1 (got 'x')")]
    [InlineData("gke-namespace", "Serving_1", "Parameters:gke-namespace must be a Kubernetes name")]
    [InlineData("gke-model-bucket", "gs://models", "Parameters:gke-model-bucket is a bucket name without gs://")]
    public void BadValues_AreRejectedNamingTheKey(string name, string value, string message)
    {
        var error = Assert.Throws<DistributedApplicationException>(() => Read((name, value)));
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MaxBelowMin_IsRejected()
    {
        var error = Assert.Throws<DistributedApplicationException>(() => Read(("gke-min-replicas", "3"), ("gke-max-replicas", "2")));
        Assert.Contains("Parameters:gke-max-replicas (2) must be at least Parameters:gke-min-replicas (3)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Registry_PrefixesImagesWithoutADoubleSlash()
    {
        Assert.Equal("us-docker.pkg.dev/p/r/loadtest:v1", Read(("gke-registry", "us-docker.pkg.dev/p/r/"), ("gke-image-tag", "v1")).Image("loadtest"));
    }
}
