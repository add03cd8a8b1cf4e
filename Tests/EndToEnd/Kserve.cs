using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;

namespace Inference.Tests.EndToEnd;

/// <summary>Builds KServe v2 HTTP requests the way Triton's clients send them.</summary>
internal static class Kserve
{
    public static float[] RandomFloats(int count, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => random.NextSingle() * 2 - 1)];
    }

    public static JsonObject JsonInput(string name, long[] shape, float[] data) => new()
    {
        ["name"] = name,
        ["shape"] = new JsonArray([.. shape.Select(d => (JsonNode)d)]),
        ["datatype"] = "FP32",
        ["data"] = new JsonArray([.. data.Select(v => (JsonNode)v)]),
    };

    public static StringContent Json(JsonNode body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    /// <summary>A binary-extension body: JSON header (inputs with binary_data_size) then the raw bytes.</summary>
    public static ByteArrayContent Binary(string input, long[] shape, float[] data, string output, bool binaryOutput = true)
    {
        var raw = MemoryMarshal.AsBytes(data.AsSpan()).ToArray();
        var header = new JsonObject
        {
            ["inputs"] = new JsonArray(new JsonObject
            {
                ["name"] = input,
                ["shape"] = new JsonArray([.. shape.Select(d => (JsonNode)d)]),
                ["datatype"] = "FP32",
                ["parameters"] = new JsonObject { ["binary_data_size"] = raw.Length },
            }),
            ["outputs"] = new JsonArray(new JsonObject { ["name"] = output, ["parameters"] = new JsonObject { ["binary_data"] = binaryOutput } }),
        };
        return RawBinary(Encoding.UTF8.GetBytes(header.ToJsonString()), raw);
    }

    public static ByteArrayContent RawBinary(byte[] header, byte[] payload, int? declaredHeaderLength = null)
    {
        var content = new ByteArrayContent([.. header, .. payload]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.Add("Inference-Header-Content-Length", (declaredHeaderLength ?? header.Length).ToString(System.Globalization.CultureInfo.InvariantCulture));
        return content;
    }

    /// <summary>Splits a binary response into its JSON header and the bytes after it.</summary>
    public static async Task<(JsonNode Header, byte[] Payload)> ReadBinaryAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsByteArrayAsync();
        var lengthText = response.Headers.TryGetValues("Inference-Header-Content-Length", out var v)
            ? v.Single()
            : response.Content.Headers.GetValues("Inference-Header-Content-Length").Single();
        var length = int.Parse(lengthText, System.Globalization.CultureInfo.InvariantCulture);
        return (JsonNode.Parse(body.AsSpan(0, length))!, body[length..]);
    }

    public static async Task<string> ErrorAsync(HttpResponseMessage response)
    {
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        return json["error"]!.GetValue<string>();
    }
}
