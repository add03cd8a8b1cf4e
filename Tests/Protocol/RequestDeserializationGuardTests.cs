using Google.Protobuf;
using Grpc.Core;
using Inference.Server.Protocol.Grpc;
using Inference.Server.Protos;

namespace Inference.Tests.Protocol;

public class RequestDeserializationGuardTests
{
    private static readonly Marshaller<ModelReadyRequest> Generated = Marshallers.Create(
        (ModelReadyRequest m) => m.ToByteArray(), ModelReadyRequest.Parser.ParseFrom);

    [Theory]
    [InlineData(new byte[] { 0x0A, 0x02, (byte)'i', 0xFF }, "malformed ModelReadyRequest: String is invalid UTF-8.")]
    [InlineData(new byte[] { 0x00, 0x01 }, "malformed ModelReadyRequest: Protocol message contained an invalid tag (zero).")]
    public void Deserializer_ThrowingOnTheBytes_IsInvalidArgumentNamingTheType(byte[] bytes, string message)
    {
        var guarded = RequestDeserializationGuard.Guard(Generated, "ModelReadyRequest");

        var e = Assert.Throws<RpcException>(() => guarded.ContextualDeserializer(new Payload(bytes)));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal(message, e.Status.Detail);
    }

    [Fact]
    public void Deserializer_ThrowingRpcException_PassesItThrough()
    {
        var status = new Status(StatusCode.ResourceExhausted, "too big");
        var guarded = RequestDeserializationGuard.Guard(Marshallers.Create<string>(_ => [], _ => throw new RpcException(status)), "X");

        var e = Assert.Throws<RpcException>(() => guarded.ContextualDeserializer(new Payload([1])));

        Assert.Equal(status, e.Status);
    }

    [Fact]
    public void GoodBytes_AndSerialization_AreUnchanged()
    {
        var guarded = RequestDeserializationGuard.Guard(Generated, "ModelReadyRequest");
        var request = new ModelReadyRequest { Name = "ünï", Version = "2" };

        Assert.Equal(request, guarded.ContextualDeserializer(new Payload(request.ToByteArray())));
        Assert.Same(Generated.ContextualSerializer, guarded.ContextualSerializer);
    }

    private sealed class Payload(byte[] bytes) : DeserializationContext
    {
        public override int PayloadLength => bytes.Length;

        public override byte[] PayloadAsNewBuffer() => (byte[])bytes.Clone();

        public override System.Buffers.ReadOnlySequence<byte> PayloadAsReadOnlySequence() => new(bytes);
    }
}
