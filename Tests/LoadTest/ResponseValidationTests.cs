using System.Text;
using Google.Protobuf;
using Inference.Server.Protos;
using LoadTest.Clients;

namespace Inference.Tests.LoadTest;

public sealed class ResponseValidationTests
{
    private static readonly ResponseValidator Validator = new([new OutputExpectation("OUT", "FP32", [2, 3])], expectTop1: null);

    [Fact]
    public void Grpc_ExpectedOutput_IsValid() => Assert.Null(GrpcInferClient.Validate(Response("OUT", "FP32", [2, 3], Floats(6)), Validator));

    [Theory]
    [InlineData("OTHER", "FP32", new long[] { 2, 3 }, 24, "invalid-response:unexpected-output")]
    [InlineData("OUT", "FP16", new long[] { 2, 3 }, 24, "invalid-response:datatype")]
    [InlineData("OUT", "FP32", new long[] { 3, 2 }, 24, "invalid-response:shape")]
    [InlineData("OUT", "FP32", new long[] { 6 }, 24, "invalid-response:shape")]
    [InlineData("OUT", "FP32", new long[] { 2, 3 }, 20, "invalid-response:size")]
    public void Grpc_GarbageResponse_FailsWithItsReason(string name, string datatype, long[] shape, int bytes, string error) =>
        Assert.Equal(error, GrpcInferClient.Validate(Response(name, datatype, shape, new byte[bytes]), Validator));

    [Fact]
    public void Grpc_NoOutputs_IsMissingOutput() => Assert.Equal("invalid-response:missing-output", GrpcInferClient.Validate(new ModelInferResponse(), Validator));

    [Fact]
    public void Grpc_OutputWithoutRawContents_IsMalformed()
    {
        var response = Response("OUT", "FP32", [2, 3], Floats(6));
        response.RawOutputContents.Clear();

        Assert.Equal(ResponseValidator.Malformed, GrpcInferClient.Validate(response, Validator));
    }

    [Fact]
    public void ExpectTop1_ChecksTheArgmaxOfTheFirstRow()
    {
        var validator = new ResponseValidator([new OutputExpectation("OUT", "FP32", [2, 3])], expectTop1: 1);
        var data = Floats(0.1f, 0.9f, 0.2f, 5f, 0f, 0f);

        Assert.Null(GrpcInferClient.Validate(Response("OUT", "FP32", [2, 3], data), validator));
        Assert.Equal("invalid-response:top1", GrpcInferClient.Validate(Response("OUT", "FP32", [2, 3], Floats(1f, 0f, 0f, 0f, 9f, 0f)), validator));
    }

    [Fact]
    public void WildcardDimension_AcceptsAnySize()
    {
        var validator = new ResponseValidator([new OutputExpectation("OUT", "FP32", [1, -1])], null);

        Assert.Null(GrpcInferClient.Validate(Response("OUT", "FP32", [1, 5], Floats(5)), validator));
    }

    [Fact]
    public void HttpJson_DataArray_IsValidatedLikeBinary()
    {
        var json = """{"model_name":"m","outputs":[{"name":"OUT","datatype":"FP32","shape":[2,3],"data":[1,2,3,4,5,6]}]}""";
        var short_ = """{"outputs":[{"name":"OUT","datatype":"FP32","shape":[2,3],"data":[1,2,3]}]}""";

        Assert.Null(KServeJsonResponse.Validate(Encoding.UTF8.GetBytes(json), [], Validator));
        Assert.Equal("invalid-response:size", KServeJsonResponse.Validate(Encoding.UTF8.GetBytes(short_), [], Validator));
    }

    [Fact]
    public void HttpBinary_HeaderAndRawBytes_AreValidated()
    {
        var header = Encoding.UTF8.GetBytes("""{"outputs":[{"name":"OUT","datatype":"FP32","shape":[2,3],"parameters":{"binary_data_size":24}}]}""");

        Assert.Null(KServeJsonResponse.Validate(header, Floats(6), Validator));
        Assert.Equal("invalid-response:size", KServeJsonResponse.Validate(header, Floats(5), Validator));
        Assert.Equal("invalid-response:size", KServeJsonResponse.Validate(header, Floats(7), Validator));
    }

    [Theory]
    [InlineData("hello")]
    [InlineData("")]
    [InlineData("{\"error\":\"boom\"}")]
    [InlineData("{\"outputs\":[{\"name\":\"OUT\"}]}")]
    [InlineData("{\"outputs\":[{\"name\":\"OUT\",\"datatype\":\"FP32\",\"shape\":[2,3],\"data\":[\"a\"]}]}")]
    public void HttpJson_Garbage_IsInvalid(string body) =>
        Assert.StartsWith("invalid-response", KServeJsonResponse.Validate(Encoding.UTF8.GetBytes(body), [], Validator));

    private static ModelInferResponse Response(string name, string datatype, long[] shape, byte[] raw)
    {
        var response = new ModelInferResponse { ModelName = "m" };
        var output = new ModelInferResponse.Types.InferOutputTensor { Name = name, Datatype = datatype };
        output.Shape.AddRange(shape);
        response.Outputs.Add(output);
        response.RawOutputContents.Add(ByteString.CopyFrom(raw));
        return response;
    }

    private static byte[] Floats(int count) => Floats([.. Enumerable.Range(0, count).Select(i => (float)i)]);

    private static byte[] Floats(params float[] values) => [.. values.SelectMany(BitConverter.GetBytes)];
}
