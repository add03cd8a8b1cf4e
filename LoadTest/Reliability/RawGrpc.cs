using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using Grpc.Core;

namespace LoadTest.Reliability;

/// <summary>
/// gRPC calls with bytes the suite chooses: any method of Triton's <c>inference.GRPCInferenceService</c> with a
/// message that is not (or not quite) protobuf, through Grpc.Net.Client with a pass-through marshaller; and whole
/// gRPC bodies (the 5-byte frame header included: huge declared lengths, the compressed flag) over a bare HTTP/2
/// request, reading grpc-status from the headers or trailers.
/// </summary>
public static class RawGrpc
{
    public const string Service = "inference.GRPCInferenceService";

    /// <summary>Every method of grpc_service.proto's GRPCInferenceService, with its kind.</summary>
    public static readonly IReadOnlyList<(string Name, MethodType Type)> Methods =
    [
        ("ServerLive", MethodType.Unary), ("ServerReady", MethodType.Unary), ("ModelReady", MethodType.Unary),
        ("ServerMetadata", MethodType.Unary), ("ModelMetadata", MethodType.Unary), ("ModelInfer", MethodType.Unary),
        ("ModelStreamInfer", MethodType.DuplexStreaming), ("ModelConfig", MethodType.Unary), ("ModelStatistics", MethodType.Unary),
        ("RepositoryIndex", MethodType.Unary), ("RepositoryModelLoad", MethodType.Unary), ("RepositoryModelUnload", MethodType.Unary),
        ("SystemSharedMemoryStatus", MethodType.Unary), ("SystemSharedMemoryRegister", MethodType.Unary),
        ("SystemSharedMemoryUnregister", MethodType.Unary), ("CudaSharedMemoryStatus", MethodType.Unary),
        ("CudaSharedMemoryRegister", MethodType.Unary), ("CudaSharedMemoryUnregister", MethodType.Unary),
        ("TraceSetting", MethodType.Unary), ("LogSettings", MethodType.Unary),
    ];

    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(b => b, b => b);

    /// <summary>A unary call of <paramref name="method"/> with <paramref name="payload"/> as the message.</summary>
    public static async Task<GrpcOutcome> UnaryAsync(CallInvoker invoker, string method, byte[] payload, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var m = new Method<byte[], byte[]>(MethodType.Unary, Service, method, Bytes, Bytes);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            using var call = invoker.AsyncUnaryCall(m, null, new CallOptions(cancellationToken: cts.Token), payload);
            await call.ResponseAsync.ConfigureAwait(false);
            return GrpcOutcome.Ok();
        }
        catch (RpcException e)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return GrpcOutcome.From(e, cts.IsCancellationRequested);
        }
    }

    /// <summary>A ModelStreamInfer-style bidirectional call that sends <paramref name="payload"/> as its one message,
    /// closes its side and reads replies to the end. Replies carrying <c>error_message</c> count as a rejection (the
    /// stream form of an error); <paramref name="replyIsError"/> says whether a reply does.</summary>
    public static async Task<GrpcOutcome> StreamOnceAsync(CallInvoker invoker, string method, byte[] payload, Func<byte[], string?> replyIsError,
        TimeSpan timeout, CancellationToken cancellationToken)
    {
        var m = new Method<byte[], byte[]>(MethodType.DuplexStreaming, Service, method, Bytes, Bytes);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            using var call = invoker.AsyncDuplexStreamingCall(m, null, new CallOptions(cancellationToken: cts.Token));
            await call.RequestStream.WriteAsync(payload, cts.Token).ConfigureAwait(false);
            await call.RequestStream.CompleteAsync().ConfigureAwait(false);
            string? streamError = null;
            while (await call.ResponseStream.MoveNext(cts.Token).ConfigureAwait(false))
            {
                streamError ??= replyIsError(call.ResponseStream.Current);
            }
            // A reply with error_message is the stream's way to reject; the status itself is OK then.
            return streamError is not null ? new GrpcOutcome(StatusCode.InvalidArgument, streamError, null) : GrpcOutcome.Ok();
        }
        catch (RpcException e)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return GrpcOutcome.From(e, cts.IsCancellationRequested);
        }
    }

    /// <summary>The gRPC length-prefixed frame of <paramref name="message"/>: flag byte, 4-byte big-endian length, bytes.
    /// <paramref name="declaredLength"/> overrides the length written.</summary>
    public static byte[] Frame(byte[] message, uint? declaredLength = null, byte flag = 0)
    {
        var frame = new byte[5 + message.Length];
        frame[0] = flag;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), declaredLength ?? (uint)message.Length);
        message.CopyTo(frame, 5);
        return frame;
    }

    /// <summary>POSTs <paramref name="body"/> as the whole request body of <paramref name="method"/> over HTTP/2 without
    /// TLS (the gRPC port speaks only HTTP/2), with gRPC's headers; the status comes from grpc-status in the headers
    /// (trailers-only replies) or the trailers.</summary>
    public static async Task<GrpcOutcome> BareAsync(HttpClient http2, Uri server, string method, byte[] body, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server, $"/{Service}/{method}"))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        try
        {
            using var response = await http2.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token).ConfigureAwait(false);
            if (TryStatus(response.Headers, out var early))
            {
                return early;
            }
            await response.Content.ReadAsByteArrayAsync(cts.Token).ConfigureAwait(false);
            if (TryStatus(response.TrailingHeaders, out var late))
            {
                return late;
            }
            return new GrpcOutcome(null, "", $"transport: HTTP {(int)response.StatusCode} without grpc-status");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return GrpcOutcome.Timeout();
        }
        catch (HttpRequestException e)
        {
            return new GrpcOutcome(null, "", "transport: " + e.Message);
        }
    }

    /// <summary>An HttpClient that speaks HTTP/2 without TLS (prior knowledge), for <see cref="BareAsync"/>.</summary>
    public static HttpClient CreateHttp2Client() => new(new SocketsHttpHandler { EnableMultipleHttp2Connections = true })
    {
        Timeout = Timeout.InfiniteTimeSpan,
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
    };

    private static bool TryStatus(HttpHeaders headers, out GrpcOutcome outcome)
    {
        outcome = GrpcOutcome.Ok();
        if (!headers.TryGetValues("grpc-status", out var values) || !int.TryParse(values.FirstOrDefault(), out var code))
        {
            return false;
        }
        var message = headers.TryGetValues("grpc-message", out var m) ? Uri.UnescapeDataString(m.FirstOrDefault() ?? "") : "";
        outcome = new GrpcOutcome((StatusCode)code, message, null);
        return true;
    }
}
