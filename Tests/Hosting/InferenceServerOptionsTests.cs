using Inference.Server.Hosting;

namespace Inference.Tests.Hosting;

public sealed class InferenceServerOptionsTests
{
    [Theory]
    [InlineData("gpu")]
    [InlineData("h100-fp16")]
    public void Validate_AcceptsAModelConfigNameThatIsAFileName(string name) =>
        Assert.Empty(new InferenceServerOptions { ModelConfigName = name }.Validate());

    [Theory]
    [InlineData("../gpu")]
    [InlineData("a/b")]
    [InlineData("gpu.pbtxt")]
    [InlineData("my gpu")]
    [InlineData("..")]
    public void Validate_RejectsAModelConfigNameThatIsNoPlainFileName_NamingTheKey(string name) =>
        Assert.Equal(
            [$"Inference:ModelConfigName '{name}' must be a file name without '.pbtxt', path separators or spaces."],
            new InferenceServerOptions { ModelConfigName = name }.Validate());

    [Fact]
    public void TritonsModelConfigNameFlag_MapsToTheOption() =>
        Assert.Equal("Inference:ModelConfigName", TritonCommandLine.SwitchMappings["--model-config-name"]);

    [Fact]
    public void PinnedMemoryPoolByteSize_IsTritonsFlag_DefaultsTo256MiB_AndMustNotBeNegative()
    {
        Assert.Equal("Inference:PinnedMemoryPoolByteSize", TritonCommandLine.SwitchMappings["--pinned-memory-pool-byte-size"]);
        Assert.Equal(256L * 1024 * 1024, new InferenceServerOptions().PinnedMemoryPoolByteSize);
        Assert.Empty(new InferenceServerOptions { PinnedMemoryPoolByteSize = 0 }.Validate());
        Assert.Equal(
            ["Inference:PinnedMemoryPoolByteSize must be 0 (off) or more (got -1)."],
            new InferenceServerOptions { PinnedMemoryPoolByteSize = -1 }.Validate());
    }

    [Fact]
    public void ExitTimeoutSeconds_IsTritonsFlag_DefaultsTo30()
    {
        Assert.Equal("Inference:ExitTimeoutSeconds", TritonCommandLine.SwitchMappings["--exit-timeout-secs"]);
        Assert.Equal(30, new InferenceServerOptions().ExitTimeoutSeconds);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(InferenceServerOptions.MaxExitTimeoutSeconds)]
    public void ExitTimeoutSeconds_AcceptsZeroUpToADay(int seconds) =>
        Assert.Empty(new InferenceServerOptions { ExitTimeoutSeconds = seconds }.Validate());

    [Theory]
    [InlineData(-1)]
    [InlineData(InferenceServerOptions.MaxExitTimeoutSeconds + 1)]
    public void ExitTimeoutSeconds_RejectsNegativeOrMoreThanADay_NamingTheKey(int seconds) =>
        Assert.Equal(
            [$"Inference:ExitTimeoutSeconds must be 0..86400 seconds (got {seconds})."],
            new InferenceServerOptions { ExitTimeoutSeconds = seconds }.Validate());

    [Fact]
    public void LoadRequestLimits_HaveTheirFlags_AndDocumentedDefaults_AndAreValidated()
    {
        Assert.Equal("Inference:MaxLoadRequestBodyBytes", TritonCommandLine.SwitchMappings["--max-load-request-body-bytes"]);
        Assert.Equal("Inference:MaxModelFilesBytes", TritonCommandLine.SwitchMappings["--max-model-files-bytes"]);
        Assert.Equal(256L * 1024 * 1024, new InferenceServerOptions().MaxLoadRequestBodyBytes);
        Assert.Equal(1024L * 1024 * 1024, new InferenceServerOptions().MaxModelFilesBytes);
        Assert.Empty(new InferenceServerOptions { MaxLoadRequestBodyBytes = 1024, MaxModelFilesBytes = 0 }.Validate());
        Assert.Equal(
            ["Inference:MaxLoadRequestBodyBytes must be at least 1024 (got 1023).",
             "Inference:MaxModelFilesBytes must be 0 (no model files in load requests) or more (got -1)."],
            new InferenceServerOptions { MaxLoadRequestBodyBytes = 1023, MaxModelFilesBytes = -1 }.Validate());
    }
}
