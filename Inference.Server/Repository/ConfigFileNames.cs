using Inference.Server.Core;
using Inference.Server.Protos;

namespace Inference.Server.Repository;

/// <summary>
/// Checks the file names a model config gives before any of them is looked up, so that a config (on disk or a
/// config override of the load API) cannot name a file outside its model, and the answer does not depend on what
/// exists there: <c>default_model_filename</c> and <c>cc_model_filenames</c> (relative to the version folder),
/// <c>output[i].label_filename</c> (relative to the model folder) and <c>model_warmup[i].inputs[k].input_data_file</c>
/// (relative to the model's <c>warmup</c> folder) must pass <see cref="RepositoryPaths.CheckRelativeName"/>.
/// Symbolic links are checked where the files are opened. Stateless.
/// </summary>
public static class ConfigFileNames
{
    /// <summary>Null when every file name of <paramref name="config"/> is a plain relative path; else an
    /// <see cref="ErrorCode.InvalidArgument"/> error naming <paramref name="source"/> and the field.</summary>
    public static InferenceError? Validate(ModelConfig config, string source)
    {
        if (config.DefaultModelFilename.Length > 0 && Check(source, "default_model_filename", config.DefaultModelFilename, "the version folder") is { } e)
        {
            return e;
        }
        foreach (var (capability, file) in config.CcModelFilenames.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (Check(source, $"cc_model_filenames[\"{capability}\"]", file, "the version folder") is { } error)
            {
                return error;
            }
        }
        for (var i = 0; i < config.Output.Count; i++)
        {
            var label = config.Output[i].LabelFilename;
            if (label.Length > 0 && Check(source, $"output[{i}].label_filename", label, "the model folder") is { } error)
            {
                return error;
            }
        }
        for (var i = 0; i < config.ModelWarmup.Count; i++)
        {
            foreach (var (input, sample) in config.ModelWarmup[i].Inputs.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                if (sample.InputDataTypeCase == ModelWarmup.Types.Input.InputDataTypeOneofCase.InputDataFile && sample.InputDataFile.Length > 0
                    && Check(source, $"model_warmup[{i}].inputs[\"{input}\"].input_data_file", sample.InputDataFile, "the model's warmup folder") is { } error)
                {
                    return error;
                }
            }
        }
        return null;
    }

    private static InferenceError? Check(string source, string field, string name, string folder) =>
        RepositoryPaths.CheckRelativeName(name) is { } why
            ? ConfigErrors.Invalid(source, field, $"'{name}' must be a relative path inside {folder} ({why})")
            : null;
}
