using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Inference.Server.Protos;

namespace LoadTest.Reliability;

/// <summary>One bad gRPC call and how to make it; <see cref="Name"/> is <c>grpc/CLASS/CASE</c>.</summary>
public sealed record GrpcBadCase(string Name, Func<SuiteContext, CancellationToken, Task<GrpcOutcome>> Send);

/// <summary>
/// The gRPC bad-input classes: unreadable protobuf on every method of GRPCInferenceService (three kinds of broken
/// bytes); ModelInfer requests whose names, versions, datatypes, shapes, raw contents, typed contents, outputs and
/// parameters are wrong; invalid UTF-8 in string fields; other methods with unknown models, bad versions and bad load
/// parameters; oversize messages and frames that declare huge lengths; and a bad request inside a ModelStreamInfer
/// stream (answered with error_message, the stream going on). Every one must end with a non-OK status other than
/// UNKNOWN or INTERNAL, with a message (on the stream: an error_message reply).
/// </summary>
public static class GrpcBadInputCases
{
    /// <summary>Bytes no protobuf parser can read: a varint of 11 bytes, a field longer than the message, wire type 7.</summary>
    public static readonly IReadOnlyList<(string Name, byte[] Bytes)> UnreadablePayloads =
    [
        ("varint-too-long", [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
        ("field-past-end", [0x0A, 0x7F, 0x61]),
        ("wire-type-7", [0x0F, 0x00]),
    ];

    /// <summary>Five bytes that are not UTF-8 (same length as <see cref="Marker"/>, so length prefixes stay right).</summary>
    private static readonly byte[] InvalidUtf8 = [0xC3, 0x28, 0xFF, 0xED, 0xA0];

    private const string Marker = "\u0001BAD\u0001";

    public static IReadOnlyList<GrpcBadCase> Build(SeedRequests seeds, ReliabilityOptions options)
    {
        var cases = new List<GrpcBadCase>();
        foreach (var (method, type) in RawGrpc.Methods)
        {
            foreach (var (payload, bytes) in UnreadablePayloads)
            {
                cases.Add(new GrpcBadCase($"grpc/unreadable/{method}/{payload}", type == MethodType.DuplexStreaming
                    ? (c, ct) => RawGrpc.StreamOnceAsync(c.Invoker, method, bytes, StreamError, c.Timeout, ct)
                    : (c, ct) => RawGrpc.UnaryAsync(c.Invoker, method, bytes, c.Timeout, ct)));
            }
        }
        cases.AddRange(Infer(seeds));
        cases.AddRange(Utf8(seeds));
        cases.AddRange(OtherMethods(seeds));
        cases.AddRange(Sizes(seeds, options));
        cases.AddRange(Stream(seeds));
        return cases;
    }

    /// <summary>The error_message of a ModelStreamInferResponse, or null (also when the bytes are not one).</summary>
    public static string? StreamError(byte[] reply)
    {
        try
        {
            var r = ModelStreamInferResponse.Parser.ParseFrom(reply);
            return r.ErrorMessage.Length > 0 ? r.ErrorMessage : null;
        }
        catch (InvalidProtocolBufferException)
        {
            return "unreadable stream reply";
        }
    }

    private static GrpcBadCase InferCase(string name, SeedRequests seeds, Action<ModelInferRequest> change)
    {
        var request = seeds.Grpc.Clone();
        change(request);
        return new GrpcBadCase($"grpc/infer/{name}", (c, ct) => c.GrpcAsync(o => c.Grpc.ModelInferAsync(request, o), ct));
    }

    private static IEnumerable<GrpcBadCase> Infer(SeedRequests seeds)
    {
        var raw = seeds.Grpc.RawInputContents[0];
        var first = seeds.Grpc.Inputs[0];
        void Shape(ModelInferRequest r, IEnumerable<long> shape)
        {
            r.Inputs[0].Shape.Clear();
            r.Inputs[0].Shape.AddRange(shape);
        }
        yield return InferCase("model-unknown", seeds, r => r.ModelName = "reliability_no_such_model");
        yield return InferCase("model-empty", seeds, r => r.ModelName = "");
        yield return InferCase("version-unknown", seeds, r => r.ModelVersion = "987654");
        yield return InferCase("version-not-a-number", seeds, r => r.ModelVersion = "one");
        yield return InferCase("version-negative", seeds, r => r.ModelVersion = "-1");
        yield return InferCase("datatype-unknown", seeds, r => r.Inputs[0].Datatype = "FP33");
        yield return InferCase("datatype-empty", seeds, r => r.Inputs[0].Datatype = "");
        yield return InferCase("datatype-lowercase", seeds, r => r.Inputs[0].Datatype = first.Datatype.ToLowerInvariant());
        yield return InferCase("datatype-mismatch", seeds, r => r.Inputs[0].Datatype = first.Datatype == "INT32" ? "FP32" : "INT32");
        yield return InferCase("shape-last-dim-doubled", seeds, r =>
        {
            Shape(r, first.Shape.SkipLast(1).Append(first.Shape[^1] * 2));
            r.RawInputContents[0] = ByteString.CopyFrom([.. raw.Span, .. raw.Span]);
        });
        yield return InferCase("shape-negative", seeds, r => Shape(r, first.Shape.Select(d => -d)));
        yield return InferCase("shape-overflow", seeds, r => Shape(r, [4294967296, 4294967296, 4294967296]));
        yield return InferCase("shape-empty", seeds, r => Shape(r, []));
        yield return InferCase("shape-extra-dim", seeds, r => Shape(r, [.. first.Shape, 1]));
        if (seeds.Batches)
        {
            var max = seeds.Model.MaxBatchSize;
            yield return InferCase("batch-zero", seeds, r =>
            {
                Shape(r, [0, .. first.Shape.Skip(1)]);
                r.RawInputContents[0] = ByteString.Empty;
            });
            yield return InferCase("batch-over-max", seeds, r =>
            {
                Shape(r, [max + 1, .. first.Shape.Skip(1)]);
                r.RawInputContents[0] = ByteString.CopyFrom([.. Enumerable.Repeat(raw.ToByteArray(), max + 1).SelectMany(b => b)]);
            });
        }
        yield return InferCase("raw-short", seeds, r => r.RawInputContents[0] = ByteString.CopyFrom(raw.Span[..^4]));
        yield return InferCase("raw-long", seeds, r => r.RawInputContents[0] = ByteString.CopyFrom([.. raw.Span, 0, 0, 0, 0]));
        yield return InferCase("raw-missing", seeds, r => r.RawInputContents.Clear());
        yield return InferCase("raw-extra", seeds, r => r.RawInputContents.Add(raw));
        yield return InferCase("raw-and-contents", seeds, r => r.Inputs[0].Contents = new InferTensorContents { Fp32Contents = { 0f }, IntContents = { 0 } });
        yield return InferCase("contents-count-wrong", seeds, r =>
        {
            r.RawInputContents.Clear();
            r.Inputs[0].Contents = new InferTensorContents();
            r.Inputs[0].Contents.Fp32Contents.AddRange(Enumerable.Repeat(0f, (int)seeds.FirstInputElements - 1));
            r.Inputs[0].Contents.IntContents.AddRange(Enumerable.Repeat(0, (int)seeds.FirstInputElements - 1));
        });
        yield return InferCase("contents-wrong-field", seeds, r =>
        {
            r.RawInputContents.Clear();
            r.Inputs[0].Contents = new InferTensorContents();
            r.Inputs[0].Contents.BytesContents.AddRange(Enumerable.Repeat(ByteString.CopyFromUtf8("x"), (int)seeds.FirstInputElements));
        });
        yield return InferCase("input-unknown", seeds, r => r.Inputs[0].Name = "RELIABILITY_NO_SUCH_INPUT");
        yield return InferCase("input-duplicate", seeds, r =>
        {
            r.Inputs.Add(r.Inputs[0].Clone());
            r.RawInputContents.Add(raw);
        });
        yield return InferCase("inputs-none", seeds, r =>
        {
            r.Inputs.Clear();
            r.RawInputContents.Clear();
        });
        yield return InferCase("output-unknown", seeds, r => r.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "RELIABILITY_NO_SUCH_OUTPUT" }));
        yield return InferCase("output-duplicate", seeds, r =>
        {
            r.Outputs.Clear();
            var o = new ModelInferRequest.Types.InferRequestedOutputTensor { Name = seeds.Model.Outputs[0].Name };
            r.Outputs.Add(o);
            r.Outputs.Add(o.Clone());
        });
        yield return InferCase("parameter-priority-string", seeds, r => r.Parameters["priority"] = new InferParameter { StringParam = "high" });
        yield return InferCase("parameter-priority-negative", seeds, r => r.Parameters["priority"] = new InferParameter { Int64Param = -1 });
        yield return InferCase("parameter-priority-float", seeds, r => r.Parameters["priority"] = new InferParameter { DoubleParam = 1.5 });
        yield return InferCase("parameter-timeout-negative", seeds, r => r.Parameters["timeout"] = new InferParameter { Int64Param = -5 });
        yield return InferCase("parameter-timeout-bool", seeds, r => r.Parameters["timeout"] = new InferParameter { BoolParam = true });
        yield return InferCase("parameter-empty-choice", seeds, r => r.Parameters["priority"] = new InferParameter());
        yield return InferCase("input-shared-memory", seeds, r => r.Inputs[0].Parameters["shared_memory_region"] = new InferParameter { StringParam = "r" });
    }

