using System.Buffers;
using Google.Protobuf;
using Grpc.Core;
using Inference.Server.Core;
using Inference.Server.Protocol.Grpc;
using Inference.Server.Protos;

namespace Inference.Tests.Protocol;

public class InferRequestMarshallerTests
{
    [Fact]
    public void Read_SplitsRawInputsIntoPooledBuffersAndKeepsEveryOtherField()
    {
        var message = new ModelInferRequest { ModelName = "m", ModelVersion = "2", Id = "r" };
        message.Parameters["priority"] = new InferParameter { Int64Param = 3 };
        message.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "a", Datatype = "UINT8", Shape = { 1, 300_000 } });
        message.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "b", Datatype = "FP32", Shape = { 1, 1 } });
        message.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "y" });
        var a = Enumerable.Range(0, 300_000).Select(i => (byte)(i * 7)).ToArray();
        message.RawInputContents.Add(ByteString.CopyFrom(a));
        message.RawInputContents.Add(ByteString.CopyFrom([1, 2, 3, 4]));
        var bytes = message.ToByteArray();

        // Cut into small segments, as the HTTP/2 stream delivers them.
        using var read = InferRequestMarshaller.Read(Segmented(bytes, 4096));

        Assert.Empty(read.Message.RawInputContents);
        var withoutRaw = message.Clone();
        withoutRaw.RawInputContents.Clear();
        Assert.Equal(withoutRaw, read.Message);
        Assert.Equal(2, read.RawCount);
        Assert.Equal(a, read.Raw(0).ToArray());
        Assert.Equal([1, 2, 3, 4], read.Raw(1).ToArray());
        Assert.Equal(bytes, InferRequestMarshaller.ToBytes(read));
    }

    [Fact]
    public void Read_RentsEachRawInputFromTheGivenPool_AndDisposeGivesTheUntakenBack()
    {
        var message = new ModelInferRequest();
        message.RawInputContents.Add(ByteString.CopyFrom(new byte[70_000]));
        message.RawInputContents.Add(ByteString.CopyFrom([5, 6]));
        var pool = new CountingPool();

        var read = InferRequestMarshaller.Read(new ReadOnlySequence<byte>(message.ToByteArray()), pool);
        var taken = read.TakeRaw(1);
        read.Dispose();

        Assert.Equal([70_000, 2], pool.Rented);
        Assert.Equal(1, pool.Returned);
        Assert.Equal([5, 6], taken.Memory.ToArray());
        taken.Dispose();
        Assert.Equal(2, pool.Returned);
    }

    [Fact]
    public void Read_RawInputsBeforeTheOtherFields_AreStillInOrder()
    {
        // Protobuf allows any field order; raw_input_contents (field 7) first, then the inputs (field 5).
        var raw = new ModelInferRequest();
        raw.RawInputContents.Add(ByteString.CopyFrom([9]));
        raw.RawInputContents.Add(ByteString.CopyFrom([8, 8]));
        var rest = new ModelInferRequest { ModelName = "m" };
        rest.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "x" });
        var bytes = raw.ToByteArray().Concat(rest.ToByteArray()).ToArray();

        using var read = InferRequestMarshaller.Read(new ReadOnlySequence<byte>(bytes));

        Assert.Equal(rest, read.Message);
        Assert.Equal([9], read.Raw(0).ToArray());
        Assert.Equal([8, 8], read.Raw(1).ToArray());
    }

    [Fact]
    public void TakeRaw_HandsOwnershipOver_AndDisposeReturnsOnlyTheRest()
    {
        var message = new ModelInferRequest();
        message.RawInputContents.Add(ByteString.CopyFrom([1]));
        message.RawInputContents.Add(ByteString.CopyFrom([2]));
        var read = InferRequestMarshaller.Read(new ReadOnlySequence<byte>(message.ToByteArray()));

        var taken = read.TakeRaw(0);
        read.Dispose();

        Assert.Equal([1], taken.Memory.ToArray());
        Assert.Throws<InvalidOperationException>(() => read.TakeRaw(0));
        Assert.Throws<InvalidOperationException>(() => read.Raw(1));
        taken.Dispose();
    }

    [Theory]
    [InlineData(new byte[] { 0x3A, 0x05, 1, 2 }, "runs past the end")]
    [InlineData(new byte[] { 0x0A, 0x7F }, "runs past the end")]
    [InlineData(new byte[] { 0x0B }, "unsupported wire type 3")]
    [InlineData(new byte[] { 0x08 }, "truncated varint")]
    [InlineData(new byte[] { 0x0D, 1, 2 }, "truncated field")]
    [InlineData(new byte[] { 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 }, "longer than 10 bytes")]
    [InlineData(new byte[] { 0x0A, 0x02, (byte)'i', 0xFF }, "malformed ModelInferRequest")]
    public void Read_MalformedBytes_AreInvalidArgument(byte[] bytes, string message)
    {
        var e = Assert.Throws<RpcException>(() => InferRequestMarshaller.Read(new ReadOnlySequence<byte>(bytes)));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains(message, e.Status.Detail);
    }

    private static ReadOnlySequence<byte> Segmented(byte[] bytes, int size)
    {
        Segment? first = null, last = null;
        for (var offset = 0; offset < bytes.Length; offset += size)
        {
            var chunk = bytes.AsMemory(offset, Math.Min(size, bytes.Length - offset));
            last = last is null ? first = new Segment(chunk, 0) : last.Append(chunk);
        }
        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }

    private sealed class CountingPool : ITensorBufferPool
    {
        public List<int> Rented { get; } = [];

        public int Returned { get; private set; }

        public IMemoryOwner<byte> Rent(int length)
        {
            Rented.Add(length);
            return new Owner(this, new byte[length]);
        }

        private sealed class Owner(CountingPool pool, byte[] bytes) : IMemoryOwner<byte>
        {
            public Memory<byte> Memory => bytes;

            public void Dispose() => pool.Returned++;
        }
    }
}
