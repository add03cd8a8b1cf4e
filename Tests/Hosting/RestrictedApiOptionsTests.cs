using Inference.Server.Hosting;
using Inference.Server.Protocol;
using Microsoft.Extensions.Configuration;

namespace Inference.Tests.Hosting;

public sealed class RestrictedApiOptionsTests
{
    private const string Valid = "health, metadata, inference, shared-memory, model-config, model-repository, statistics, trace, logging";

    [Fact]
    public void Default_RestrictsNothing()
    {
        var options = new InferenceServerOptions();
        Assert.Empty(options.Validate());
        Assert.True(options.HttpRestrictions().IsEmpty);
        Assert.True(options.GrpcRestrictions().IsEmpty);
    }

    [Fact]
    public void AnApiList_RestrictsEachGroupListed_ByTheOneHeader_AndNoOther()
    {
        var r = RestrictedApis.Parse(["model-repository, statistics:Admin-Key=s3:cr=et"], RestrictedApis.HttpFlag, out var errors);
        Assert.Empty(errors);
        // The key is lower-cased (gRPC metadata keys are); the value is kept as given, ':' and '=' included.
        Assert.Equal(new ApiRestriction("admin-key", "s3:cr=et"), r.For(ApiGroup.ModelRepository));
        Assert.Equal(new ApiRestriction("admin-key", "s3:cr=et"), r.For(ApiGroup.Statistics));
        Assert.All(Enum.GetValues<ApiGroup>().Except([ApiGroup.ModelRepository, ApiGroup.Statistics]), g => Assert.Null(r.For(g)));
        Assert.Equal("This API is restricted, expecting header 'admin-key'", r.For(ApiGroup.Statistics)!.Message);
    }

    [Fact]
    public void AGroupRestrictedTwice_IsAStartupErrorNamingTheFlag()
    {
        var options = new InferenceServerOptions { HttpRestrictedApi = ["health:a=1", "metadata,health:b=2"], GrpcRestrictedProtocol = ["inference,inference:a=1"] };
        Assert.Equal(
            [
                "--http-restricted-api: API 'health' is restricted more than once; restrict each API in one --http-restricted-api only.",
                "--grpc-restricted-protocol: API 'inference' is restricted more than once; restrict each API in one --grpc-restricted-protocol only.",
            ],
            options.Validate());
    }

    [Fact]
    public void AnUnknownGroup_IsAStartupErrorListingTheValidOnes() =>
        Assert.Equal(
            [$"--grpc-restricted-protocol: unknown API 'repository' in 'repository:k=v'; valid: {Valid}."],
            new InferenceServerOptions { GrpcRestrictedProtocol = ["repository:k=v"] }.Validate());

    [Theory]
    [InlineData("health")]
    [InlineData("health:key")]
    [InlineData(":key=value")]
    [InlineData("health=key:value")]
    public void AValueNotApiListColonKeyEqualsValue_IsAStartupError(string spec) =>
        Assert.Equal(
            [$"--http-restricted-api '{spec}' must be <api-list>:<key>=<value> (e.g. --http-restricted-api=model-repository:admin-key=secret)."],
            new InferenceServerOptions { HttpRestrictedApi = [spec] }.Validate());

    [Theory]
    [InlineData("health:=value")]
    [InlineData("health:my key=value")]
    [InlineData("health:grpc-timeout=value")]
    [InlineData("health:token-bin=value")]
    public void AKeyThatIsNoUsableHeaderName_IsAStartupError(string spec) =>
        Assert.Equal(
            [$"--http-restricted-api '{spec}': the header key must be a non-empty HTTP header name (letters, digits, '-', '_', '.')."],
            new InferenceServerOptions { HttpRestrictedApi = [spec] }.Validate());

    [Fact]
    public void AnEmptyValue_IsAStartupError() =>
        Assert.Equal(
            ["--http-restricted-api 'health:k=': the header value must not be empty."],
            new InferenceServerOptions { HttpRestrictedApi = ["health:k="] }.Validate());

    [Fact]
    public void RepeatedFlags_BindToTheLists_InOrder()
    {
        string[] args =
        [
            "--http-restricted-api=model-repository:admin-key=secret", "--load-model=a", "--http-restricted-api", "statistics:k=v",
            "--grpc-restricted-protocol=model-repository:admin-key=secret", "--load-model", "b", "--http-port=9000",
        ];
        var configuration = new ConfigurationBuilder().AddCommandLine(TritonCommandLine.ExpandLoadModel(args), TritonCommandLine.SwitchMappings).Build();
        var options = configuration.GetSection(InferenceServerOptions.SectionName).Get<InferenceServerOptions>()!;
        Assert.Equal(["model-repository:admin-key=secret", "statistics:k=v"], options.HttpRestrictedApi);
        Assert.Equal(["model-repository:admin-key=secret"], options.GrpcRestrictedProtocol);
        Assert.Equal(["a", "b"], options.LoadModels);
        Assert.Equal(9000, options.HttpPort);
    }
}
