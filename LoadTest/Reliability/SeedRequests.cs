using Google.Protobuf;
using Inference.Server.Protos;
using LoadTest.Clients;
using LoadTest.Inputs;
using LoadTest.Model;

namespace LoadTest.Reliability;

/// <summary>
/// Valid requests for one model, built from its metadata (random data, batch 1 when it batches): the plain-JSON and
/// binary-extension HTTP bodies and the gRPC ModelInfer message (and its bytes). The good requests of every check
/// and the seeds of the fuzzer. Immutable.
/// </summary>
public sealed class SeedRequests
{
    private SeedRequests(ModelInfo model, RequestTemplate template, InputSpec first)
    {
        Model = model;
        Template = template;
        FirstInput = first;
        JsonBody = HttpInferClient.BuildJson(template);
        var (binary, headerLength) = HttpInferClient.BuildBinary(template);
        BinaryBody = binary;
        BinaryHeaderLength = int.Parse(headerLength!, System.Globalization.CultureInfo.InvariantCulture);
        Grpc = GrpcInferClient.Build(model.Name, "", template);
        GrpcBytes = Grpc.ToByteArray();
        Validator = new ResponseValidator([.. model.Outputs.Select(o =>
            new OutputExpectation(o.Name, o.DataType, model.MaxBatchSize > 0 ? [1, .. o.Shape.Skip(1)] : o.Shape))], expectTop1: null);
    }

    public ModelInfo Model { get; }

    public RequestTemplate Template { get; }

    /// <summary>The first input: name, datatype, dims without the batch dimension.</summary>
    public InputSpec FirstInput { get; }

    public bool Batches => Model.MaxBatchSize > 0;

    /// <summary>Elements of the first input in one request.</summary>
    public long FirstInputElements => FirstInput.Dims.Aggregate(1L, (a, d) => a * d);

    public byte[] JsonBody { get; }

    public byte[] BinaryBody { get; }

    /// <summary>The JSON header's length in <see cref="BinaryBody"/> (Inference-Header-Content-Length).</summary>
    public int BinaryHeaderLength { get; }

    public ModelInferRequest Grpc { get; }

    public byte[] GrpcBytes { get; }

    /// <summary>Checks the outputs of a good request's response.</summary>
    public ResponseValidator Validator { get; }

    /// <summary>The first input's shape in a request of <paramref name="rows"/> rows, as JSON (<c>[1,16]</c>).</summary>
    public string ShapeJson(int rows = 1) => "[" + string.Join(",", Batches ? [rows, .. FirstInput.Dims] : FirstInput.Dims) + "]";

    public static SeedRequests Create(ModelInfo model, int seed)
    {
        var batch = model.MaxBatchSize > 0 ? 1 : 0;
        var random = new Random(seed);
        var specs = model.Inputs.Select(t =>
        {
            var dims = batch > 0 ? t.Shape.Skip(1).ToArray() : t.Shape;
            if (dims.Any(d => d < 0))
            {
                throw new ArgumentException($"model '{model.Name}' input '{t.Name}' has variable dims [{string.Join(",", t.Shape)}]; the suite needs fixed dims");
            }
            return new InputSpec(t.Name, t.DataType, dims);
        }).ToList();
        if (specs.Count == 0)
        {
            throw new ArgumentException($"model '{model.Name}' has no inputs");
        }
        var template = new RequestTemplate([.. specs.Select(s => RandomTensors.Create(s, batch, random))], [.. model.Outputs.Select(o => o.Name)]);
        return new SeedRequests(model, template, specs[0]);
    }
}
