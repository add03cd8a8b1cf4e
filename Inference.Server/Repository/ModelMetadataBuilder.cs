using Inference.Server.Core;
using Inference.Server.Protos;

namespace Inference.Server.Repository;

/// <summary>KServe v2 model metadata from a completed config: shapes carry -1 for the batch dimension
/// of batching models, as Triton reports them.</summary>
public static class ModelMetadataBuilder
{
    public static ModelMetadata Build(LoadedModelVersion model, IReadOnlyList<string> versions)
    {
        var config = model.Config;
        var batching = config.MaxBatchSize > 0;
        return new ModelMetadata(
            model.Name,
            versions,
            string.IsNullOrEmpty(config.Platform) ? config.Backend : config.Platform,
            [.. config.Input.Select(i => new TensorSignature(i.Name, (Core.DataType)(int)i.DataType, Shape(batching, i.Dims)))],
            [.. config.Output.Select(o => new TensorSignature(o.Name, (Core.DataType)(int)o.DataType, Shape(batching, o.Dims)))]);
    }

    private static long[] Shape(bool batching, IEnumerable<long> dims) => batching ? [-1, .. dims] : [.. dims];
}
