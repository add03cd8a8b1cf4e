using System.Text.Json;
using Inference.Server.Core;
using Inference.Server.Hosting;

namespace Inference.Server.Protocol.Http;

/// <summary>
/// Triton's logging extension over HTTP: <c>GET|POST /v2/logging</c> (API group <c>logging</c>). POST takes a JSON
/// object with any of log_info, log_warning, log_error (booleans), log_verbose_level (a non-negative integer) and
/// log_format ("default" or "ISO8601"); a null value leaves the field as it is; log_file cannot be changed remotely.
/// The reply is the settings in force.
/// </summary>
internal static class LoggingHttpEndpoints
{
    public static void MapLogging(this RouteGroupBuilder v2, RestrictedApis r)
    {
        v2.MapGet("/logging", (Func<HttpContext, Task>)(c => HandleAsync(c, post: false))).In(ApiGroup.Logging, r);
        v2.MapPost("/logging", (Func<HttpContext, Task>)(c => HandleAsync(c, post: true))).In(ApiGroup.Logging, r);
    }

    private static async Task HandleAsync(HttpContext c, bool post)
    {
        if (c.RequestServices.GetService<ServerLogSettings>() is not { } settings)
        {
            await HttpJson.WriteErrorAsync(c.Response, new InferenceError(ErrorCode.Unsupported, "log settings are not supported by this server"));
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
                var update = Parse(root);
                if (!update.IsSuccess)
                {
                    await HttpJson.WriteErrorAsync(c.Response, update.Error!);
                    return;
                }
                update.Value!.ApplyTo(settings);
            }
        }
        await HttpJson.WriteAsync(c.Response, StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteString(LogSettingsUpdate.LogFile, settings.File);
            w.WriteBoolean(LogSettingsUpdate.LogInfo, settings.Info);
            w.WriteBoolean(LogSettingsUpdate.LogWarning, settings.Warning);
            w.WriteBoolean(LogSettingsUpdate.LogError, settings.Error);
            w.WriteNumber(LogSettingsUpdate.LogVerboseLevel, settings.VerboseLevel);
            w.WriteString(LogSettingsUpdate.LogFormatName, settings.FormatName);
            w.WriteEndObject();
        });
    }

    private static Result<LogSettingsUpdate> Parse(JsonElement root)
    {
        var update = new LogSettingsUpdate();
        foreach (var p in root.EnumerateObject())
        {
            var value = p.Value;
            if (value.ValueKind == JsonValueKind.Null && p.Name is not (LogSettingsUpdate.LogInfo or LogSettingsUpdate.LogWarning
                or LogSettingsUpdate.LogError or LogSettingsUpdate.LogVerboseLevel or LogSettingsUpdate.LogFormatName or LogSettingsUpdate.LogFile))
            {
                return LogSettingsUpdate.Unknown(p.Name);
            }
            if (value.ValueKind == JsonValueKind.Null)
            {
                continue;
            }
            switch (p.Name)
            {
                case LogSettingsUpdate.LogFile:
                    return LogSettingsUpdate.FileRefused;
                case LogSettingsUpdate.LogInfo:
                    if (Bool(value) is not { } info)
                    {
                        return LogSettingsUpdate.Expect("boolean", p.Name);
                    }
                    update = update with { Info = info };
                    break;
                case LogSettingsUpdate.LogWarning:
                    if (Bool(value) is not { } warning)
                    {
                        return LogSettingsUpdate.Expect("boolean", p.Name);
                    }
                    update = update with { Warning = warning };
                    break;
                case LogSettingsUpdate.LogError:
                    if (Bool(value) is not { } error)
                    {
                        return LogSettingsUpdate.Expect("boolean", p.Name);
                    }
                    update = update with { Error = error };
                    break;
                case LogSettingsUpdate.LogVerboseLevel:
                    if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var verbose) || verbose < 0)
                    {
                        return LogSettingsUpdate.Expect("a non-negative integer", p.Name);
                    }
                    update = update with { VerboseLevel = verbose };
                    break;
                case LogSettingsUpdate.LogFormatName:
                    if (value.ValueKind != JsonValueKind.String)
                    {
                        return LogSettingsUpdate.Expect("string", p.Name);
                    }
                    var text = value.GetString()!;
                    if (ServerLogSettings.ParseFormat(text) is not { } format)
                    {
                        return LogSettingsUpdate.BadFormat(text);
                    }
                    update = update with { Format = format };
                    break;
                default:
                    return LogSettingsUpdate.Unknown(p.Name);
            }
        }
        return update;
    }

    private static bool? Bool(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };
}
