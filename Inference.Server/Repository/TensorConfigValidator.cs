using Google.Protobuf.Collections;
using Inference.Server.Core;
using Inference.Server.Protos;
using ConfigDataType = Inference.Server.Protos.DataType;

namespace Inference.Server.Repository;

/// <summary>Validation of inputs, outputs (dims, reshape, data types) and warmup samples
/// (part of <see cref="ModelConfigValidator"/>).</summary>
internal static class TensorConfigValidator
{
    public static InferenceError? ValidateInputs(ModelConfig config, string f)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < config.Input.Count; i++)
        {
            var input = config.Input[i];
            var path = $"input[{i}]";
            if (ValidateTensor(input.Name, input.DataType, input.Dims, input.Reshape, config.MaxBatchSize, names, path, f) is { } e)
            {
                return e;
            }
            if (!Enum.IsDefined(input.Format))
            {
                return ConfigErrors.Invalid(f, path + ".format", $"{(int)input.Format} is not a valid format");
            }
            if (input.Format != ModelInput.Types.Format.None && input.Dims.Count != 3)
            {
                return ConfigErrors.Invalid(f, path + ".dims", $"input '{input.Name}' with format {input.Format.ToString().ToUpperInvariant()} must have 3 dims (excluding the batch dim), got {input.Dims.Count}");
            }
            if (input.IsShapeTensor)
            {
                return ConfigErrors.Unsupported(f, path + ".is_shape_tensor", "shape tensors are not supported by the onnxruntime backend");
            }
            if (input.AllowRaggedBatch)
            {
                return ConfigErrors.Unsupported(f, path + ".allow_ragged_batch", "ragged batching is not supported by this server");
            }
        }
        return config.BatchInput.Count > 0 ? ConfigErrors.Unsupported(f, "batch_input", "is not supported by this server") : null;
    }

    public static InferenceError? ValidateOutputs(ModelConfig config, string f)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < config.Output.Count; i++)
        {
            var output = config.Output[i];
            var path = $"output[{i}]";
            if (ValidateTensor(output.Name, output.DataType, output.Dims, output.Reshape, config.MaxBatchSize, names, path, f) is { } e)
            {
                return e;
            }
            if (output.IsShapeTensor)
            {
                return ConfigErrors.Unsupported(f, path + ".is_shape_tensor", "shape tensors are not supported by the onnxruntime backend");
            }
        }
        return config.BatchOutput.Count > 0 ? ConfigErrors.Unsupported(f, "batch_output", "is not supported by this server") : null;
    }

    private static InferenceError? ValidateTensor(
        string name, ConfigDataType dataType, RepeatedField<long> dims, ModelTensorReshape? reshape,
        int maxBatchSize, HashSet<string> names, string path, string f)
    {
        if (string.IsNullOrEmpty(name))
        {
            return ConfigErrors.Invalid(f, path + ".name", "must be set");
        }
        if (!names.Add(name))
        {
            return ConfigErrors.Invalid(f, path + ".name", $"'{name}' is used by another tensor of the same kind");
        }
        if (dataType == ConfigDataType.TypeInvalid || !Enum.IsDefined(dataType))
        {
            return ConfigErrors.Invalid(f, path + ".data_type", $"tensor '{name}' must have a valid data type, got {(int)dataType}");
        }
        if (dims.Count == 0)
        {
            return ConfigErrors.Invalid(f, path + ".dims", $"tensor '{name}' must specify dims (use dims: [ 1 ] with an empty reshape for a scalar)");
        }
        foreach (var d in dims)
        {
            if (d == 0 || d < -1)
            {
                return ConfigErrors.Invalid(f, path + ".dims", $"tensor '{name}' has dimension {d}; dimensions must be > 0, or -1 for a variable size");
            }
        }
        if (reshape is null)
        {
            return null;
        }
        if (reshape.Shape.Count == 0 && maxBatchSize == 0)
        {
            return ConfigErrors.Invalid(f, path + ".reshape", $"tensor '{name}' cannot have an empty reshape in a non-batching model (scalar tensors need a batch dimension)");
        }
        foreach (var d in reshape.Shape)
        {
            if (d == 0 || d < -1)
            {
                return ConfigErrors.Invalid(f, path + ".reshape.shape", $"tensor '{name}' has dimension {d}; dimensions must be > 0, or -1 for a variable size");
            }
        }
        if (!ReshapeCompatible(dims, reshape.Shape))
        {
            return ConfigErrors.Invalid(f, path + ".reshape", $"tensor '{name}' reshape {ShapeMath.Format([.. reshape.Shape])} does not hold the same elements as dims {ShapeMath.Format([.. dims])}");
        }
        return null;
    }

    /// <summary>True when both shapes have the same variable-size dims and, between them, equal element counts.</summary>
    internal static bool ReshapeCompatible(IReadOnlyList<long> dims, IReadOnlyList<long> reshape)
    {
        try
        {
            return Segments(dims).SequenceEqual(Segments(reshape));
        }
        catch (OverflowException)
        {
            return false;
        }
    }

    private static List<long> Segments(IReadOnlyList<long> shape)
    {
        var products = new List<long> { 1 };
        foreach (var d in shape)
        {
            if (d == -1)
            {
                products.Add(1);
            }
            else
            {
                products[^1] = checked(products[^1] * d);
            }
        }
        return products;
    }

    public static InferenceError? ValidateWarmup(ModelConfig config, string f)
    {
        for (int i = 0; i < config.ModelWarmup.Count; i++)
        {
            var w = config.ModelWarmup[i];
            var path = $"model_warmup[{i}]";
            if (string.IsNullOrEmpty(w.Name))
            {
                return ConfigErrors.Invalid(f, path + ".name", "must be set");
            }
            long maxBatch = Math.Max(1, config.MaxBatchSize);
            if (w.BatchSize < 1 || w.BatchSize > maxBatch)
            {
                return ConfigErrors.Invalid(f, path + ".batch_size", $"{w.BatchSize} is not valid; it must be in 1..{maxBatch}");
            }
            foreach (var (inputName, sample) in w.Inputs)
            {
                var samplePath = $"{path}.inputs[\"{inputName}\"]";
                var input = config.Input.FirstOrDefault(x => x.Name == inputName);
                if (input is null)
                {
                    return ConfigErrors.Invalid(f, samplePath, $"'{inputName}' is not an input of model '{config.Name}'");
                }
                if (sample.DataType != input.DataType)
                {
                    return ConfigErrors.Invalid(f, samplePath + ".data_type", $"is {sample.DataType.ToConfigName()} but input '{inputName}' is {input.DataType.ToConfigName()}");
                }
                if (!WarmupDimsMatch(sample.Dims, input.Dims))
                {
                    return ConfigErrors.Invalid(f, samplePath + ".dims",
                        $"{ShapeMath.Format([.. sample.Dims])} does not fit input '{inputName}' dims {ShapeMath.Format([.. input.Dims])} (warmup dims exclude the batch dim and must be concrete)");
                }
                if (sample.InputDataTypeCase == ModelWarmup.Types.Input.InputDataTypeOneofCase.None
                    || (sample.InputDataTypeCase == ModelWarmup.Types.Input.InputDataTypeOneofCase.InputDataFile && sample.InputDataFile.Length == 0))
                {
                    return ConfigErrors.Invalid(f, samplePath, "must set one of zero_data, random_data or input_data_file");
                }
            }
            foreach (var input in config.Input)
            {
                if (!input.Optional && !w.Inputs.ContainsKey(input.Name))
                {
                    return ConfigErrors.Invalid(f, path + ".inputs", $"has no sample for required input '{input.Name}'");
                }
            }
        }
        return null;
    }

    private static bool WarmupDimsMatch(RepeatedField<long> sample, RepeatedField<long> dims)
    {
        if (sample.Count != dims.Count)
        {
            return false;
        }
        for (int i = 0; i < sample.Count; i++)
        {
            if (sample[i] <= 0 || (dims[i] != -1 && dims[i] != sample[i]))
            {
                return false;
            }
        }
        return true;
    }

    private static string ToConfigName(this ConfigDataType t) =>
        Enum.IsDefined(t) ? ((Core.DataType)(int)t).ToConfigName() : ((int)t).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
