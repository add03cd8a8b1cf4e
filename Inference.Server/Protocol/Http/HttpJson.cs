using System.Text.Encodings.Web;
using System.Text.Json;
using Inference.Server.Core;

namespace Inference.Server.Protocol.Http;

/// <summary>Writes JSON replies straight to the response body with <see cref="Utf8JsonWriter"/>.</summary>
public static class HttpJson
{
    public const string ContentType = "application/json";

    /// <summary>Relaxed escaping: names and labels go out as UTF-8 rather than \u escapes.</summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = false };

    public static async Task WriteAsync(HttpResponse response, int status, Action<Utf8JsonWriter> write)
    {
        response.StatusCode = status;
        response.ContentType = ContentType;
        await using (var writer = new Utf8JsonWriter(response.BodyWriter, WriterOptions))
        {
            write(writer);
        }
        await response.BodyWriter.FlushAsync(response.HttpContext.RequestAborted);
    }

    /// <summary>Writes Triton's error body <c>{"error":"..."}</c>.</summary>
    public static Task WriteErrorAsync(HttpResponse response, int status, string message) =>
        WriteAsync(response, status, w =>
        {
            w.WriteStartObject();
            w.WriteString("error", message);
            w.WriteEndObject();
        });

    public static Task WriteErrorAsync(HttpResponse response, InferenceError error) =>
        WriteErrorAsync(response, ProtocolErrors.ToHttpStatus(error.Code), error.Message);
}
