using LoadTest.Inputs;
using LoadTest.Model;

namespace LoadTest.Clients;

/// <summary>The protocol names the command line accepts, and the clients behind them.</summary>
public static class InferClientFactory
{
    public static readonly string[] Protocols = ["grpc", "grpc-stream", "http", "http-json"];

    public static IInferClient Create(string protocol, Uri address, string model, string version, IReadOnlyList<RequestTemplate> templates,
        ResponseValidator validator, int channels) => protocol switch
        {
            "grpc" => new GrpcInferClient(address, model, version, templates, validator, channels),
            "grpc-stream" => new GrpcStreamInferClient(address, model, version, templates, validator, channels),
            "http" => new HttpInferClient(address, model, version, templates, validator, binary: true),
            "http-json" => new HttpInferClient(address, model, version, templates, validator, binary: false),
            _ => throw new ArgumentException($"--protocol must be one of {string.Join(", ", Protocols)}, not '{protocol}'"),
        };

    public static IServerInfoClient CreateInfo(string protocol, Uri address, string model, string version) => protocol.StartsWith("grpc", StringComparison.Ordinal)
        ? new GrpcServerInfoClient(address, model, version)
        : new HttpServerInfoClient(address, model, version);
}
