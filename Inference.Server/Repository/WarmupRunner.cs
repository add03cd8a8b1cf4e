using System.Buffers.Binary;
using Inference.Server.Core;
using Inference.Server.Scheduling;
using ModelConfig = Inference.Server.Protos.ModelConfig;

namespace Inference.Server.Repository;

/// <summary>
/// Runs the config's <c>model_warmup</c> samples on every instance before the version reports ready
/// (Triton runs them per instance, on the instance's thread, <c>count</c> times each). Sample data is zeros, seeded random bytes,
/// or a file of the model's warmup folder (<c>warmup/&lt;input_data_file&gt;</c>, resolved by
/// <see cref="ModelRepository.ResolveWarmupFile"/>: a relative path that stays inside the repository).
/// </summary>
public static class WarmupRunner
{
    /// <summary>Runs every sample on <paramref name="instance"/>, on the calling thread (the model loader runs it on
    /// the instance's own scheduler thread, where its CUDA graphs live).</summary>
    /// <param name="repository">Where the model (named by the config) lives; null: samples that read a file fail.</param>
    public static InferenceError? RunOn(ModelConfig config, IModelInstance instance, ModelRepository? repository = null)
    {
        foreach (var sample in config.ModelWarmup)
        {
            var batch = config.MaxBatchSize > 0 ? Math.Max(sample.BatchSize, 1u) : 0u;
            var runs = Math.Max(sample.Count, 1u);
            for (var r = 0; r < runs; r++)
            {
                using var request = new InferenceRequest { ModelName = config.Name, BatchSize = (int)Math.Max(batch, 1) };
                foreach (var (inputName, input) in sample.Inputs)
                {
                    long[] shape = batch > 0 ? [batch, .. input.Dims] : [.. input.Dims];
                    var type = (DataType)(int)input.DataType;
                    if (type == DataType.Bytes || type == DataType.Invalid)
                    {
                        return new InferenceError(ErrorCode.Unsupported, $"warmup '{sample.Name}': input '{inputName}' has unsupported type {input.DataType}");
                    }
                    var length = checked((int)(ShapeMath.ElementCount(shape) * type.ElementSize()));
                    var buffer = PooledBuffer.Rent(length);
                    if (Fill(buffer.Span, input, repository, config.Name, type) is { } error)
                    {
                        buffer.Dispose();
                        return error with { Message = $"warmup '{sample.Name}': input '{inputName}': {error.Message}" };
                    }
                    request.Inputs.Add(new InferTensor(inputName, type, shape, buffer.Memory, buffer));
                }
                var responses = new InferenceResponse[1];
                var timings = default(ExecutionTimings);
                try
                {
                    instance.Execute([request], responses, ref timings);
                }
                catch (Exception e)
                {
                    return new InferenceError(ErrorCode.Internal, $"warmup '{sample.Name}' failed on {instance.Name}: {e.Message}");
                }
                finally
                {
                    responses[0]?.Dispose();
                }
            }
        }
        return null;
    }

    private static InferenceError? Fill(Span<byte> span, Protos.ModelWarmup.Types.Input input, ModelRepository? repository, string model, DataType type)
    {
        switch (input.InputDataTypeCase)
        {
            case Protos.ModelWarmup.Types.Input.InputDataTypeOneofCase.RandomData:
                var random = new Random(42);
                if (type is DataType.Fp32)
                {
                    for (var i = 0; i + 4 <= span.Length; i += 4)
                    {
                        BinaryPrimitives.WriteSingleLittleEndian(span[i..], random.NextSingle());
                    }
                }
                else
                {
                    random.NextBytes(span);
                    if (type == DataType.Bool)
                    {
                        foreach (ref var b in span)
                        {
                            b &= 1;
                        }
                    }
                }
                return null;
            case Protos.ModelWarmup.Types.Input.InputDataTypeOneofCase.InputDataFile:
                if (repository is null)
                {
                    return new InferenceError(ErrorCode.InvalidArgument, "input_data_file needs the model repository");
                }
                var file = repository.ResolveWarmupFile(model, input.InputDataFile);
                if (!file.IsSuccess)
                {
                    return file.Error;
                }
                byte[] bytes;
                try
                {
                    bytes = File.ReadAllBytes(file.Value!);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    return new InferenceError(ErrorCode.Internal, $"cannot read input_data_file '{repository.ForMessages(file.Value!)}': {repository.WithoutRoot(e.Message)}");
                }
                if (bytes.Length != span.Length)
                {
                    return new InferenceError(ErrorCode.InvalidArgument,
                        $"input_data_file '{repository.ForMessages(file.Value!)}' has {bytes.Length} bytes, expected {span.Length}");
                }
                bytes.CopyTo(span);
                return null;
            default:
                span.Clear();
                return null;
        }
    }
}
