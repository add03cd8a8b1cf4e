using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Health.V1;
using Inference.Server.Protos;

namespace Inference.Tests.Protocol;

/// <summary>
/// Request bytes that protobuf cannot read, sent with a raw <c>Method&lt;byte[], byte[]&gt;</c> to every method of every
/// service the server binds (taken from the services' descriptors, so a method added later is covered too): each
/// call ends with INVALID_ARGUMENT naming the request type, never UNKNOWN, and the server goes on serving.
/// </summary>
public class GrpcUnreadableMessageTests(ProtocolHostFixture fixture) : IClassFixture<ProtocolHostFixture>
{
    private static readonly ServiceDescriptor[] Services = [GRPCInferenceService.Descriptor, Health.Descriptor];

    private static readonly Marshaller<byte[]> Raw = Marshallers.Create((byte[] b) => b, b => b);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Bytes no message can be read from: a truncated varint, a field longer than the message, tag zero.</summary>
    private static readonly (string Name, byte[] Bytes)[] Unreadable =
    [
        ("truncated varint", [0x08, 0x80]),
        ("field past the end", [0x0A, 0x05, 0x01]),
        ("tag zero", [0x00, 0x01]),
    ];

    /// <summary>(service, method, what is wrong, request bytes).</summary>
    public static TheoryData<string, string, string, byte[]> Cases
    {
        get
        {
            var data = new TheoryData<string, string, string, byte[]>();
            foreach (var method in Services.SelectMany(s => s.Methods))
            {
                foreach (var (name, bytes) in Unreadable)
                {
                    data.Add(method.Service.FullName, method.Name, name, bytes);
                }
                if (InvalidUtf8InAString(method.InputType) is { } text)
                {
                    data.Add(method.Service.FullName, method.Name, "invalid UTF-8 in a string field", text);
                }
                if (InvalidUtf8InAMapKey(method.InputType) is { } key)
                {
                    data.Add(method.Service.FullName, method.Name, "invalid UTF-8 in a map key", key);
                }
            }
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task UnreadableRequest_IsInvalidArgumentNamingTheRequestType(string service, string method, string problem, byte[] payload)
    {
        var descriptor = Services.Single(s => s.FullName == service).Methods.Single(m => m.Name == method);

        var e = await Assert.ThrowsAsync<RpcException>(() => CallAsync(descriptor, payload));

        Assert.True(e.StatusCode == StatusCode.InvalidArgument, $"{problem}: expected InvalidArgument, got {e.StatusCode}: {e.Status.Detail}");
        Assert.StartsWith($"malformed {descriptor.InputType.Name}: ", e.Status.Detail, StringComparison.Ordinal);
        if (problem.StartsWith("invalid UTF-8", StringComparison.Ordinal))
        {
            Assert.Contains("invalid UTF-8", e.Status.Detail, StringComparison.Ordinal);
        }
        var live = await new GRPCInferenceService.GRPCInferenceServiceClient(fixture.Host.Channel).ServerLiveAsync(new ServerLiveRequest(), cancellationToken: Ct);
        Assert.True(live.Live);
    }

    /// <summary>The request's first string field (tag, length 2, "i", 0xFF), or null when it has none.</summary>
    private static byte[]? InvalidUtf8InAString(MessageDescriptor request)
    {
        var field = request.Fields.InFieldNumberOrder().FirstOrDefault(f => f.FieldType == FieldType.String && !f.IsRepeated);
        return field is null ? null : [.. Tag(field.FieldNumber), 0x02, (byte)'i', 0xFF];
    }

    /// <summary>An entry of the request's first map with string keys whose key is 0xFF, or null when it has none.</summary>
    private static byte[]? InvalidUtf8InAMapKey(MessageDescriptor request)
    {
        var field = request.Fields.InFieldNumberOrder().FirstOrDefault(f => f.IsMap && f.MessageType.FindFieldByNumber(1).FieldType == FieldType.String);
        return field is null ? null : [.. Tag(field.FieldNumber), 0x03, 0x0A, 0x01, 0xFF];
    }

    private static byte[] Tag(int field) => [(byte)((field << 3) | 2)];

    private async Task CallAsync(MethodDescriptor descriptor, byte[] payload)
    {
        var type = (descriptor.IsClientStreaming, descriptor.IsServerStreaming) switch
        {
            (false, false) => MethodType.Unary,
            (false, true) => MethodType.ServerStreaming,
            (true, false) => MethodType.ClientStreaming,
            (true, true) => MethodType.DuplexStreaming,
        };
        var method = new Method<byte[], byte[]>(type, descriptor.Service.FullName, descriptor.Name, Raw, Raw);
        var invoker = fixture.Host.Channel.CreateCallInvoker();
        var options = new CallOptions(cancellationToken: Ct);
        switch (type)
        {
            case MethodType.Unary:
                await invoker.AsyncUnaryCall(method, null, options, payload);
                break;
            case MethodType.ServerStreaming:
            {
                using var call = invoker.AsyncServerStreamingCall(method, null, options, payload);
                while (await call.ResponseStream.MoveNext(Ct))
                {
                }
                break;
            }
            case MethodType.ClientStreaming:
            {
                using var call = invoker.AsyncClientStreamingCall(method, null, options);
                await call.RequestStream.WriteAsync(payload, Ct);
                await call.RequestStream.CompleteAsync();
                await call.ResponseAsync;
                break;
            }
            default:
            {
                using var call = invoker.AsyncDuplexStreamingCall(method, null, options);
                await call.RequestStream.WriteAsync(payload, Ct);
                await call.RequestStream.CompleteAsync();
                while (await call.ResponseStream.MoveNext(Ct))
                {
                }
                break;
            }
        }
    }
}