    /// <summary>Invalid UTF-8 in each string field of ModelInfer and in the model name of the metadata methods; the
    /// messages are serialized with a marker, which is then overwritten with the invalid bytes.</summary>
    private static IEnumerable<GrpcBadCase> Utf8(SeedRequests seeds)
    {
        (string, Action<ModelInferRequest>)[] inferFields =
        [
            ("model-name", r => r.ModelName = Marker),
            ("model-version", r => r.ModelVersion = Marker),
            ("id", r => r.Id = Marker),
            ("input-name", r => r.Inputs[0].Name = Marker),
            ("input-datatype", r => r.Inputs[0].Datatype = Marker),
            ("output-name", r => r.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = Marker })),
            ("parameter-key", r => r.Parameters[Marker] = new InferParameter { Int64Param = 1 }),
            ("parameter-string-value", r => r.Parameters["k"] = new InferParameter { StringParam = Marker }),
        ];
        foreach (var (field, change) in inferFields)
        {
            var request = seeds.Grpc.Clone();
            change(request);
            var bytes = WithInvalidUtf8(request);
            yield return new GrpcBadCase($"grpc/utf8/infer-{field}", (c, ct) => RawGrpc.UnaryAsync(c.Invoker, "ModelInfer", bytes, c.Timeout, ct));
        }
        (string, IMessage)[] others =
        [
            ("ModelMetadata", new ModelMetadataRequest { Name = Marker }),
            ("ModelConfig", new ModelConfigRequest { Name = Marker }),
            ("ModelReady", new ModelReadyRequest { Name = seeds.Model.Name, Version = Marker }),
            ("ModelStatistics", new ModelStatisticsRequest { Name = Marker }),
        ];
        foreach (var (method, message) in others)
        {
            var bytes = WithInvalidUtf8(message);
            yield return new GrpcBadCase($"grpc/utf8/{method}-name", (c, ct) => RawGrpc.UnaryAsync(c.Invoker, method, bytes, c.Timeout, ct));
        }
    }

    private static IEnumerable<GrpcBadCase> OtherMethods(SeedRequests seeds)
    {
        var model = seeds.Model.Name;
        yield return new GrpcBadCase("grpc/method/metadata-unknown-model", (c, ct) => c.GrpcAsync(o => c.Grpc.ModelMetadataAsync(new ModelMetadataRequest { Name = "reliability_no_such_model" }, o), ct));
        yield return new GrpcBadCase("grpc/method/metadata-version-not-a-number", (c, ct) => c.GrpcAsync(o => c.Grpc.ModelMetadataAsync(new ModelMetadataRequest { Name = model, Version = "one" }, o), ct));
        yield return new GrpcBadCase("grpc/method/metadata-version-unknown", (c, ct) => c.GrpcAsync(o => c.Grpc.ModelMetadataAsync(new ModelMetadataRequest { Name = model, Version = "987654" }, o), ct));
        yield return new GrpcBadCase("grpc/method/config-unknown-model", (c, ct) => c.GrpcAsync(o => c.Grpc.ModelConfigAsync(new ModelConfigRequest { Name = "reliability_no_such_model" }, o), ct));
        yield return new GrpcBadCase("grpc/method/config-version-not-a-number", (c, ct) => c.GrpcAsync(o => c.Grpc.ModelConfigAsync(new ModelConfigRequest { Name = model, Version = "one" }, o), ct));
        yield return new GrpcBadCase("grpc/method/ready-version-not-a-number", (c, ct) => c.GrpcAsync(o => c.Grpc.ModelReadyAsync(new ModelReadyRequest { Name = model, Version = "one" }, o), ct));
        yield return new GrpcBadCase("grpc/method/statistics-unknown-model", (c, ct) => c.GrpcAsync(o => c.Grpc.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "reliability_no_such_model" }, o), ct));
        yield return new GrpcBadCase("grpc/method/statistics-version-not-a-number", (c, ct) => c.GrpcAsync(o => c.Grpc.ModelStatisticsAsync(new ModelStatisticsRequest { Name = model, Version = "one" }, o), ct));
        RepositoryModelLoadRequest Load(string key, ModelRepositoryParameter parameter)
        {
            var request = new RepositoryModelLoadRequest { ModelName = model };
            request.Parameters[key] = parameter;
            return request;
        }
        var loadConfigNumber = Load("config", new ModelRepositoryParameter { Int64Param = 5 });
        var loadConfigMalformed = Load("config", new ModelRepositoryParameter { StringParam = "{" });
        var loadConfigWrongType = Load("config", new ModelRepositoryParameter { StringParam = "{\"max_batch_size\":\"many\"}" });
        var loadFile = Load("file:1/model.onnx", new ModelRepositoryParameter { BytesParam = ByteString.CopyFromUtf8("x") });
        yield return new GrpcBadCase("grpc/method/load-config-number", (c, ct) => c.GrpcAsync(o => c.Grpc.RepositoryModelLoadAsync(loadConfigNumber, o), ct));
        yield return new GrpcBadCase("grpc/method/load-config-malformed", (c, ct) => c.GrpcAsync(o => c.Grpc.RepositoryModelLoadAsync(loadConfigMalformed, o), ct));
        yield return new GrpcBadCase("grpc/method/load-config-wrong-field-type", (c, ct) => c.GrpcAsync(o => c.Grpc.RepositoryModelLoadAsync(loadConfigWrongType, o), ct));
        yield return new GrpcBadCase("grpc/method/load-file-override", (c, ct) => c.GrpcAsync(o => c.Grpc.RepositoryModelLoadAsync(loadFile, o), ct));
        yield return new GrpcBadCase("grpc/method/unload-unknown-model", (c, ct) => c.GrpcAsync(o => c.Grpc.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = "reliability_no_such_model" }, o), ct));
    }

    private static IEnumerable<GrpcBadCase> Sizes(SeedRequests seeds, ReliabilityOptions options)
    {
        var limit = options.MaxBodyBytes;
        yield return new GrpcBadCase("grpc/size/oversize-message", (c, ct) =>
        {
            var request = seeds.Grpc.Clone();
            request.RawInputContents[0] = ByteString.CopyFrom(new byte[limit + 1]);
            return c.GrpcAsync(o => c.Grpc.ModelInferAsync(request, o), ct);
        });
        yield return new GrpcBadCase("grpc/size/frame-declares-1gib", (c, ct) =>
            RawGrpc.BareAsync(c.Http2, c.Options.GrpcUrl, "ModelInfer", RawGrpc.Frame(seeds.GrpcBytes, declaredLength: 1u << 30), c.Timeout, ct));
        yield return new GrpcBadCase("grpc/size/frame-declares-2gib", (c, ct) =>
            RawGrpc.BareAsync(c.Http2, c.Options.GrpcUrl, "ModelInfer", RawGrpc.Frame(seeds.GrpcBytes, declaredLength: 1u << 31), c.Timeout, ct));
        yield return new GrpcBadCase("grpc/size/frame-declares-4gib", (c, ct) =>
            RawGrpc.BareAsync(c.Http2, c.Options.GrpcUrl, "ModelInfer", RawGrpc.Frame(seeds.GrpcBytes, declaredLength: uint.MaxValue), c.Timeout, ct));
        yield return new GrpcBadCase("grpc/size/frame-declares-one-over-limit", (c, ct) =>
            RawGrpc.BareAsync(c.Http2, c.Options.GrpcUrl, "ModelMetadata", RawGrpc.Frame([], declaredLength: (uint)Math.Min(limit + 1, uint.MaxValue)), c.Timeout, ct));
    }

    private static IEnumerable<GrpcBadCase> Stream(SeedRequests seeds)
    {
        var bad = seeds.Grpc.Clone();
        bad.ModelName = "reliability_no_such_model";
        yield return new GrpcBadCase("grpc/stream/unknown-model-then-good", (c, ct) => StreamBadThenGoodAsync(c, bad, ct));
        var badShape = seeds.Grpc.Clone();
        badShape.RawInputContents[0] = ByteString.CopyFrom(badShape.RawInputContents[0].Span[..^4]);
        yield return new GrpcBadCase("grpc/stream/raw-short-then-good", (c, ct) => StreamBadThenGoodAsync(c, badShape, ct));
    }

    /// <summary>Sends a bad then a good request on one ModelStreamInfer stream: the first must get an error_message
    /// reply and the second a real response; reported as a rejection (with the error) when both hold.</summary>
    private static async Task<GrpcOutcome> StreamBadThenGoodAsync(SuiteContext c, ModelInferRequest bad, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(c.Timeout);
        try
        {
            using var call = c.Grpc.ModelStreamInfer(cancellationToken: cts.Token);
            await call.RequestStream.WriteAsync(bad, cts.Token).ConfigureAwait(false);
            await call.RequestStream.WriteAsync(c.Seeds.Grpc, cts.Token).ConfigureAwait(false);
            await call.RequestStream.CompleteAsync().ConfigureAwait(false);
            string? error = null;
            var goodReplies = 0;
            while (await call.ResponseStream.MoveNext(cts.Token).ConfigureAwait(false))
            {
                var reply = call.ResponseStream.Current;
                if (reply.ErrorMessage.Length > 0)
                {
                    error ??= reply.ErrorMessage;
                }
                else
                {
                    goodReplies++;
                }
            }
            if (error is null)
            {
                return new GrpcOutcome(StatusCode.OK, "", null);
            }
            return goodReplies == 1
                ? new GrpcOutcome(StatusCode.InvalidArgument, error, null)
                : new GrpcOutcome(StatusCode.Internal, $"the good request after the bad one got {goodReplies} replies (error reply: {error})", null);
        }
        catch (RpcException e)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return GrpcOutcome.From(e, cts.IsCancellationRequested);
        }
    }

    private static byte[] WithInvalidUtf8(IMessage message)
    {
        var bytes = message.ToByteArray();
        var marker = Encoding.UTF8.GetBytes(Marker);
        var at = bytes.AsSpan().IndexOf(marker);
        InvalidUtf8.CopyTo(bytes, at);
        return bytes;
    }
}
