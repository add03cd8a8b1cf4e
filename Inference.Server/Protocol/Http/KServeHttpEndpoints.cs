using System.Text.Json;
using Inference.Server.Core;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace Inference.Server.Protocol.Http;

/// <summary>
/// The KServe v2 / Triton HTTP API as minimal-API endpoints: health, metadata, config, statistics, repository
/// control and inference. Every handler resolves <see cref="IInferenceServer"/> from DI and only translates.
/// </summary>
public static class KServeHttpEndpoints
{
    public static IEndpointRouteBuilder MapKServeHttp(this IEndpointRouteBuilder app)
    {
        var v2 = app.MapGroup("/v2");
        v2.AddEndpointFilter(UnexpectedErrorFilter.InvokeAsync);
        var r = app.ServiceProvider.GetRequiredService<IOptions<KServeProtocolOptions>>().Value.HttpRestrictions;
        v2.MapGet("", (Func<HttpContext, Task>)ServerMetadataAsync).In(ApiGroup.Metadata, r);
        v2.MapGet("/health/live", (HttpContext c) => Health(c, s => s.IsLive)).In(ApiGroup.Health, r);
        v2.MapGet("/health/ready", (HttpContext c) => Health(c, s => s.IsReady)).In(ApiGroup.Health, r);

        v2.MapGet("/models/stats", (Func<HttpContext, Task>)(c => StatisticsAsync(c, null, null))).In(ApiGroup.Statistics, r);
        v2.MapGet("/models/{model}", (HttpContext c, string model) => ModelMetadataAsync(c, model, null)).In(ApiGroup.Metadata, r);
        v2.MapGet("/models/{model}/versions/{version}", (HttpContext c, string model, string version) => ModelMetadataAsync(c, model, version)).In(ApiGroup.Metadata, r);
        v2.MapGet("/models/{model}/ready", (HttpContext c, string model) => ModelReadyAsync(c, model, null)).In(ApiGroup.Health, r);
        v2.MapGet("/models/{model}/versions/{version}/ready", (HttpContext c, string model, string version) => ModelReadyAsync(c, model, version)).In(ApiGroup.Health, r);
        v2.MapGet("/models/{model}/config", (HttpContext c, string model) => ModelConfigAsync(c, model, null)).In(ApiGroup.ModelConfig, r);
        v2.MapGet("/models/{model}/versions/{version}/config", (HttpContext c, string model, string version) => ModelConfigAsync(c, model, version)).In(ApiGroup.ModelConfig, r);
        v2.MapGet("/models/{model}/stats", (HttpContext c, string model) => StatisticsAsync(c, model, null)).In(ApiGroup.Statistics, r);
        v2.MapGet("/models/{model}/versions/{version}/stats", (HttpContext c, string model, string version) => StatisticsAsync(c, model, version)).In(ApiGroup.Statistics, r);
        v2.MapPost("/models/{model}/infer", (HttpContext c, string model) => HttpInferHandler.HandleAsync(c, model, null)).In(ApiGroup.Inference, r);
        v2.MapPost("/models/{model}/versions/{version}/infer", (HttpContext c, string model, string version) => HttpInferHandler.HandleAsync(c, model, version)).In(ApiGroup.Inference, r);

        v2.MapPost("/repository/index", (Func<HttpContext, Task>)RepositoryIndexAsync).In(ApiGroup.ModelRepository, r);
        v2.MapPost("/repository/models/{model}/load", LoadAsync).In(ApiGroup.ModelRepository, r);
        v2.MapPost("/repository/models/{model}/unload", UnloadAsync).In(ApiGroup.ModelRepository, r);
        v2.MapSharedMemory(r);
        v2.MapTraceSettings(r);
        v2.MapLogging(r);
        return app;
    }

