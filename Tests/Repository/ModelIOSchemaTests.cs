using System.Buffers.Binary;
using System.Text;
using Inference.Server.Core;
using Inference.Server.Protos;
using Inference.Server.Repository;
using DataType = Inference.Server.Core.DataType;

namespace Inference.Tests.Repository;

public class ModelIOSchemaTests
{
    private static readonly ModelIOSchema Batching = ModelIOSchema.Create(PbtxtParser.ParseModelConfig("""
        name: "clf"
        max_batch_size: 8
        input { name: "image" data_type: TYPE_FP32 dims: [ 3, -1 ] }
        input { name: "mask" data_type: TYPE_UINT8 dims: [ 2 ] optional: true }
        input { name: "text" data_type: TYPE_STRING dims: [ 2 ] reshape { shape: [ 1, 2 ] } }
        output { name: "probs" data_type: TYPE_FP32 dims: [ 10 ] }
        output { name: "ids" data_type: TYPE_INT64 dims: [ 1 ] }
        """, "c").Value!);

    private static readonly ModelIOSchema NonBatching = ModelIOSchema.Create(PbtxtParser.ParseModelConfig("""
        name: "plain"
        input { name: "x" data_type: TYPE_INT32 dims: [ 2, 2 ] }
        output { name: "y" data_type: TYPE_INT32 dims: [ 2, 2 ] }
        """, "c").Value!);

    private static InferTensor Fixed(string name, DataType type, long[] shape, int? bytes = null) =>
        new(name, type, shape, new byte[bytes ?? (int)(ShapeMath.ElementCount(shape) * type.ElementSize())]);

    private static byte[] Strings(params string[] values)
    {
        var bytes = new List<byte>();
        foreach (var v in values)
        {
            var b = Encoding.UTF8.GetBytes(v);
            var len = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(len, b.Length);
            bytes.AddRange(len);
            bytes.AddRange(b);
        }
        return [.. bytes];
    }

    private static InferenceRequest Request(string model, params InferTensor[] inputs)
    {
        var r = new InferenceRequest { ModelName = model };
        r.Inputs.AddRange(inputs);
        return r;
    }

    private static InferenceRequest Good(long batch = 2) => Request("clf",
        Fixed("image", DataType.Fp32, [batch, 3, 5]),
        new InferTensor("text", DataType.Bytes, [batch, 2], Strings([.. Enumerable.Repeat("hi", (int)batch * 2)])));

    private static string Error(ModelIOSchema schema, InferenceRequest request)
    {
        var e = schema.Validate(request);
        Assert.NotNull(e);
        Assert.Equal(ErrorCode.InvalidArgument, e.Code);
        return e.Message;
    }

    [Fact]
    public void ValidRequest_PassesAndSetsBatchSize()
    {
        var r = Good(batch: 3);
        Assert.Null(Batching.Validate(r));
        Assert.Equal(3, r.BatchSize);
    }

    [Fact]
    public void OptionalInput_MayBeGivenOrLeftOut()
    {
        var r = Good();
        r.Inputs.Add(Fixed("mask", DataType.UInt8, [2, 2]));
        Assert.Null(Batching.Validate(r));
    }

    [Fact]
    public void NonBatchingModel_TakesShapeAsDims_AndBatchSizeOne()
    {
        var r = Request("plain", Fixed("x", DataType.Int32, [2, 2]));
        r.BatchSize = 5;
        Assert.Null(NonBatching.Validate(r));
        Assert.Equal(1, r.BatchSize);
    }

    [Fact]
    public void RequestedOutputs_AreChecked()
    {
        var r = Good();
        r.Outputs.Add(new RequestedOutput("probs", 3));
        r.Outputs.Add(new RequestedOutput("ids"));
        Assert.Null(Batching.Validate(r));
    }

    [Fact]
    public void UnknownInput_IsRejected()
    {
        var r = Good();
        r.Inputs.Add(Fixed("extra", DataType.Fp32, [2, 1]));
        Assert.Equal("unexpected inference input 'extra' for model 'clf'; its inputs are ['image', 'mask', 'text']", Error(Batching, r));
    }

    [Fact]
    public void DuplicateInput_IsRejected()
    {
        var r = Good();
        r.Inputs.Add(Fixed("image", DataType.Fp32, [2, 3, 5]));
        Assert.Equal("input 'image' is given more than once in the request for model 'clf'", Error(Batching, r));
    }

    [Fact]
    public void MissingRequiredInput_IsRejected() =>
        Assert.Equal("model 'clf' requires input 'text', which the request does not have",
            Error(Batching, Request("clf", Fixed("image", DataType.Fp32, [1, 3, 5]))));

    [Fact]
    public void WrongDataType_SaysExpectedAndGot() =>
        Assert.Equal("inference input 'x' data-type is 'FP32', but model 'plain' expects 'INT32'",
            Error(NonBatching, Request("plain", Fixed("x", DataType.Fp32, [2, 2]))));

    [Fact]
    public void WrongRank_IsRejected() =>
        Assert.Equal("unexpected shape for input 'x' for model 'plain': expected [2,2], got [4]",
            Error(NonBatching, Request("plain", Fixed("x", DataType.Int32, [4]))));

    [Fact]
    public void WrongFixedDim_IsRejected_ButVariableDimsMatchAnything()
    {
        var r = Good();
        r.Inputs[0] = Fixed("image", DataType.Fp32, [2, 4, 5]);
        Assert.Equal("unexpected shape for input 'image' for model 'clf': expected [-1,3,-1], got [2,4,5]", Error(Batching, r));
        r.Inputs[0] = Fixed("image", DataType.Fp32, [2, 3, 1000]);
        Assert.Null(Batching.Validate(r));
    }

