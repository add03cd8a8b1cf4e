using Google.Protobuf;
using Inference.Server.Protos;

namespace LoadTest.Model;

/// <summary><see cref="IServerInfoClient"/> over KServe v2 HTTP: Triton prints metadata, config and statistics
/// as the JSON form of the gRPC messages, so they parse into the same protobuf types.</summary>
public sealed class HttpServerInfoClient(Uri address, string model, string version) : IServerInfoClient
{
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));
    private readonly HttpClient _http = new() { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };

    private string ModelPath => version.Length == 0 ? $"/v2/models/{model}" : $"/v2/models/{model}/versions/{version}";

    public async Task<ModelInfo> GetModelInfoAsync(CancellationToken cancellationToken)
    {
        try
        {
            var meta = Parser.Parse<ModelMetadataResponse>(await GetAsync(ModelPath, cancellationToken));
            var config = Parser.Parse<ModelConfig>(await GetAsync(ModelPath + "/config", cancellationToken));
            static TensorInfo Map(ModelMetadataResponse.Types.TensorMetadata t) => new(t.Name, t.Datatype, [.. t.Shape]);
            return new ModelInfo(meta.Name, [.. meta.Inputs.Select(Map)], [.. meta.Outputs.Select(Map)], config.MaxBatchSize);
        }
        catch (Exception e) when (e is HttpRequestException or InvalidProtocolBufferException or InvalidJsonException)
        {
            throw new InvalidOperationException($"model '{model}' metadata over HTTP: {e.Message}", e);
        }
    }

    public async Task<ServerStatsSnapshot?> GetStatisticsAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _http.GetAsync(ModelPath + "/stats", cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return null;
            }
            var stats = Parser.Parse<ModelStatisticsResponse>(await response.Content.ReadAsStringAsync(cancellationToken));
            return ServerStatsSnapshot.Sum(stats.ModelStats);
        }
        catch (Exception e) when (e is HttpRequestException or InvalidProtocolBufferException or InvalidJsonException)
        {
            return null;
        }
    }

    private async Task<string> GetAsync(string path, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(path, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        return response.IsSuccessStatusCode
            ? body
            : throw new InvalidOperationException($"GET {path}: {(int)response.StatusCode} {body}");
    }

    public void Dispose() => _http.Dispose();
}
