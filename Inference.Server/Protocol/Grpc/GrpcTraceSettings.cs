using Inference.Server.Core;
using Inference.Server.Protos;
using Inference.Server.Tracing;

namespace Inference.Server.Protocol.Grpc;

/// <summary>Triton's TraceSetting RPC: the request's settings (an empty value list clears a field) applied to the
/// global setting or, with <c>model_name</c>, to that model's; the reply is the setting in force afterwards.</summary>
internal static class GrpcTraceSettings
{
    public static Result<TraceSettingResponse> Handle(TraceManager traces, IInferenceServer server, TraceSettingRequest request)
    {
        var model = string.IsNullOrEmpty(request.ModelName) ? null : request.ModelName;
        if (model is not null && !server.IsModelReady(model))
        {
            return TraceSettingWire.UnknownModel(model);
        }
        if (request.Settings.Count > 0)
        {
            var update = TraceSettingWire.Parse(request.Settings.Select(s =>
                new KeyValuePair<string, IReadOnlyList<string>?>(s.Key, s.Value?.Value.ToList())));
            var error = update.IsSuccess ? traces.Update(model, update.Value!) : update.Error;
            if (error is not null)
            {
                return error;
            }
        }
        var (values, remaining) = traces.Get(model);
        var reply = new TraceSettingResponse();
        foreach (var (name, list) in TraceSettingWire.Reply(values, remaining))
        {
            var value = new TraceSettingResponse.Types.SettingValue();
            value.Value.Add(list);
            reply.Settings[name] = value;
        }
        return reply;
    }
}
