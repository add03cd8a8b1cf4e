using System.Net;
using System.Text;
using Grpc.Core;
using Grpc.Health.V1;
using Inference.Server.Protocol;
using Inference.Server.Protocol.Http;
using Inference.Server.Protos;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using MethodDescriptor = Google.Protobuf.Reflection.MethodDescriptor;

namespace Inference.Tests.Protocol;

/// <summary>Every HTTP route and every gRPC method with the API group it must be in (Triton's groups).</summary>
internal static class RestrictedApiTable
{
    public static readonly (string Method, string Path, ApiGroup Group)[] HttpRoutes =
    [
        ("GET", "/v2", ApiGroup.Metadata),
        ("GET", "/v2/health/live", ApiGroup.Health),
        ("GET", "/v2/health/ready", ApiGroup.Health),
        ("GET", "/v2/models/stats", ApiGroup.Statistics),
        ("GET", "/v2/models/identity", ApiGroup.Metadata),
        ("GET", "/v2/models/identity/versions/1", ApiGroup.Metadata),
        ("GET", "/v2/models/identity/ready", ApiGroup.Health),
        ("GET", "/v2/models/identity/versions/1/ready", ApiGroup.Health),
        ("GET", "/v2/models/identity/config", ApiGroup.ModelConfig),
        ("GET", "/v2/models/identity/versions/1/config", ApiGroup.ModelConfig),
        ("GET", "/v2/models/identity/stats", ApiGroup.Statistics),
        ("GET", "/v2/models/identity/versions/1/stats", ApiGroup.Statistics),
        ("POST", "/v2/models/identity/infer", ApiGroup.Inference),
        ("POST", "/v2/models/identity/versions/1/infer", ApiGroup.Inference),
        ("POST", "/v2/repository/index", ApiGroup.ModelRepository),
        ("POST", "/v2/repository/models/identity/load", ApiGroup.ModelRepository),
        ("POST", "/v2/repository/models/identity/unload", ApiGroup.ModelRepository),
        ("GET", "/v2/systemsharedmemory/status", ApiGroup.SharedMemory),
        ("GET", "/v2/systemsharedmemory/region/r/status", ApiGroup.SharedMemory),
        ("POST", "/v2/systemsharedmemory/register", ApiGroup.SharedMemory),
        ("POST", "/v2/systemsharedmemory/region/r/register", ApiGroup.SharedMemory),
        ("POST", "/v2/systemsharedmemory/unregister", ApiGroup.SharedMemory),
        ("POST", "/v2/systemsharedmemory/region/r/unregister", ApiGroup.SharedMemory),
        ("GET", "/v2/cudasharedmemory/status", ApiGroup.SharedMemory),
        ("GET", "/v2/cudasharedmemory/region/r/status", ApiGroup.SharedMemory),
        ("POST", "/v2/cudasharedmemory/register", ApiGroup.SharedMemory),
        ("POST", "/v2/cudasharedmemory/region/r/register", ApiGroup.SharedMemory),
        ("POST", "/v2/cudasharedmemory/unregister", ApiGroup.SharedMemory),
        ("POST", "/v2/cudasharedmemory/region/r/unregister", ApiGroup.SharedMemory),
        ("GET", "/v2/trace/setting", ApiGroup.Trace),
        ("POST", "/v2/trace/setting", ApiGroup.Trace),
        ("GET", "/v2/models/identity/trace/setting", ApiGroup.Trace),
        ("POST", "/v2/models/identity/trace/setting", ApiGroup.Trace),
        ("GET", "/v2/logging", ApiGroup.Logging),
        ("POST", "/v2/logging", ApiGroup.Logging),
    ];