    /// <summary>Marks the endpoint with its API group (<see cref="ApiGroupMetadata"/>) and, only when the group is
    /// restricted (--http-restricted-api), adds the header check: 403 with Triton's message when the header is missing
    /// or holds another value. Open endpoints get no filter, so they pay nothing per request.</summary>
    /// <remarks>A handler taking only the HttpContext is passed as a Func so that it maps as a route handler (which runs
    /// filters) rather than as a RequestDelegate.</remarks>
    internal static RouteHandlerBuilder In(this RouteHandlerBuilder endpoint, ApiGroup group, RestrictedApis restricted)
    {
        endpoint.WithMetadata(new ApiGroupMetadata(group));
        if (restricted.For(group) is { } restriction)
        {
            endpoint.AddEndpointFilter(async (context, next) =>
            {
                if (restriction.IsSatisfiedBy(context.HttpContext.Request.Headers[restriction.Header]))
                {
                    return await next(context);
                }
                await HttpJson.WriteErrorAsync(context.HttpContext.Response, StatusCodes.Status403Forbidden, restriction.Message);
                return Results.Empty;
            });
        }
        return endpoint;
    }

    private static IInferenceServer Server(HttpContext c) => c.RequestServices.GetRequiredService<IInferenceServer>();

    private static Task ServerMetadataAsync(HttpContext c)
    {
        var m = Server(c).Metadata;
        return HttpJson.WriteAsync(c.Response, StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteString("name", m.Name);
            w.WriteString("version", m.Version);
            w.WriteStartArray("extensions");
            foreach (var e in m.Extensions)
            {
                w.WriteStringValue(e);
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    /// <summary>Triton answers health with an empty body: 200 when true, 400 otherwise.</summary>
    private static void Health(HttpContext c, Func<IInferenceServer, bool> probe) =>
        c.Response.StatusCode = probe(Server(c)) ? StatusCodes.Status200OK : StatusCodes.Status400BadRequest;

    private static Task ModelReadyAsync(HttpContext c, string model, string? version)
    {
        var v = VersionParser.Parse(version);
        if (!v.IsSuccess)
        {
            return HttpJson.WriteErrorAsync(c.Response, v.Error!);
        }
        c.Response.StatusCode = Server(c).IsModelReady(model, v.Value) ? StatusCodes.Status200OK : StatusCodes.Status400BadRequest;
        return Task.CompletedTask;
    }

    private static Task ModelMetadataAsync(HttpContext c, string model, string? version)
    {
        var v = VersionParser.Parse(version);
        if (!v.IsSuccess)
        {
            return HttpJson.WriteErrorAsync(c.Response, v.Error!);
        }
        var r = Server(c).GetModelMetadata(model, v.Value);
        if (!r.IsSuccess)
        {
            return HttpJson.WriteErrorAsync(c.Response, r.Error!);
        }
        var m = r.Value!;
        return HttpJson.WriteAsync(c.Response, StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteString("name", m.Name);
            w.WriteStartArray("versions");
            foreach (var ver in m.Versions)
            {
                w.WriteStringValue(ver);
            }
            w.WriteEndArray();
            w.WriteString("platform", m.Platform);
            WriteTensors(w, "inputs", m.Inputs);
            WriteTensors(w, "outputs", m.Outputs);
            w.WriteEndObject();
        });
    }

    private static void WriteTensors(Utf8JsonWriter w, string name, IReadOnlyList<TensorSignature> tensors)
    {
        w.WriteStartArray(name);
        foreach (var t in tensors)
        {
            w.WriteStartObject();
            w.WriteString("name", t.Name);
            w.WriteString("datatype", t.DataType.ToWireName());
            w.WriteStartArray("shape");
            foreach (var d in t.Shape)
            {
                w.WriteNumberValue(d);
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static Task ModelConfigAsync(HttpContext c, string model, string? version)
    {
        var v = VersionParser.Parse(version);
        if (!v.IsSuccess)
        {
            return HttpJson.WriteErrorAsync(c.Response, v.Error!);
        }
        var r = Server(c).GetModelConfig(model, v.Value);
        return r.IsSuccess
            ? HttpJson.WriteAsync(c.Response, StatusCodes.Status200OK, w => TritonProtoJsonWriter.Write(w, r.Value!))
            : HttpJson.WriteErrorAsync(c.Response, r.Error!);
    }

    private static Task StatisticsAsync(HttpContext c, string? model, string? version)
    {
        var v = VersionParser.Parse(version);
        if (!v.IsSuccess)
        {
            return HttpJson.WriteErrorAsync(c.Response, v.Error!);
        }
        var r = Server(c).GetStatistics(model, v.Value);
        return r.IsSuccess
            ? HttpJson.WriteAsync(c.Response, StatusCodes.Status200OK, w => TritonProtoJsonWriter.Write(w, StatisticsMapper.ToProto(r.Value!)))
            : HttpJson.WriteErrorAsync(c.Response, r.Error!);
    }

    private static async Task RepositoryIndexAsync(HttpContext c)
    {
        using var body = await ReadSmallJsonAsync(c);
        if (body.ErrorMessage is not null)
        {
            await HttpJson.WriteErrorAsync(c.Response, body.Status, body.ErrorMessage);
            return;
        }
        var readyOnly = false;
        if (body.Root is { } root && root.TryGetProperty("ready", out var ready))
        {
            if (ready.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                await HttpJson.WriteErrorAsync(c.Response, ProtocolErrors.Invalid("'ready' must be a boolean"));
                return;
            }
            readyOnly = ready.GetBoolean();
        }
        var index = Server(c).GetRepositoryIndex(readyOnly);
        await HttpJson.WriteAsync(c.Response, StatusCodes.Status200OK, w =>
        {
            w.WriteStartArray();
            foreach (var e in index)
            {
                w.WriteStartObject();
                w.WriteString("name", e.Name);
                w.WriteString("version", e.Version);
                w.WriteString("state", e.State);
                w.WriteString("reason", e.Reason);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        });
    }

    /// <summary>Triton's load API. Its body may carry model files in base64 (<c>file:</c> parameters), so this route
    /// alone reads bodies up to <see cref="KServeProtocolOptions.MaxLoadRequestBytes"/>; above it the answer is 413.</summary>
    private static async Task LoadAsync(HttpContext c, string model)
    {
        var options = c.RequestServices.GetRequiredService<IOptions<KServeProtocolOptions>>().Value;
        if (c.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = options.MaxLoadRequestBytes;
        }
        using var body = await ReadSmallJsonAsync(c, options.MaxLoadRequestBytes);
        if (body.ErrorMessage is not null)
        {
            var message = body.Status == RequestBodyReader.BodyTooLarge
                ? $"load request too large: {body.ErrorMessage} (the load API's limit, --max-load-request-body-bytes)"
                : body.ErrorMessage;
            await HttpJson.WriteErrorAsync(c.Response, body.Status, message);
            return;
        }
        string? config = null;
        var files = new List<ModelFile>();
        if (body.Root is { } root && root.TryGetProperty("parameters", out var parameters))
        {
            if (parameters.ValueKind != JsonValueKind.Object)
            {
                await HttpJson.WriteErrorAsync(c.Response, ProtocolErrors.Invalid("'parameters' must be an object"));
                return;
            }
            foreach (var p in parameters.EnumerateObject())
            {
                if (p.Name == "config")
                {
                    if (p.Value.ValueKind != JsonValueKind.String)
                    {
                        await HttpJson.WriteErrorAsync(c.Response, ProtocolErrors.Invalid("parameter 'config' must be a string holding the model config as JSON"));
                        return;
                    }
                    config = p.Value.GetString();
                }
                else if (LoadFileParameters.IsFile(p.Name))
                {
                    if (p.Value.ValueKind != JsonValueKind.String || !p.Value.TryGetBytesFromBase64(out var content))
                    {
                        await HttpJson.WriteErrorAsync(c.Response, ProtocolErrors.Invalid($"parameter '{p.Name}' must be a string holding the file's content in base64"));
                        return;
                    }
                    files.Add(LoadFileParameters.ToFile(p.Name, content));
                }
            }
        }
        await ReplyAsync(c, await Server(c).LoadModelAsync(model, config, files, c.RequestAborted));
    }

    private static async Task UnloadAsync(HttpContext c, string model)
    {
        using var body = await ReadSmallJsonAsync(c);
        if (body.ErrorMessage is not null)
        {
            await HttpJson.WriteErrorAsync(c.Response, body.Status, body.ErrorMessage);
            return;
        }
        var unloadDependents = false;
        if (body.Root is { } root && root.TryGetProperty("parameters", out var parameters))
        {
            if (parameters.ValueKind != JsonValueKind.Object)
            {
                await HttpJson.WriteErrorAsync(c.Response, ProtocolErrors.Invalid("'parameters' must be an object"));
                return;
            }
            if (parameters.TryGetProperty("unload_dependents", out var dependents))
            {
                if (dependents.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                {
                    await HttpJson.WriteErrorAsync(c.Response, ProtocolErrors.Invalid("parameter 'unload_dependents' must be a boolean"));
                    return;
                }
                unloadDependents = dependents.GetBoolean();
            }
        }
        await ReplyAsync(c, await Server(c).UnloadModelAsync(model, unloadDependents, c.RequestAborted));
    }

    private static Task ReplyAsync(HttpContext c, InferenceError? error)
    {
        if (error is not null)
        {
            return HttpJson.WriteErrorAsync(c.Response, error);
        }
        c.Response.StatusCode = StatusCodes.Status200OK;
        return Task.CompletedTask;
    }

    /// <summary>The deepest nesting of a control body (System.Text.Json's default).</summary>
    private const int MaxDepth = 64;

    /// <summary>An optional JSON object body (control requests): absent is fine; malformed, or not text
    /// (<see cref="JsonTextCheck"/>), is a 400.</summary>
    /// <param name="fallbackLimit">The body limit when the server exposes none (Kestrel's MaxRequestBodySize applies
    /// otherwise); default the server's <see cref="KServeProtocolOptions.MaxMessageBytes"/>.</param>
    internal static async Task<SmallJson> ReadSmallJsonAsync(HttpContext c, long? fallbackLimit = null)
    {
        var options = c.RequestServices.GetRequiredService<IOptions<KServeProtocolOptions>>().Value;
        var read = await RequestBodyReader.ReadAsync(c.Request, fallbackLimit ?? options.MaxMessageBytes, c.RequestAborted);
        if (read.Body is null)
        {
            return new SmallJson(null, read.Status, read.Message);
        }
        using var buffer = read.Body;
        if (buffer.Memory.Length == 0)
        {
            return new SmallJson(null, StatusCodes.Status200OK, null);
        }
        var text = JsonTextCheck.Check(buffer.Memory.Span, MaxDepth);
        if (text is not null)
        {
            return SmallJson.Invalid(text);
        }
        try
        {
            // Control bodies are small; the document gets its own copy so the pooled buffer can go back now.
            var doc = JsonDocument.Parse(buffer.Memory.ToArray(), new JsonDocumentOptions { MaxDepth = MaxDepth });
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                doc.Dispose();
                return new SmallJson(null, StatusCodes.Status400BadRequest, "the request body must be a JSON object");
            }
            return new SmallJson(doc, StatusCodes.Status200OK, null);
        }
        catch (JsonException e)
        {
            return SmallJson.Invalid(JsonRequestErrors.Malformed(e));
        }
    }

    internal sealed record SmallJson(JsonDocument? Document, int Status, string? ErrorMessage) : IDisposable
    {
        public JsonElement? Root => Document?.RootElement;

        public static SmallJson Invalid(InferenceError error) => new(null, ProtocolErrors.ToHttpStatus(error.Code), error.Message);

        public void Dispose() => Document?.Dispose();
    }
}

/// <summary>The API group of a KServe HTTP endpoint (Triton's groups for --http-restricted-api), in its metadata.</summary>
public sealed record ApiGroupMetadata(ApiGroup Group);
