using System.Text.Json;
using Inference.Server.Core;
using Inference.Server.SharedMemory;

namespace Inference.Server.Protocol.Http;

/// <summary>
/// Triton's shared memory extensions over HTTP: <c>/v2/systemsharedmemory[/region/{name}]/status|register|unregister</c>
/// and the same under <c>/v2/cudasharedmemory</c>, in the <c>shared-memory</c> API group. Status is GET, the others
/// POST; register bodies are <c>{"key", "offset", "byte_size"}</c> (system) and
/// <c>{"raw_handle": {"b64"}, "device_id", "byte_size"}</c> (CUDA); status answers a JSON array of regions.
/// </summary>
internal static class SharedMemoryHttpEndpoints
{
    public static void MapSharedMemory(this RouteGroupBuilder v2, RestrictedApis restricted)
    {
        foreach (var (prefix, kind) in new[] { ("/systemsharedmemory", SharedMemoryKind.System), ("/cudasharedmemory", SharedMemoryKind.Cuda) })
        {
            v2.MapGet(prefix + "/status", (Func<HttpContext, Task>)(c => StatusAsync(c, kind, ""))).In(ApiGroup.SharedMemory, restricted);
            v2.MapGet(prefix + "/region/{name}/status", (HttpContext c, string name) => StatusAsync(c, kind, name)).In(ApiGroup.SharedMemory, restricted);
            v2.MapPost(prefix + "/register", (Func<HttpContext, Task>)(c => HttpJson.WriteErrorAsync(c.Response, ProtocolErrors.Invalid(
                $"'region name' is necessary to register {(kind == SharedMemoryKind.Cuda ? "cuda" : "system")} shared memory region"))))
                .In(ApiGroup.SharedMemory, restricted);
            v2.MapPost(prefix + "/region/{name}/register", (HttpContext c, string name) => RegisterAsync(c, kind, name)).In(ApiGroup.SharedMemory, restricted);
            v2.MapPost(prefix + "/unregister", (Func<HttpContext, Task>)(c => Unregister(c, kind, ""))).In(ApiGroup.SharedMemory, restricted);
            v2.MapPost(prefix + "/region/{name}/unregister", (HttpContext c, string name) => Unregister(c, kind, name)).In(ApiGroup.SharedMemory, restricted);
        }
    }

    private static SharedMemoryManager Manager(HttpContext c) => c.RequestServices.GetRequiredService<SharedMemoryManager>();

    private static Task StatusAsync(HttpContext c, SharedMemoryKind kind, string name)
    {
        var status = Manager(c).Status(kind, name);
        if (!status.IsSuccess)
        {
            return HttpJson.WriteErrorAsync(c.Response, status.Error!);
        }
        return HttpJson.WriteAsync(c.Response, StatusCodes.Status200OK, w =>
        {
            w.WriteStartArray();
            foreach (var region in status.Value!)
            {
                w.WriteStartObject();
                w.WriteString("name", region.Name);
                if (region is SystemSharedMemoryRegion system)
                {
                    w.WriteString("key", system.Key);
                    w.WriteNumber("offset", system.Offset);
                }
                else if (region is CudaSharedMemoryRegion cuda)
                {
                    w.WriteNumber("device_id", cuda.DeviceId);
                }
                w.WriteNumber("byte_size", region.ByteSize);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        });
    }

    private static async Task RegisterAsync(HttpContext c, SharedMemoryKind kind, string name)
    {
        using var body = await KServeHttpEndpoints.ReadSmallJsonAsync(c);
        if (body.ErrorMessage is not null)
        {
            await HttpJson.WriteErrorAsync(c.Response, body.Status, body.ErrorMessage);
            return;
        }
        var root = body.Root ?? default;
        var error = kind == SharedMemoryKind.System ? RegisterSystem(Manager(c), name, root) : RegisterCuda(Manager(c), name, root);
        if (error is not null)
        {
            await HttpJson.WriteErrorAsync(c.Response, error);
            return;
        }
        c.Response.StatusCode = StatusCodes.Status200OK;
    }

    private static InferenceError? RegisterSystem(SharedMemoryManager manager, string name, JsonElement body)
    {
        if (!TryGet(body, "key", out var key))
        {
            return ProtocolErrors.Invalid("Shared memory register request has no 'key' field");
        }
        if (key.ValueKind != JsonValueKind.String)
        {
            return ProtocolErrors.Invalid("'key' must be a string");
        }
        ulong offset = 0;
        if (TryGet(body, "offset", out var o) && !o.TryGetUInt64Checked(out offset))
        {
            return ProtocolErrors.Invalid("'offset' must be a non-negative integer");
        }
        if (!TryGet(body, "byte_size", out var size))
        {
            return ProtocolErrors.Invalid("Shared memory register request has no 'byte_size' field");
        }
        if (!size.TryGetUInt64Checked(out var byteSize))
        {
            return ProtocolErrors.Invalid("'byte_size' must be a non-negative integer");
        }
        return manager.RegisterSystem(name, key.GetString()!, offset, byteSize);
    }

    private static InferenceError? RegisterCuda(SharedMemoryManager manager, string name, JsonElement body)
    {
        if (!TryGet(body, "raw_handle", out var handle))
        {
            return ProtocolErrors.Invalid("Shared memory register request has no 'raw_handle' field");
        }
        if (handle.ValueKind != JsonValueKind.Object || !handle.TryGetProperty("b64", out var b64) || b64.ValueKind != JsonValueKind.String)
        {
            return ProtocolErrors.Invalid("'raw_handle' must be an object with a string 'b64'");
        }
        if (!TryGet(body, "byte_size", out var size) || !size.TryGetUInt64Checked(out var byteSize))
        {
            return ProtocolErrors.Invalid("'byte_size' must be a non-negative integer");
        }
        if (!TryGet(body, "device_id", out var device) || !device.TryGetUInt64Checked(out var deviceId) || deviceId > int.MaxValue)
        {
            return ProtocolErrors.Invalid("'device_id' must be a non-negative integer");
        }
        byte[] raw;
        try
        {
            raw = Convert.FromBase64String(b64.GetString()!);
        }
        catch (FormatException)
        {
            return ProtocolErrors.Invalid("'raw_handle' must be a valid base64 encoded cudaIpcMemHandle_t");
        }
        return manager.RegisterCuda(name, raw, (long)deviceId, byteSize);
    }

    private static Task Unregister(HttpContext c, SharedMemoryKind kind, string name)
    {
        Manager(c).Unregister(kind, name);
        c.Response.StatusCode = StatusCodes.Status200OK;
        return Task.CompletedTask;
    }

    private static bool TryGet(JsonElement body, string property, out JsonElement value)
    {
        value = default;
        return body.ValueKind == JsonValueKind.Object && body.TryGetProperty(property, out value);
    }

    private static bool TryGetUInt64Checked(this JsonElement e, out ulong value)
    {
        value = 0;
        return e.ValueKind == JsonValueKind.Number && e.TryGetUInt64(out value);
    }
}