    public static readonly Dictionary<string, ApiGroup> GrpcMethods = new()
    {
        ["inference.GRPCInferenceService/ServerLive"] = ApiGroup.Health,
        ["inference.GRPCInferenceService/ServerReady"] = ApiGroup.Health,
        ["inference.GRPCInferenceService/ModelReady"] = ApiGroup.Health,
        ["grpc.health.v1.Health/Check"] = ApiGroup.Health,
        ["grpc.health.v1.Health/Watch"] = ApiGroup.Health,
        ["inference.GRPCInferenceService/ServerMetadata"] = ApiGroup.Metadata,
        ["inference.GRPCInferenceService/ModelMetadata"] = ApiGroup.Metadata,
        ["inference.GRPCInferenceService/ModelInfer"] = ApiGroup.Inference,
        ["inference.GRPCInferenceService/ModelStreamInfer"] = ApiGroup.Inference,
        ["inference.GRPCInferenceService/ModelConfig"] = ApiGroup.ModelConfig,
        ["inference.GRPCInferenceService/ModelStatistics"] = ApiGroup.Statistics,
        ["inference.GRPCInferenceService/RepositoryIndex"] = ApiGroup.ModelRepository,
        ["inference.GRPCInferenceService/RepositoryModelLoad"] = ApiGroup.ModelRepository,
        ["inference.GRPCInferenceService/RepositoryModelUnload"] = ApiGroup.ModelRepository,
        ["inference.GRPCInferenceService/SystemSharedMemoryStatus"] = ApiGroup.SharedMemory,
        ["inference.GRPCInferenceService/SystemSharedMemoryRegister"] = ApiGroup.SharedMemory,
        ["inference.GRPCInferenceService/SystemSharedMemoryUnregister"] = ApiGroup.SharedMemory,
        ["inference.GRPCInferenceService/CudaSharedMemoryStatus"] = ApiGroup.SharedMemory,
        ["inference.GRPCInferenceService/CudaSharedMemoryRegister"] = ApiGroup.SharedMemory,
        ["inference.GRPCInferenceService/CudaSharedMemoryUnregister"] = ApiGroup.SharedMemory,
        ["inference.GRPCInferenceService/TraceSetting"] = ApiGroup.Trace,
        ["inference.GRPCInferenceService/LogSettings"] = ApiGroup.Logging,
    };

    /// <summary>The methods the server serves, from the protos it binds.</summary>
    public static IEnumerable<MethodDescriptor> ServedGrpcMethods =>
        GRPCInferenceService.Descriptor.Methods.Concat(Health.Descriptor.Methods);

    public static TheoryData<string, string> HttpRouteData() => [.. HttpRoutes.Select(r => (r.Method, r.Path))];

    /// <summary>gRPC's name of a method: service/method.</summary>
    public static string NameOf(MethodDescriptor m) => m.Service.FullName + "/" + m.Name;

    public static TheoryData<string> GrpcMethodData() => [.. ServedGrpcMethods.Select(NameOf)];

    public static ApiGroup GroupOf(string method, string path) => HttpRoutes.Single(r => r.Method == method && r.Path == path).Group;

    public static string Key(ApiGroup g) => "key-" + RestrictedApis.NameOf(g);

    public static string Secret(ApiGroup g) => "secret-" + RestrictedApis.NameOf(g);

    public static HttpRequestMessage Request(string method, string path, params (string Key, string Value)[] headers)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST")
        {
            request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
        }
        foreach (var (k, v) in headers)
        {
            request.Headers.TryAddWithoutValidation(k, v);
        }
        return request;
    }

    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(b => b, b => b);

    /// <summary>Calls <paramref name="fullName"/> with an empty request (valid bytes for every message) and returns
    /// how the call ended: OK once the first answer came (streams) or the call completed.</summary>
    /// <summary>The gRPC metadata key of <paramref name="group"/>'s restriction, with Triton's prefix.</summary>
    public static string GrpcKey(ApiGroup group) => "triton-grpc-protocol-" + Key(group);

    /// <summary>Triton's refusal of a restricted gRPC call (UNAVAILABLE and its wording).</summary>
    public static bool IsRestrictionRefusal(Status status) =>
        status.StatusCode == StatusCode.Unavailable && status.Detail.StartsWith("This protocol is restricted, expecting header ", StringComparison.Ordinal);

    public static async Task<Status> CallAsync(CallInvoker invoker, string fullName, Metadata headers)
    {
        var m = ServedGrpcMethods.Single(d => NameOf(d) == fullName);
        var type = (m.IsClientStreaming, m.IsServerStreaming) switch
        {
            (false, false) => MethodType.Unary,
            (false, true) => MethodType.ServerStreaming,
            (true, false) => MethodType.ClientStreaming,
            (true, true) => MethodType.DuplexStreaming,
        };
        var method = new Method<byte[], byte[]>(type, m.Service.FullName, m.Name, Bytes, Bytes);
        var ct = TestContext.Current.CancellationToken;
        var options = new CallOptions(headers, DateTime.UtcNow.AddSeconds(20), ct);
        try
        {
            switch (type)
            {
                case MethodType.Unary:
                    await invoker.AsyncUnaryCall(method, null, options, []);
                    break;
                case MethodType.ServerStreaming:
                    using (var call = invoker.AsyncServerStreamingCall(method, null, options, []))
                    {
                        await call.ResponseStream.MoveNext(ct);
                    }
                    break;
                case MethodType.DuplexStreaming:
                    using (var call = invoker.AsyncDuplexStreamingCall(method, null, options))
                    {
                        await call.RequestStream.CompleteAsync();
                        while (await call.ResponseStream.MoveNext(ct))
                        {
                        }
                    }
                    break;
                default:
                    throw new NotSupportedException(fullName);
            }
            return Status.DefaultSuccess;
        }
        catch (RpcException e)
        {
            return e.Status;
        }
    }
}

