using System.Net.Http.Headers;
using System.Text;
using Grpc.Core;
using Grpc.Net.Client;
using Inference.Server.Protos;
using LoadTest.Clients;
using LoadTest.Model;

namespace LoadTest.Reliability;

/// <summary>
/// What every category shares: the options, the clients (HTTP/1.1, bare HTTP/2, a gRPC channel and its generated
/// client), the good model's requests, the server's control mode and process, and the "does it still serve" probe.
/// </summary>
public sealed class SuiteContext : IAsyncDisposable
{
    /// <summary>A model name no repository holds: unloading it changes nothing and says which control mode is on.</summary>
    public const string AbsentModelProbe = "reliability_probe_absent_model";

    private SuiteContext(ReliabilityOptions options, TextWriter log, SeedRequests seeds, ServerControlMode mode, HttpClient http, GrpcChannel channel)
    {
        Options = options;
        Log = log;
        Seeds = seeds;
        Mode = mode;
        Http = http;
        Channel = channel;
        Grpc = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        Http2 = RawGrpc.CreateHttp2Client();
        Process = options.ServerPid is { } pid ? new ServerProcessStats(pid) : null;
    }

    public ReliabilityOptions Options { get; }

    /// <summary>Progress (stderr for the command line).</summary>
    public TextWriter Log { get; }

    public SeedRequests Seeds { get; }

    public string Model => Seeds.Model.Name;

    public ServerControlMode Mode { get; }

    /// <summary>HTTP/1.1 client without a base address or timeout (each request gets <see cref="ReliabilityOptions.RequestTimeout"/>).</summary>
    public HttpClient Http { get; }

    /// <summary>HTTP/2 prior-knowledge client for bare gRPC bodies.</summary>
    public HttpClient Http2 { get; }

    public GrpcChannel Channel { get; }

    public GRPCInferenceService.GRPCInferenceServiceClient Grpc { get; }

    public CallInvoker Invoker => Channel.CreateCallInvoker();

    /// <summary>The server process, when its id was given.</summary>
    public ServerProcessStats? Process { get; }

    public TimeSpan Timeout => Options.RequestTimeout;

