using Google.Protobuf;
using Inference.Server.Protos.Onnx;

namespace Inference.Server.ModelTools.Onnx;

/// <summary>Reads and writes whole ONNX models through the generated protobuf classes (fields our proto does not
/// declare are kept as unknown fields and written back). For models below protobuf's 2 GiB limit; external data is
/// not supported.</summary>
public static class OnnxModelFile
{
    /// <summary>The lowest IR version the tools write: IR 7 is what opset 13 (per-channel QuantizeLinear) needs.</summary>
    public const long MinimumIrVersion = 7;

    /// <summary>Parses <paramref name="path"/>, then moves initializers that IR&lt;4 files also list as graph inputs
    /// out of the inputs and raises the IR version to at least <see cref="MinimumIrVersion"/>, so that the tools
    /// can rewrite initializers freely.</summary>
    public static ModelProto Load(string path)
    {
        ModelProto model;
        using (var stream = File.OpenRead(path))
        {
            model = ModelProto.Parser.ParseFrom(stream);
        }
        if (model.Graph is null)
        {
            throw new ModelToolException($"{path} has no graph.");
        }
        if (model.Graph.Initializer.Any(t => t.DataLocation == TensorProto.Types.DataLocation.External))
        {
            throw new ModelToolException($"{path} keeps weights in external data files, which the tools do not read.");
        }
        var initializers = model.Graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var inputs = model.Graph.Input.Where(i => !initializers.Contains(i.Name)).ToList();
        model.Graph.Input.Clear();
        model.Graph.Input.Add(inputs);
        model.IrVersion = Math.Max(model.IrVersion, MinimumIrVersion);
        return model;
    }

    /// <summary>Writes <paramref name="model"/> atomically (temporary file, then rename).</summary>
    public static void Save(ModelProto model, string path) => AtomicFile.Write(path, model.WriteTo);

    /// <summary>The version of the default (ai.onnx) operator set the model imports, 1 when it names none.</summary>
    public static long DefaultOpset(ModelProto model) =>
        model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx")?.Version ?? 1;

    /// <summary>Sets the default operator set's version, adding the import when missing.</summary>
    public static void SetDefaultOpset(ModelProto model, long version)
    {
        var import = model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx");
        if (import is null)
        {
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = version });
        }
        else
        {
            import.Version = version;
        }
    }

    /// <summary>Marks the model as rewritten by a tool (producer name, a doc note), keeping the rest.</summary>
    public static void Stamp(ModelProto model, string tool)
    {
        model.ProducerName = OnnxModelWriter.ProducerName;
        model.ProducerVersion = OnnxModelWriter.ProducerVersion;
        model.DocString = string.IsNullOrEmpty(model.DocString) ? $"rewritten by {tool}" : $"{model.DocString}\nrewritten by {tool}";
    }
}
