using System.Globalization;

namespace LoadTest.Tune;

/// <summary>
/// An execution accelerator of the search space, as written on the command line: <c>cpu</c> (ONNX Runtime's CPU
/// provider, KIND_CPU instances), <c>cuda</c> or <c>tensorrt</c> (KIND_GPU instances, the accelerator named in
/// <c>optimization.execution_accelerators.gpu_execution_accelerator</c>), optionally with parameters:
/// <c>cuda:prefer_nhwc=1,fuse_conv_bias=1</c>. Parameter names and values are the server's (checked again when the
/// config loads). <see cref="Text"/> is canonical: parameters sorted by name.
/// </summary>
public sealed record AcceleratorSpec(string Name, IReadOnlyList<KeyValuePair<string, string>> Parameters)
{
    public static readonly string[] Names = ["cpu", "cuda", "tensorrt"];

    public static AcceleratorSpec Cpu { get; } = new("cpu", []);

    public bool IsGpu => Name != "cpu";

    public string Text => Parameters.Count == 0 ? Name : Name + ":" + string.Join(",", Parameters.Select(p => $"{p.Key}={p.Value}"));

    /// <summary>Parses <c>name[:key=value,...]</c>; throws <see cref="FormatException"/> naming what is wrong.</summary>
    public static AcceleratorSpec Parse(string text)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var name = (colon < 0 ? text : text[..colon]).Trim().ToLowerInvariant();
        if (!Names.Contains(name))
        {
            throw new FormatException($"'{text}': unknown accelerator '{name}' (known: {string.Join(", ", Names)})");
        }
        var parameters = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (colon >= 0)
        {
            if (name == "cpu")
            {
                throw new FormatException($"'{text}': the cpu accelerator takes no parameters");
            }
            foreach (var item in text[(colon + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var eq = item.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0 || eq == item.Length - 1)
                {
                    throw new FormatException($"'{text}': parameter '{item}' is not key=value");
                }
                if (!parameters.TryAdd(item[..eq], item[(eq + 1)..]))
                {
                    throw new FormatException($"'{text}': parameter '{item[..eq]}' given twice");
                }
            }
            if (parameters.Count == 0)
            {
                throw new FormatException($"'{text}': no parameter after ':'");
            }
        }
        return new AcceleratorSpec(name, [.. parameters]);
    }

    public override string ToString() => Text;

    /// <summary>Culture-free integer text, for keys.</summary>
    internal static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);
}