    public static async Task<SuiteContext> CreateAsync(ReliabilityOptions options, TextWriter log, CancellationToken cancellationToken)
    {
        var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue, UseCookies = false }) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        var channel = GrpcChannel.ForAddress(options.GrpcUrl, new GrpcChannelOptions
        {
            MaxReceiveMessageSize = 256 << 20,
            MaxSendMessageSize = 256 << 20,
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
        });
        try
        {
            using var info = new HttpServerInfoClient(options.HttpUrl, options.Model, "");
            var model = await info.GetModelInfoAsync(cancellationToken).ConfigureAwait(false);
            var seeds = SeedRequests.Create(model, options.Seed);
            var mode = options.ControlMode != ServerControlMode.Unknown ? options.ControlMode : await DetectModeAsync(http, options, cancellationToken).ConfigureAwait(false);
            return new SuiteContext(options, log, seeds, mode, http, channel);
        }
        catch
        {
            http.Dispose();
            channel.Dispose();
            throw;
        }
    }

    /// <summary>Sends a request to the HTTP endpoint; never throws for what the server or the network did.</summary>
    public async Task<HttpOutcome> SendAsync(HttpMethod method, string pathAndQuery, byte[]? body, CancellationToken cancellationToken,
        string contentType = "application/json", IEnumerable<KeyValuePair<string, string>>? headers = null)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(Timeout);
        using var request = new HttpRequestMessage(method, new Uri(Options.HttpUrl, pathAndQuery));
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }
        foreach (var (name, value) in headers ?? [])
        {
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content?.Headers.TryAddWithoutValidation(name, value);
            }
        }
        try
        {
            using var response = await Http.SendAsync(request, cts.Token).ConfigureAwait(false);
            var bytes = await response.Content.ReadAsByteArrayAsync(cts.Token).ConfigureAwait(false);
            return new HttpOutcome((int)response.StatusCode, Encoding.UTF8.GetString(bytes), null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return HttpOutcome.Timeout();
        }
        catch (HttpRequestException e)
        {
            return HttpOutcome.TransportFailure($"{e.HttpRequestError}: {e.Message}");
        }
    }

    public Task<HttpOutcome> PostAsync(string path, string? json, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, path, json is null ? null : Encoding.UTF8.GetBytes(json), cancellationToken);

    public Task<HttpOutcome> PostAsync(string path, byte[] body, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, path, body, cancellationToken);

    /// <summary>A generated-client call with the suite's timeout, as an outcome.</summary>
    public async Task<GrpcOutcome> GrpcAsync<T>(Func<CallOptions, AsyncUnaryCall<T>> call, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(Timeout);
        try
        {
            using var c = call(new CallOptions(cancellationToken: cts.Token));
            await c.ResponseAsync.ConfigureAwait(false);
            return GrpcOutcome.Ok();
        }
        catch (RpcException e)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return GrpcOutcome.From(e, cts.IsCancellationRequested);
        }
    }

    /// <summary>Null when a good JSON request over HTTP and a good ModelInfer over gRPC are both served with valid
    /// outputs; else what went wrong.</summary>
    public async Task<string?> ServesAsync(CancellationToken cancellationToken)
    {
        var http = await PostAsync($"/v2/models/{Model}/infer", Seeds.JsonBody, cancellationToken).ConfigureAwait(false);
        if (http.Status != 200)
        {
            return "good HTTP request: " + http.Describe();
        }
        var invalid = KServeJsonResponse.Validate(Encoding.UTF8.GetBytes(http.Body), [], Seeds.Validator);
        if (invalid is not null)
        {
            return "good HTTP request: " + invalid;
        }
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(Timeout);
        try
        {
            var reply = await Grpc.ModelInferAsync(Seeds.Grpc, cancellationToken: cts.Token).ConfigureAwait(false);
            var bad = GrpcInferClient.Validate(reply, Seeds.Validator);
            return bad is null ? null : "good gRPC request: " + bad;
        }
        catch (RpcException e)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return "good gRPC request: " + GrpcOutcome.From(e, cts.IsCancellationRequested).Describe();
        }
    }

    /// <summary>GET /v2/health/ready: true on 200.</summary>
    public async Task<bool> IsReadyAsync(CancellationToken cancellationToken) =>
        (await SendAsync(HttpMethod.Get, "/v2/health/ready", null, cancellationToken).ConfigureAwait(false)).Status == 200;

    /// <summary>POST /v2/repository/index: the number of rows, or null when it failed.</summary>
    public async Task<int?> IndexRowsAsync(CancellationToken cancellationToken)
    {
        var r = await PostAsync("/v2/repository/index", "{}", cancellationToken).ConfigureAwait(false);
        if (r.Status != 200)
        {
            return null;
        }
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(r.Body);
            return doc.RootElement.GetArrayLength();
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        Http2.Dispose();
        await Channel.ShutdownAsync().ConfigureAwait(false);
        Channel.Dispose();
    }

    private static async Task<ServerControlMode> DetectModeAsync(HttpClient http, ReliabilityOptions options, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await http.PostAsync(new Uri(options.HttpUrl, $"/v2/repository/models/{AbsentModelProbe}/unload"), null, cancellationToken).ConfigureAwait(false);
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if ((int)response.StatusCode is 200 or 404)
            {
                return ServerControlMode.Explicit;
            }
            if (text.Contains("mode 'poll'", StringComparison.Ordinal))
            {
                return ServerControlMode.Poll;
            }
            return text.Contains("mode 'none'", StringComparison.Ordinal) ? ServerControlMode.None : ServerControlMode.Unknown;
        }
        catch (HttpRequestException)
        {
            return ServerControlMode.Unknown;
        }
    }
}
