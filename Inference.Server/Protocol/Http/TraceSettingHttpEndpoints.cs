using System.Text.Json;
using Inference.Server.Core;
using Inference.Server.Tracing;

namespace Inference.Server.Protocol.Http;

/// <summary>
/// Triton's trace extension over HTTP: <c>GET|POST /v2[/models/{model}]/trace/setting</c> (API group <c>trace</c>).
/// POST takes a JSON object of settings (each a string, or for trace_level an array of strings; null clears the
/// field) and answers the setting in force afterwards; <c>trace_file</c> cannot be changed remotely.
/// </summary>
internal static class TraceSettingHttpEndpoints
{
    public static void MapTraceSettings(this RouteGroupBuilder v2, RestrictedApis r)
    {
        v2.MapGet("/trace/setting", (Func<HttpContext, Task>)(c => HandleAsync(c, null, post: false))).In(ApiGroup.Trace, r);
        v2.MapPost("/trace/setting", (Func<HttpContext, Task>)(c => HandleAsync(c, null, post: true))).In(ApiGroup.Trace, r);
        v2.MapGet("/models/{model}/trace/setting", (HttpContext c, string model) => HandleAsync(c, model, post: false)).In(ApiGroup.Trace, r);
        v2.MapPost("/models/{model}/trace/setting", (HttpContext c, string model) => HandleAsync(c, model, post: true)).In(ApiGroup.Trace, r);
    }

    private static async Task HandleAsync(HttpContext c, string? model, bool post)
    {
        if (c.RequestServices.GetService<TraceManager>() is not { } traces)
        {
            await HttpJson.WriteErrorAsync(c.Response, new InferenceError(ErrorCode.Unsupported, "trace settings are not supported by this server"));
            return;
        }
        if (model is not null && !c.RequestServices.GetRequiredService<IInferenceServer>().IsModelReady(model))
        {
            await HttpJson.WriteErrorAsync(c.Response, TraceSettingWire.UnknownModel(model));
            return;
        }
        if (post)
        {
            using var body = await KServeHttpEndpoints.ReadSmallJsonAsync(c);
            if (body.ErrorMessage is not null)
            {
                await HttpJson.WriteErrorAsync(c.Response, body.Status, body.ErrorMessage);
                return;
            }
            if (body.Root is { } root)
            {
                var settings = ReadSettings(root);
                var update = settings.IsSuccess ? TraceSettingWire.Parse(settings.Value!) : settings.Error!;
                var error = update.IsSuccess ? traces.Update(model, update.Value!) : update.Error;
                if (error is not null)
                {
                    await HttpJson.WriteErrorAsync(c.Response, error);
                    return;
                }
            }
        }
        var (values, remaining) = traces.Get(model);
        await HttpJson.WriteAsync(c.Response, StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            foreach (var (name, list) in TraceSettingWire.Reply(values, remaining))
            {
                if (name == TraceSettingWire.TraceLevel)
                {
                    w.WriteStartArray(name);
                    foreach (var v in list)
                    {
                        w.WriteStringValue(v);
                    }
                    w.WriteEndArray();
                }
                else
                {
                    w.WriteString(name, list[0]);
                }
            }
            w.WriteEndObject();
        });
    }

    /// <summary>The body's settings as value lists: a string or an integer is one value, an array of strings several,
    /// null none (clear).</summary>
    private static Result<List<KeyValuePair<string, IReadOnlyList<string>?>>> ReadSettings(JsonElement root)
    {
        var settings = new List<KeyValuePair<string, IReadOnlyList<string>?>>();
        foreach (var p in root.EnumerateObject())
        {
            IReadOnlyList<string>? values;
            switch (p.Value.ValueKind)
            {
                case JsonValueKind.Null:
                    values = null;
                    break;
                case JsonValueKind.String:
                    values = [p.Value.GetString()!];
                    break;
                case JsonValueKind.Number when p.Value.TryGetInt64(out var n):
                    values = [n.ToString(System.Globalization.CultureInfo.InvariantCulture)];
                    break;
                case JsonValueKind.Array when p.Value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String):
                    values = [.. p.Value.EnumerateArray().Select(e => e.GetString()!)];
                    break;
                default:
                    return ProtocolErrors.Invalid($"trace setting '{p.Name}' must be a string (trace_level: an array of strings) or null");
            }
            settings.Add(new(p.Name, values));
        }
        return settings;
    }
}
