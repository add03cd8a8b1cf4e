using Inference.Server.Core;
using Inference.Server.Hosting;
using Inference.Server.Protos;
using Choice = Inference.Server.Protos.LogSettingsRequest.Types.SettingValue.ParameterChoiceOneofCase;

namespace Inference.Server.Protocol.Grpc;

/// <summary>Triton's LogSettings RPC: bool_param for log_info, log_warning and log_error, uint32_param for
/// log_verbose_level, string_param for log_format; log_file is refused. The reply is the settings in force.</summary>
internal static class GrpcLogSettings
{
    public static Result<LogSettingsResponse> Handle(ServerLogSettings settings, LogSettingsRequest request)
    {
        var update = new LogSettingsUpdate();
        foreach (var (name, value) in request.Settings)
        {
            var choice = value?.ParameterChoiceCase ?? Choice.None;
            switch (name)
            {
                case LogSettingsUpdate.LogFile:
                    return LogSettingsUpdate.FileRefused;
                case LogSettingsUpdate.LogInfo:
                    if (choice != Choice.BoolParam)
                    {
                        return LogSettingsUpdate.Expect("boolean", name);
                    }
                    update = update with { Info = value!.BoolParam };
                    break;
                case LogSettingsUpdate.LogWarning:
                    if (choice != Choice.BoolParam)
                    {
                        return LogSettingsUpdate.Expect("boolean", name);
                    }
                    update = update with { Warning = value!.BoolParam };
                    break;
                case LogSettingsUpdate.LogError:
                    if (choice != Choice.BoolParam)
                    {
                        return LogSettingsUpdate.Expect("boolean", name);
                    }
                    update = update with { Error = value!.BoolParam };
                    break;
                case LogSettingsUpdate.LogVerboseLevel:
                    if (choice != Choice.Uint32Param || value!.Uint32Param > int.MaxValue)
                    {
                        return LogSettingsUpdate.Expect("uint32", name);
                    }
                    update = update with { VerboseLevel = (int)value.Uint32Param };
                    break;
                case LogSettingsUpdate.LogFormatName:
                    if (choice != Choice.StringParam)
                    {
                        return LogSettingsUpdate.Expect("string", name);
                    }
                    if (ServerLogSettings.ParseFormat(value!.StringParam) is not { } format)
                    {
                        return LogSettingsUpdate.BadFormat(value.StringParam);
                    }
                    update = update with { Format = format };
                    break;
                default:
                    return LogSettingsUpdate.Unknown(name);
            }
        }
        update.ApplyTo(settings);

        var reply = new LogSettingsResponse();
        reply.Settings[LogSettingsUpdate.LogFile] = new LogSettingsResponse.Types.SettingValue { StringParam = settings.File };
        reply.Settings[LogSettingsUpdate.LogInfo] = new LogSettingsResponse.Types.SettingValue { BoolParam = settings.Info };
        reply.Settings[LogSettingsUpdate.LogWarning] = new LogSettingsResponse.Types.SettingValue { BoolParam = settings.Warning };
        reply.Settings[LogSettingsUpdate.LogError] = new LogSettingsResponse.Types.SettingValue { BoolParam = settings.Error };
        reply.Settings[LogSettingsUpdate.LogVerboseLevel] = new LogSettingsResponse.Types.SettingValue { Uint32Param = (uint)settings.VerboseLevel };
        reply.Settings[LogSettingsUpdate.LogFormatName] = new LogSettingsResponse.Types.SettingValue { StringParam = settings.FormatName };
        return reply;
    }
}
