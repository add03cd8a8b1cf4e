using System.Net;
using Grpc.Core;
using Inference.Server.Protos;
using Inference.Tests.EndToEnd;
using Inference.Tests.ModelTools;
using Microsoft.Extensions.Options;

namespace Inference.Tests.Hosting;

/// <summary>The real server with Triton's flags: the repository API kept off the public ports by a header.</summary>
public sealed class RestrictedApiServerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RestrictedModelRepository_IsRefusedWithoutTheHeader_OverHttpAndGrpc_AndTheRestStaysOpen()
    {
        using var repository = new TempDirectory();
        await using var server = await ServerHost.StartAsync(repository.Path,
            "--http-restricted-api=model-repository:admin-key=secret", "--grpc-restricted-protocol=model-repository:admin-key=secret");

        using (var refused = await server.Http.PostAsync("/v2/repository/index", null, Ct))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Equal("""{"error":"This API is restricted, expecting header 'admin-key'"}""", await refused.Content.ReadAsStringAsync(Ct));
        }
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/v2/repository/index") { Headers = { { "admin-key", "secret" } } })
        using (var allowed = await server.Http.SendAsync(request, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        }
        using (var live = await server.Http.GetAsync("/v2/health/live", Ct))
        {
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        }

        var e = await Assert.ThrowsAsync<RpcException>(async () => await server.Grpc.RepositoryIndexAsync(new RepositoryIndexRequest(), cancellationToken: Ct));
        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        Assert.Equal("This protocol is restricted, expecting header 'triton-grpc-protocol-admin-key'", e.Status.Detail);
        await server.Grpc.RepositoryIndexAsync(new RepositoryIndexRequest(), new Metadata { { "triton-grpc-protocol-admin-key", "secret" } }, cancellationToken: Ct);
        Assert.True((await server.Grpc.ServerLiveAsync(new ServerLiveRequest(), cancellationToken: Ct)).Live);
    }

    [Fact]
    public async Task ABadFlag_FailsTheStart_WithTheMessages()
    {
        using var repository = new TempDirectory();
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => ServerHost.StartAsync(repository.Path,
            "--http-restricted-api=model-repository:a=1", "--http-restricted-api=model-repository:b=2", "--grpc-restricted-protocol=admin:k=v"));
        Assert.Contains("--http-restricted-api: API 'model-repository' is restricted more than once; restrict each API in one --http-restricted-api only.", e.Failures);
        Assert.Contains(e.Failures, f => f.StartsWith("--grpc-restricted-protocol: unknown API 'admin' in 'admin:k=v'; valid: health, ", StringComparison.Ordinal));
    }
}
