using Inference.Server.Core;
using Microsoft.ML.OnnxRuntime;
using SessionOptions = Microsoft.ML.OnnxRuntime.SessionOptions;

namespace Inference.Server.Backends.OnnxRuntime;

/// <summary>Reads the inputs and outputs an ONNX file declares (the starting point of config auto-complete).
/// Shapes use -1 for symbolic or unknown dimensions, the batch dimension included.</summary>
public static class OnnxSignatureReader
{
    /// <summary>Loads the model (without graph optimizations) to read its signature. Throws
    /// <see cref="InvalidDataException"/> for unreadable files or non-tensor inputs/outputs.</summary>
    public static ModelSignature Read(string modelPath)
    {
        var result = TryRead(modelPath);
        return result.IsSuccess ? result.Value! : throw new InvalidDataException(result.Error!.Message);
    }

    /// <summary>As <see cref="Read"/>, with failures returned as <see cref="ErrorCode.InvalidArgument"/>.</summary>
    public static Result<ModelSignature> TryRead(string modelPath)
    {
        if (!File.Exists(modelPath))
        {
            return new InferenceError(ErrorCode.InvalidArgument, $"model file '{modelPath}' does not exist");
        }
        try
        {
            using var options = new SessionOptions
            {
                GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL,
                LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
                IntraOpNumThreads = 1,
            };
            using var session = new InferenceSession(modelPath, options);
            return FromSession(session);
        }
        catch (OnnxRuntimeException ex)
        {
            return new InferenceError(ErrorCode.InvalidArgument, $"failed to read ONNX model '{modelPath}': {ex.Message}");
        }
    }

    internal static Result<ModelSignature> FromSession(InferenceSession session)
    {
        var inputs = Describe(session.InputNames, session.InputMetadata, "input");
        if (!inputs.IsSuccess)
        {
            return inputs.Error!;
        }
        var outputs = Describe(session.OutputNames, session.OutputMetadata, "output");
        if (!outputs.IsSuccess)
        {
            return outputs.Error!;
        }
        return new ModelSignature(inputs.Value!, outputs.Value!);
    }

    private static Result<IReadOnlyList<TensorSignature>> Describe(
        IReadOnlyList<string> names, IReadOnlyDictionary<string, NodeMetadata> metadata, string kind)
    {
        var list = new List<TensorSignature>(names.Count);
        foreach (var name in names)
        {
            var m = metadata[name];
            var type = m.IsTensor ? OnnxTypeMap.ToDataType(m.ElementDataType) : DataType.Invalid;
            if (type == DataType.Invalid)
            {
                return new InferenceError(ErrorCode.InvalidArgument,
                    $"{kind} '{name}' has a type this server cannot serve ({m.OnnxValueType}, {m.ElementDataType})");
            }
            var shape = m.Dimensions.Select(d => d < 0 ? -1L : d).ToArray();
            list.Add(new TensorSignature(name, type, shape));
        }
        return list;
    }
}
