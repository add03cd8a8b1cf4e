using System.Net.Http.Headers;
using System.Text;

namespace LoadTest.Clients;

/// <summary>KServe v2 HTTP infer with Triton's binary tensor extension in both directions.</summary>
public sealed class HttpBinaryInferClient : IInferClient
{
    private readonly HttpClient _http;
    private readonly Uri _uri;
    private readonly byte[] _body;
    private readonly int _headerLength;

    public HttpBinaryInferClient(Uri address, string model, InputSpec input)
    {
        _http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue, PooledConnectionLifetime = Timeout.InfiniteTimeSpan });
        _uri = new Uri(address, $"/v2/models/{model}/infer");
        var header = Encoding.UTF8.GetBytes(
            $$$"""{"inputs":[{"name":"{{{input.Name}}}","shape":[{{{string.Join(",", input.Shape)}}}],"datatype":"{{{input.DataType}}}","parameters":{"binary_data_size":{{{input.Data.Length}}}}}],"outputs":[{"name":"{{{input.OutputName}}}","parameters":{"binary_data":true}}]}""");
        _headerLength = header.Length;
        _body = [.. header, .. input.Data];
    }

    public async Task<string?> InferAsync(CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(_body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.Add("Inference-Header-Content-Length", _headerLength.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var response = await _http.PostAsync(_uri, content, cancellationToken).ConfigureAwait(false);
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            return "http-" + (int)response.StatusCode;
        }
        return response.Headers.Contains("Inference-Header-Content-Length") || response.Content.Headers.Contains("Inference-Header-Content-Length")
            ? null
            : bytes.Length > 0 ? null : "bad-response";
    }

    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        return ValueTask.CompletedTask;
    }
}