    [Fact]
    public void MissingBatchDimension_IsRejected() =>
        Assert.Equal("input 'text' for model 'clf' needs a batch dimension (expected [-1,2], got [])",
            Error(Batching, Request("clf", new InferTensor("text", DataType.Bytes, [], Strings("a")))));

    [Fact]
    public void BatchSizeAboveMaximum_IsRejected()
    {
        var r = Good(batch: 9);
        Assert.Equal("batch size 9 exceeds maximum batch size 8 of model 'clf' (input 'image')", Error(Batching, r));
    }

    [Fact]
    public void BatchSizeZero_IsRejected() =>
        Assert.Equal("batch size 0 of input 'image' for model 'clf' must be at least 1", Error(Batching, Good(batch: 0)));

    [Fact]
    public void DifferentBatchSizesAcrossInputs_AreRejected()
    {
        var r = Request("clf", Fixed("image", DataType.Fp32, [2, 3, 5]), new InferTensor("text", DataType.Bytes, [1, 2], Strings("a", "b")));
        Assert.Equal("input 'text' has batch size 1 but input 'image' has batch size 2; all inputs of a request to model 'clf' must have the same batch size", Error(Batching, r));
    }

    [Fact]
    public void NegativeDimension_IsRejected() =>
        Assert.Equal("input 'x' for model 'plain' has a negative dimension in shape [2,-2]",
            Error(NonBatching, Request("plain", new InferTensor("x", DataType.Int32, [2, -2], new byte[16]))));

    [Fact]
    public void ByteLengthMismatch_SaysExpectedAndGot() =>
        Assert.Equal("input 'x' for model 'plain' has 15 bytes, but shape [2,2] of INT32 needs 16",
            Error(NonBatching, Request("plain", Fixed("x", DataType.Int32, [2, 2], bytes: 15))));

    [Fact]
    public void BytesWithTruncatedPrefix_IsRejected()
    {
        var data = Strings("ab", "cd", "ef").Concat(new byte[] { 1, 0 }).ToArray();
        var r = Request("clf", Fixed("image", DataType.Fp32, [2, 3, 1]), new InferTensor("text", DataType.Bytes, [2, 2], data));
        Assert.Equal("BYTES input 'text' for model 'clf' is malformed: element 3 has a truncated 4-byte length prefix at byte 18 of 20", Error(Batching, r));
    }

    [Fact]
    public void BytesWithLengthPastTheEnd_IsRejected()
    {
        var data = Strings("ab", "cd", "ef", "gh");
        data[^6] = 9; // the last element now claims 9 bytes
        var r = Request("clf", Fixed("image", DataType.Fp32, [2, 3, 1]), new InferTensor("text", DataType.Bytes, [2, 2], data));
        Assert.Equal("BYTES input 'text' for model 'clf' is malformed: element 3 declares 9 bytes at byte 22, but only 2 remain", Error(Batching, r));
    }

    [Fact]
    public void BytesWithWrongElementCount_IsRejected()
    {
        var r = Request("clf", Fixed("image", DataType.Fp32, [2, 3, 1]), new InferTensor("text", DataType.Bytes, [2, 2], Strings("a", "b", "c")));
        Assert.Equal("BYTES input 'text' for model 'clf' holds 3 elements, but its shape [2,2] needs 4", Error(Batching, r));
    }

    [Fact]
    public void EmptyBytesElements_AreValid()
    {
        var r = Request("clf", Fixed("image", DataType.Fp32, [1, 3, 1]), new InferTensor("text", DataType.Bytes, [1, 2], Strings("", "")));
        Assert.Null(Batching.Validate(r));
    }

    [Fact]
    public void UnknownRequestedOutput_IsRejected()
    {
        var r = Good();
        r.Outputs.Add(new RequestedOutput("logits"));
        Assert.Equal("unexpected inference output 'logits' for model 'clf'; its outputs are ['probs', 'ids']", Error(Batching, r));
    }

    [Fact]
    public void NegativeClassificationCount_IsRejected()
    {
        var r = Good();
        r.Outputs.Add(new RequestedOutput("probs", -1));
        Assert.Equal("classification count -1 of output 'probs' for model 'clf' must be >= 0", Error(Batching, r));
    }

    [Fact]
    public void DuplicateRequestedOutput_IsRejected()
    {
        var r = Good();
        r.Outputs.Add(new RequestedOutput("probs"));
        r.Outputs.Add(new RequestedOutput("probs", 2));
        Assert.Equal("output 'probs' is requested more than once for model 'clf'", Error(Batching, r));
    }

    [Fact]
    public void Schema_ExposesDimsReshapeAndMetadataShapes()
    {
        var text = Batching.Inputs["text"];
        Assert.Equal(DataType.Bytes, text.DataType);
        Assert.Equal([2L], text.Dims);
        Assert.Equal([1L, 2L], text.Reshape!);
        Assert.Equal([-1L, 2L], Batching.MetadataShape(text));
        Assert.Equal([2L, 2L], NonBatching.MetadataShape(NonBatching.Inputs["x"]));
        Assert.Equal(["probs", "ids"], Batching.OutputList.Select(o => o.Name));
    }

    [Fact]
    public void Validate_OnSuccess_AllocatesNothing()
    {
        var r = Good();
        r.Outputs.Add(new RequestedOutput("probs"));
        Assert.Null(Batching.Validate(r));
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            Batching.Validate(r);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