/// <summary>One host with every API group restricted, each by a header of its own: <c>key-&lt;group&gt;: secret-&lt;group&gt;</c>.</summary>
public sealed class AllGroupsRestrictedFixture : IAsyncLifetime
{
    private ProtocolTestHost? _host;

    internal ProtocolTestHost Host => _host ?? throw new InvalidOperationException("not started");

    public async ValueTask InitializeAsync()
    {
        var specs = RestrictedApis.GroupNames.Select(g => $"{g}:key-{g}=secret-{g}").ToList();
        var http = RestrictedApis.Parse(specs, RestrictedApis.HttpFlag, out var e1);
        var grpc = RestrictedApis.Parse(specs, RestrictedApis.GrpcFlag, out var e2);
        Assert.Empty(e1.Concat(e2));
        _host = await ProtocolTestHost.StartAsync(o => (o.HttpRestrictions, o.GrpcRestrictions) = (http, grpc));
    }

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }
}

public sealed class RestrictedApiTests(AllGroupsRestrictedFixture fixture) : IClassFixture<AllGroupsRestrictedFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private ProtocolTestHost Host => fixture.Host;

    [Fact]
    public void EveryHttpRouteHasTheGroupOfTheTable()
    {
        var routes = Host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText!.StartsWith("/v2", StringComparison.Ordinal))
            .ToList();
        Assert.Equal(RestrictedApiTable.HttpRoutes.Length, routes.Count);
        Assert.All(routes, r => Assert.NotNull(r.Metadata.GetMetadata<ApiGroupMetadata>()));
    }

    [Fact]
    public void EveryGrpcMethodServedIsInTheTable() =>
        Assert.Equal(
            RestrictedApiTable.GrpcMethods.Keys.Order(),
            RestrictedApiTable.ServedGrpcMethods.Select(RestrictedApiTable.NameOf).Order());

    [Theory]
    [MemberData(nameof(RestrictedApiTable.HttpRouteData), MemberType = typeof(RestrictedApiTable))]
    public async Task HttpRoute_WithoutItsHeader_Is403WithTritonsMessage(string method, string path)
    {
        var group = RestrictedApiTable.GroupOf(method, path);
        using var response = await Host.Http.SendAsync(RestrictedApiTable.Request(method, path), Ct);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal($$"""{"error":"This API is restricted, expecting header '{{RestrictedApiTable.Key(group)}}'"}""", await response.Content.ReadAsStringAsync(Ct));
    }

    [Theory]
    [MemberData(nameof(RestrictedApiTable.HttpRouteData), MemberType = typeof(RestrictedApiTable))]
    public async Task HttpRoute_WithItsHeader_IsServed(string method, string path)
    {
        var group = RestrictedApiTable.GroupOf(method, path);
        using var response = await Host.Http.SendAsync(RestrictedApiTable.Request(method, path, (RestrictedApiTable.Key(group), RestrictedApiTable.Secret(group))), Ct);
        Assert.NotEqual(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.DoesNotContain("restricted", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(RestrictedApiTable.HttpRouteData), MemberType = typeof(RestrictedApiTable))]
    public async Task HttpRoute_WithAWrongValue_OrOnlyTheOtherGroupsHeaders_Is403(string method, string path)
    {
        var group = RestrictedApiTable.GroupOf(method, path);
        using (var wrong = await Host.Http.SendAsync(RestrictedApiTable.Request(method, path, (RestrictedApiTable.Key(group), RestrictedApiTable.Secret(group) + "x")), Ct))
        {
            Assert.Equal(HttpStatusCode.Forbidden, wrong.StatusCode);
        }
        var others = Enum.GetValues<ApiGroup>().Where(g => g != group).Select(g => (RestrictedApiTable.Key(g), RestrictedApiTable.Secret(g))).ToArray();
        using var response = await Host.Http.SendAsync(RestrictedApiTable.Request(method, path, others), Ct);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task HttpHeaderName_IsMatchedWhateverItsCase()
    {
        using var response = await Host.Http.SendAsync(RestrictedApiTable.Request("GET", "/v2/health/live", ("KEY-Health", "secret-health")), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [MemberData(nameof(RestrictedApiTable.GrpcMethodData), MemberType = typeof(RestrictedApiTable))]
    public async Task GrpcMethod_WithoutItsMetadata_IsRefusedWithTritonsStatusAndMessage(string fullName)
    {
        var group = RestrictedApiTable.GrpcMethods[fullName];
        var status = await RestrictedApiTable.CallAsync(Host.Channel.CreateCallInvoker(), fullName, []);
        Assert.Equal(StatusCode.Unavailable, status.StatusCode);
        Assert.Equal($"This protocol is restricted, expecting header 'triton-grpc-protocol-{RestrictedApiTable.Key(group)}'", status.Detail);
    }

    [Theory]
    [MemberData(nameof(RestrictedApiTable.GrpcMethodData), MemberType = typeof(RestrictedApiTable))]
    public async Task GrpcMethod_WithTheBareKeyInsteadOfTritonsPrefixedOne_IsRefused(string fullName)
    {
        var group = RestrictedApiTable.GrpcMethods[fullName];
        var status = await RestrictedApiTable.CallAsync(Host.Channel.CreateCallInvoker(), fullName, new Metadata { { RestrictedApiTable.Key(group), RestrictedApiTable.Secret(group) } });
        Assert.True(RestrictedApiTable.IsRestrictionRefusal(status), status.ToString());
    }

    [Theory]
    [MemberData(nameof(RestrictedApiTable.GrpcMethodData), MemberType = typeof(RestrictedApiTable))]
    public async Task GrpcMethod_WithItsMetadata_IsServed(string fullName)
    {
        var group = RestrictedApiTable.GrpcMethods[fullName];
        var status = await RestrictedApiTable.CallAsync(Host.Channel.CreateCallInvoker(), fullName, new Metadata { { RestrictedApiTable.GrpcKey(group), RestrictedApiTable.Secret(group) } });
        Assert.False(RestrictedApiTable.IsRestrictionRefusal(status), status.ToString());
    }

    [Theory]
    [MemberData(nameof(RestrictedApiTable.GrpcMethodData), MemberType = typeof(RestrictedApiTable))]
    public async Task GrpcMethod_WithAWrongValue_OrOnlyTheOtherGroupsMetadata_IsRefused(string fullName)
    {
        var group = RestrictedApiTable.GrpcMethods[fullName];
        var wrong = await RestrictedApiTable.CallAsync(Host.Channel.CreateCallInvoker(), fullName, new Metadata { { RestrictedApiTable.GrpcKey(group), "nope" } });
        Assert.True(RestrictedApiTable.IsRestrictionRefusal(wrong), wrong.ToString());
        var others = new Metadata();
        foreach (var g in Enum.GetValues<ApiGroup>().Where(g => g != group))
        {
            others.Add(RestrictedApiTable.GrpcKey(g), RestrictedApiTable.Secret(g));
        }
        var status = await RestrictedApiTable.CallAsync(Host.Channel.CreateCallInvoker(), fullName, others);
        Assert.True(RestrictedApiTable.IsRestrictionRefusal(status), status.ToString());
    }
}

/// <summary>HTTP restricts model-repository only (<c>admin-key: secret</c>); gRPC restricts inference only.</summary>
public sealed class OneGroupRestrictedFixture : IAsyncLifetime
{
    private ProtocolTestHost? _host;

    internal ProtocolTestHost Host => _host ?? throw new InvalidOperationException("not started");

    public async ValueTask InitializeAsync()
    {
        var http = RestrictedApis.Parse(["model-repository:admin-key=secret"], RestrictedApis.HttpFlag, out _);
        var grpc = RestrictedApis.Parse(["inference:admin-key=secret"], RestrictedApis.GrpcFlag, out _);
        _host = await ProtocolTestHost.StartAsync(o => (o.HttpRestrictions, o.GrpcRestrictions) = (http, grpc));
    }

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }
}

public sealed class RestrictedApiOneGroupTests(OneGroupRestrictedFixture fixture) : IClassFixture<OneGroupRestrictedFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(RestrictedApiTable.HttpRouteData), MemberType = typeof(RestrictedApiTable))]
    public async Task HttpRoute_WithoutHeaders_IsRefusedOnlyInTheRestrictedGroup(string method, string path)
    {
        using var response = await fixture.Host.Http.SendAsync(RestrictedApiTable.Request(method, path), Ct);
        Assert.Equal(RestrictedApiTable.GroupOf(method, path) == ApiGroup.ModelRepository, response.StatusCode == HttpStatusCode.Forbidden);
    }

    [Theory]
    [MemberData(nameof(RestrictedApiTable.GrpcMethodData), MemberType = typeof(RestrictedApiTable))]
    public async Task GrpcMethod_WithoutMetadata_IsRefusedOnlyInTheRestrictedGroup(string fullName)
    {
        var status = await RestrictedApiTable.CallAsync(fixture.Host.Channel.CreateCallInvoker(), fullName, []);
        Assert.Equal(RestrictedApiTable.GrpcMethods[fullName] == ApiGroup.Inference, RestrictedApiTable.IsRestrictionRefusal(status));
    }

    [Fact]
    public async Task RepositoryLoad_WithTheHeader_ReachesTheServer()
    {
        using var response = await fixture.Host.Http.SendAsync(RestrictedApiTable.Request("POST", "/v2/repository/models/identity/load", ("admin-key", "secret")), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
