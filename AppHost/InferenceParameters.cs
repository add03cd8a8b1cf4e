using Microsoft.Extensions.Configuration;

/// <summary>
/// The AppHost's parameters for the inference server, with defaults so that a plain <c>dotnet run --project AppHost</c>
/// needs no input: <c>inference-replicas</c> (default 1) and <c>inference-device</c> (<c>cpu</c> or <c>gpu</c>, default
/// <c>cpu</c>). Set them as any Aspire parameter: <c>--Parameters:inference-replicas=2</c> on the command line,
/// <c>Parameters__inference-replicas</c> in the environment, or <c>Parameters:inference-replicas</c> in appsettings.
/// The replica count shapes the model (WithReplicas), so both are read from configuration while the model is built
/// and checked there, with messages naming the key to fix.
/// </summary>
internal sealed record InferenceParameters(int Replicas, string Device)
{
    public const string ReplicasName = "inference-replicas";
    public const string DeviceName = "inference-device";

    public static readonly IReadOnlyList<string> Devices = ["cpu", "gpu"];

    public static InferenceParameters Read(IConfiguration configuration)
    {
        var replicasText = configuration[Key(ReplicasName)] ?? "1";
        if (!int.TryParse(replicasText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var replicas)
            || replicas < 1)
        {
            throw new DistributedApplicationException($"{Key(ReplicasName)} must be a whole number of at least 1 (got '{replicasText}').");
        }
        var device = (configuration[Key(DeviceName)] ?? "cpu").Trim().ToLowerInvariant();
        if (!Devices.Contains(device))
        {
            throw new DistributedApplicationException($"{Key(DeviceName)} must be one of {string.Join(", ", Devices)} (got '{device}').");
        }
        return new InferenceParameters(replicas, device);
    }

    private static string Key(string name) => $"Parameters:{name}";
}
