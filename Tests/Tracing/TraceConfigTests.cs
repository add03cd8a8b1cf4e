using Inference.Server.Tracing;

namespace Inference.Tests.Tracing;

/// <summary>Triton's --trace-config values: what parses, and a clear error for what does not.</summary>
public sealed class TraceConfigTests
{
    [Fact]
    public void TritonForm_Parses()
    {
        var config = TraceConfig.Parse(["triton,file=trace.json", "triton,log-frequency=50", "rate=100", "level=TIMESTAMPS", "count=100"], out var errors);

        Assert.Empty(errors);
        Assert.Equal(new TraceConfig(TraceLevel.Timestamps, 100, 100, 50, "trace.json", TraceMode.Triton), config);
        Assert.Equal(TraceMode.OpenTelemetry, TraceConfig.Parse(["mode=opentelemetry", "level=TIMESTAMPS"], out errors).Mode);
        Assert.Empty(errors);
    }

    [Theory]
    [InlineData("rate=-1", "rate='-1'")]
    [InlineData("count=-2", "count='-2'")]
    [InlineData("level=TENSORS", "'TENSORS' is not supported")]
    [InlineData("level=LOUD", "unknown trace level 'LOUD'")]
    [InlineData("mode=jaeger", "mode='jaeger'")]
    [InlineData("opentelemetry,url=http://collector:4318/v1/traces", "OTEL_EXPORTER_OTLP_ENDPOINT")]
    [InlineData("triton,rate=1", "unknown setting")]
    [InlineData("file", "must be <setting>=<value>")]
    [InlineData("level=TIMESTAMPS", "needs a trace file")]
    public void BadValues_AreRefusedWithTheirName(string spec, string fragment)
    {
        TraceConfig.Parse([spec], out var errors);

        var error = Assert.Single(errors);
        Assert.Contains(fragment, error, StringComparison.Ordinal);
    }
}
