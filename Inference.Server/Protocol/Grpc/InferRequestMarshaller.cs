using System.Buffers;
using Google.Protobuf;
using Grpc.Core;
using Inference.Server.Core;
using Inference.Server.Protos;

namespace Inference.Server.Protocol.Grpc;

/// <summary>
/// Reads a ModelInferRequest off the wire into a <see cref="PooledInferRequest"/>: the protobuf wire format is walked
/// once; <c>raw_input_contents</c> (field 7) go straight from the received segments into buffers of the server's
/// <see cref="ITensorBufferPool"/> (page-locked memory on a GPU server), and the
/// other fields (names, shapes, parameters: small) are copied into a scratch buffer and parsed by Google.Protobuf.
/// Fields keep their order, so protobuf's merge rules are unchanged. Malformed bytes are an INVALID_ARGUMENT.
/// </summary>
public static class InferRequestMarshaller
{
    private const int RawInputContentsField = 7;
    private const int LengthDelimited = 2;

    /// <summary>The marshaller for ModelInfer requests whose raw inputs go into <paramref name="pool"/>.</summary>
    public static Marshaller<PooledInferRequest> Create(ITensorBufferPool pool) =>
        Marshallers.Create<PooledInferRequest>(Serialize, context => Read(context.PayloadAsReadOnlySequence(), pool));

    public static PooledInferRequest Read(ReadOnlySequence<byte> payload, ITensorBufferPool? pool = null)
    {
        pool ??= ArrayTensorBufferPool.Instance;
        var reader = new SequenceReader<byte>(payload);
        var raw = new List<IMemoryOwner<byte>>(1);
        using var rest = new PooledBufferWriter(256);
        try
        {
            while (!reader.End)
            {
                var fieldStart = reader.Consumed;
                var tag = ReadVarint(ref reader);
                var field = tag >> 3;
                var wireType = (int)(tag & 7);
                if (field == RawInputContentsField && wireType == LengthDelimited)
                {
                    var length = ReadLength(ref reader);
                    var buffer = pool.Rent(length);
                    raw.Add(buffer);
                    reader.TryCopyTo(buffer.Memory.Span);
                    reader.Advance(length);
                    continue;
                }
                switch (wireType)
                {
                    case 0: ReadVarint(ref reader); break;
                    case 1: Skip(ref reader, 8); break;
                    case LengthDelimited: Skip(ref reader, ReadLength(ref reader)); break;
                    case 5: Skip(ref reader, 4); break;
                    default: throw Malformed($"unsupported wire type {wireType} for field {field}");
                }
                var bytes = payload.Slice(fieldStart, reader.Consumed - fieldStart);
                bytes.CopyTo(rest.GetSpan((int)bytes.Length));
                rest.Advance((int)bytes.Length);
            }
            ModelInferRequest message;
            try
            {
                message = ModelInferRequest.Parser.ParseFrom(rest.WrittenMemory.Span);
            }
            catch (InvalidProtocolBufferException e)
            {
                throw Malformed(e.Message);
            }
            return new PooledInferRequest(message, raw);
        }
        catch
        {
            foreach (var b in raw)
            {
                b.Dispose();
            }
            throw;
        }
    }

    /// <summary>The request as ModelInferRequest bytes (raw inputs not yet taken included); what a client would send.</summary>
    public static byte[] ToBytes(PooledInferRequest request)
    {
        var message = request.Message.Clone();
        message.RawInputContents.Clear();
        for (var i = 0; i < request.RawCount; i++)
        {
            message.RawInputContents.Add(ByteString.CopyFrom(request.Raw(i).Span));
        }
        return message.ToByteArray();
    }

    private static void Serialize(PooledInferRequest request, SerializationContext context) => context.Complete(ToBytes(request));

    private static ulong ReadVarint(ref SequenceReader<byte> reader)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (!reader.TryRead(out var b))
            {
                throw Malformed("truncated varint");
            }
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
        throw Malformed("varint longer than 10 bytes");
    }

    private static int ReadLength(ref SequenceReader<byte> reader)
    {
        var length = ReadVarint(ref reader);
        if (length > (ulong)reader.Remaining)
        {
            throw Malformed($"a field of {length} bytes runs past the end of the message ({reader.Remaining} bytes left)");
        }
        return (int)length;
    }

    private static void Skip(ref SequenceReader<byte> reader, int count)
    {
        if (reader.Remaining < count)
        {
            throw Malformed("truncated field");
        }
        reader.Advance(count);
    }

    private static RpcException Malformed(string detail) =>
        new(new Status(StatusCode.InvalidArgument, $"malformed ModelInferRequest: {detail}"));
}
