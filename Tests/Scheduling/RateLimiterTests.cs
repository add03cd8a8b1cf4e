using Inference.Server.Hosting;
using Inference.Server.Scheduling.RateLimiting;

namespace Inference.Tests.Scheduling;

/// <summary>The rate limiter's grant order, resource counts and errors, driven one ticket at a time (no threads).</summary>
public sealed class RateLimiterTests
{
    private static RateLimiterRequirement Needs(string resource, int count, uint priority = 1, int device = 0, bool global = false) =>
        new([(resource, global, count)], priority, device);

    [Fact]
    public void Priority2_GetsHalfTheChancesOfPriority1_WhileBothWait()
    {
        var limiter = new RateLimiter([]);
        var a = limiter.Register("a_0", Needs("R", 1, priority: 1)).Value!;
        var b = limiter.Register("b_0", Needs("R", 1, priority: 2)).Value!;
        var pending = new List<RateLimiter.Ticket> { limiter.Request(a), limiter.Request(b) };
        var grants = new Dictionary<string, int> { ["a_0"] = 0, ["b_0"] = 0 };
        for (var round = 0; round < 300; round++)
        {
            var granted = Assert.Single(pending, t => t.Granted.IsSet);
            grants[granted.Registration.InstanceName]++;
            pending.Remove(granted);
            // The instance asks again before the other one is granted: both always wait.
            pending.Add(limiter.Request(granted.Registration));
            limiter.Release(granted);
        }
        Assert.InRange(grants["a_0"], 199, 201);
        Assert.InRange(grants["b_0"], 99, 101);
    }

    [Fact]
    public void ResourceCount_DefaultsToTheLargestNeed_AndAnExplicitCountOverridesIt()
    {
        var limiter = new RateLimiter([]);
        var big = limiter.Register("big", Needs("R", 2)).Value!;
        var small = limiter.Register("small", Needs("R", 1)).Value!;
        var t1 = limiter.Request(small);
        var t2 = limiter.Request(small);
        Assert.True(t1.Granted.IsSet && t2.Granted.IsSet);
        var t3 = limiter.Request(big);
        Assert.False(t3.Granted.IsSet);
        limiter.Release(t1);
        Assert.False(t3.Granted.IsSet);
        limiter.Release(t2);
        Assert.True(t3.Granted.IsSet);

        var limited = new RateLimiter([new RateLimitResource("R", 1, null)]);
        var error = limited.Register("big", Needs("r", 2)).Error!;
        Assert.Equal("Resource count for \"r\" is limited to 1 which will prevent scheduling of one or more model instances, the minimum required count is 2", error.Message);
    }

    [Fact]
    public void PerDeviceResources_AreSeparate_GlobalOnesShared_AndNoResourceIsBoth()
    {
        var limiter = new RateLimiter([new RateLimitResource("R", 1, null), new RateLimitResource("G", 1, 1)]);
        var gpu0 = limiter.Register("m_0", Needs("R", 1, device: 0)).Value!;
        var gpu1 = limiter.Register("m_1", Needs("R", 1, device: 1)).Value!;
        Assert.True(limiter.Request(gpu0).Granted.IsSet);
        Assert.True(limiter.Request(gpu1).Granted.IsSet);
        Assert.False(limiter.Request(gpu0).Granted.IsSet);

        var g0 = limiter.Register("g_0", Needs("G", 1, device: 0, global: true)).Value!;
        var g1 = limiter.Register("g_1", Needs("G", 1, device: 1, global: true)).Value!;
        Assert.True(limiter.Request(g0).Granted.IsSet);
        Assert.False(limiter.Request(g1).Granted.IsSet);

        Assert.Equal("Resource \"G\" is present as both global and device-specific resource in the model configuration.",
            limiter.Register("x", Needs("G", 1)).Error!.Message);
    }

    [Theory]
    [InlineData("R1:4", "R1", 4, null)]
    [InlineData("R2:5:1", "R2", 5, 1)]
    public void ResourceFlag_Parses(string value, string name, int count, int? device) =>
        Assert.Equal(new RateLimitResource(name, count, device), RateLimitResource.Parse(value).Value);

    [Theory]
    [InlineData("R1")]
    [InlineData("R1:x")]
    [InlineData("R1:1:2:3")]
    [InlineData(":1")]
    public void BadResourceFlag_IsRejectedAtStart_WithTritonsMessage(string value)
    {
        var errors = new InferenceServerOptions { RateLimitResource = [value] }.Validate().ToList();
        Assert.Contains($"--rate-limit-resource option format is '<resource_name>:<count>:<device>' or '<resource_name>:<count>'. Got {value}", errors);
    }

    [Fact]
    public void RateLimitMode_MustBeOffOrExecutionCount()
    {
        Assert.Empty(new InferenceServerOptions { RateLimit = "EXECUTION_COUNT" }.Validate());
        Assert.Contains(new InferenceServerOptions { RateLimit = "fast" }.Validate(), e => e.StartsWith("invalid argument for --rate-limit", StringComparison.Ordinal));
    }
}
