using System.Globalization;
using Inference.Server.Core;
using Inference.Server.Tracing;
using Microsoft.Extensions.Options;

namespace Inference.Server.Protocol.Http;

/// <summary>
/// POST <c>/v2/models/{model}[/versions/{version}]/infer</c>: body into one buffer of the server's
/// <see cref="ITensorBufferPool"/>, parse, hand the request
/// to <see cref="IInferenceServer.InferAsync"/>, write the response, dispose everything. Every failure becomes
/// <c>{"error":"..."}</c> with the mapped status.
/// </summary>
internal static class HttpInferHandler
{
    public static async Task HandleAsync(HttpContext context, string model, string? version)
    {
        var server = context.RequestServices.GetRequiredService<IInferenceServer>();
        var options = context.RequestServices.GetRequiredService<IOptions<KServeProtocolOptions>>().Value;
        var time = context.RequestServices.GetService<TimeProvider>() ?? TimeProvider.System;
        var received = time.GetTimestamp();
        var aborted = context.RequestAborted;

        var parsedVersion = VersionParser.Parse(version);
        if (!parsedVersion.IsSuccess)
        {
            await HttpJson.WriteErrorAsync(context.Response, parsedVersion.Error!);
            return;
        }
        var read = await RequestBodyReader.ReadAsync(context.Request, options.MaxMessageBytes, aborted,
            context.RequestServices.GetService<ITensorBufferPool>());
        if (read.Body is null)
        {
            await HttpJson.WriteErrorAsync(context.Response, read.Status, read.Message!);
            return;
        }
        using var body = new SharedBuffer(read.Body);
        var headerLength = ParseHeaderLength(context.Request, body.Length);
        if (!headerLength.IsSuccess)
        {
            await HttpJson.WriteErrorAsync(context.Response, headerLength.Error!);
            return;
        }
        var parsed = HttpInferRequestParser.Parse(body, headerLength.Value, model, parsedVersion.Value, aborted, received,
            context.RequestServices.GetService<SharedMemory.SharedMemoryManager>(), context.RequestServices.GetService<ITensorBufferPool>());
        if (!parsed.IsSuccess)
        {
            await HttpJson.WriteErrorAsync(context.Response, parsed.Error!);
            return;
        }
        using var request = parsed.Value!;
        var inference = request.TakeRequest();
        var trace = context.RequestServices.GetService<TraceManager>() is { IsActive: true } traces
            ? traces.Sample(model, inference.Id, received)
            : null;
        inference.Trace = trace;
        try
        {
            var result = await server.InferAsync(inference);
            if (!result.IsSuccess)
            {
                await HttpJson.WriteErrorAsync(context.Response, result.Error!);
                return;
            }
            using var response = result.Response!;
            if (request.SharedMemoryOutputs?.Write(response) is { } shmError)
            {
                await HttpJson.WriteErrorAsync(context.Response, shmError);
                return;
            }
            await InferResponseWriter.WriteAsync(context.Response, response, request.IsBinaryOutput, aborted, request.SharedMemoryOutputs);
        }
        finally
        {
            trace?.Complete();
        }
    }

    /// <summary>The JSON header's length: <c>Inference-Header-Content-Length</c>, or the whole body without it.</summary>
    internal static Result<int> ParseHeaderLength(HttpRequest request, int bodyLength)
    {
        if (!request.Headers.TryGetValue(InferResponseWriter.HeaderLengthHeader, out var values))
        {
            return bodyLength;
        }
        var text = values.ToString();
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var length))
        {
            return ProtocolErrors.Invalid($"Unable to parse {InferResponseWriter.HeaderLengthHeader}, got: '{text}'");
        }
        if (length > bodyLength)
        {
            return ProtocolErrors.Invalid(
                $"{InferResponseWriter.HeaderLengthHeader} {length} is larger than the request body of {bodyLength} bytes");
        }
        return length;
    }
}
