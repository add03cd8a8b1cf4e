using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using Inference.Server.Protos;

namespace Inference.Tests.EndToEnd;

/// <summary>
/// gRPC messages whose 5-byte prefix declares more than the message limit are RESOURCE_EXHAUSTED, however large the
/// declared length: Grpc.AspNetCore's own check overflows from 2 GiB on and answered UNKNOWN. Sent as raw HTTP/2
/// requests (a client library would refuse to write such a prefix), on unary and streaming methods.
/// </summary>
public sealed class GrpcFrameLengthTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string, uint> Cases => new()
    {
        { "ModelInfer", 1u << 30 }, { "ModelInfer", 1u << 31 }, { "ModelInfer", uint.MaxValue },
        { "ModelMetadata", 1u << 31 }, { "ModelStreamInfer", (1u << 31) + 7 }, { "ServerLive", uint.MaxValue },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DeclaredLengthOverTheLimit_IsResourceExhausted(string method, uint declared)
    {
        var (status, message) = await SendAsync(method, Frame(declared, ReadyPayload()));

        Assert.True(status == (int)Grpc.Core.StatusCode.ResourceExhausted, $"grpc-status {status}: {message}");
        Assert.Contains("exceeds the maximum configured message size", message, StringComparison.Ordinal);
        Assert.True(fixture.Server.Grpc.ServerLive(new ServerLiveRequest(), cancellationToken: Ct).Live);
    }

    [Fact]
    public async Task ASecondMessageOfAStream_IsCheckedToo()
    {
        var request = new ModelInferRequest { ModelName = "nope" }.ToByteArray();
        var (status, message) = await SendAsync("ModelStreamInfer", [.. Frame((uint)request.Length, request), .. Frame(3u << 30, [])]);

        Assert.True(status == (int)Grpc.Core.StatusCode.ResourceExhausted, $"grpc-status {status}: {message}");
    }

    [Fact]
    public async Task AMessageWithinTheLimit_IsServed()
    {
        var payload = new ServerLiveRequest().ToByteArray();
        var (status, _) = await SendAsync("ServerLive", Frame((uint)payload.Length, payload));
        Assert.Equal(0, status);
    }

    private static byte[] ReadyPayload() => new ServerReadyRequest().ToByteArray();

    private static byte[] Frame(uint declaredLength, byte[] payload)
    {
        var frame = new byte[5 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), declaredLength);
        payload.CopyTo(frame, 5);
        return frame;
    }

    private async Task<(int Status, string Message)> SendAsync(string method, byte[] body)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(fixture.Server.GrpcAddress, $"/inference.GRPCInferenceService/{method}"))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, Ct);
        foreach (var headers in new[] { response.TrailingHeaders, (HttpHeaders)response.Headers })
        {
            if (headers.TryGetValues("grpc-status", out var values))
            {
                var message = headers.TryGetValues("grpc-message", out var m) ? Uri.UnescapeDataString(m.First()) : "";
                return (int.Parse(values.First(), System.Globalization.CultureInfo.InvariantCulture), message);
            }
        }
        throw new InvalidOperationException($"no grpc-status (HTTP {(int)response.StatusCode})");
    }
}
