using System.Buffers.Binary;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Inference.Server.ModelTools;
using Inference.Server.Protos;

namespace Inference.Tests.EndToEnd;

/// <summary>Assertions and builders shared by the end-to-end tests: error replies over HTTP and gRPC,
/// gRPC requests, BYTES decoding, model folders, and bounded polling.</summary>
internal static class E2E
{
    /// <summary>Asserts the HTTP status and that the <c>{"error":...}</c> text contains every fragment; returns the text.</summary>
    public static async Task<string> AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, params string[] fragments)
    {
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
            var message = System.Text.Json.Nodes.JsonNode.Parse(body)!["error"]!.GetValue<string>();
            foreach (var fragment in fragments)
            {
                Assert.Contains(fragment, message, StringComparison.Ordinal);
            }
            return message;
        }
    }

    /// <summary>Asserts that the call fails with the gRPC status code and a detail containing every fragment.</summary>
    public static async Task<string> AssertRpcErrorAsync(Func<Task> call, StatusCode code, params string[] fragments)
    {
        var e = await Assert.ThrowsAsync<RpcException>(call);
        Assert.True(e.StatusCode == code, $"expected {code}, got {e.StatusCode}: {e.Status.Detail}");
        foreach (var fragment in fragments)
        {
            Assert.Contains(fragment, e.Status.Detail, StringComparison.Ordinal);
        }
        return e.Status.Detail;
    }

    /// <summary>A ModelInferRequest with one FP32 input carried in raw_input_contents.</summary>
    public static ModelInferRequest RawRequest(string model, string input, long[] shape, float[] data, string? output = null, string id = "")
    {
        var request = new ModelInferRequest { ModelName = model, Id = id };
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = input, Datatype = "FP32", Shape = { shape } });
        request.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes(data.AsSpan())));
        if (output is not null)
        {
            request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = output });
        }
        return request;
    }

    public static float[] Floats(ByteString raw) => MemoryMarshal.Cast<byte, float>(raw.Span).ToArray();

    /// <summary>Splits a BYTES tensor (4-byte little-endian length, then the bytes, per element) into strings.</summary>
    public static string[] BytesElements(ReadOnlySpan<byte> data)
    {
        var result = new List<string>();
        while (data.Length > 0)
        {
            var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(data);
            result.Add(Encoding.UTF8.GetString(data.Slice(4, length)));
            data = data[(4 + length)..];
        }
        return [.. result];
    }

    /// <summary>The top <paramref name="k"/> (index, score) pairs, score descending.</summary>
    public static (int Index, float Score)[] Top(float[] scores, int k) =>
        [.. scores.Select((v, i) => (i, v)).OrderByDescending(p => p.v).Take(k)];

    /// <summary>An identity model (FP32 [batch,16], max batch 8) with <paramref name="extraConfig"/> appended
    /// to its config.pbtxt (text-format fields may come in any order). Written aside and moved into place, so
    /// a polling server never sees half a folder. Returns the model folder.</summary>
    /// <param name="versions">Version folders to create (each with the same model file); default just 1.</param>
    /// <param name="withConfig">False: no config.pbtxt at all (the server must auto-complete one).</param>
    public static string WriteIdentity(string repository, string name, string extraConfig = "", long[]? versions = null, bool withConfig = true)
    {
        var staging = Path.Combine(repository, ".staging-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(staging);
        var model = IdentityModelBuilder.Write(staging, name, width: 16, maxBatchSize: 8);
        if (extraConfig.Length > 0)
        {
            File.AppendAllText(Path.Combine(model, "config.pbtxt"), extraConfig + "\n");
        }
        if (!withConfig)
        {
            File.Delete(Path.Combine(model, "config.pbtxt"));
        }
        foreach (var v in versions ?? [1])
        {
            var dir = Path.Combine(model, v.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (v != 1)
            {
                Directory.CreateDirectory(dir);
                File.Copy(Path.Combine(model, "1", "model.onnx"), Path.Combine(dir, "model.onnx"));
            }
        }
        if (versions is { } list && !list.Contains(1))
        {
            Directory.Delete(Path.Combine(model, "1"), recursive: true);
        }
        var folder = Path.Combine(repository, name);
        Directory.Move(Path.Combine(staging, name), folder);
        Directory.Delete(staging);
        return folder;
    }

    /// <summary>Polls <paramref name="condition"/> every 50 ms until it holds; fails after <paramref name="seconds"/>.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out after {seconds} s waiting until {what}");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }
}
